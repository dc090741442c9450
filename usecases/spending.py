"""Spending: disbursements to projects, fees, and transfers between funds.

Every one is refused if the fund's cash in that currency would go below zero; concurrent
spending is serialised by the books' writer lock, so none overdraws.
"""

from __future__ import annotations

from typing import Any

from ledger import services
from ledger.entries import PostedEntry
from usecases.books import Books
from usecases.unit import Actor, AuditFacts, write

__all__ = ["record_disbursement", "record_fee", "transfer_between_funds"]


def record_disbursement(
    books: Books,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
    **details: Any,
) -> PostedEntry:
    """Pay money from a fund to one of its projects (`details`: `services.record_disbursement`'s).

    Raises:
        UnknownFund, UnknownProject, InsufficientFunds, PeriodClosed, IdempotencyConflict.
    """
    return write(
        books,
        lambda uow: services.record_disbursement(uow, **details, maker=by.name, key=key),
        audit=audit,
        key=key,
        refs={"fund": [details["fund"]]},
        aliases={"date": "paid_on"},
    )


def record_fee(
    books: Books,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
    **details: Any,
) -> PostedEntry:
    """Record a bank or platform fee as its own entry (`details`: `services.record_fee`'s).

    Raises:
        UnknownFund, InsufficientFunds, PeriodClosed, IdempotencyConflict.
    """
    return write(
        books,
        lambda uow: services.record_fee(uow, **details, maker=by.name, key=key),
        audit=audit,
        key=key,
        aliases={"date": "paid_on"},
    )


def transfer_between_funds(
    books: Books,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
    **details: Any,
) -> PostedEntry:
    """Move cash between funds through the interfund account, with a reason.

    Raises:
        InsufficientFunds, UnknownFund, InvalidEntry, PeriodClosed, IdempotencyConflict.
    """
    return write(
        books,
        lambda uow: services.transfer_between_funds(uow, **details, maker=by.name, key=key),
        audit=audit,
        key=key,
        aliases={"date": "on"},
    )
