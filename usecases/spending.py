"""Spending: disbursements to projects, fees, and transfers between funds.

Every one is refused if the fund's cash in that currency would go below zero; concurrent
spending is serialised by the books' writer lock, so none overdraws. A disbursement or transfer
that the fund's approval policy says needs a checker is not posted: it becomes an approval
request (`usecases.gate`), posted later by `usecases.approvals.approve` through
`disbursement_in` / `transfer_in`, with every rule checked again then.
"""

from __future__ import annotations

from typing import Any

from ledger import services
from ledger.entries import PostedEntry
from ledger.storage.unit_of_work import UnitOfWork
from usecases import delivery
from usecases.books import Books
from usecases.gate import ApprovalRequest, request_if_needed
from usecases.unit import Actor, AuditFacts, write

__all__ = [
    "disbursement_in",
    "record_disbursement",
    "record_fee",
    "transfer_between_funds",
    "transfer_in",
]


def disbursement_in(
    uow: UnitOfWork, *, by: Actor, key: str | None, details: dict[str, Any]
) -> PostedEntry:
    """Post a disbursement in the caller's unit of work (no approval gate), announcing each
    donor gift it spends (`gift.spent`) in the same transaction."""
    entry = services.record_disbursement(uow, **details, maker=by.name, key=key)
    delivery.gift_spent(uow, entry)
    return entry


def transfer_in(
    uow: UnitOfWork, *, by: Actor, key: str | None, details: dict[str, Any]
) -> PostedEntry:
    """Post a transfer between funds in the caller's unit of work (no approval gate)."""
    return services.transfer_between_funds(uow, **details, maker=by.name, key=key)


def record_disbursement(
    books: Books,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
    **details: Any,
) -> PostedEntry | ApprovalRequest:
    """Pay money from a fund to one of its projects (`details`: `services.record_disbursement`'s),
    or, when the fund's policy says so, request it (the request is answered).

    A payment beyond the project's remaining budget is refused (`OverBudget`) unless it is asked
    for with `over_budget_reason`: it then always becomes a request, and only an approver's
    approval posts it (`usecases.approvals`), over the budget, with the reason in its data.

    Raises:
        UnknownFund, UnknownProject, InsufficientFunds, OverBudget, PurposeMismatch,
        PeriodClosed, IdempotencyConflict.
    """

    def work(uow: UnitOfWork) -> PostedEntry | ApprovalRequest:
        request = request_if_needed(
            uow,
            "disbursement",
            fund=details["fund"],
            amount=details["amount"],
            details=details,
            by=by,
            key=key,
            post=lambda unit: disbursement_in(unit, by=by, key=key, details=details),
            force=bool(details.get("over_budget_reason")),
        )
        return request or disbursement_in(uow, by=by, key=key, details=details)

    return write(
        books,
        work,
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
) -> PostedEntry | ApprovalRequest:
    """Move cash between funds through the interfund account, with a reason (or request it,
    when the paying fund's policy says so).

    Raises:
        InsufficientFunds, UnknownFund, InvalidEntry, PeriodClosed, IdempotencyConflict.
    """

    def work(uow: UnitOfWork) -> PostedEntry | ApprovalRequest:
        request = request_if_needed(
            uow,
            "transfer",
            fund=details["from_fund"],
            amount=details["amount"],
            details=details,
            by=by,
            key=key,
            post=lambda unit: transfer_in(unit, by=by, key=key, details=details),
        )
        return request or transfer_in(uow, by=by, key=key, details=details)

    return write(
        books,
        work,
        audit=audit,
        key=key,
        aliases={"date": "on"},
    )
