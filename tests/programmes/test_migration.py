"""Revision 0011 creates the places and programme tables on books made before it, with their
append-only guards (all but `campaigns`), and runs again over tables that exist already."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, text

import ledger
from ledger.storage.db import head_revision, migrate
from ledger.storage.tables import PROGRAMME_TABLES

_REVISION = Path(ledger.__file__).parent / "migrations" / "versions" / "0011_places_campaigns.py"
_spec = importlib.util.spec_from_file_location("revision_0011", _REVISION)
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
BEFORE = str(_module.down_revision)  # the revision 0011 follows, whatever it is after a merge


def test_revision_0011_adds_the_tables_append_only_and_is_idempotent(engine: Engine) -> None:
    with engine.begin() as conn:
        for name in PROGRAMME_TABLES:
            conn.exec_driver_sql(f"DROP TABLE {name}")
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{BEFORE}'")
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO places (code, kind, name, name_en, parent, official, created_at, "
                "created_by) VALUES ('513327', 'county', '炉霍县', '', '', true, 't', 'o')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO campaigns (slug, fund, project, place, title_zh, title_en, story_zh,"
                " story_en, goal_minor, currency, starts_on, ends_on, cover, status, created_at,"
                " created_by, updated_at) VALUES ('c', 'F', '', '', 't', '', '', '', 1, 'CNY',"
                " '2026-01-01', '2026-12-31', '', 'draft', 't', 'o', 't')"
            )
        )
        conn.execute(text("UPDATE campaigns SET status = 'open'"))  # edited in place by design
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        assert version == head_revision()
    for statement in ("UPDATE places SET name = 'x'", "DELETE FROM places"):
        with engine.connect() as conn, pytest.raises(exc.DBAPIError, match="append-only"):
            conn.execute(text(statement))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{BEFORE}'")
    migrate(engine)  # over the existing tables and triggers
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM places").scalar() == 1
