"""Corrections: a reversal (the only correction) and the receipts it voids.

Invariants owned here:
- A reversal posts the mirror image of an entry and, in the same unit of work, voids the
  reversed gift's live receipt and any live annual receipt that counted it (no replacement):
  the books and the receipts never disagree, not even for a moment.
"""

from __future__ import annotations

import datetime as dt

from ledger import services
from ledger.entries import PostedEntry
from ledger.storage.unit_of_work import UnitOfWork
from usecases.books import Books
from usecases.receipts import void_receipts_of_reversed
from usecases.unit import Actor, AuditFacts, write

__all__ = ["reversal_in", "reverse_entry"]


def reversal_in(
    uow: UnitOfWork,
    *,
    entry_id: str,
    reason: str,
    on: dt.date | None = None,
    by: Actor,
    key: str | None = None,
) -> PostedEntry:
    """Reverse an entry and void its receipts, in the caller's unit of work."""
    entry = services.reverse(uow, entry_id=entry_id, reason=reason, on=on, maker=by.name, key=key)
    void_receipts_of_reversed(uow, entry)
    return entry


def reverse_entry(
    books: Books,
    *,
    entry_id: str,
    reason: str,
    on: dt.date | None = None,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> PostedEntry:
    """Reverse an entry (once; a reversal is not itself reversed), in one unit of work.

    Raises:
        NotFound, AlreadyReversed, InsufficientFunds, Overpayment, PeriodClosed,
        IdempotencyConflict.
    """
    return write(
        books,
        lambda uow: reversal_in(uow, entry_id=entry_id, reason=reason, on=on, by=by, key=key),
        audit=audit,
        key=key,
        aliases={"date": "on"},
    )
