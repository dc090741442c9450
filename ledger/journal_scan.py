"""The verify scan of the journal, one range of sequence numbers at a time.

Standard library only (DB-API cursors, hashlib, json's string encoder): a verify worker process
imports this module and `ledger.chain` / `ledger.tlog.merkle`, never SQLAlchemy, so it starts in a
fraction of a second. `ledger.integrity` plans the ranges, runs them in the calling process or in
worker processes, and merges the results in sequence order.

Invariants owned here:
- `scan_range` applies to the entries with ``lo <= sequence < hi`` exactly the per-entry checks
  of one pass over the whole journal, starting from the state that pass would carry into the
  range: the sequence number it expects next and the hash of the entry before (`state_before`).
  The findings of consecutive ranges, concatenated, are therefore those of the single pass, in
  the same order.
- Entries are read ordered by sequence and postings by (sequence, line), and an entry's postings
  are those with its sequence, as in one merged pass. Postings without an entry are in no entry
  but are counted in the range's balance sums, which cover every posting of the range.
- The canonical bytes are built from the pieces of `ledger.chain.canonical_entry_bytes` (the one
  serialiser): each distinct posting's `posting_fragments` once per range, then `posting_text`
  and `entry_text`.
- `check_range` is the one entry-by-entry check of the journal (sequence, postings, balance per
  fund and currency in amount and CNY value, chain, hash, leaf): `ledger.integrity` feeds it
  rows from the database, and the audit bundle's checker feeds it the rows `entry_rows` reads
  out of each archived entry object, so a rule changed here changes both.
- `entry_rows` accepts only an object of exactly the shape `ledger.chain` writes (its keys,
  its types); anything else cannot be an entry of the ledger and gives None.
- A range's Merkle root is the RFC 6962 root over its leaves; for ranges of one power-of-two size
  that hold exactly that many entries (all but the last), those roots are the nodes of the whole
  tree at that height, which `ledger.integrity` combines.
"""

from __future__ import annotations

import hashlib
import pickle
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.chain import GENESIS, canonical_data, entry_text, posting_fragments, posting_text
from ledger.tlog.merkle import root_from_leaf_hashes

__all__ = [
    "WORKER_BOOT",
    "Bounds",
    "RangeResult",
    "add_sum",
    "check_range",
    "entry_rows",
    "fetch_range",
    "journal_bounds",
    "postings_from",
    "scan_range",
    "state_before",
    "worker_main",
]

Bounds = tuple[int | None, int | None]  # lo <= sequence < hi; None: unbounded on that side
FindingTuple = tuple[Any, str, str]  # (sequence or None, check, detail)

ENTRY_COLUMNS = (
    "id, sequence, kind, occurred_on, recorded_at, period, memo, maker, reverses, data, "
    "prev_hash, hash, leaf_hash"
)
POSTING_COLUMNS = (
    "line, sequence, occurred_on, account, fund, amount, currency, functional, project, party, "
    "functional_class, ref"
)
BALANCE_KEY = "account, fund, currency, project, ref"


@dataclass
class RangeResult:
    """What one range contributes to the report; picklable, so a worker can send it back."""

    entries: int
    postings: int
    last_hash: str | None  # the hash of the range's last entry; None if it has none
    findings: list[FindingTuple]
    leaves: bytes  # the 32-byte leaf hashes, concatenated in sequence order
    root: bytes  # the Merkle root over those leaves
    sums: dict[tuple[Any, ...], list[Any]]  # balance key -> [amount, functional]


def _where(bounds: Bounds, mark: str) -> tuple[str, tuple[int, ...]]:
    lo, hi = bounds
    clauses, params = [], []
    if lo is not None:
        clauses.append(f"sequence >= {mark}")
        params.append(lo)
    if hi is not None:
        clauses.append(f"sequence < {mark}")
        params.append(hi)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), tuple(params)


def _rows(conn: Any, sql: str, params: Sequence[Any]) -> list[Any]:
    cursor = conn.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def journal_bounds(conn: Any) -> tuple[Any, Any]:
    """The smallest and the largest sequence number in the journal (None, None if empty)."""
    low = _rows(conn, "SELECT min(sequence) FROM journal_entries", ())[0][0]
    high = _rows(conn, "SELECT max(sequence) FROM journal_entries", ())[0][0]
    return low, high


def state_before(conn: Any, mark: str, lo: int | None) -> tuple[Any, str]:
    """(expected next sequence, previous hash) of a single pass arriving at sequence `lo`."""
    if lo is None:
        return 1, GENESIS
    rows = _rows(
        conn,
        f"SELECT sequence, hash FROM journal_entries WHERE sequence < {mark} "
        "ORDER BY sequence DESC LIMIT 1",
        (lo,),
    )
    return (rows[0][0] + 1, rows[0][1]) if rows else (1, GENESIS)


