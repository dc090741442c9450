"""Erasure of contact details kept outside the books (decision 0017).

Revision ID: 0014_erasure
Revises: 0013_idempotency_object_id
Create Date: 2026-12-06

Creates `erasures` (append-only, guarded as `ledger.storage.tables.install_triggers` guards
`JOURNAL_TABLES`) and replaces four guards with `tables.install_erasure_guards`: a row of
`community_contacts` or `donor_contacts` may be DELETEd once an `erasures` row names its owner,
an erased donor's email message may have its recipient blanked and its attempts' details the
address taken out; every other UPDATE, DELETE and TRUNCATE of them is refused as before. The
journal's and every other table's guards are untouched. Every statement is IF NOT EXISTS /
OR REPLACE / DROP IF EXISTS then CREATE, so running it again (or over books that revision 0001
built from today's `tables`) changes nothing.

On PostgreSQL the service's role gets DELETE on the two contact tables and UPDATE of
`outbox_messages.recipient` and `outbox_attempts.detail` when the owner grants it again
(`huiquan init --service-role` or `huiquan service-role NAME --owner-url ...`, after every
upgrade, as ever): `ledger.storage.roles` lists them.
"""

from alembic import op

from ledger.storage import tables

revision = "0014_erasure"
down_revision = "0013_idempotency_object_id"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for name in tables.ERASURE_TABLES:
        tables.metadata.tables[name].create(bind, checkfirst=True)
    postgres = bind.dialect.name == "postgresql"
    for name in tables.ERASURE_TABLES:
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
    tables.install_erasure_guards(bind)


def downgrade() -> None:
    raise RuntimeError("erasures are append-only records; restore a backup instead")
