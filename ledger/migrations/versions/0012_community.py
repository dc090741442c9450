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
    postgres = bind.dialect.name == "postgresql"
    for name in tables.COMMUNITY_TABLES:
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
    raise RuntimeError("needs, offers, services and schedules are append-only records")
