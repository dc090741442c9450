"""Straight-line depreciation of fixed assets received in kind (domain notes, section 7).

Invariants owned here:
- The schedule is pure: cost, the month the asset arrived and its useful life in months give
  one charge per month, and nothing is read from the books.
- Depreciation starts the month after the asset arrives (当月增加的固定资产当月不提折旧，从下月
  起计提) and runs for the useful life: 60 months (5 years) by default, no residual value.
- The monthly charges are split by largest remainder (`ledger.money.allocate`): they are whole
  fen, differ by at most one fen, and always sum to exactly the cost.
- A month is written ``YYYY-MM``; its charge is dated the month's last day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.money import allocate
from ledger.text import digits

__all__ = [
    "DEFAULT_USEFUL_LIFE_MONTHS",
    "CarryingValue",
    "Schedule",
    "month_end",
    "months_between",
    "next_month",
    "parse_month",
    "schedule",
    "useful_life_of",
]

DEFAULT_USEFUL_LIFE_MONTHS = 60
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> tuple[int, int]:
    """(year, month) of ``YYYY-MM``.

    Raises:
        ValueError: for anything else.
    """
    found = _MONTH.match(text)
    if not found:
        raise ValueError("a month is YYYY-MM")
    return int(found.group(1)), int(found.group(2))


def next_month(month: str) -> str:
    """The month after ``YYYY-MM``."""
    year, m = parse_month(month)
    year, m = (year + 1, 1) if m == 12 else (year, m + 1)
    return f"{year:04d}-{m:02d}"


def month_end(month: str) -> dt.date:
    """The last day of ``YYYY-MM``."""
    year, m = parse_month(next_month(month))
    return dt.date(year, m, 1) - dt.timedelta(days=1)


def months_between(first: str, last: str) -> list[str]:
    """Every month from `first` to `last` inclusive (empty when `last` is before `first`)."""
    out, month = [], first
    while month <= last:
        out.append(month)
        month = next_month(month)
    return out


@dataclass(frozen=True, slots=True)
class CarryingValue:
    """One asset's cost, accumulated depreciation, handed-over value and what remains (fen).

    Read from the books by `ledger.services.carrying_value`: 1502 postings with ``ref`` = the
    gift's entry id are its depreciation; 1501 credits with that ``ref`` are handovers.
    """

    gift_entry_id: str
    fund: str
    cost: int
    accumulated: int
    handed_over: int

    @property
    def carrying(self) -> int:
        return self.cost - self.accumulated - self.handed_over


@dataclass(frozen=True, slots=True)
class Schedule:
    """One asset's monthly charges, in fen, from `first_month` on."""

    cost: int
    first_month: str
    charges: tuple[int, ...]

    @property
    def months(self) -> tuple[str, ...]:
        out, month = [], self.first_month
        for _ in self.charges:
            out.append(month)
            month = next_month(month)
        return tuple(out)

    def charge_for(self, month: str) -> int:
        """The charge of `month`; 0 before the first month or after the last."""
        months = self.months
        return self.charges[months.index(month)] if month in months else 0

    def accumulated_through(self, month: str) -> int:
        """What the schedule has charged up to and including `month`."""
        return sum(c for m, c in zip(self.months, self.charges, strict=True) if m <= month)


def schedule(
    cost: int, received_on: dt.date, useful_life_months: int = DEFAULT_USEFUL_LIFE_MONTHS
) -> Schedule:
    """The straight-line schedule of an asset of `cost` fen that arrived on `received_on`.

    Raises:
        ValueError: when the cost is not positive or the useful life is not 1..600 months.
    """
    if cost <= 0:
        raise ValueError("a depreciable asset has a positive cost")
    if not 1 <= useful_life_months <= 600:
        raise ValueError("a useful life is 1 to 600 months")
    charges = allocate(cost, [1] * useful_life_months)
    first = next_month(f"{received_on.year:04d}-{received_on.month:02d}")
    return Schedule(cost, first, tuple(charges))


def useful_life_of(data: Mapping[str, Any]) -> int:
    """The useful life (months) set on a gift's data (``useful_life_months``), else the default.

    Raises:
        ValueError: when the value set is not a whole number of months.
    """
    value = data.get("useful_life_months", DEFAULT_USEFUL_LIFE_MONTHS)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not digits(str(value)):
        raise ValueError("useful_life_months is a whole number of months")
    return int(value)
