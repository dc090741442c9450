"""Recurring giving: a pledge paid in instalments on a schedule (a sponsor's ¥3,800 a year for a
student, a monthly gift), what is due and overdue, and the officers' reminder list.

Invariants owned here:
- A recurring pledge is one unconditional pledge for the whole schedule (`usecases.pledges`:
  receivable income, its acknowledgment), plus its schedule row: `count` instalments of
  `instalment_minor`, the first due on `first_due`, then every `every_months` months. Nothing
  about an instalment is typed: each payment is an ordinary pledge payment (a donation paying
  the pledge, receipted as every gift), and the instalments are read from what the books show
  paid, oldest first (`schedule`).
- The n-th due date is `first_due` plus n × `every_months` months, counted from the first (a
  schedule starting on 31 January falls due on 28 or 29 February, then 31 March).
- An instalment is `paid`, `part-paid` (some of it), `due` (its day has come, within
  `GRACE_DAYS`), `overdue` (past that) or `upcoming`. The reminder list is every unpaid
  instalment due within `REMIND_DAYS` days, or past due.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from ledger.errors import InvalidEntry, NotFound
from ledger.money import FUNCTIONAL_CURRENCY, MAX_MINOR, Money
from ledger.storage import tables as t
from ledger.storage.repository import SqlRepository
from ledger.storage.unit_of_work import UnitOfWork
from ledger.text import text_problem
from usecases import pledges
from usecases.books import Books
from usecases.community import pledges_paid
from usecases.unit import Actor, AuditFacts, read, write

__all__ = [
    "FREQUENCIES",
    "GRACE_DAYS",
    "REMIND_DAYS",
    "Instalment",
    "Reminder",
    "Schedule",
    "add_months",
    "create_recurring_pledge",
    "instalments",
    "list_schedules",
    "reminders",
    "schedule",
]

#: Months between instalments, by name.
FREQUENCIES = {"monthly": 1, "quarterly": 3, "yearly": 12}
GRACE_DAYS = 30
REMIND_DAYS = 14
MAX_INSTALMENTS = 240


@dataclass(frozen=True, slots=True)
class Instalment:
    number: int
    due_on: dt.date
    amount_minor: int
    paid_minor: int
    status: str

    @property
    def outstanding_minor(self) -> int:
        return self.amount_minor - self.paid_minor


@dataclass(frozen=True, slots=True)
class Schedule:
    pledge_id: str
    donor_id: str
    fund: str
    purpose: str
    every_months: int
    instalment_minor: int
    count: int
    first_due: dt.date
    paid_minor: int
    instalments: tuple[Instalment, ...]

    @property
    def total_minor(self) -> int:
        return self.instalment_minor * self.count

    @property
    def frequency(self) -> str:
        return next((k for k, v in FREQUENCIES.items() if v == self.every_months), "")


@dataclass(frozen=True, slots=True)
class Reminder:
    schedule: Schedule
    instalment: Instalment
    days_late: int


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved `months` calendar months on, clamped to the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def instalments(
    first_due: dt.date,
    every_months: int,
    count: int,
    instalment_minor: int,
    paid_minor: int,
    today: dt.date,
) -> tuple[Instalment, ...]:
    """The schedule's instalments with what is paid against each, oldest first."""
    left = max(0, paid_minor)
    found = []
    for n in range(count):
        due = add_months(first_due, n * every_months)
        paid = min(left, instalment_minor)
        left -= paid
        if paid == instalment_minor:
            status = "paid"
        elif due > today:
            status = "part-paid" if paid else "upcoming"
        elif (today - due).days > GRACE_DAYS:
            status = "overdue"
        else:
            status = "due"
        found.append(Instalment(n + 1, due, instalment_minor, paid, status))
    return tuple(found)


