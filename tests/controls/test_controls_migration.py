"""Revision 0008: fund purposes and project budget changes on books made before them,
append-only like the journal."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DatabaseError

from ledger.storage.db import head_revision, migrate

TABLES = ("fund_purposes", "project_budgets")


def test_revision_0008_adds_the_controls_tables_to_older_books(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'books.db'}")
    migrate(engine)
    with engine.begin() as conn:
        for table in TABLES:
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0007_documents'")
    migrate(engine)  # runs 0008 (and whatever follows it)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO project_budgets (project, version, budget_minor, currency, reason, "
                "set_at, set_by) VALUES ('LH-IND-01', 1, 30000000, 'CNY', '第二期', 't', 'admin')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO fund_purposes (fund, version, purposes, set_at, set_by) "
                "VALUES ('LUHUO-PAIR', 1, '{}', 't', 'admin')"
            )
        )
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert version == head_revision()
    for statement in (
        "UPDATE project_budgets SET budget_minor = 1",
        "DELETE FROM project_budgets",
        "UPDATE fund_purposes SET purposes = '{\"projects\": true}'",
        "DELETE FROM fund_purposes",
    ):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    migrate(engine)  # at head: nothing to do, and nothing fails
    engine.dispose()
