"""UnitOfWork.attempt: a failed operation in a shared transaction leaves no trace, and an
operation that never writes costs no savepoint."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, insert, select, text

from ledger import services
from ledger.money import Money
from ledger.storage import tables
from ledger.storage.unit_of_work import UnitOfWork

CLOSED = "INSERT INTO closed_periods (period, closed_at, closed_by) VALUES (?, ?, ?)"


class Boom(Exception):
    pass


@pytest.fixture
def books(opened: Engine) -> Engine:
    """Fund F and one donor (the shared `opened` books)."""
    return opened


def _periods(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.scalars(select(tables.closed_periods.c.period)))


def _fail(work: Any) -> Any:
    def run(uow: UnitOfWork) -> Any:
        work(uow)
        raise Boom

    return run


def test_an_operation_that_only_reads_and_queues_takes_no_savepoint(
    books: Engine, statements: list[str]
) -> None:
    with UnitOfWork(books) as uow:
        donor = uow.repo.list_donors(None, 1)[0].id
        statements.clear()
        entry = uow.attempt(
            lambda u: services.record_donation(
                u,
                donor_id=donor,
                fund="F",
                amount=Money(1000, "CNY"),
                received_on=u.today(),
                method="bank",
                key="k-1",
            )
        )
        assert not [s for s in statements if "SAVEPOINT" in s]
        assert any(s.startswith("SELECT") for s in statements)  # the key was looked up
        uow.commit()
    with books.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM journal_entries")) == 1
        assert conn.scalar(select(tables.journal_entries.c.id)) == entry.id


def test_a_failed_operation_that_wrote_through_sqlalchemy_or_raw_sql_is_undone(
    books: Engine, statements: list[str]
) -> None:
    with UnitOfWork(books) as uow:
        conn = uow.connection
        uow.attempt(lambda u: u.repo.raw.run(CLOSED, ("2020-01", "2020-02-01", "t")))
        with pytest.raises(Boom):
            uow.attempt(
                _fail(
                    lambda u: conn.execute(
                        insert(tables.closed_periods).values(
                            period="2020-02", closed_at="2020-03-01", closed_by="t"
                        )
                    )
                )
            )
        with pytest.raises(Boom):
            uow.attempt(_fail(lambda u: u.repo.raw.run(CLOSED, ("2020-03", "2020-04-01", "t"))))
        with pytest.raises(Boom):  # reads first, then writes: the savepoint comes before the write
            uow.attempt(
                _fail(
                    lambda u: (
                        u.repo.closed_periods(),
                        u.repo.raw.many(CLOSED, [("2020-04", "2020-05-01", "t")]),
                    )
                )
            )
        uow.attempt(lambda u: u.repo.raw.run(CLOSED, ("2020-05", "2020-06-01", "t")))
        assert sum("SAVEPOINT huiquan_attempt" == s for s in statements) == 5  # one per writer
        uow.commit()
    assert _periods(books) == ["2020-01", "2020-05"]


def test_a_failed_operation_that_never_wrote_only_forgets_its_queued_rows(
    books: Engine, statements: list[str]
) -> None:
    with UnitOfWork(books) as uow:
        donor = uow.repo.list_donors(None, 1)[0].id

        def gift(u: UnitOfWork) -> None:
            services.record_donation(
                u,
                donor_id=donor,
                fund="F",
                amount=Money(1000, "CNY"),
                received_on=u.today(),
                method="bank",
            )

        uow.attempt(gift)
        with pytest.raises(Boom):
            uow.attempt(_fail(gift))
        assert not [s for s in statements if "SAVEPOINT" in s]
        uow.commit()
    with books.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM journal_entries")) == 1
        assert conn.scalar(text("SELECT max(sequence) FROM journal_entries")) == 1


def test_preloaded_queries_are_read_as_the_books_are_locked(books: Engine) -> None:
    with UnitOfWork(books) as uow:
        uow.repo.raw.run(CLOSED, ("2020-01", "2020-02-01", "t"))
        uow.commit()
    preload = {
        "funds": ("SELECT code FROM funds WHERE code = ?", ("F",)),
        "nothing": ("SELECT code FROM funds WHERE code = ?", ("NONE",)),
    }
    with UnitOfWork(books, preload=preload) as uow:
        assert uow.preloaded == {"funds": [("F",)], "nothing": []}
        assert uow.closed_periods() == {"2020-01"}  # read with the lock, not asked again
        assert (uow.sequence, len(uow.head_hash)) == (0, 64)  # and the head, as ever
