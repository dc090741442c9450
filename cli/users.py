"""`huiquan user create | list | disable | set-password | set-roles`: the people who act on the
books.

A password is read from a prompt (twice, hidden) or from a file (`--password-file`, its first
line), never from the command line, where it would land in the shell's history and `ps`.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.context import Books, changes_state, pass_books
from cli.output import table

__all__ = ["user"]

#: Who the CLI acts as: the operator at the machine. The command's own audit event
#: (`changes_state`) records the change, so the use cases are asked for none (`audit=False`).
_OPERATOR = "cli"


def _actor():  # type: ignore[no-untyped-def]
    from usecases.unit import Actor

    return Actor(_OPERATOR, ("admin",))


def _password(password_file: Path | None, ask: bool) -> str | None:
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    if not ask:
        return None
    return str(click.prompt("password", hide_input=True, confirmation_prompt=True))


def _books(books: Books):  # type: ignore[no-untyped-def]
    from usecases.books import open_books

    return open_books(books.engine, books.home, writer_gate=True, group_commit_max=1)


def _find(books: Books, who: str):  # type: ignore[no-untyped-def]
    from usecases.users import user_by_login

    return user_by_login(_books(books), who)


_PASSWORD_FILE = click.option(
    "--password-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the password from the first line of this file (never give it on the command line).",
)


@click.group()
def user() -> None:
    """Users: create, list, disable, set a console password, change roles."""


@user.command("create")
@click.option("--login", required=True, help="The login name (unique).")
@click.option("--name", "display_name", required=True, help="The display name, e.g. 张三.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["officer", "approver", "auditor", "admin", "moderator"]),
    help="A role (repeat for several).",
)
@click.option("--with-password", is_flag=True, help="Prompt for a console password.")
@_PASSWORD_FILE
@pass_books
@changes_state("user create")
def user_create(
    books: Books,
    login: str,
    display_name: str,
    roles: tuple[str, ...],
    with_password: bool,
    password_file: Path | None,
) -> None:
    """Create an active user."""
    from usecases.users import create_user

    password = _password(password_file, with_password)
    made = create_user(
        _books(books),
        login=login,
        display_name=display_name,
        roles=roles,
        password=password,
        by=_actor(),
        audit=False,
    )
    click.echo(f"user {made.login!r} ({made.display_name}; {', '.join(made.roles)}) created")


@user.command("list")
@pass_books
def user_list(books: Books) -> None:
    """List users (logins, names, roles, status; never passwords)."""
    from usecases.users import list_users

    found = list_users(_books(books))
    if not found:
        click.echo("no users")
        return
    table(
        None,
        ["login", "name", "roles", "status"],
        [[u.login, u.display_name, ",".join(u.roles), u.status] for u in found],
    )


@user.command("disable")
@click.argument("login")
@pass_books
@changes_state("user disable")
def user_disable(books: Books, login: str) -> None:
    """Disable the user LOGIN: no console login, none of their tokens accepted."""
    from usecases.users import disable_user

    disable_user(_books(books), _find(books, login).id, by=_actor(), audit=False)
    click.echo(f"user {login!r} disabled")


@user.command("set-password")
@click.argument("login")
@_PASSWORD_FILE
@pass_books
@changes_state("user set-password")
def user_set_password(books: Books, login: str, password_file: Path | None) -> None:
    """Set the console password of the user LOGIN (prompted, or from --password-file)."""
    from usecases.users import set_password

    password = _password(password_file, True) or ""
    set_password(_books(books), _find(books, login).id, password, by=_actor(), audit=False)
    click.echo(f"password of {login!r} set")


@user.command("set-roles")
@click.argument("login")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(["officer", "approver", "auditor", "admin", "moderator"]),
    help="A role the user holds from now on (repeat for several; replaces the old ones).",
)
@pass_books
@changes_state("user set-roles")
def user_set_roles(books: Books, login: str, roles: tuple[str, ...]) -> None:
    """Replace the roles of the user LOGIN. Idempotent; the audit trail names the old and the
    new roles, and the user's tokens whose role they no longer hold are revoked."""
    from usecases.users import set_roles

    found = _find(books, login)
    # The use case's own event (audit=None) carries the old and new roles, with the change.
    changed = set_roles(_books(books), found.id, roles, by=_actor())
    if changed.roles == found.roles:
        click.echo(f"user {login!r} already has roles {','.join(changed.roles)}")
    else:
        click.echo(f"user {login!r}: roles {','.join(found.roles)} -> {','.join(changed.roles)}")
