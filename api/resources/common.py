"""What every resource shares: the operation decorator, units of work, idempotency, cursors.

Invariants owned here:
- A write runs in exactly one `UnitOfWork` (which takes the books' writer lock first) and commits
  once. A unique-key violation (two requests racing on the same key or code) rolls back and runs
  the operation again: the retry finds the winner's record and replays it, so a race is never a
  500 and never a second entry.
- `Idempotency-Key` (1-128 visible ASCII characters) is scoped by route: the ledger stores
  `<route>:<key>`, whoever the caller is. Entry-posting operations hand it to the ledger service
  (same key and same content: the original entry, nothing posted); reference data (funds,
  donors, projects, beneficiaries, accounts, periods) is remembered here in the same table and
  transaction, with an HMAC fingerprint of the body so no personal data is stored in clear.
- A date the client left out defaults to the day the key was first used, so a retry after
  midnight still replays instead of conflicting.
- Cursors are opaque: base64url of `<list>:<last sequence or id>`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema
from sqlalchemy.exc import IntegrityError

from api.auth import roles as mark_roles
from api.errors import CATALOGUE, PROBLEM_MEDIA_TYPE, ApiProblem
from api.schemas import ProblemOut
from api.trail import record_success_in, success_fields
from ledger import idempotency
from ledger.errors import LedgerError
from ledger.storage.repository import SqlRepository
from ledger.storage.unit_of_work import UnitOfWork, read_only

if TYPE_CHECKING:
    from api.app import Huiquan

__all__ = [
    "IDEMPOTENCY_PARAMETER",
    "decode_cursor",
    "encode_cursor",
    "huiquan",
    "idempotency_key",
    "key_day",
    "operation",
    "prebuilt",
    "read",
    "remember",
    "remembered",
    "write",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_STATUS = {p.code: p.status for p in CATALOGUE}
_TITLES = {p.code: p.title for p in CATALOGUE}
ATTEMPTS = 3

IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": (
        "Client key for safe retries, scoped to this route. The same key with the same body "
        "answers the original status and body again and posts nothing; with a different body "
        "it is 422 `idempotency_conflict`."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"},
}


def huiquan() -> Huiquan:
    """The application's state (engine, token cache, receipt hook, secrets)."""
    state: Huiquan = current_app.extensions["huiquan"]
    return state


def operation(
    blp: Blueprint,
    *,
    roles: Sequence[str] | None,
    problems: Sequence[str] = (),
    body: bool = False,
    idempotent: bool = False,
) -> Callable[[F], F]:
    """Declare who may call a view and document the problems it can answer (problem+json)."""
    codes = list(problems)
    if roles is not None:
        codes += ["unauthorized", "forbidden", "rate_limited"]
    if body:
        codes += ["validation_error", "payload_too_large", "unsupported_media_type"]
    if idempotent:
        codes.append("idempotency_conflict")
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(_STATUS[code], []).append(code)
    responses = {
        status: {
            "description": "; ".join(f"`{c}`: {_TITLES[c]}" for c in group),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": ProblemOut}},
        }
        for status, group in sorted(by_status.items())
    }
    doc: dict[str, Any] = {"responses": responses}
    doc["security"] = [{"bearerAuth": []}] if roles is not None else []
    if roles is not None:
        doc["x-roles"] = list(roles)
    if idempotent:
        doc["parameters"] = [IDEMPOTENCY_PARAMETER]

    def decorate(view: F) -> F:
        documented: F = blp.doc(**doc)(view)
        return mark_roles(*roles)(documented) if roles is not None else documented

    return decorate


def prebuilt(schema: Schema, status: int) -> Callable[[F], F]:
    """Send the view's dict as JSON as it is: its presenter builds `schema`'s dump already.

    For the hot write path (a donation), under `@blp.response(status, schema)`, which still
    documents the response: marshmallow dumping a dict that is already in the schema's shape
    costs about a tenth of the request. Under `TESTING` the dict is dumped anyway and must come
    out identical, so every test that calls the view checks its presenter against the schema.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            body = view(*args, **kwargs)
            if current_app.config["TESTING"] and schema.dump(body) != body:
                raise AssertionError(f"{view.__name__} built a body its schema would change")
            response = current_app.json.response(body)
            response.status_code = status
            return response

        return wrapper  # type: ignore[return-value]

    return decorate


def idempotency_key(route: str) -> str | None:
    """The request's `Idempotency-Key`, scoped to `route`, or None.

    Raises:
        ApiProblem: validation_error for a malformed key.
    """
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    if not _KEY.match(raw):
        raise ApiProblem(
            "validation_error",
            "The Idempotency-Key header is malformed.",
            errors={"Idempotency-Key": ["must be 1-128 visible ASCII characters"]},
        )
    return f"{route}:{raw}"


def write(
    work: Callable[[UnitOfWork], T],
    *,
    aliases: Mapping[str, str] | None = None,
    key: str | None = None,
    refs: Mapping[str, Sequence[str]] | None = None,
) -> T:
    """Run `work` in one unit of work and commit; replay on a lost race (see module docstring).

    `aliases` renames a ledger error's field to the request's name for it. `key`, the
    request's scoped idempotency key, and `refs`, the reference records `work` will look up
    (`UnitOfWork.prefetch`), let group commit read them with other requests' at once.
    """
    state = huiquan()
    fields = success_fields()  # read from the request here, outside the writer lock
    for attempt in range(1, ATTEMPTS + 1):
        try:
            if state.group_commit is not None:
                return state.group_commit.run(
                    lambda uow: _audited(uow, work, fields), key=key, refs=refs
                )
            with state.writer_gate(), UnitOfWork(state.engine) as uow:
                result = _audited(uow, work, fields)
                uow.commit()
                return result
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
        except LedgerError as err:
            if aliases and err.field is not None and err.field in aliases:
                err.field = aliases[err.field]
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _audited(uow: UnitOfWork, work: Callable[[UnitOfWork], T], fields: dict[str, str] | None) -> T:
    record_success_in(uow, fields)
    return work(uow)


def read(work: Callable[[SqlRepository], T]) -> T:
    """Run `work` over a read-only repository."""
    with read_only(huiquan().engine) as repo:
        return work(repo)


def remembered(uow: UnitOfWork, key: str | None, route: str, body: Mapping[str, Any]) -> str | None:
    """The object id an earlier request with this key created (`ledger.idempotency`)."""
    return idempotency.remembered(uow, key, route, body, huiquan().pseudonym_secret())


def remember(
    uow: UnitOfWork, key: str | None, route: str, body: Mapping[str, Any], object_id: str
) -> None:
    """Store the key with the created object's id, in the same transaction."""
    idempotency.remember(uow, key, route, body, object_id, huiquan().pseudonym_secret())


key_day = idempotency.key_day


def encode_cursor(kind: str, value: object) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    """The position a cursor of list `kind` points after, or None for the first page.

    Raises:
        ApiProblem: validation_error for a cursor that is not one of this list's.
    """
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    prefix, _, value = text.partition(":")
    if prefix != kind or not value:
        raise ApiProblem(
            "validation_error",
            "The cursor is not one this list handed out.",
            errors={"cursor": ["not a cursor of this list"]},
        )
    return value
