"""Places and programmes: places, project places, campaigns, matchers, updates, photos, chiefs.

Revision ID: 0011_places_campaigns
Revises: 0010_delivery
Create Date: 2026-12-05

Creates the tables of `ledger.storage.tables.PROGRAMME_TABLES` if they are missing, and the
append-only guards of `PROGRAMME_APPEND_ONLY`, named as `ledger.storage.tables.install_triggers`
names them for `JOURNAL_TABLES`. Every statement is IF NOT EXISTS / OR REPLACE (`checkfirst`)
because revision 0001 builds its tables and triggers from `ledger.storage.tables` as it is now,
which already includes these.
"""

from alembic import op

from ledger.storage import tables

revision = "0011_places_campaigns"
down_revision = "0010_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for name in tables.PROGRAMME_TABLES:
        tables.metadata.tables[name].create(bind, checkfirst=True)
    for statement in tables.append_only_guards(bind.dialect.name, tables.PROGRAMME_APPEND_ONLY):
        op.execute(statement)


def downgrade() -> None:
    raise RuntimeError("places, campaigns and chiefs are public records: there is no downgrade")