def create_recurring_pledge(
    books: Books,
    *,
    donor_id: str,
    fund: str,
    instalment: Money,
    frequency: str,
    count: int,
    first_due: dt.date,
    purpose: str,
    pledged_on: dt.date | None = None,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Schedule:
    """Record a recurring pledge: one pledge for the whole schedule, and the schedule
    (`pledged_on`: default the day its key was first used).

    Raises:
        InvalidEntry: an unknown frequency, a count outside 1..240, not CNY, a bad purpose.
        UnknownDonor, UnknownFund, PeriodClosed, IdempotencyConflict.
    """
    if frequency not in FREQUENCIES:
        raise InvalidEntry(f"frequency is one of {', '.join(FREQUENCIES)}", field="frequency")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 < count <= MAX_INSTALMENTS:
        raise InvalidEntry(f"count is a whole number from 1 to {MAX_INSTALMENTS}", field="count")
    if instalment.currency != FUNCTIONAL_CURRENCY or instalment.minor <= 0:
        raise InvalidEntry("an instalment is a positive amount in CNY", field="instalment")
    if instalment.minor * count > MAX_MINOR:
        raise InvalidEntry("the schedule's total is too large", field="count")
    purpose = purpose.strip()
    problem = text_problem(purpose)
    if not purpose or len(purpose) > 200 or problem:
        raise InvalidEntry("purpose is 1-200 characters of text", field="purpose")
    every = FREQUENCIES[frequency]
    last_due = add_months(first_due, (count - 1) * every)

    def work(uow: UnitOfWork) -> Schedule:
        made = pledges.pledge_in(
            uow,
            by=by,
            key=key,
            pledged_on=pledged_on,
            books=books,
            donor_id=donor_id,
            fund=fund,
            amount=Money(instalment.minor * count, instalment.currency),
            due_on=last_due,
            memo=f"recurring: {purpose}",
        )
        pledge_id = made.pledge.id
        exists = uow.connection.scalar(
            select(t.pledge_schedules.c.pledge_id).where(
                t.pledge_schedules.c.pledge_id == pledge_id
            )
        )
        if exists is None:
            uow.connection.execute(
                insert(t.pledge_schedules).values(
                    pledge_id=pledge_id,
                    every_months=every,
                    instalment_minor=instalment.minor,
                    count=count,
                    first_due=first_due.isoformat(),
                    purpose=purpose,
                    at=uow.now(),
                    by=by.name,
                )
            )
        return _schedules(uow.connection, uow.today(), pledge_id)[0]

    facts = audit or AuditFacts(
        actor=by.name, role=by.role, action="pledge.recurring", target=donor_id
    )
    return write(
        books,
        work,
        audit=facts,
        key=key,
        refs={"donor": [donor_id], "fund": [fund]},
    )


def _schedules(conn: Connection, today: dt.date, pledge_id: str | None = None) -> list[Schedule]:
    s, p = t.pledge_schedules.c, t.pledges.c
    query = select(t.pledge_schedules, p.donor_id, p.fund).join(t.pledges, p.id == s.pledge_id)
    if pledge_id is not None:
        query = query.where(s.pledge_id == pledge_id)
    rows = list(conn.execute(query.order_by(s.first_due, s.pledge_id)))
    paid = pledges_paid(conn, [r.pledge_id for r in rows])
    found = []
    for r in rows:
        total, got = paid.get(r.pledge_id, (0, 0))
        count = int(r._mapping["count"])  # `r.count` is the tuple's method
        first = dt.date.fromisoformat(r.first_due)
        found.append(
            Schedule(
                r.pledge_id,
                r.donor_id,
                r.fund,
                r.purpose,
                int(r.every_months),
                int(r.instalment_minor),
                count,
                first,
                got,
                instalments(first, int(r.every_months), count, int(r.instalment_minor), got, today)
                if total
                else (),
            )
        )
    return found


def list_schedules(books: Books, *, today: dt.date | None = None) -> list[Schedule]:
    """Every recurring pledge with its instalments as of `today` (default: today, UTC)."""
    day = today or dt.datetime.now(dt.UTC).date()
    return read(books, lambda repo: _schedules(repo.conn, day))


def schedule(books: Books, pledge_id: str, *, today: dt.date | None = None) -> Schedule:
    """One recurring pledge's schedule. Raises: NotFound."""
    day = today or dt.datetime.now(dt.UTC).date()

    def work(repo: SqlRepository) -> list[Schedule]:
        return _schedules(repo.conn, day, pledge_id)

    found = read(books, work)
    if not found:
        raise NotFound(f"pledge {pledge_id!r} has no schedule", field="pledge_id")
    return found[0]


def reminders(books: Books, *, today: dt.date | None = None) -> list[Reminder]:
    """Unpaid instalments due within `REMIND_DAYS` days or past due, most late first."""
    day = today or dt.datetime.now(dt.UTC).date()
    horizon = day + dt.timedelta(days=REMIND_DAYS)
    found = [
        Reminder(s, i, max(0, (day - i.due_on).days))
        for s in list_schedules(books, today=day)
        for i in s.instalments
        if i.status != "paid" and i.due_on <= horizon
    ]
    return sorted(found, key=lambda r: (-r.days_late, r.instalment.due_on, r.schedule.pledge_id))
