"""Tamper evidence: canonical serialisation and the hash chain over journal entries.

Invariants owned here:
- Every posted entry has a canonical serialisation: RFC 8785 (JSON Canonicalization Scheme)
  of the object built by `canonical_object`. The ledger only ever puts strings, integers,
  null, lists and objects with ASCII keys in it, and for that subset RFC 8785 is exactly
  `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` encoded as UTF-8
  (a property test checks this against the `rfc8785` reference package).
- `hash(n) = SHA-256( prev_hash(n) as 64 lowercase hex ASCII || 0x0A || canonical(n) )`,
  with `prev_hash(1) = GENESIS` (64 zeros). Sequence numbers start at 1 and have no gaps.
- The Merkle leaf of entry n is `SHA-256(0x00 || canonical(n))` (RFC 6962), see
  `ledger.tlog.merkle`.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from json.encoder import encode_basestring
from typing import Any

from ledger.entries import Posting

__all__ = [
    "GENESIS",
    "canonical_bytes",
    "canonical_data",
    "canonical_entry_bytes",
    "canonical_object",
    "chain_hash",
    "json_string",
    "leaf_hash_hex",
]

GENESIS = "0" * 64


def canonical_object(
    *,
    entry_id: str,
    sequence: int,
    kind: str,
    occurred_on: str,
    recorded_at: str,
    period: str,
    memo: str,
    maker: str,
    reverses: str | None,
    data: Mapping[str, Any],
    postings: Sequence[Posting],
) -> dict[str, Any]:
    """The object whose canonical JSON is hashed for one entry."""
    return {
        "v": 1,
        "id": entry_id,
        "sequence": sequence,
        "kind": kind,
        "occurred_on": occurred_on,
        "recorded_at": recorded_at,
        "period": period,
        "memo": memo,
        "maker": maker,
        "reverses": reverses,
        "data": dict(data),
        "postings": [p.canonical(n) for n, p in enumerate(postings, 1)],
    }


def canonical_bytes(obj: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of `obj` (for the ledger's string/int-only objects)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_data(data: Mapping[str, Any]) -> str:
    """The canonical JSON text of an entry's `data` object (stored as such in the journal)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _s(value: str | None) -> str:
    return "null" if value is None else str(encode_basestring(value))


@functools.lru_cache(maxsize=1 << 16)
def json_string(value: str) -> str:
    """`value` as a canonical JSON string literal (cached: codes and names repeat endlessly)."""
    return str(encode_basestring(value))


def canonical_entry_bytes(
    entry_id: str,
    sequence: int,
    kind: str,
    occurred_on: str,
    recorded_at: str,
    period: str,
    memo: str,
    maker: str,
    reverses: str | None,
    data_json: str,
    postings: Iterable[Sequence[Any]],
) -> bytes:
    """Exactly `canonical_bytes(canonical_object(...))`, built without intermediate objects.

    `data_json` is `canonical_data(data)`; each posting is a sequence (account, fund, amount,
    currency, functional, project, party, functional_class, ref). Keys are written in sorted
    order; a property test holds this equal to the general path. This is the hot path of both
    posting and verifying.
    """
    lines = ",".join(
        f'{{"account":{json_string(a)},"amount":{int(amt)},"class":{json_string(cls)},'
        f'"currency":{json_string(cur)},"functional":{int(fn)},"fund":{json_string(fund)},"line":{n},'
        f'"party":{json_string(party)},"project":{json_string(proj)},"ref":{json_string(ref)}}}'
        for n, (a, fund, amt, cur, fn, proj, party, cls, ref) in enumerate(postings, 1)
    )
    text = (
        f'{{"data":{data_json},"id":{_s(entry_id)},"kind":{_s(kind)},"maker":{_s(maker)},'
        f'"memo":{_s(memo)},"occurred_on":{_s(occurred_on)},"period":{_s(period)},'
        f'"postings":[{lines}],"recorded_at":{_s(recorded_at)},"reverses":{_s(reverses)},'
        f'"sequence":{int(sequence)},"v":1}}'
    )
    return text.encode()


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """The chained hash of an entry, as lowercase hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical).hexdigest()


def leaf_hash_hex(canonical: bytes) -> str:
    """The RFC 6962 Merkle leaf hash of an entry, as lowercase hex."""
    return hashlib.sha256(b"\x00" + canonical).hexdigest()
