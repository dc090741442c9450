"""Tamper evidence: canonical serialisation and the hash chain over journal entries.

Invariants owned here:
- Every posted entry has one canonical serialisation, written by `canonical_entry_bytes`; its
  pieces (`posting_fragments`, `posting_text`, `entry_text`) are what the verify scan builds
  with; parsed, they are the entry's canonical object. It is RFC 8785 (JSON Canonicalization
  Scheme): the ledger only ever puts strings, integers, null, lists and objects with ASCII keys
  in it, and for that subset RFC 8785 is exactly
  `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` encoded as UTF-8
  (a property test checks this against the `rfc8785` reference package).
- `hash(n) = SHA-256( prev_hash(n) as 64 lowercase hex ASCII || 0x0A || canonical(n) )`,
  with `prev_hash(1) = GENESIS` (64 zeros). Sequence numbers start at 1 and have no gaps.
- The Merkle leaf of entry n is `SHA-256(0x00 || canonical(n))` (RFC 6962), see
  `ledger.tlog.merkle`.
- A failed check of the books is a `Finding` (sequence or None, check code, detail), the one
  shape every verifier in the ledger and the audits reports.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

__all__ = [
    "GENESIS",
    "Finding",
    "canonical_bytes",
    "canonical_data",
    "canonical_entry_bytes",
    "chain_hash",
    "entry_text",
    "json_string",
    "leaf_hash_hex",
    "posting_fragments",
    "posting_text",
]

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class Finding:
    """One failed check of the books: the first entry concerned (if any), what failed, why."""

    sequence: int | None
    check: str
    detail: str

    def __str__(self) -> str:
        where = f"sequence {self.sequence}: " if self.sequence is not None else ""
        return f"{where}{self.check}: {self.detail}"


def canonical_bytes(obj: Mapping[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of `obj` (for the ledger's string/int-only objects)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_data(data: Mapping[str, Any]) -> str:
    """The canonical JSON text of an entry's `data` object (stored as such in the journal)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@functools.lru_cache(maxsize=1 << 16)
def json_string(value: str) -> str:
    """`value` as a canonical JSON string literal (cached: codes and names repeat endlessly)."""
    return str(encode_basestring(value))


@functools.lru_cache(maxsize=1 << 16)
def posting_fragments(
    account: str, fund: str, currency: str, project: str, party: str, cls: str, ref: str
) -> tuple[str, str, str, str]:
    """A posting's canonical text around its amount, functional value and line number.

    Keys in sorted order; `posting_text` fills in the numbers. Cached: the same accounts,
    funds and parties come back entry after entry.
    """
    return (
        f'{{"account":{json_string(account)},"amount":',
        f',"class":{json_string(cls)},"currency":{json_string(currency)},"functional":',
        f',"fund":{json_string(fund)},"line":',
        f',"party":{json_string(party)},"project":{json_string(project)},"ref":{json_string(ref)}}}',
    )


def posting_text(
    fragments: tuple[str, str, str, str], amount: int, functional: int, line: int
) -> str:
    """The canonical JSON of one posting, from its `posting_fragments`."""
    a, b, c, d = fragments
    return f"{a}{int(amount)}{b}{int(functional)}{c}{line}{d}"


def entry_text(
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
    postings_json: str,
) -> bytes:
    """The canonical bytes of an entry around its `data` text and its postings' texts.

    `postings_json` is the `posting_text` of each posting in line order, joined by commas.
    """
    # Conditional expressions rather than helpers: this runs once per entry posted or verified.
    q, e = json_string, encode_basestring
    return (
        f'{{"data":{data_json},"id":{"null" if entry_id is None else e(entry_id)},'
        f'"kind":{"null" if kind is None else q(kind)},'
        f'"maker":{"null" if maker is None else q(maker)},'
        f'"memo":{"null" if memo is None else e(memo)},'
        f'"occurred_on":{"null" if occurred_on is None else q(occurred_on)},'
        f'"period":{"null" if period is None else q(period)},'
        f'"postings":[{postings_json}],'
        f'"recorded_at":{"null" if recorded_at is None else e(recorded_at)},'
        f'"reverses":{"null" if reverses is None else e(reverses)},'
        f'"sequence":{int(sequence)},"v":1}}'
    ).encode()


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
    """The canonical bytes of an entry: the one serialiser of the journal.

    `data_json` is `canonical_data(data)`; each posting is a sequence (account, fund, amount,
    currency, functional, project, party, functional_class, ref). Written directly, keys in
    sorted order, without intermediate objects: this is the hot path of posting, and the verify
    scan (`ledger.journal_scan`) builds the same text from the same pieces.
    """
    lines = ",".join(
        posting_text(posting_fragments(a, fund, cur, proj, party, cls, ref), amt, fn, n)
        for n, (a, fund, amt, cur, fn, proj, party, cls, ref) in enumerate(postings, 1)
    )
    return entry_text(
        entry_id,
        sequence,
        kind,
        occurred_on,
        recorded_at,
        period,
        memo,
        maker,
        reverses,
        data_json,
        lines,
    )


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """The chained hash of an entry, as lowercase hex."""
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical).hexdigest()


def leaf_hash_hex(canonical: bytes) -> str:
    """The RFC 6962 Merkle leaf hash of an entry, as lowercase hex."""
    return hashlib.sha256(b"\x00" + canonical).hexdigest()
