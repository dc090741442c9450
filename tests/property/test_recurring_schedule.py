"""Recurring pledges' schedules (`usecases.recurring.instalments`), for any schedule, payment
and day: the instalments add up to the pledge, payments fill them oldest first and never
beyond, due dates follow the calendar from the first one, and each status says what the
dates and the payments say."""

from __future__ import annotations

import calendar
import datetime as dt
import itertools

from hypothesis import given
from hypothesis import strategies as st

from usecases.recurring import FREQUENCIES, GRACE_DAYS, add_months, instalments

days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2080, 12, 31))
schedules = st.tuples(
    days,
    st.sampled_from(sorted(FREQUENCIES.values())),
    st.integers(min_value=1, max_value=60),
    st.integers(min_value=1, max_value=10**9),
)


@given(schedules, st.integers(min_value=-(10**6), max_value=10**12), days)
def test_instalments_add_up_and_payments_fill_them_oldest_first(
    schedule: tuple[dt.date, int, int, int], paid: int, today: dt.date
) -> None:
    first, every, count, amount = schedule
    found = instalments(first, every, count, amount, paid, today)
    assert len(found) == count
    assert sum(i.amount_minor for i in found) == amount * count
    assert sum(i.paid_minor for i in found) == min(max(paid, 0), amount * count)
    settled = [i.status == "paid" for i in found]
    assert settled == sorted(settled, reverse=True)  # the paid ones come first
    open_ = [i for i in found if i.status != "paid"]
    assert all(i.paid_minor == 0 for i in open_[1:])  # only the oldest open one may be part-paid
    assert all(0 <= i.paid_minor <= i.amount_minor for i in found)


@given(schedules, st.integers(min_value=0, max_value=10**12), days)
def test_due_dates_follow_the_calendar_and_statuses_follow_the_dates(
    schedule: tuple[dt.date, int, int, int], paid: int, today: dt.date
) -> None:
    first, every, count, amount = schedule
    found = instalments(first, every, count, amount, paid, today)
    assert [i.number for i in found] == list(range(1, count + 1))
    for n, i in enumerate(found):
        months = first.year * 12 + first.month - 1 + n * every
        year, month = divmod(months, 12)
        last_day = calendar.monthrange(year, month + 1)[1]
        assert i.due_on == dt.date(year, month + 1, min(first.day, last_day))
    assert all(a.due_on < b.due_on for a, b in itertools.pairwise(found))
    for i in found:
        if i.status == "paid":
            assert i.paid_minor == i.amount_minor
        elif i.due_on > today:
            assert i.status == ("part-paid" if i.paid_minor else "upcoming")
        elif (today - i.due_on).days > GRACE_DAYS:
            assert i.status == "overdue"
        else:
            assert i.status == "due"


@given(days, st.integers(min_value=0, max_value=600), st.integers(min_value=0, max_value=600))
def test_months_add_up_for_days_every_month_has(day: dt.date, a: int, b: int) -> None:
    early = day.replace(day=min(day.day, 28))
    assert add_months(add_months(early, a), b) == add_months(early, a + b)
    assert add_months(day, 0) == day
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
