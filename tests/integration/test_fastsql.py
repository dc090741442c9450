"""ledger.fastsql: plain SQL on the driver connection, inside the SQLAlchemy transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from ledger.db import init_books
from ledger.fastsql import Raw


@pytest.fixture
def books(engine: Engine) -> Engine:
    init_books(engine)
    return engine


def test_the_same_text_runs_on_either_engine_and_returns_plain_rows(books: Engine) -> None:
    with books.connect() as conn:
        raw = Raw(conn)
        row = raw.one("SELECT sequence, hash FROM chain_head WHERE id = ?", (1,))
        assert row is not None
        assert (row[0], len(row[1])) == (0, 64)
        assert raw.one("SELECT sequence FROM chain_head WHERE id = ?", (2,)) is None
        periods = raw.run("SELECT period FROM closed_periods WHERE period > ?", ("",)).fetchall()
        assert periods == []


def test_writes_share_the_transaction_of_the_sqlalchemy_connection(books: Engine) -> None:
    with books.connect() as conn:
        Raw(conn).many(
            "INSERT INTO closed_periods (period, closed_at, closed_by) VALUES (?, ?, ?)",
            [("2020-01", "2020-02-01T00:00:00+00:00", "t"), ("2020-02", "2020-03-01", "t")],
        )
        seen = conn.execute(text("SELECT count(*) FROM closed_periods")).scalar()
        assert seen == 2  # SQLAlchemy sees the rows: one connection, one transaction
        conn.rollback()
    with books.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM closed_periods")).scalar() == 0


def test_a_driver_error_arrives_as_sqlalchemys_and_many_of_nothing_runs_nothing(
    books: Engine,
) -> None:
    with books.connect() as conn:
        raw = Raw(conn)
        raw.many("INSERT INTO chain_head (id, sequence, hash) VALUES (?, ?, ?)", [])
        with pytest.raises(IntegrityError):
            raw.run("INSERT INTO chain_head (id, sequence, hash) VALUES (?, ?, ?)", (1, 0, "x"))
        conn.rollback()
    with books.connect() as conn, pytest.raises(IntegrityError):
        Raw(conn).many(
            "INSERT INTO chain_head (id, sequence, hash) VALUES (?, ?, ?)", [(1, 0, "x")]
        )
