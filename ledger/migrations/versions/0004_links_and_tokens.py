"""Receipt links sealed under their own key; API tokens that expire.

Revision ID: 0004_links_and_tokens
Revises: 0003_cosignatures
Create Date: 2026-12-05

- `receipt_links.sealed`: a link's random token sealed (AES-GCM) under the receipt-link key, so
  an idempotent replay can show the link its first answer showed (`usecases.receipt_desk`).
  Links made before this revision have none; they keep working (their hashes are unchanged).
- `api_tokens.expires_at`: when a token stops working. Tokens that have none get 90 days from
  this upgrade, so no token is left without an expiry and none stops working the moment the
  service is upgraded.

Each column is added only if it is missing, because revision 0001 builds its tables from
`ledger.storage.tables` as it is now, which already has them.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0004_links_and_tokens"
down_revision = "0003_cosignatures"
branch_labels = None
depends_on = None

#: The lifetime given to tokens that were created before tokens expired.
LEGACY_TOKEN_DAYS = 90


def _add_if_missing(table: str, column: sa.Column[str]) -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}
    if column.name not in present:
        op.add_column(table, column)


def upgrade() -> None:
    _add_if_missing("receipt_links", sa.Column("sealed", sa.String(128), nullable=True))
    _add_if_missing("api_tokens", sa.Column("expires_at", sa.String(32), nullable=True))
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=LEGACY_TOKEN_DAYS)
    op.get_bind().execute(
        sa.text("UPDATE api_tokens SET expires_at = :until WHERE expires_at IS NULL"),
        {"until": until.isoformat()},
    )


def downgrade() -> None:
    op.drop_column("api_tokens", "expires_at")
    op.drop_column("receipt_links", "sealed")
