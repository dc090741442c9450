"""`huiquan chief ...`: honorary village chiefs (荣誉村长) from the command line.

`appoint` and `list` call the use cases the API and the console call (`usecases.chiefs`);
`summary` writes a chief's annual summary of their village (the PDF the console serves).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli.context import pass_books

if TYPE_CHECKING:
    from cli.context import Books


def _books(books: Books) -> object:
    from usecases.books import open_books

    return open_books(books.engine, books.home, writer_gate=False)


@click.group("chief")
def chief_group() -> None:
    """Honorary village chiefs (荣誉村长): appoint, list, write the annual summary."""


@chief_group.command("appoint")
@click.option("--village", required=True, help="The village's 12-digit code (GET /api/v1/places).")
@click.option("--donor", "donor_id", required=True, help="The donor's id, e.g. D-0006.")
@click.option("--from", "starts_on", required=True, help="First day of the term (YYYY-MM-DD).")
@click.option("--to", "ends_on", required=True, help="Last day of the term (YYYY-MM-DD).")
@click.option("--citation", required=True, help="The citation, in Chinese.")
@click.option("--citation-en", default="", help="The citation, in English.")
@click.option(
    "--anonymous", is_flag=True, help="The chief chose to appear without their name in public."
)
@click.option("--by", default="admin", show_default=True, help="Who appoints.")
@pass_books
def appoint_command(
    books: Books,
    village: str,
    donor_id: str,
    starts_on: str,
    ends_on: str,
    citation: str,
    citation_en: str,
    anonymous: bool,
    by: str,
) -> None:
    """Appoint a donor honorary chief of a village for a term."""
    from ledger.errors import LedgerError
    from usecases import chiefs
    from usecases.unit import Actor

    try:
        chief = chiefs.appoint_chief(
            _books(books),  # type: ignore[arg-type]
            village=village,
            donor_id=donor_id,
            starts_on=starts_on,
            ends_on=ends_on,
            citation_zh=citation,
            citation_en=citation_en,
            shown="anonymous" if anonymous else "name",
            by=Actor(by),
        )
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from exc
    shown = chief.public_name or "(shown anonymously)"
    click.echo(f"chief {chief.id}: {shown} of {chief.village}, {chief.starts_on}..{chief.ends_on}")


@chief_group.command("list")
@click.option("--village", default=None, help="Only this village's chiefs.")
@pass_books
def list_command(books: Books, village: str | None) -> None:
    """List the appointments, by start date."""
    from usecases import chiefs

    for c in chiefs.list_chiefs(_books(books), village=village):  # type: ignore[arg-type]
        shown = c.public_name or "(anonymous)"
        click.echo(f"{c.id}  {c.village}  {c.donor_id}  {shown}  {c.starts_on}..{c.ends_on}")


@chief_group.command("summary")
@click.argument("chief_id")
@click.argument("year", type=click.IntRange(1900, 2999))
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Where to write it."
)
@pass_books
def summary_command(books: Books, chief_id: str, year: int, output: Path | None) -> None:
    """Write a chief's annual summary of their village for YEAR (an A4 PDF)."""
    from ledger.errors import LedgerError
    from usecases import chiefs

    try:
        pdf = chiefs.chief_summary_pdf(_books(books), chief_id, year)  # type: ignore[arg-type]
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from exc
    target = output or Path(f"chief-summary-{year}.pdf")
    target.write_bytes(pdf)
    click.echo(f"wrote {target} ({len(pdf):,} bytes)")
