"""Documents people keep: issuers, fund assignments, fiscal references, pledge acknowledgments.

Revision ID: 0007_documents
Revises: 0006_evidence
Create Date: 2026-12-05

Creates `issuers`, `fund_issuers`, `fiscal_references` and `pledge_acknowledgments` with their
append-only guards, named as `ledger.storage.tables.install_triggers` names them for
`JOURNAL_TABLES`. Every statement is IF NOT EXISTS / OR REPLACE because revision 0001 builds its
tables and triggers from `ledger.storage.tables` as it is now, which already includes these.
"""

from alembic import op

from ledger.storage import tables

revision = "0007_documents"
down_revision = "0006_evidence"
branch_labels = None
depends_on = None

_TABLES = {
    "issuers": """
CREATE TABLE IF NOT EXISTS issuers (
    code VARCHAR(40) NOT NULL PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    registration_no VARCHAR(18) NOT NULL UNIQUE,
    seal_text VARCHAR(200) NOT NULL,
    demo BOOLEAN NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    created_by VARCHAR(100) NOT NULL
)""",
    "fund_issuers": """
CREATE TABLE IF NOT EXISTS fund_issuers (
    fund VARCHAR(40) NOT NULL,
    assigned_at VARCHAR(32) NOT NULL,
    issuer VARCHAR(40) NOT NULL,
    assigned_by VARCHAR(100) NOT NULL,
    PRIMARY KEY (fund, assigned_at)
)""",
    "fiscal_references": """
CREATE TABLE IF NOT EXISTS fiscal_references (
    serial VARCHAR(40) NOT NULL PRIMARY KEY,
    code VARCHAR(60) NOT NULL,
    number VARCHAR(60) NOT NULL,
    recorded_at VARCHAR(32) NOT NULL,
    recorded_by VARCHAR(100) NOT NULL
)""",
    "pledge_acknowledgments": """
CREATE TABLE IF NOT EXISTS pledge_acknowledgments (
    serial VARCHAR(40) NOT NULL PRIMARY KEY,
    pledge_id VARCHAR(40) NOT NULL UNIQUE,
    donor_id VARCHAR(40) NOT NULL,
    issued_at VARCHAR(32) NOT NULL,
    token_hash VARCHAR(64) NOT NULL UNIQUE,
    data TEXT NOT NULL
)""",
}


def upgrade() -> None:
    for ddl in _TABLES.values():
        op.execute(ddl)
    for statement in tables.append_only_guards(op.get_bind().dialect.name, _TABLES):
        op.execute(statement)
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_pledge_acknowledgments_donor_id "
        "ON pledge_acknowledgments (donor_id)"
    )


def downgrade() -> None:
    raise RuntimeError("issuers, fiscal references and acknowledgments are append-only records")
