"""Corrections: a reversal (the only correction) and the receipts it voids.

Invariants owned here:
- A reversal posts the mirror image of an entry and, in the same unit of work, voids the
  reversed gift's live receipt and any live annual receipt that counted it (no replacement):
  the books and the receipts never disagree, not even for a moment.
- A reversal the policy of the reversed entry's fund says needs a checker (by default: of
  10,000 or more, and every reversal of a disbursement) becomes an approval request; its fund
  and amount are those of the entry's largest posting.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledger import services
from ledger.entries import PostedEntry
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork
from usecases.books import Books
from usecases.gate import ApprovalRequest, request_if_needed
from usecases.receipts import void_receipts_of_reversed
from usecases.unit import Actor, AuditFacts, write

__all__ = ["reversal_in", "reverse_entry", "reverse_in"]


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
) -> PostedEntry | ApprovalRequest:
    """Reverse an entry (once; a reversal is not itself reversed), in one unit of work, or
    request it when the policy says so.

    Raises:
        NotFound, AlreadyReversed, InsufficientFunds, Overpayment, PeriodClosed,
        IdempotencyConflict.
    """
    return write(
        books,
        lambda uow: _reversal_or_request(
            uow, by, key, {"entry_id": entry_id, "reason": reason, "on": on}
        ),
        audit=audit,
        key=key,
        aliases={"date": "on"},
    )


def reverse_in(
    uow: UnitOfWork, *, by: Actor, key: str | None, details: dict[str, Any]
) -> PostedEntry:
    """`reversal_in` with the stored details of a request (no approval gate)."""
    return reversal_in(uow, **details, by=by, key=key)


def _reversal_or_request(
    uow: UnitOfWork, by: Actor, key: str | None, details: dict[str, Any]
) -> PostedEntry | ApprovalRequest:
    entry = uow.entry(details["entry_id"])
    if entry is not None and entry.reverses is None:
        largest = max(entry.postings, key=lambda p: abs(p.amount))
        request = request_if_needed(
            uow,
            "reversal",
            fund=largest.fund,
            amount=Money(abs(largest.amount), largest.currency),
            details=details,
            by=by,
            key=key,
            post=lambda unit: reverse_in(unit, by=by, key=key, details=details),
            reverses_kind=entry.kind.value,
        )
        if request is not None:
            return request
    return reverse_in(uow, by=by, key=key, details=details)
