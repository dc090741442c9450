"""Users, tokens that belong to them, approval policies, requests and decisions.

Revision ID: 0005_users_and_approvals
Revises: 0004_links_and_tokens
Create Date: 2026-12-05

Creates `users`, `approval_policies` and `approval_decisions` (both append-only, guarded like
`ledger.storage.tables.install_triggers` guards `JOURNAL_TABLES`) and `approval_requests`;
adds `api_tokens.user_id`; and gives every existing token a user of its own name (login and
display name = the token's name, roles = the token's role, no password), so existing tokens
keep working and sign as before. Every statement is idempotent because revision 0001 builds its
tables from `ledger.storage.tables` as it is now, which may already include all of this.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op

from ledger.storage import tables

revision = "0005_users_and_approvals"
down_revision = "0004_links_and_tokens"
branch_labels = None
depends_on = None

_NEW = ("users", "approval_policies", "approval_requests", "approval_decisions")
_APPEND_ONLY = ("approval_policies", "approval_decisions")


def upgrade() -> None:
    bind = op.get_bind()
    for name in _NEW:
        tables.metadata.tables[name].create(bind, checkfirst=True)
    columns = {c["name"] for c in sa.inspect(bind).get_columns("api_tokens")}
    if "user_id" not in columns:
        op.add_column("api_tokens", sa.Column("user_id", sa.String(40)))
        op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    _guard(bind.dialect.name)
    _users_for_tokens(bind)


def _guard(dialect: str) -> None:
    for statement in tables.append_only_guards(dialect, _APPEND_ONLY):
        op.execute(statement)


def _users_for_tokens(bind: sa.Connection) -> None:
    tokens, users = tables.api_tokens, tables.users
    now = dt.datetime.now(dt.UTC).isoformat()
    for token in bind.execute(sa.select(tokens).where(tokens.c.user_id.is_(None))).all():
        user = bind.execute(sa.select(users).where(users.c.login == token.name)).first()
        user_id = user.id if user is not None else str(uuid.uuid4())
        if user is None:
            bind.execute(
                sa.insert(users).values(
                    id=user_id,
                    login=token.name,
                    display_name=token.name,
                    roles=token.role,
                    status="active",
                    password_hash=None,
                    created_at=now,
                )
            )
        bind.execute(sa.update(tokens).where(tokens.c.id == token.id).values(user_id=user_id))


def downgrade() -> None:
    raise RuntimeError("users and approvals are evidence of who did what: there is no downgrade")
