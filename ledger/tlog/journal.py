"""Reading the journal for audits: canonical entry objects, leaf hashes and posting facts.

Invariants owned here:
- `entry_bytes` rebuilds, from the stored columns, exactly the bytes
  `ledger.chain.canonical_entry_bytes` hashed when the entry was posted (the stored `data` is
  already its canonical text); they give the leaf hash and the chain hash, and parsed they are
  the entry's canonical object. An auditor holding only these objects can recompute both
  (`ledger.chain`).
- Every reader here streams: entries are read in ranges of sequence numbers (gapless, so a
  range of `batch` numbers is at most `batch` entries), never the whole journal at once.
- Readers take an upper bound `upto` (a journal size): on PostgreSQL's read-committed snapshot
  per statement, that keeps a long read consistent while new entries are being posted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, select

from ledger.chain import canonical_entry_bytes
from ledger.storage.tables import chain_head, journal_entries, postings

__all__ = ["entry_bytes", "entry_object", "iter_entry_objects", "journal_size", "leaf_hashes"]


def journal_size(conn: Connection) -> int:
    """The number of entries in the journal, from the chain head (gapless numbering)."""
    return int(conn.execute(select(chain_head.c.sequence).where(chain_head.c.id == 1)).scalar_one())


def entry_bytes(head: Any, rows: list[Any]) -> bytes:
    """The canonical bytes of a stored entry (header row plus its posting rows in line order)."""
    return canonical_entry_bytes(
        head.id,
        int(head.sequence),
        head.kind,
        head.occurred_on,
        head.recorded_at,
        head.period,
        head.memo,
        head.maker,
        head.reverses,
        head.data,
        [
            (
                r.account,
                r.fund,
                r.amount,
                r.currency,
                r.functional,
                r.project,
                r.party,
                r.functional_class,
                r.ref,
            )
            for r in rows
        ],
    )


def entry_object(head: Any, rows: list[Any]) -> dict[str, Any]:
    """The canonical object of a stored entry: its canonical bytes, parsed."""
    return dict(json.loads(entry_bytes(head, rows)))


def iter_entry_objects(
    conn: Connection, *, start: int = 1, upto: int | None = None, batch: int = 2000
) -> Iterator[tuple[Any, dict[str, Any], bytes]]:
    """(header row, canonical object, canonical bytes) for entries ``start..upto`` in order."""
    end = journal_size(conn) if upto is None else upto
    e, p = journal_entries.c, postings.c
    lo = start
    while lo <= end:
        hi = min(end, lo + batch - 1)
        heads = list(
            conn.execute(
                select(journal_entries)
                .where(e.sequence >= lo, e.sequence <= hi)
                .order_by(e.sequence)
            )
        )
        grouped: dict[int, list[Any]] = {}
        for row in conn.execute(
            select(postings).where(p.sequence >= lo, p.sequence <= hi).order_by(p.sequence, p.line)
        ):
            grouped.setdefault(int(row.sequence), []).append(row)
        for head in heads:
            canonical = entry_bytes(head, grouped.get(int(head.sequence), []))
            yield head, json.loads(canonical), canonical
        lo = hi + 1


def leaf_hashes(conn: Connection, size: int) -> list[bytes]:
    """The stored leaf hashes of entries ``1..size``, in order (32 bytes each)."""
    e = journal_entries.c
    query = select(e.leaf_hash).where(e.sequence <= size).order_by(e.sequence)
    result = conn.execute(query.execution_options(stream_results=True, yield_per=20_000))
    return [bytes.fromhex(h) for (h,) in result]
