"""The books: reference tables, the append-only journal, balances and their guards.

Revision ID: 0001_books
Revises:
Create Date: 2026-11-28

The first revision creates the schema as `ledger.storage.tables` describes it at this revision and
installs the triggers. Later revisions state their changes with `op.*` explicitly.
"""

from alembic import op

from ledger.storage import tables

revision = "0001_books"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    tables.metadata.create_all(bind)
    tables.install_triggers(bind)


def downgrade() -> None:
    raise RuntimeError("the books are append-only: there is no downgrade of revision 0001")
