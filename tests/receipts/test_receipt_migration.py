"""Revision 0007: the documents' tables on books made before them, append-only like receipts."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DatabaseError

from ledger.storage.db import head_revision, migrate

TABLES = ("issuers", "fund_issuers", "fiscal_references", "pledge_acknowledgments")


def test_revision_0007_adds_the_documents_tables_to_older_books(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'books.db'}")
    migrate(engine)
    with engine.begin() as conn:
        for table in TABLES:
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0003_cosignatures'")
    migrate(engine)  # runs 0007 alone
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO fiscal_references (serial, code, number, recorded_at, recorded_by) "
                "VALUES ('HQ-2026-000001', '51010125', '0001', 't', 'o')"
            )
        )
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
            head_revision()  # 0007 and every later revision ran
        )
    for statement in ("UPDATE fiscal_references SET code = 'x'", "DELETE FROM fiscal_references"):
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.exec_driver_sql(statement)
    engine.dispose()
