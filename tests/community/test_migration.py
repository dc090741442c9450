"""Revision 0012 creates the programmes' tables (needs, offers, services, schedules) on books
made before it, with their append-only guards, and runs again over tables that exist already."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, inspect, text

import ledger
from ledger.storage.db import head_revision, migrate
from ledger.storage.tables import COMMUNITY_TABLES

_REVISION = Path(ledger.__file__).parent / "migrations" / "versions" / "0012_community.py"
_spec = importlib.util.spec_from_file_location("revision_0012", _REVISION)
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
BEFORE = str(_module.down_revision)  # the revision 0012 follows, whatever it is after a merge
INSERT = (
    "INSERT INTO service_attendance (signup_id, service_id, at, by) VALUES ('SU', 'S', 't', 'o')"
)


def test_revision_0012_adds_the_tables_append_only_and_is_idempotent(engine: Engine) -> None:
    with engine.begin() as conn:
        for name in COMMUNITY_TABLES:
            conn.exec_driver_sql(f"DROP TABLE {name}")
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{BEFORE}'")
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text(INSERT))
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert version == head_revision()
    assert set(COMMUNITY_TABLES) <= set(inspect(engine).get_table_names())
    for statement in ("UPDATE service_attendance SET by = 'x'", "DELETE FROM service_attendance"):
        with engine.connect() as conn, pytest.raises(exc.DBAPIError, match="append-only"):
            conn.execute(text(statement))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{BEFORE}'")
    migrate(engine)  # over the existing tables and triggers
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM service_attendance").scalar() == 1
