"""Pledges: unconditional ones are receivable income; conditional ones a memo record only.

Every pledge recorded through `record_pledge` gets an acknowledgment with its own gapless
series (`HQP-<year>-<n>`): a promise acknowledged, never a receipt.

A pledge's date, when the caller leaves it out, is the day its idempotency key was first used,
so a retry after midnight replays instead of conflicting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ledger import services
from ledger.entries import PostedEntry
from ledger.idempotency import key_day
from ledger.model import Pledge
from ledger.storage.unit_of_work import UnitOfWork
from usecases.acknowledgments import AcknowledgmentLink, acknowledge
from usecases.books import Books
from usecases.unit import Actor, AuditFacts, write

__all__ = ["RecordedPledge", "pledge_in", "record_pledge"]


@dataclass(frozen=True, slots=True)
class RecordedPledge:
    """A pledge, the day it counts on, its entry (None for a conditional pledge) and the link
    of its acknowledgment (`usecases.acknowledgments`; None when recorded without books)."""

    pledge: Pledge
    pledged_on: dt.date
    entry: PostedEntry | None
    acknowledgment: AcknowledgmentLink | None = None


def pledge_in(
    uow: UnitOfWork,
    *,
    by: Actor,
    key: str | None = None,
    pledged_on: dt.date | None = None,
    books: Books | None = None,
    **details: Any,
) -> RecordedPledge:
    """Record a pledge in the caller's unit of work (`details`: `services.record_pledge`'s).

    With `books`, the pledge's acknowledgment (not a receipt) is issued in the same unit.
    """
    day = pledged_on or key_day(uow, key)
    pledge, entry = services.record_pledge(uow, **details, pledged_on=day, maker=by.name, key=key)
    ack = None
    if books is not None:
        ack = acknowledge(uow, books, pledge, pledged_on=day, officer=by.name)
    return RecordedPledge(pledge, day, entry, ack)


def record_pledge(
    books: Books,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
    **details: Any,
) -> RecordedPledge:
    """Record a pledge in one unit of work.

    Raises:
        UnknownDonor, UnknownFund, PeriodClosed, InvalidAmount, IdempotencyConflict.
    """
    return write(
        books,
        lambda uow: pledge_in(uow, by=by, key=key, books=books, **details),
        audit=audit,
        key=key,
        refs={"donor": [details["donor_id"]], "fund": [details["fund"]]},
        aliases={"date": "pledged_on"},
    )
