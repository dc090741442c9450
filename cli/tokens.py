"""`huiquan token create | list | revoke`: the API's tokens, over `usecases.tokens`.

A token's secret is printed once, at its creation, and never again; only its hash is stored.
Every token expires (`--expires-in DAYS`, default 90); a revoked one is refused at once by every
worker of the API.
"""

from __future__ import annotations

import click

from cli.context import CLEAN_TEXT, Books, changes_state, pass_books
from cli.output import table

__all__ = ["token"]


@click.group()
def token() -> None:
    """API tokens: create (shown once), list, revoke."""


@token.command("create")
@click.option(
    "--role",
    type=click.Choice(["admin", "officer", "approver", "auditor", "moderator"]),
    required=True,
    help="admin: everything; officer: records operations; approver: approves others' requests; "
    "auditor: reads and exports; moderator: publishes, edits and declines posted needs.",
)
@click.option(
    "--name",
    type=CLEAN_TEXT,
    required=True,
    help="A unique name for the token (who or what uses it).",
)
@click.option(
    "--expires-in",
    "days",
    type=click.IntRange(1, 3650),
    default=90,
    show_default=True,
    metavar="DAYS",
    help="Days until the token stops working.",
)
@pass_books
@changes_state("token create")
def token_create(books: Books, role: str, name: str, days: int) -> None:
    """Create a token and print it once; only its hash is stored."""
    from usecases.tokens import create_token

    secret = create_token(books.engine, role=role, name=name, expires_in_days=days)
    click.echo(secret)
    click.echo(
        f"token {name!r} ({role}) created, valid for {days} days; store it now, it cannot be "
        "shown again",
        err=True,
    )


@token.command("list")
@pass_books
def token_list(books: Books) -> None:
    """List tokens (names, roles, dates; never the secrets)."""
    from usecases.tokens import list_tokens

    tokens = list_tokens(books.engine)
    if not tokens:
        click.echo("no tokens")
        return
    table(
        None,
        ["name", "role", "created", "expires", "revoked"],
        [[t.name, t.role, t.created_at, t.expires_at or "-", t.revoked_at or "-"] for t in tokens],
    )


@token.command("revoke")
@click.argument("name", type=CLEAN_TEXT)
@pass_books
@changes_state("token revoke")
def token_revoke(books: Books, name: str) -> None:
    """Revoke the token called NAME; requests with it are refused from now on."""
    from usecases.tokens import revoke_token

    revoke_token(books.engine, name)
    click.echo(f"token {name!r} revoked")
