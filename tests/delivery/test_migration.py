"""Revision 0010 creates the delivery tables on books made before it, the append-only ones
guarded, the queue left updatable, and runs again over tables that exist already."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, text

import ledger
from ledger.storage.db import head_revision, migrate
from ledger.storage.tables import DELIVERY_TABLES

_REVISION = Path(ledger.__file__).parent / "migrations" / "versions" / "0010_delivery.py"
_spec = importlib.util.spec_from_file_location("revision_0010", _REVISION)
assert _spec is not None and _spec.loader is not None
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
BEFORE = str(_module.down_revision)  # the revision 0010 follows, whatever it is after a merge

MESSAGE = (
    "INSERT INTO outbox_messages (id, channel, event_type, event_id, subscription_id, "
    "recipient, payload, created_at) VALUES ('msg_1', 'webhook', 'gift.spent', 'evt_1', "
    "'sub_1', 'https://x.example', '{}', 't')"
)
OTHERS = (
    "INSERT INTO outbox_attempts (message_id, number, at, outcome, detail, by) "
    "VALUES ('msg_1', 1, 't', 'failed', 'HTTP 500', '')",
    "INSERT INTO webhook_subscriptions (id, url, events, description, secret_sealed, "
    "created_at, created_by) "
    "VALUES ('sub_1', 'https://x.example', 'gift.spent', '', 's', 't', 'a')",
    "INSERT INTO webhook_disables (subscription_id, disabled_at, disabled_by) "
    "VALUES ('sub_1', 't', 'a')",
    "INSERT INTO donor_contacts (donor_id, recorded_at, email, recorded_by) "
    "VALUES ('D-1', 't', 'd@example.com', 'o')",
)
QUEUE = (
    "INSERT INTO delivery_queue (message_id, status, attempts, failures, next_attempt_at, "
    "last_error, updated_at) VALUES ('msg_1', 'pending', 0, 0, 't', '', 't')"
)


def test_revision_0010_adds_the_tables_append_only_and_is_idempotent(engine: Engine) -> None:
    with engine.begin() as conn:
        for name in (*DELIVERY_TABLES, "delivery_queue"):
            conn.exec_driver_sql(f"DROP TABLE {name}")
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{BEFORE}'")
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text(MESSAGE))
        conn.execute(text(QUEUE))
        for statement in OTHERS:
            conn.execute(text(statement))
        conn.execute(text("UPDATE delivery_queue SET status = 'sent'"))  # the work state moves
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
            head_revision()
        )
    for statement in (
        "UPDATE outbox_messages SET recipient = 'https://elsewhere.example'",
        "DELETE FROM outbox_messages",
        "DELETE FROM outbox_attempts",
        "UPDATE webhook_subscriptions SET url = 'x'",
        "DELETE FROM donor_contacts",
        "DELETE FROM webhook_disables",
    ):
        with engine.connect() as conn, pytest.raises(exc.DBAPIError, match="append-only"):
            conn.execute(text(statement))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{BEFORE}'")
    migrate(engine)  # over the existing tables and triggers
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM outbox_messages").scalar() == 1
        assert conn.exec_driver_sql("SELECT status FROM delivery_queue").scalar() == "sent"
