"""Tamper evidence: canonical serialisation and the hash chain over journal entries.

Invariants owned here:
- Every posted entry has a canonical serialisation: RFC 8785 (JSON Canonicalization Scheme)
  of the object built by `canonical_object`. The ledger only ever puts strings, integers,
  null, lists and objects with ASCII keys in it, and for that subset RFC 8785 is exactly
  `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` encoded as UTF-8
  (a property test checks this against the `rfc8785` reference package).
- `hash(n) = SHA-256( prev_hash(n) as 64 lowercase hex ASCII || 0x0A || canonical(n) )`,
  with `prev_hash(1) = GENESIS` (64 zeros). Sequence numbers start at 1 and have no gaps.
- The Merkle leaf of entry n is `SHA-256(0x00 || canonical(n))` (RFC 6962), see `ledger.merkle`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ledger.entries import Posting

__all__ = ["GENESIS", "canonical_bytes", "canonical_object", "chain_hash", "leaf_hash_hex"]

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


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """The chained hash of an entry, as lowercase hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical).hexdigest()


def leaf_hash_hex(canonical: bytes) -> str:
    """The RFC 6962 Merkle leaf hash of an entry, as lowercase hex."""
    return hashlib.sha256(b"\x00" + canonical).hexdigest()
