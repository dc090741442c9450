"""Idempotency: a client key with the same request replays its first result; nothing is redone.

Invariants owned here:
- One fingerprint of a request: SHA-256 of the canonical JSON of ``{"operation", "payload"}``,
  keyed (HMAC-SHA-256) with the service's secret when the payload may hold personal data
  (reference data: donors, beneficiaries, ...), so no personal data is kept in clear.
- A key is stored in the same transaction as the work it guards (`UnitOfWork.remember_key`,
  called by the ledger services' prologue with the entry and object the work made, or by
  `remember`), so a key is never stored without its result.
- The same key with another operation or another payload raises `IdempotencyConflict`.
- A date the client left out defaults to the day the key was first used (`key_day`), so a retry
  after midnight replays instead of conflicting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.chain import canonical_bytes
from ledger.entries import Posting
from ledger.errors import IdempotencyConflict
from ledger.model import UnitOfWorkPort
from ledger.money import Money

__all__ = ["Replay", "fingerprint", "jsonable", "key_day", "lookup", "remember", "remembered"]

_PLAIN = (str, int, bool, type(None))


def jsonable(value: Any) -> Any:
    """`value` as plain JSON types: Money as amount and currency, dates in ISO form."""
    if type(value) in _PLAIN:  # most payload values: no conversion, no ABC check
        return value
    if isinstance(value, Money):
        return {"amount": value.to_decimal_string(), "currency": value.currency}
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Posting):
        return jsonable(value.canonical(0))
    return str(value)


def fingerprint(operation: str, payload: Mapping[str, Any], secret: bytes | None = None) -> str:
    """The request's fingerprint (hex): keyed with `secret` when one is given."""
    blob = canonical_bytes({"operation": operation, "payload": jsonable(payload)})
    if secret:
        return hmac.new(secret, blob, hashlib.sha256).hexdigest()
    return hashlib.sha256(blob).hexdigest()


@dataclass(frozen=True, slots=True)
class Replay:
    """What an earlier request with the same key produced."""

    entry_id: str | None
    object_id: str | None


def _field(found: Any, name: str) -> Any:
    if isinstance(found, Mapping):
        return found.get(name)
    return getattr(found, name)


def lookup(
    uow: UnitOfWorkPort,
    key: str | None,
    operation: str,
    payload: Mapping[str, Any],
    secret: bytes | None = None,
) -> tuple[dict[str, Any] | None, Replay | None]:
    """Look the client key up: (record to store, None) for new work, (None, replay) for a repeat.

    Raises:
        IdempotencyConflict: when the key was used for another operation or other content.
    """
    if key is None:
        return None, None
    digest = fingerprint(operation, payload, secret)
    found: Any = uow.idempotency_record(key)
    if found is None:
        return {"key": key, "fingerprint": digest, "operation": operation}, None
    if _field(found, "fingerprint") != digest or _field(found, "operation") != operation:
        raise IdempotencyConflict(
            f"idempotency key {key!r} was already used for a different request"
        )
    return None, Replay(_field(found, "entry_id"), _field(found, "object_id"))


def remembered(
    uow: UnitOfWorkPort, key: str | None, operation: str, body: Mapping[str, Any], secret: bytes
) -> str | None:
    """The object id an earlier request with this key created, or None if the key is new.

    Raises:
        IdempotencyConflict: when the key was used with a different body.
    """
    _record, replay = lookup(uow, key, operation, body, secret)
    return None if replay is None else str(replay.object_id)


def remember(
    uow: UnitOfWorkPort,
    key: str | None,
    operation: str,
    body: Mapping[str, Any],
    object_id: str,
    secret: bytes,
) -> None:
    """Store the key with the created object's id, in the same transaction."""
    if key is not None:
        record, _replay = lookup(uow, key, operation, body, secret)
        if record is not None:
            uow.remember_key({**record, "entry_id": None, "object_id": object_id})


def key_day(uow: UnitOfWorkPort, key: str | None) -> dt.date:
    """The UTC day the key was first used (today for a new key or no key)."""
    if key is not None:
        found = uow.idempotency_record(key)
        if found is not None:
            return dt.date.fromisoformat(str(_field(found, "created_at"))[:10])
    return uow.today()
