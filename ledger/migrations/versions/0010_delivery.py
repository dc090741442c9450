"""Delivery: donors' email addresses, webhook subscriptions and the outbox.

Revision ID: 0010_delivery
Revises: 0008_controls
Create Date: 2026-12-05

Creates the tables of `ledger.storage.tables.DELIVERY_TABLES` (append-only, guarded as
`ledger.storage.tables.install_triggers` guards `JOURNAL_TABLES`) and `delivery_queue`, the
outbox's mutable work state (decision 0013). Every statement is IF NOT EXISTS / OR REPLACE
(`checkfirst`) because revision 0001 builds its tables and triggers from
`ledger.storage.tables` as it is now, which already includes these.
"""

from alembic import op

from ledger.storage import tables

revision = "0010_delivery"
down_revision = "0008_controls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for name in (*tables.DELIVERY_TABLES, "delivery_queue"):
        tables.metadata.tables[name].create(bind, checkfirst=True)
    postgres = bind.dialect.name == "postgresql"
    for name in tables.DELIVERY_TABLES:
        if postgres:
            # huiquan_append_only() is created by revision 0001.
            op.execute(
                f"CREATE OR REPLACE TRIGGER {name}_append_only BEFORE UPDATE OR DELETE "
                f"ON {name} FOR EACH ROW EXECUTE FUNCTION huiquan_append_only()"
            )
            op.execute(
                f"CREATE OR REPLACE TRIGGER {name}_no_truncate BEFORE TRUNCATE "
                f"ON {name} FOR EACH STATEMENT EXECUTE FUNCTION huiquan_append_only()"
            )
            continue
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS {name}_no_{verb.lower()} BEFORE {verb} "
                f"ON {name} BEGIN SELECT RAISE(ABORT, "
                f"'append-only: {verb} on {name} is forbidden'); END"
            )


def downgrade() -> None:
    raise RuntimeError("delivery records are append-only: there is no downgrade")
