"""The platform's programmes: the needs board, services to choose, recurring giving.

Revision ID: 0012_community
Revises: 0011_places_campaigns
Create Date: 2026-12-05

Creates the tables of `ledger.storage.tables.COMMUNITY_TABLES` if they are missing, with their
append-only guards named as `ledger.storage.tables.install_triggers` names them for
`JOURNAL_TABLES`. Every statement is IF NOT EXISTS / OR REPLACE (`checkfirst`) because revision
0001 builds its tables and triggers from `ledger.storage.tables` as it is now, which already
includes these.
"""

from alembic import op

from ledger.storage import tables

revision = "0012_community"
down_revision = "0011_places_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for name in tables.COMMUNITY_TABLES:
        tables.metadata.tables[name].create(bind, checkfirst=True)
    for statement in tables.append_only_guards(bind.dialect.name, tables.COMMUNITY_TABLES):
        op.execute(statement)


def downgrade() -> None:
    raise RuntimeError("needs, offers, services and schedules are append-only records")
