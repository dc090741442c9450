"""Fixtures for the audit tests: tampering behind the triggers, and the worked-example books."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from tests.conftest import engine_kind


@pytest.fixture
def behind_triggers(engine: Engine) -> Callable[[str], None]:
    """Run raw SQL as an attacker with database access would: the append-only guards suspended.

    On SQLite the table's triggers are dropped first; on PostgreSQL the superuser-only switch
    `session_replication_role = replica` skips them for the transaction.
    """

    def run(statement: str) -> None:
        with engine.begin() as conn:
            if engine_kind() == "postgresql":
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            else:
                names = conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                ).scalars()
                for name in list(names):
                    conn.exec_driver_sql(f"DROP TRIGGER {name}")
            conn.exec_driver_sql(statement)

    return run


@pytest.fixture
def worked(engine: Engine):
    """The worked-example books of `tests.audits.worked` with a cohort of 4 (quick to build)."""
    from tests.audits.worked import build_worked_books

    return build_worked_books(engine, students=4)


@pytest.fixture
def worked131(engine: Engine):
    """The worked-example books with the full cohort of 131 students (the golden figures)."""
    from tests.audits.worked import build_worked_books

    return build_worked_books(engine)
