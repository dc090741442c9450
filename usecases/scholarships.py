"""Scholarships: awards (an expense and a liability) and their payouts.

An award's date, when the caller leaves it out, is the day its idempotency key was first used.
A payout is never beyond the award's unpaid balance, nor beyond the fund's cash. An award that
the fund's approval policy says needs a checker becomes an approval request (`usecases.gate`),
dated as it was requested, and is posted at its approval (`award_in`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ledger import services
from ledger.entries import PostedEntry
from ledger.errors import NotFound
from ledger.idempotency import key_day
from ledger.model import Award
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork
from usecases import delivery
from usecases.books import Books
from usecases.gate import ApprovalRequest, request_if_needed
from usecases.unit import Actor, AuditFacts, write

__all__ = [
    "RecordedAward",
    "RecordedPayout",
    "award_in",
    "award_scholarship",
    "pay_scholarship",
]


@dataclass(frozen=True, slots=True)
class RecordedAward:
    award: Award
    awarded_on: dt.date
    entry: PostedEntry


@dataclass(frozen=True, slots=True)
class RecordedPayout:
    award: Award
    amount: Money
    entry: PostedEntry


def _award(
    uow: UnitOfWork, by: Actor, key: str | None, awarded_on: dt.date | None, details: Any
) -> RecordedAward:
    day = awarded_on or key_day(uow, key)
    award, entry = services.award_scholarship(
        uow, **details, awarded_on=day, maker=by.name, key=key
    )
    return RecordedAward(award, day, entry)


def award_in(
    uow: UnitOfWork, *, by: Actor, key: str | None, details: dict[str, Any]
) -> PostedEntry:
    """Post an award in the caller's unit of work (no approval gate); `details` has its date."""
    rest = {k: v for k, v in details.items() if k != "awarded_on"}
    return _award(uow, by, key, details["awarded_on"], rest).entry


def _award_or_request(
    uow: UnitOfWork, by: Actor, key: str | None, awarded_on: dt.date | None, details: Any
) -> RecordedAward | ApprovalRequest:
    day = awarded_on or key_day(uow, key)
    request = request_if_needed(
        uow,
        "award",
        fund=details["fund"],
        amount=details["amount"],
        details={**details, "awarded_on": day},
        by=by,
        key=key,
        post=lambda unit: _award(unit, by, key, day, details),
    )
    return request or _award(uow, by, key, day, details)


def award_scholarship(
    books: Books,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
    awarded_on: dt.date | None = None,
    **details: Any,
) -> RecordedAward | ApprovalRequest:
    """Award a scholarship to a beneficiary (by pseudonym) for a term: Dr 5101 / Cr 2209 (or
    request it, when the fund's policy says so).

    Raises:
        UnknownFund, UnknownBeneficiary, UnknownProject, PeriodClosed, IdempotencyConflict.
    """
    return write(
        books,
        lambda uow: _award_or_request(uow, by, key, awarded_on, details),
        audit=audit,
        key=key,
        aliases={"date": "awarded_on"},
    )


def _payout(
    uow: UnitOfWork,
    by: Actor,
    key: str | None,
    award_id: str,
    amount: str,
    currency: str | None,
    paid_on: dt.date,
) -> RecordedPayout:
    award = uow.repo.get_award(award_id)
    if award is None:
        raise NotFound(f"no award {award_id!r}", field="award_id")
    money = Money.parse(amount, currency or award.currency)
    entry = services.pay_scholarship(
        uow, award_id=award.id, amount=money, paid_on=paid_on, maker=by.name, key=key
    )
    delivery.gift_spent(uow, entry, use=delivery.SPENT_ON_SCHOLARSHIP)  # no student named
    return RecordedPayout(award, money, entry)


def pay_scholarship(
    books: Books,
    *,
    award_id: str,
    amount: str,
    currency: str | None,
    paid_on: dt.date,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> RecordedPayout:
    """Pay (part of) an award, `amount` a decimal string in the award's currency by default.

    Raises:
        NotFound (award_id), Overpayment, InsufficientFunds, PeriodClosed, InvalidAmount,
        IdempotencyConflict.
    """
    return write(
        books,
        lambda uow: _payout(uow, by, key, award_id, amount, currency, paid_on),
        audit=audit,
        key=key,
        aliases={"date": "paid_on"},
    )
