"""Depreciation of fixed assets received in kind: the schedule, the entry, the period-end run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import services
from ledger.accounts import ACCUMULATED_DEPRECIATION, FIXED_ASSETS, PROGRAM_EXPENSES
from ledger.depreciation import schedule
from ledger.entries import Posting
from ledger.errors import AlreadyExists, InvalidEntry
from ledger.storage.unit_of_work import UnitOfWork
from tests.builders import Books, cny
from usecases.books import Books as AppBooks
from usecases.depreciation import carrying_value, run_depreciation
from usecases.unit import SYSTEM

EQUIPMENT = "2166000"  # the surgical equipment for Luhuo, CNY


@given(
    cost=st.integers(1, 10**12),
    life=st.integers(1, 600),
    day=st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)),
)
def test_a_schedule_sums_to_the_cost_in_charges_a_fen_apart(cost, life, day):
    plan = schedule(cost, day, life)
    assert sum(plan.charges) == cost
    assert len(plan.charges) == life
    assert max(plan.charges) - min(plan.charges) <= 1
    assert plan.first_month > f"{day.year:04d}-{day.month:02d}"


def test_equipment_worth_2166000_is_charged_36100_a_month_from_the_next_month():
    plan = schedule(216_600_000, dt.date(2025, 6, 18))
    assert plan.first_month == "2025-07"
    assert set(plan.charges) == {3_610_000}
    assert plan.months[-1] == "2030-06"
    assert plan.accumulated_through("2025-12") == 6 * 3_610_000


@pytest.fixture
def equipment(engine):
    b = Books(engine)
    b.fund("LUHUO")
    donor = b.donor("某医疗器械公司", kind="organisation")
    gift = b.run(
        services.record_in_kind_donation,
        donor_id=donor,
        fund="LUHUO",
        description="手术设备一批",
        quantity="1 批",
        fair_value=cny(EQUIPMENT),
        valuation_basis="invoice",
        received_on=dt.date(2026, 6, 18),
        asset="equipment",
    )
    return b, gift.id


def test_one_month_posts_dr_program_expense_cr_accumulated_depreciation(engine, equipment):
    b, gift = equipment
    entry = b.run(services.record_depreciation, gift_entry_id=gift, month="2026-07")
    lines = {(p.account, p.ref): p.amount for p in entry.postings}
    assert lines[(PROGRAM_EXPENSES, "")] == 3_610_000
    assert lines[(ACCUMULATED_DEPRECIATION, gift)] == -3_610_000
    assert entry.occurred_on == dt.date(2026, 7, 31)
    with pytest.raises(AlreadyExists):
        b.run(services.record_depreciation, gift_entry_id=gift, month="2026-07")
    with pytest.raises(InvalidEntry):  # August is not posted yet
        b.run(services.record_depreciation, gift_entry_id=gift, month="2026-09")
    with pytest.raises(InvalidEntry):  # the month it arrived is not depreciated
        b.run(services.record_depreciation, gift_entry_id=gift, month="2026-06")


def test_the_run_posts_every_month_due_once_and_a_second_run_posts_nothing(
    engine, equipment, tmp_path: Path
):
    _b, gift = equipment
    books = AppBooks(engine=engine, home=tmp_path)
    first = run_depreciation(books, through="2026-11", by=SYSTEM)
    assert [m for _, m, _ in first.posted] == [
        "2026-07",
        "2026-08",
        "2026-09",
        "2026-10",
        "2026-11",
    ]
    assert first.total == 5 * 3_610_000
    again = run_depreciation(books, through="2026-11", by=SYSTEM)
    assert again.posted == [] and again.assets == 1
    with UnitOfWork(engine) as uow:
        value = carrying_value(uow, gift)
    assert (value.cost, value.accumulated, value.carrying) == (
        216_600_000,
        5 * 3_610_000,
        216_600_000 - 5 * 3_610_000,
    )
    assert value.fund == "LUHUO" and FIXED_ASSETS == "1501"


def test_the_run_never_posts_a_month_that_has_not_ended(engine, equipment, tmp_path: Path):
    books = AppBooks(engine=engine, home=tmp_path)
    run = run_depreciation(books, through="2031-12", by=SYSTEM)
    today = dt.date.today()
    assert all(m < f"{today.year:04d}-{today.month:02d}" for _, m, _ in run.posted)


def test_a_handover_at_carrying_value_ends_the_depreciation(engine, equipment, tmp_path: Path):
    b, gift = equipment
    books = AppBooks(engine=engine, home=tmp_path)
    run_depreciation(books, through="2026-08", by=SYSTEM)
    with UnitOfWork(engine) as uow:
        value = services.carrying_value(uow, gift)
    assert value.carrying == 216_600_000 - 2 * 3_610_000
    # the handover's shape (branch `evidence`): Dr 5101 / Cr 1501 ref=gift at carrying value
    b.run(
        services.post_general_entry,
        postings=(
            Posting(PROGRAM_EXPENSES, "LUHUO", value.carrying, "CNY", value.carrying),
            Posting(FIXED_ASSETS, "LUHUO", -value.carrying, "CNY", -value.carrying, ref=gift),
        ),
        occurred_on=dt.date(2026, 9, 3),
        memo="handed over to 交纳村卫生室",
    )
    with UnitOfWork(engine) as uow:
        after = carrying_value(uow, gift)
    assert (after.handed_over, after.carrying) == (value.carrying, 0)
    assert run_depreciation(books, through="2026-11", by=SYSTEM).posted == []
    with pytest.raises(InvalidEntry, match="handed over"):
        b.run(services.record_depreciation, gift_entry_id=gift, month="2026-09")
