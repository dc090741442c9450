"""Evidence, in-kind handovers, acknowledgments and bank statements, all append-only.

Revision ID: 0006_evidence
Revises: 0005_users_and_approvals
Create Date: 2026-12-05

Creates the tables of `ledger.storage.tables.EVIDENCE_TABLES` if they are missing and their
append-only guards, named as `ledger.storage.tables.install_triggers` names them for
`JOURNAL_TABLES`. Every statement is IF NOT EXISTS / OR REPLACE (`checkfirst`) because revision
0001 builds its tables and triggers from `ledger.storage.tables` as it is now, which already
includes these.
"""

from alembic import op

from ledger.storage import tables

revision = "0006_evidence"
down_revision = "0005_users_and_approvals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for name in tables.EVIDENCE_TABLES:
        tables.metadata.tables[name].create(bind, checkfirst=True)
    for statement in tables.append_only_guards(bind.dialect.name, tables.EVIDENCE_TABLES):
        op.execute(statement)


def downgrade() -> None:
    raise RuntimeError("evidence and statements are append-only records: there is no downgrade")
