"""UnitOfWork.commit: the last rows and the COMMIT leave together, and a refusal keeps nothing."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError

from ledger import services
from ledger.money import Money
from ledger.storage import tables
from ledger.storage.unit_of_work import UnitOfWork
from tests.builders import DAY

CLOSED = "INSERT INTO closed_periods (period, closed_at, closed_by) VALUES (?, ?, ?)"


def _donor(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(select(tables.donors.c.id)))


def _gift(uow: UnitOfWork, donor: str) -> str:
    entry = services.record_donation(
        uow, donor_id=donor, fund="F", amount=Money(1000, "CNY"), received_on=DAY
    )
    return entry.id


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.mark.postgres_only
def test_on_postgresql_the_commit_travels_with_the_last_rows(
    opened: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    status_at_commit: list[Any] = []
    original = psycopg.Connection.commit

    def spy(self: psycopg.Connection[Any]) -> None:
        status_at_commit.append(self.pgconn.transaction_status)
        original(self)

    monkeypatch.setattr(psycopg.Connection, "commit", spy)
    donor = _donor(opened)
    with UnitOfWork(opened) as uow:
        entry = _gift(uow, donor)
        uow.commit()
    # By the time SQLAlchemy asks the driver to commit, the COMMIT has already been sent in
    # the pipeline of the final flush: the driver has no transaction left to end.
    assert status_at_commit == [TransactionStatus.IDLE]
    with opened.connect() as conn:  # committed for everyone, not only this connection
        ids = conn.scalars(select(tables.journal_entries.c.id)).all()
    assert entry in ids
    # the pooled connection is clean: the next unit of work writes and commits as usual
    with UnitOfWork(opened) as uow:
        second = _gift(uow, donor)
        uow.commit()
    with opened.connect() as conn:
        assert second in conn.scalars(select(tables.journal_entries.c.id)).all()


def test_a_row_refused_in_the_final_flush_keeps_nothing_of_the_unit(opened: Engine) -> None:
    donor = _donor(opened)
    before = {t: _count(opened, t) for t in ("journal_entries", "postings", "closed_periods")}
    with UnitOfWork(opened) as uow:
        _gift(uow, donor)
        uow.queue_row(CLOSED, ("2020-01", "2020-02-01T00:00:00+00:00", "t"))
        uow.queue_row(CLOSED, ("2020-01", "2020-02-01T00:00:00+00:00", "t"))  # the same key
        with pytest.raises(IntegrityError):
            uow.commit()
        assert not uow.committed
    assert {t: _count(opened, t) for t in before} == before
    with UnitOfWork(opened) as uow:  # and the books go on
        _gift(uow, donor)
        uow.commit()
    assert _count(opened, "journal_entries") == before["journal_entries"] + 1


def test_the_final_flush_of_a_commit_goes_through_flush_so_subclasses_see_it(
    opened: Engine,
) -> None:
    # BulkUnitOfWork, for one, waits for its background writes in `flush` before the commit.
    seen: list[int] = []

    class Watched(UnitOfWork):
        def flush(self) -> None:
            super().flush()
            seen.append(_count(opened, "journal_entries"))

    donor = _donor(opened)
    before = _count(opened, "journal_entries")
    with Watched(opened) as uow:
        _gift(uow, donor)
        uow.commit()
    assert len(seen) == 1  # the commit's own flush, and only it
    # on PostgreSQL that flush already committed (another connection sees the entry); on
    # SQLite the commit follows it
    assert seen[0] == (before + 1 if opened.dialect.name == "postgresql" else before)
    assert _count(opened, "journal_entries") == before + 1
