"""Revision 0014 brings books made before it to erasure: `erasures` appears, append-only; a
contact row may then be deleted once an erasure names it and in no other case; the journal's and
the other tables' guards are as they were; running it again changes nothing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, inspect, text

import ledger
from ledger.storage.db import head_revision, migrate

_REVISION = Path(ledger.__file__).parent / "migrations" / "versions" / "0014_erasure.py"
_spec = importlib.util.spec_from_file_location("revision_0014", _REVISION)
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
BEFORE = str(_module.down_revision)

# The guards as revisions 0010 and 0012 left them: every UPDATE and DELETE refused.
_OLD_TABLES = ("community_contacts", "donor_contacts", "outbox_messages", "outbox_attempts")
ROWS = (
    "INSERT INTO community_contacts (owner_id, key, ciphertext) VALUES ('N-1', :b, :b)",
    "INSERT INTO community_contacts (owner_id, key, ciphertext) VALUES ('N-2', :b, :b)",
    "INSERT INTO donor_contacts (donor_id, recorded_at, email, recorded_by) "
    "VALUES ('D-1', 't', 'd@example.com', 'o')",
    "INSERT INTO need_events (id, need_id, at, action, by) VALUES ('NE-1', 'N-1', 't', 'x', 'o')",
)
ERASURE = (
    "INSERT INTO erasures (id, kind, subject, reason, rows, messages, at, by) "
    "VALUES ('ER-1', 'need_contact', 'N-1', 'requested', 1, 0, 't', 'o')"
)


def _as_before_0014(engine: Engine) -> None:
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE erasures")
        for name in _OLD_TABLES:
            if postgres:
                conn.exec_driver_sql(
                    f"CREATE OR REPLACE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE "
                    f"ON {name} FOR EACH ROW EXECUTE FUNCTION huiquan_append_only()"
                )
                continue
            for verb in ("UPDATE", "DELETE"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}_no_{verb.lower()}")
                conn.exec_driver_sql(
                    f"CREATE TRIGGER {name}_no_{verb.lower()} BEFORE {verb} ON {name} "
                    f"BEGIN SELECT RAISE(ABORT, 'append-only: {verb} on {name} is forbidden'); "
                    "END"
                )
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{BEFORE}'")


def _refused(engine: Engine, statement: str) -> None:
    with engine.connect() as conn, pytest.raises(exc.DBAPIError, match="append-only"):
        conn.execute(text(statement))
        conn.commit()


def test_revision_0014_lets_exactly_erased_rows_go_and_is_idempotent(engine: Engine) -> None:
    _as_before_0014(engine)
    with engine.begin() as conn:
        for statement in ROWS:
            conn.execute(text(statement), {"b": b"\x01"} if ":b" in statement else {})
    _refused(engine, "DELETE FROM community_contacts WHERE owner_id = 'N-1'")  # the old guard

    migrate(engine)

    assert "erasures" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
            head_revision()
        )
    _refused(engine, "DELETE FROM community_contacts WHERE owner_id = 'N-1'")  # no erasure yet
    with engine.begin() as conn:
        conn.execute(text(ERASURE))
        conn.execute(text("DELETE FROM community_contacts WHERE owner_id = 'N-1'"))
    for statement in (
        "DELETE FROM community_contacts WHERE owner_id = 'N-2'",
        "UPDATE community_contacts SET owner_id = 'N-3'",
        "DELETE FROM donor_contacts",  # an erasure of a need's contact covers no donor
        "UPDATE erasures SET reason = 'x'",
        "DELETE FROM erasures",
        "UPDATE need_events SET by = 'x'",
        "DELETE FROM need_events",
    ):
        _refused(engine, statement)
    if engine.dialect.name == "postgresql":
        for name in ("community_contacts", "donor_contacts", "erasures"):
            _refused(engine, f"TRUNCATE {name}")

    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{BEFORE}'")
    migrate(engine)  # again, over what it made
    with engine.connect() as conn:
        owners = conn.scalars(text("SELECT owner_id FROM community_contacts")).all()
        assert owners == ["N-2"]
        assert conn.execute(text("SELECT COUNT(*) FROM erasures")).scalar() == 1
    _refused(engine, "DELETE FROM community_contacts WHERE owner_id = 'N-2'")
