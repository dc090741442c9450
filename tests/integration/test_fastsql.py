"""ledger.storage.fastsql: plain SQL on the driver connection, inside the SQLAlchemy transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from ledger.storage.db import init_books
from ledger.storage.fastsql import Raw


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


class _CountingDriver:
    """The driver connection, counting the statements `Raw` hands it."""

    def __init__(self, real: object) -> None:
        self.real = real
        self.sent: list[str] = []

    def execute(self, sql: str, params: object = (), **kw: object) -> object:
        self.sent.append(sql)
        return self.real.execute(sql, params, **kw)  # type: ignore[attr-defined]

    def cursor(self) -> object:
        driver = self

        class Cursor:
            def __init__(self) -> None:
                self.inner = driver.real.cursor()  # type: ignore[attr-defined]

            def executemany(self, sql: str, rows: object) -> None:
                driver.sent.extend([sql] * len(rows))  # type: ignore[arg-type]
                self.inner.executemany(sql, rows)

            def close(self) -> None:
                self.inner.close()

        return Cursor()

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


FUNDS = (
    "INSERT INTO funds (code, name, restricted, purpose, is_open, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


def test_many_rows_of_a_plain_insert_land_as_given_in_one_statement_on_postgresql(
    books: Engine,
) -> None:
    rows = [
        ("F-1", "卢霍 clinic fund", True, "", True, "2026-01-01T00:00:00+00:00"),
        ("F-2", 'quotes " and \\ backslash', False, "x" * 500, False, "2026-01-02"),
        ("F-3", "ünïcødé 🎓", True, "line\nbreak", True, "2026-01-03"),
    ]
    with books.connect() as conn:
        raw = Raw(conn)
        counting = _CountingDriver(raw.driver)
        raw.driver = counting
        raw.many(FUNDS, rows)
        conn.commit()
    expected_statements = 1 if books.dialect.name == "postgresql" else len(rows)
    assert len(counting.sent) == expected_statements
    with books.connect() as conn:
        got = conn.execute(
            text(
                "SELECT code, name, restricted, purpose, is_open, created_at FROM funds "
                "ORDER BY code"
            )
        ).all()
    assert [tuple(r) for r in got] == rows


def test_a_refused_row_in_a_set_insert_refuses_them_all_as_sqlalchemys_error(
    books: Engine,
) -> None:
    rows = [("G-1", "a", False, "", True, "t"), ("G-1", "b", False, "", True, "t")]
    with books.connect() as conn, pytest.raises(IntegrityError):
        Raw(conn).many(FUNDS, rows)
    with books.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM funds WHERE code = 'G-1'")).scalar() == 0


def test_rows_json_cannot_carry_exactly_and_upserts_go_row_by_row(books: Engine) -> None:
    personal = "INSERT INTO beneficiary_personal (beneficiary_id, key, ciphertext) VALUES (?, ?, ?)"
    upsert = (
        "INSERT INTO receipt_counters (series, year, last) VALUES (?, ?, ?) "
        "ON CONFLICT (series, year) DO UPDATE SET last = excluded.last"
    )
    with books.connect() as conn:
        raw = Raw(conn)
        counting = _CountingDriver(raw.driver)
        raw.driver = counting
        raw.many(personal, [("B-1", b"\x00\xffkey", b"\x01"), ("B-2", None, b"\x02\x00")])
        raw.many(upsert, [("HQ", 2026, 1), ("HQ", 2026, 2), ("HQ", 2026, 3)])
        conn.commit()
    assert counting.sent == [personal] * 2 + [upsert] * 3 or counting.sent == [
        s.replace("?", "%s") for s in [personal] * 2 + [upsert] * 3
    ]
    with books.connect() as conn:
        keys = conn.execute(
            text("SELECT beneficiary_id, key, ciphertext FROM beneficiary_personal ORDER BY 1")
        ).all()
        last = conn.execute(text("SELECT last FROM receipt_counters WHERE series = 'HQ'")).scalar()
    assert [(b, None if k is None else bytes(k), bytes(c)) for b, k, c in keys] == [
        ("B-1", b"\x00\xffkey", b"\x01"),
        ("B-2", None, b"\x02\x00"),
    ]
    assert last == 3
