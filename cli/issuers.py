"""`huiquan issuer ...`: register the legal entities that issue receipts, and assign funds.

`add` checks the 统一社会信用代码 (GB 32100-2015 check character); `assign` takes effect for
receipts issued from then on; `list` shows each issuer's funds and the funds without one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from cli.context import pass_books

if TYPE_CHECKING:
    from cli.context import Books


def _books(books: Books) -> object:
    from usecases.books import open_books

    return open_books(books.engine, books.home, writer_gate=False)


@click.group("issuer")
def issuer_group() -> None:
    """Issuers of receipts: the foundations and organisations that hold the funds."""


@issuer_group.command("add")
@click.argument("code")
@click.option("--name", required=True, help="The legal name, as registered.")
@click.option("--credit-code", required=True, help="统一社会信用代码 (18 characters).")
@click.option("--seal-text", default=None, help="Text of the seal (default: the name).")
@click.option("--demo", is_flag=True, help="A made-up issuer of demo data (said on receipts).")
@click.option("--by", default="admin", show_default=True, help="Who registers it.")
@pass_books
def add_command(
    books: Books, code: str, name: str, credit_code: str, seal_text: str | None, demo: bool, by: str
) -> None:
    """Register issuer CODE."""
    from ledger.errors import LedgerError
    from usecases import issuers
    from usecases.unit import Actor

    try:
        made = issuers.add_issuer(
            _books(books),  # type: ignore[arg-type]
            code=code,
            name=name,
            registration_no=credit_code,
            seal_text=seal_text,
            demo=demo,
            by=Actor(by),
        )
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"issuer {made.code}: {made.name} {made.registration_no}{' (demo)' * made.demo}")


@issuer_group.command("assign")
@click.argument("fund")
@click.argument("issuer")
@click.option("--by", default="admin", show_default=True, help="Who assigns it.")
@pass_books
def assign_command(books: Books, fund: str, issuer: str, by: str) -> None:
    """Assign FUND to ISSUER (receipts issued from now on)."""
    from ledger.errors import LedgerError
    from usecases import issuers
    from usecases.unit import Actor

    try:
        made = issuers.assign_issuer(_books(books), fund, issuer, by=Actor(by))  # type: ignore[arg-type]
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"fund {fund}: issued by {made.name} ({made.registration_no})")


@issuer_group.command("list")
@pass_books
def list_command(books: Books) -> None:
    """List issuers, their funds, and the funds with no issuer."""
    from usecases import issuers

    for record, funds in issuers.list_issuers(books.engine):
        demo = " (demo)" if record.demo else ""
        click.echo(
            f"{record.code}\t{record.registration_no}\t{record.name}{demo}\t{','.join(funds)}"
        )
    for fund in issuers.unassigned_funds(books.engine):
        click.echo(f"warning: fund {fund} has no issuer: its receipts say so", err=True)
