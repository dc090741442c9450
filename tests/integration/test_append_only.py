"""The database itself refuses to rewrite the books, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from tests.builders import Books
from tests.conftest import engine_kind


@pytest.fixture
def posted(engine):
    books = Books(engine)
    books.fund("LUHUO")
    books.project("CLINIC")
    books.donate("100", donor=books.donor())
    return engine


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE postings SET amount = amount + 1",
        "UPDATE journal_entries SET memo = 'edited'",
        "DELETE FROM postings",
        "DELETE FROM journal_entries",
    ],
)
def test_raw_sql_that_rewrites_the_journal_fails(posted, statement):
    with posted.connect() as conn, pytest.raises(exc.DBAPIError) as caught:
        conn.execute(text(statement))
    assert "append-only" in str(caught.value)
    with posted.connect() as conn:
        assert conn.execute(text("SELECT SUM(amount) FROM postings")).scalar_one() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM journal_entries")).scalar_one() == 1


@pytest.mark.postgres_only
def test_truncating_the_journal_fails_on_postgresql(posted):
    with posted.connect() as conn, pytest.raises(exc.DBAPIError):
        conn.execute(text("TRUNCATE postings"))


def test_an_unbalanced_entry_is_refused_by_the_database_itself(posted):
    with posted.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO postings (entry_id, line, sequence, occurred_on, account, fund,"
                " amount,"
                " currency, functional, project, party, functional_class, ref) VALUES "
                "('x', 1, 99, '2026-03-01', '1002-CNY', 'LUHUO', 100, 'CNY', 100, '', '', '', ''),"
                "('x', 2, 99, '2026-03-01', '4101-R', 'LUHUO', -99, 'CNY', -99, '', '', '', '')"
            )
        )
    with posted.connect() as conn, pytest.raises(exc.DBAPIError) as caught:
        conn.execute(
            text(
                "INSERT INTO journal_entries (id, sequence, kind, occurred_on, recorded_at, period,"
                " memo, maker, data, prev_hash, hash, leaf_hash) VALUES ('x', 99, 'general',"
                " '2026-03-01', 't', '2026-03', '', 'm', '{}', 'a', 'b', 'c')"
            )
        )
    assert "unbalanced" in str(caught.value)


def test_no_line_can_be_added_to_a_posted_entry(posted):
    with posted.connect() as conn:
        entry_id = conn.execute(text("SELECT id FROM journal_entries")).scalar_one()
    with posted.connect() as conn, pytest.raises(exc.DBAPIError):
        conn.execute(
            text(
                "INSERT INTO postings (entry_id, line, sequence, occurred_on, account, fund,"
                " amount,"
                " currency, functional, project, party, functional_class, ref) VALUES "
                f"('{entry_id}', 3, 1, '2026-03-01', '5101', 'LUHUO', 5, 'CNY', 5, '', '', '', '')"
            )
        )


def test_a_zero_leg_is_refused_by_the_database(posted):
    with posted.connect() as conn, pytest.raises(exc.DBAPIError):
        conn.execute(
            text(
                "INSERT INTO postings (entry_id, line, sequence, occurred_on, account, fund,"
                " amount,"
                " currency, functional, project, party, functional_class, ref) VALUES "
                "('z', 1, 98, '2026-03-01', '5101', 'LUHUO', 0, 'CNY', 0, '', '', '', '')"
            )
        )


def test_accounts_are_never_deleted_or_renamed(posted):
    for statement in (
        "DELETE FROM accounts WHERE code = '5201'",
        "UPDATE accounts SET name_cn = '改名' WHERE code = '5201'",
    ):
        with posted.connect() as conn, pytest.raises(exc.DBAPIError):
            conn.execute(text(statement))
    with posted.begin() as conn:
        conn.execute(text("UPDATE accounts SET is_open = false WHERE code = '5201'"))


def test_the_engine_under_test_is_the_one_asked_for(posted):
    assert posted.dialect.name == ("postgresql" if engine_kind() == "postgresql" else "sqlite")
    if posted.dialect.name == "sqlite":
        with posted.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
