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
    for statement in tables.append_only_guards(bind.dialect.name, tables.DELIVERY_TABLES):
        op.execute(statement)


def downgrade() -> None:
    raise RuntimeError("delivery records are append-only: there is no downgrade")
