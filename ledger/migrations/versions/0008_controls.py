"""Internal controls: what funds may pay for and project budget changes, both append-only.

Revision ID: 0008_controls
Revises: 0007_documents
Create Date: 2026-12-05

Creates the tables of `ledger.storage.tables.CONTROLS_TABLES` if they are missing and their
append-only guards, named as `ledger.storage.tables.install_triggers` names them for
`JOURNAL_TABLES`. Every statement is IF NOT EXISTS / OR REPLACE (`checkfirst`) because revision
0001 builds its tables and triggers from `ledger.storage.tables` as it is now, which already
includes these.
"""

from alembic import op

from ledger.storage import tables

revision = "0008_controls"
down_revision = "0007_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for name in tables.CONTROLS_TABLES:
        tables.metadata.tables[name].create(bind, checkfirst=True)
    for statement in tables.append_only_guards(bind.dialect.name, tables.CONTROLS_TABLES):
        op.execute(statement)


def downgrade() -> None:
    raise RuntimeError("fund purposes and budget changes are append-only records: there is no downgrade")
