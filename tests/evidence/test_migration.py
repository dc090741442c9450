"""Revision 0006 creates the evidence and bank-statement tables on books made before it, with
their append-only guards, and runs again over tables that exist already."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, text

import ledger
from ledger.storage.db import head_revision, migrate
from ledger.storage.tables import EVIDENCE_TABLES

_REVISION = Path(ledger.__file__).parent / "migrations" / "versions" / "0006_evidence.py"
_spec = importlib.util.spec_from_file_location("revision_0006", _REVISION)
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
BEFORE = str(_module.down_revision)  # the revision 0006 follows, whatever it is after a merge


def test_revision_0006_adds_the_tables_append_only_and_is_idempotent(engine: Engine) -> None:
    with engine.begin() as conn:
        for name in EVIDENCE_TABLES:
            conn.exec_driver_sql(f"DROP TABLE {name}")
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{BEFORE}'")
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO acknowledgments (entry_id, attachment_id, acknowledged_on, "
                "recorded_by, recorded_at) VALUES ('E', 'A', '2026-11-30', 'o', 't')"
            )
        )
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert version == head_revision()
    for statement in (
        "UPDATE acknowledgments SET attachment_id = 'B'",
        "DELETE FROM acknowledgments",
    ):
        with engine.connect() as conn, pytest.raises(exc.DBAPIError, match="append-only"):
            conn.execute(text(statement))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{BEFORE}'")
    migrate(engine)  # over the existing tables and triggers
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM acknowledgments").scalar() == 1
