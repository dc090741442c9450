"""Idempotency keys remember object ids up to 64 characters (a photo's SHA-256).

Revision ID: 0013_idempotency_object_id
Revises: 0012_community
Create Date: 2026-12-05

A campaign photo is identified by its SHA-256 (64 hex digits), which its idempotency key
remembers as the object it made; the column held 40. Widening a varchar is a catalogue change on
PostgreSQL (no rewrite); SQLite does not enforce lengths, so nothing is done there. Running it
twice changes nothing.
"""

from alembic import op

revision = "0013_idempotency_object_id"
down_revision = "0012_community"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE idempotency_keys ALTER COLUMN object_id TYPE VARCHAR(64)")


def downgrade() -> None:
    raise RuntimeError("idempotency keys are kept as they are; restore a backup instead")