def fetch_range(conn: Any, mark: str, bounds: Bounds) -> tuple[list[Any], list[Any]]:
    """The entries (table column order) and postings of a range, as plain driver rows."""
    where, params = _where(bounds, mark)
    heads = _rows(
        conn, f"SELECT {ENTRY_COLUMNS} FROM journal_entries{where} ORDER BY sequence", params
    )
    lines = _rows(
        conn, f"SELECT {POSTING_COLUMNS} FROM postings{where} ORDER BY sequence, line", params
    )
    return heads, lines


def postings_from(conn: Any, mark: str, lo: int) -> list[Any]:
    """(balance key..., amount, functional) of every posting with sequence >= `lo`.

    Plain rows, not a GROUP BY: SQLite would group along an index over the balance key and read
    the whole table; this way it reads the (usually empty) tail of the primary key.
    """
    return _rows(
        conn,
        f"SELECT {BALANCE_KEY}, amount, functional FROM postings WHERE sequence >= {mark}",
        (lo,),
    )


_ENTRY_KEYS = frozenset(
    (
        "v",
        "id",
        "sequence",
        "kind",
        "occurred_on",
        "recorded_at",
        "period",
        "memo",
        "maker",
        "reverses",
        "data",
        "postings",
    )
)
# A posting's fields in the order of a posting row, after (line, sequence, occurred_on).
_POSTING_FIELDS: tuple[str, ...] = (
    "account",
    "fund",
    "amount",
    "currency",
    "functional",
    "project",
    "party",
)
_POSTING_FIELDS += ("class", "ref")
_POSTING_KEYS = frozenset(("line", *_POSTING_FIELDS))
# An entry's fields in the order of an entry row, before (data, prev_hash, hash, leaf_hash).
_HEAD_FIELDS: tuple[str, ...] = (
    "id",
    "sequence",
    "kind",
    "occurred_on",
    "recorded_at",
    "period",
    "memo",
)
_HEAD_FIELDS += ("maker", "reverses")
_HEAD_TEXT = ("id", "kind", "occurred_on", "recorded_at", "period", "memo", "maker", "reverses")
_POSTING_TEXT = ("account", "fund", "currency", "project", "party", "class", "ref")


def _is_int(value: Any) -> bool:
    return type(value) is int


def entry_rows(
    obj: Any, prev_hash: Any, digest: Any, leaf_hex: Any
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]] | None:
    """The journal rows `check_range` reads for a canonical entry object and its three hashes.

    Returns (entry row in table column order, posting rows), or None when `obj` is not of the
    shape the ledger's serialiser writes (other keys, other types), so it cannot be an entry.
    """
    if not isinstance(obj, dict) or obj.keys() != _ENTRY_KEYS or obj["v"] != 1:
        return None
    if not (_is_int(obj["v"]) and _is_int(obj["sequence"]) and isinstance(obj["data"], dict)):
        return None
    if not all(obj[k] is None or isinstance(obj[k], str) for k in _HEAD_TEXT):
        return None
    if not all(isinstance(h, str) for h in (prev_hash, digest, leaf_hex)):
        return None
    lines = obj["postings"]
    if not isinstance(lines, list):
        return None
    seq, on = obj["sequence"], obj["occurred_on"]
    rows = []
    for p in lines:
        if not isinstance(p, dict) or p.keys() != _POSTING_KEYS:
            return None
        if not (_is_int(p["line"]) and _is_int(p["amount"]) and _is_int(p["functional"])):
            return None
        if not all(isinstance(p[k], str) for k in _POSTING_TEXT):
            return None
        rows.append((p["line"], seq, on, *(p[k] for k in _POSTING_FIELDS)))
    head = (*(obj[k] for k in _HEAD_FIELDS), canonical_data(obj["data"]), prev_hash, digest)
    return (*head, leaf_hex), rows


def scan_range(conn: Any, mark: str, bounds: Bounds, max_findings: int) -> RangeResult:
    """Read one range over a DB-API connection (`mark`: its placeholder) and check it."""
    expected, prev = state_before(conn, mark, bounds[0])
    heads, lines = fetch_range(conn, mark, bounds)
    return check_range(heads, lines, expected, prev, max_findings)


def add_sum(
    sums: dict[tuple[Any, ...], list[Any]], key: tuple[Any, ...], amount: Any, value: Any
) -> None:
    """Add an amount and its CNY value to the running sums of a balance key."""
    acc = sums.get(key)
    if acc is None:
        sums[key] = [amount, value]
    else:
        acc[0] += amount
        acc[1] += value


def _add_sums(sums: dict[tuple[Any, ...], list[Any]], r: Sequence[Any]) -> None:
    add_sum(sums, (r[3], r[4], r[6], r[8], r[11]), r[5], r[7])  # account, fund, currency, ...


