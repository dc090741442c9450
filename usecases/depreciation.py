"""The period-end depreciation run, and the carrying value of a fixed asset received in kind.

Invariants owned here:
- Every fixed asset received in kind (an ``in_kind`` entry debiting 1501), not reversed and not
  handed over, is depreciated straight-line (`ledger.depreciation`) once per month, by
  `ledger.services.record_depreciation`, for every month due up to `through` whose last day
  has come; months already posted are skipped, so running again posts nothing.
- Each month of each asset carries the idempotency key ``depreciation:<gift entry id>:<month>``
  and the books refuse a month posted twice, so two runs racing post each month once.
- One run is one unit of work (with the caller's audit event, if given): all its months are
  posted, or none.
- The carrying value of an asset is its cost less its accumulated depreciation (1502 postings
  whose ``ref`` is the gift's entry id) less what was handed over (1501 credits with that
  ``ref``), read from the books only: `carrying_value` is `ledger.services.carrying_value`, so
  the handover of goods (in `ledger.services`) can use the same figure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from ledger import services
from ledger.accounts import FIXED_ASSETS
from ledger.depreciation import CarryingValue, month_end, months_between
from ledger.entries import EntryKind, PostedEntry
from ledger.errors import InvalidEntry
from ledger.storage.tables import journal_entries, postings
from ledger.storage.unit_of_work import UnitOfWork
from usecases.books import Books
from usecases.unit import Actor, AuditFacts, write

__all__ = ["CarryingValue", "DepreciationRun", "carrying_value", "fixed_assets", "run_depreciation"]


@dataclass(slots=True)
class DepreciationRun:
    """What one run posted: (gift entry id, month, fen) per entry, and the assets it saw."""

    through: str
    posted: list[tuple[str, str, int]] = field(default_factory=list)
    assets: int = 0
    entries: list[PostedEntry] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(fen for _, _, fen in self.posted)


def fixed_assets(uow: UnitOfWork) -> list[str]:
    """Entry ids of the in-kind gifts that debited 1501, oldest first."""
    p, e = postings.c, journal_entries.c
    query = (
        select(e.id)
        .select_from(journal_entries.join(postings, p.entry_id == e.id))
        .where(e.kind == EntryKind.IN_KIND.value, p.account == FIXED_ASSETS, p.amount > 0)
        .group_by(e.id, e.sequence)
        .order_by(e.sequence)
    )
    return list(uow.connection.scalars(query))


carrying_value = services.carrying_value


def _due(uow: UnitOfWork, gift_entry_id: str, through: str) -> list[str]:
    """The months of one asset still to post, up to `through` and the last month that ended."""
    try:
        value = carrying_value(uow, gift_entry_id)
    except InvalidEntry:
        return []  # reversed: nothing to depreciate
    if value.handed_over:
        return []
    _gift, plan = services.depreciable_gift(uow, gift_entry_id)
    today = uow.today()
    months = [
        m
        for m in months_between(plan.first_month, min(through, plan.months[-1]))
        if month_end(m) <= today
    ]
    return [m for m in months if plan.accumulated_through(m) > value.accumulated]


def run_depreciation(
    books: Books, *, through: str, by: Actor, audit: AuditFacts | None = None
) -> DepreciationRun:
    """Post every month of depreciation due up to `through` (``YYYY-MM``), idempotently.

    Raises:
        ValueError: for a malformed month;
        PeriodClosed: when a month due lies in a closed period (nothing is posted).
    """
    month_end(through)  # validates YYYY-MM

    def work(uow: UnitOfWork) -> DepreciationRun:
        run = DepreciationRun(through)
        for gift_id in fixed_assets(uow):
            run.assets += 1
            for month in _due(uow, gift_id, through):
                entry = services.record_depreciation(
                    uow,
                    gift_entry_id=gift_id,
                    month=month,
                    maker=by.name,
                    key=f"depreciation:{gift_id}:{month}",
                )
                run.entries.append(entry)
                run.posted.append((gift_id, month, int(entry.data["cny_minor"])))
        return run

    return write(books, work, audit=audit)


def today_month(today: dt.date) -> str:
    """``YYYY-MM`` of the last month that has ended before `today`."""
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"
