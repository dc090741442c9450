"""The service's PostgreSQL role from the command line: `huiquan init` grants it, and
`huiquan service-role` grants or checks it on its own.

    huiquan init --owner-url OWNER_URL --service-role NAME [--service-password-file PATH]
    huiquan service-role NAME --owner-url OWNER_URL [--password-file PATH] [--check]

Invariants owned here:
- This module does not import `cli.main`, so `init` may take `service_role_options` from it.
- The grants are run with the owner's URL, the one the migrations ran with; the service's own
  URL (`huiquan serve --database-url`) never needs more than `service_privileges()`.
- A password is read from a file (first line), never from the command line, where `ps` and the
  shell history would show it; it reaches the server as a SCRAM verifier.
- A role that could step around the grants is refused with one line naming every reason, and
  nothing is changed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["apply_service_role", "service_role_options"]

F = TypeVar("F", bound=Callable[..., Any])

_PASSWORD_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def service_role_options(f: F) -> F:
    """Add `--owner-url`, `--service-role` and `--service-password-file` to a command (init)."""
    options = [
        click.option(
            "--owner-url",
            envvar="HUIQUAN_OWNER_DATABASE_URL",
            metavar="URL",
            default=None,
            help="URL of the role that owns the tables: migrations and grants run as it "
            "[env HUIQUAN_OWNER_DATABASE_URL; default the database URL].",
        ),
        click.option(
            "--service-role",
            envvar="HUIQUAN_SERVICE_ROLE",
            metavar="NAME",
            default=None,
            help="PostgreSQL role `huiquan serve` logs in as: created if missing, then granted "
            "only what the service needs [env HUIQUAN_SERVICE_ROLE].",
        ),
        click.option(
            "--service-password-file",
            envvar="HUIQUAN_SERVICE_PASSWORD_FILE",
            type=_PASSWORD_FILE,
            default=None,
            help="File whose first line is the service role's password "
            "[env HUIQUAN_SERVICE_PASSWORD_FILE].",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def apply_service_role(owner_engine: Engine, role: str, password_file: Path | None) -> list[str]:
    """Grant `role` its privileges as the owner; the lines to print.

    Raises:
        click.ClickException: not PostgreSQL, a bad name, or a role unfit to run the service.
    """
    from ledger.storage.roles import UnsafeServiceRole, grant_service_role, service_privileges

    password = _read_password(password_file)
    try:
        created = grant_service_role(owner_engine, role, password=password)
    except (UnsafeServiceRole, ValueError) as refused:
        raise click.ClickException(str(refused)) from None
    privileges = service_privileges().values()
    columns = sum(len(p.update) for p in privileges)
    updated = sum(1 for p in privileges if p.update)
    return [
        f"service role: {role} {'created' if created else 'kept'}"
        f"{', password set' if password is not None else ''}",
        f"service grants: SELECT on {sum(p.select for p in privileges)} tables, INSERT on "
        f"{sum(p.insert for p in privileges)}, UPDATE of {columns} columns in {updated}, "
        f"DELETE on {sum(p.delete for p in privileges)} (erased contacts only); "
        "no TRUNCATE, ownership or trigger control",
    ]


def _read_password(path: Path | None) -> str | None:
    if path is None:
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0]:
        raise click.ClickException(f"{path}: the first line should be the password")
    return lines[0]


@click.command("service-role")
@click.argument("name")
@click.option(
    "--owner-url",
    envvar="HUIQUAN_OWNER_DATABASE_URL",
    metavar="URL",
    default=None,
    help="URL of the role that owns the tables [env HUIQUAN_OWNER_DATABASE_URL; default the "
    "database URL].",
)
@click.option("--password-file", type=_PASSWORD_FILE, default=None, help="First line: password.")
@click.option(
    "--check", is_flag=True, help="Only list what is wrong with the role; change nothing."
)
@click.pass_context
def service_role_command(
    ctx: click.Context, name: str, owner_url: str | None, password_file: Path | None, check: bool
) -> None:
    """Create the service's PostgreSQL role if missing and grant it exactly what it needs.

    Safe to run again (after every upgrade): it takes back anything else the role was granted.
    With --check it prints every finding and exits 1 if there is any.
    """
    # Without --owner-url, the group's database URL (`huiquan --database-url URL service-role`).
    from ledger.storage.db import database_url, make_engine
    from ledger.storage.roles import service_role_findings

    engine = make_engine(owner_url or getattr(ctx.find_root().obj, "url", None) or database_url())
    try:
        if check:
            if engine.dialect.name != "postgresql":
                raise click.ClickException("a service role exists on PostgreSQL only")
            with engine.connect() as conn:
                findings = service_role_findings(conn, name)
            for finding in findings:
                click.echo(f"FINDING {name}: {finding}")
            if findings:
                raise click.ClickException(f"role {name!r} is not fit to run the service")
            click.echo(f"service role: {name} holds exactly the service's privileges")
            return
        for line in apply_service_role(engine, name, password_file):
            click.echo(line)
    finally:
        engine.dispose()
