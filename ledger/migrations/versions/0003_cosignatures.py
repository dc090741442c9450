"""Witnesses' cosignatures on checkpoints, append-only like the journal.

Revision ID: 0003_cosignatures
Revises: 0002_postings_fund_account
Create Date: 2026-12-05

Creates `cosignatures` (size, witness, key_id, cosigned_at, line, received_at; primary key size,
witness, key_id) and its append-only guards, named as `ledger.storage.tables.install_triggers`
names them for `JOURNAL_TABLES`. Every statement is IF NOT EXISTS / OR REPLACE because revision
0001 builds its tables and triggers from `ledger.storage.tables` as it is now, which may already
include this table.
"""

from alembic import op

from ledger.storage import tables

revision = "0003_cosignatures"
down_revision = "0002_postings_fund_account"
branch_labels = None
depends_on = None

_TABLE = """
CREATE TABLE IF NOT EXISTS cosignatures (
    size BIGINT NOT NULL,
    witness VARCHAR(200) NOT NULL,
    key_id VARCHAR(8) NOT NULL,
    cosigned_at BIGINT NOT NULL,
    line TEXT NOT NULL,
    received_at VARCHAR(32) NOT NULL,
    PRIMARY KEY (size, witness, key_id)
)
"""


def upgrade() -> None:
    op.execute(_TABLE)
    for statement in tables.append_only_guards(op.get_bind().dialect.name, ["cosignatures"]):
        op.execute(statement)


def downgrade() -> None:
    raise RuntimeError("cosignatures are append-only evidence: there is no downgrade")
