"""Reading the journal for audits: canonical entry objects, leaf hashes and posting facts.

Invariants owned here:
- `entry_object` rebuilds exactly the object `ledger.chain.canonical_object` hashed when the
  entry was posted, from the stored columns; its canonical bytes give the leaf hash and the
  chain hash. An auditor holding only these objects can recompute both (`ledger.chain`).
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

from ledger.chain import canonical_bytes, canonical_object
from ledger.entries import Posting
from ledger.storage.tables import chain_head, journal_entries, postings

__all__ = ["entry_object", "iter_entry_objects", "journal_size", "leaf_hashes", "posting_of"]


def journal_size(conn: Connection) -> int:
    """The number of entries in the journal, from the chain head (gapless numbering)."""
    return int(conn.execute(select(chain_head.c.sequence).where(chain_head.c.id == 1)).scalar_one())


def posting_of(row: Any) -> Posting:
    return Posting(
        row.account,
        row.fund,
        int(row.amount),
        row.currency,
        int(row.functional),
        row.project,
        row.party,
        row.functional_class,
        row.ref,
    )


def entry_object(head: Any, rows: list[Any]) -> dict[str, Any]:
    """The canonical object of a stored entry (header row plus its posting rows in line order)."""
    return canonical_object(
        entry_id=head.id,
        sequence=int(head.sequence),
        kind=head.kind,
        occurred_on=head.occurred_on,
        recorded_at=head.recorded_at,
        period=head.period,
        memo=head.memo,
        maker=head.maker,
        reverses=head.reverses,
        data=json.loads(head.data),
        postings=[posting_of(r) for r in rows],
    )


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
            obj = entry_object(head, grouped.get(int(head.sequence), []))
            yield head, obj, canonical_bytes(obj)
        lo = hi + 1


def leaf_hashes(conn: Connection, size: int) -> list[bytes]:
    """The stored leaf hashes of entries ``1..size``, in order (32 bytes each)."""
    e = journal_entries.c
    query = select(e.leaf_hash).where(e.sequence <= size).order_by(e.sequence)
    result = conn.execute(query.execution_options(stream_results=True, yield_per=20_000))
    return [bytes.fromhex(h) for (h,) in result]