def check_range(
    heads: Sequence[Sequence[Any]],
    lines: Sequence[Sequence[Any]],
    expected: Any,
    prev: str,
    max_findings: int,
) -> RangeResult:
    """The per-entry checks of a single pass over `heads` and their `lines` (see the module).

    `heads` are journal rows in table column order, ordered by sequence; `lines` are posting rows
    (line, sequence, occurred_on, account, fund, amount, currency, functional, project, party,
    functional_class, ref) ordered by sequence and line.
    """
    findings: list[FindingTuple] = []

    def add(seq: Any, check: str, detail: str) -> None:
        if len(findings) < max_findings:
            findings.append((seq, check, detail))

    sha256 = hashlib.sha256
    leaves: list[bytes] = []
    # Per distinct (account, fund, currency, project, party, class, ref) of this range: its
    # canonical fragments, its (fund, currency) and the sums of its postings.
    local: dict[tuple[Any, ...], list[Any]] = {}
    orphans: dict[tuple[Any, ...], list[Any]] = {}
    n_lines = len(lines)
    i = entries = postings = 0
    for head in heads:
        # Columns in table order: id, sequence, kind, occurred_on, recorded_at, period, memo,
        # maker, reverses, data, prev_hash, hash, leaf_hash.
        seq, occurred, prev_hash, digest, leaf_hex = head[1], head[3], head[10], head[11], head[12]
        if seq != expected:
            add(seq, "gap", f"expected sequence {expected}, found {seq}")
        expected = seq + 1
        while i < n_lines and lines[i][1] < seq:
            _add_sums(orphans, lines[i])  # a posting without an entry: caught by the balances
            i += 1
        by_fund: dict[tuple[Any, Any], list[Any]] = {}
        parts: list[str] = []
        n = 0
        while i < n_lines and lines[i][1] == seq:
            (line, _, on, account, fund, amount, currency, value, project, party, cls, ref) = lines[
                i
            ]
            i += 1
            n += 1
            if line != n or on != occurred:
                add(seq, "postings", "a posting's line, date or sequence does not fit its entry")
            if amount == 0:
                add(seq, "balance", f"line {n} is a zero posting")
            key = (account, fund, currency, project, party, cls, ref)
            slot = local.get(key)
            if slot is None:
                slot = local[key] = [posting_fragments(*key), (fund, currency), 0, 0]
            fc = slot[1]
            acc = by_fund.get(fc)
            if acc is None:
                by_fund[fc] = [0 + amount, 0 + value]
            else:
                acc[0] += amount
                acc[1] += value
            slot[2] += amount
            slot[3] += value
            parts.append(posting_text(slot[0], amount, value, n))
        postings += n
        if n < 2:
            add(seq, "balance", "an entry needs at least two postings")
        for (fund, currency), (amount, value) in by_fund.items():
            if amount or value:
                add(seq, "balance", f"fund {fund} does not balance in {currency}")
        h = head
        canonical = entry_text(
            h[0], seq, h[2], occurred, h[4], h[5], h[6], h[7], h[8], h[9], ",".join(parts)
        )
        if prev_hash != prev:
            add(seq, "chain", "prev_hash does not match the previous entry's hash")
        if sha256(prev_hash.encode("ascii") + b"\n" + canonical).hexdigest() != digest:
            add(seq, "hash", "entry content does not match its hash (altered)")
        leaf = sha256(b"\x00" + canonical).digest()
        if leaf.hex() != leaf_hex:
            add(seq, "leaf", "leaf hash does not match the entry")
        leaves.append(leaf)
        prev = digest
        entries += 1
    while i < n_lines:
        _add_sums(orphans, lines[i])  # postings after the range's last entry, without one
        i += 1
    sums = orphans  # per balance key (account, fund, currency, project, ref)
    for (account, fund, currency, project, _party, _cls, ref), slot in local.items():
        add_sum(sums, (account, fund, currency, project, ref), slot[2], slot[3])
    return RangeResult(
        entries=entries,
        postings=postings,
        last_hash=prev if entries else None,
        findings=findings,
        leaves=b"".join(leaves),
        root=root_from_leaf_hashes(leaves),
        sums=sums,
    )


# The program a verify worker runs: `python -c WORKER_BOOT`, then messages on its stdin.
WORKER_BOOT = (
    "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); "
    "from ledger.journal_scan import worker_main; worker_main()"
)


def worker_main() -> None:
    """A verify worker: scan the ranges its parent sends and send each result back.

    Reads (pickled, on stdin) the SQLite file and max_findings, then one range per message and
    None to stop; writes one pickled `RangeResult` per range on stdout. The parent is the
    verifying process of the same user, over its own pipes.
    """
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    path, max_findings = pickle.load(stdin)  # noqa: S301 (our own parent, over its own pipe)
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    conn.execute("PRAGMA query_only = ON")
    # One read transaction for all of this worker's ranges. It starts after the parent's, which
    # bounds every range by the journal it sees (append-only: the entries in those bounds are
    # the same in both snapshots).
    conn.execute("BEGIN")
    while (bounds := pickle.load(stdin)) is not None:  # noqa: S301 (as above)
        pickle.dump(scan_range(conn, "?", bounds, max_findings), stdout, pickle.HIGHEST_PROTOCOL)
        stdout.flush()
    conn.close()
