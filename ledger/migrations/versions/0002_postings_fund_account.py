"""One index on postings by fund, account, currency and date instead of two.

Revision ID: 0002_postings_fund_account
Revises: 0001_books
Create Date: 2026-11-28

`ix_postings_fund_date (fund, occurred_on)` and `ix_postings_account_fund (account, fund,
currency, occurred_on)` become `ix_postings_fund_account (fund, account, currency,
occurred_on)`, so that each posting inserted maintains one index fewer. Queries that name a fund
(exports, statements, entry lists, where a gift went, a fund's balance as of a date) use it as
before; the few that name an account across all funds (the transparency report's donor totals,
an account's balance as of a date over every fund) now read the postings in full. The
statements use IF [NOT] EXISTS because revision 0001 builds its tables from `ledger.storage.tables` as
it is now.
"""

from alembic import op

revision = "0002_postings_fund_account"
down_revision = "0001_books"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_postings_fund_date")
    op.execute("DROP INDEX IF EXISTS ix_postings_account_fund")
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_postings_fund_account "
        "ON postings (fund, account, currency, occurred_on)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_postings_fund_account")
    op.execute("CREATE INDEX ix_postings_fund_date ON postings (fund, occurred_on)")
    op.execute(
        "CREATE INDEX ix_postings_account_fund ON postings (account, fund, currency, occurred_on)"
    )
