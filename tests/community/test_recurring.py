"""Recurring pledges through the books: a sponsor's ¥3,800 a year, paid as receipted gifts
against the pledge; instalments and reminders read from what the books show paid."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.errors import InvalidEntry
from ledger.money import Money
from tests.community.conftest import OFFICER, World
from usecases import corrections, gifts, recurring

START = dt.date(2025, 9, 1)


def _sponsor(world: World) -> recurring.Schedule:
    return recurring.create_recurring_pledge(
        world.books,
        donor_id=world.donor,
        fund=world.fund,
        instalment=Money.parse("3800.00", "CNY"),
        frequency="yearly",
        count=3,
        first_due=START,
        purpose="资助一名高中生",
        by=OFFICER,
    )


def _pay(world: World, pledge_id: str, amount: str) -> str:
    gift = gifts.record_donation(
        world.books,
        by=OFFICER,
        donor_id=world.donor,
        fund=world.fund,
        amount=Money.parse(amount, "CNY"),
        received_on=dt.datetime.now(dt.UTC).date(),
        pledge_id=pledge_id,
    )
    assert gift.receipt is not None  # each payment is receipted as any gift
    return gift.entry.id


def test_a_yearly_sponsorship_is_one_pledge_paid_instalment_by_instalment(world: World) -> None:
    made = _sponsor(world)
    assert made.total_minor == 1_140_000 and made.frequency == "yearly"
    assert [i.due_on for i in made.instalments] == [
        START,
        dt.date(2026, 9, 1),
        dt.date(2027, 9, 1),
    ]
    _pay(world, made.pledge_id, "3800.00")
    entry = _pay(world, made.pledge_id, "1000.00")
    on = dt.date(2026, 9, 10)
    shown = recurring.schedule(world.books, made.pledge_id, today=on)
    assert [(i.status, i.paid_minor) for i in shown.instalments] == [
        ("paid", 380_000),
        ("due", 100_000),
        ("upcoming", 0),
    ]
    reminders = recurring.reminders(world.books, today=on)
    assert [(r.instalment.number, r.instalment.outstanding_minor) for r in reminders] == [
        (2, 280_000)
    ]
    corrections.reverse_entry(world.books, entry_id=entry, reason="退回", by=OFFICER)
    shown = recurring.schedule(world.books, made.pledge_id, today=dt.date(2026, 11, 1))
    assert [i.status for i in shown.instalments] == ["paid", "overdue", "upcoming"]


def test_a_bad_schedule_is_refused_and_records_no_pledge(world: World) -> None:
    for bad in ({"count": 0}, {"frequency": "weekly"}, {"purpose": " "}):
        details = {
            "donor_id": world.donor,
            "fund": world.fund,
            "instalment": Money.parse("300.00", "CNY"),
            "frequency": "monthly",
            "count": 12,
            "first_due": START,
            "purpose": "每月",
            **bad,
        }
        with pytest.raises(InvalidEntry):
            recurring.create_recurring_pledge(world.books, by=OFFICER, **details)  # type: ignore[arg-type]
    assert recurring.list_schedules(world.books) == []
