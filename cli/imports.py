"""`huiquan import FILE`: post a CSV or JSONL file of operations, all of it or nothing.

A row that the approval policy of its fund says needs an approver (a disbursement of 10,000 or
more, a reversal of a disbursement, ...) refuses the whole file, naming its line: such an
operation is requested through the API (`POST /api/v1/disbursements` answers 202 with the
request), where an approver other than its maker approves it.

The command's help lists the importer's operations and columns (`ledger.importer.columns_help`,
the one place they are written); they are read when that help is shown, so listing the
commands or running any other one does not import the importer.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.context import Books, current_maker, pass_books, record_change
from cli.output import progress_bar, progress_flag, want_progress

__all__ = ["import_command"]

_IMPORT_HELP = (
    "Post a CSV or JSONL file of operations: all of it, or nothing.\n\n"
    "One operation per CSV row (header row first) or JSONL line (a JSON object). Column "
    "`op` names the operation; amounts are decimal strings, dates YYYY-MM-DD, currency "
    "defaults to CNY. Every row may carry `key` (idempotency key: rows posted before are "
    "not posted again) and `label` (a later row may write @label as pledge_id, award_id or "
    "entry_id to refer to what this row created).\n\n"
    "Every row is validated first (all malformed lines are reported); then the rows are "
    "posted in order in ONE transaction. If the ledger refuses any row, the rest are still "
    "tried as a dry run to report more problems (later ones may follow from the first), "
    "each with its line number, and nothing is committed."
)


class _ImportCommand(click.Command):
    """`import`, whose full help ends with the importer's table of operations and columns."""

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from ledger.importer import columns_help

        full = f"{self.help}\n\n\b\n{columns_help()}"
        short, self.help = self.help, full
        try:
            super().format_help_text(ctx, formatter)
        finally:
            self.help = short


@click.command("import", cls=_ImportCommand, help=_IMPORT_HELP)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="File format [default: from the extension: .csv, .jsonl/.ndjson].",
)
@click.option("--dry-run", is_flag=True, help="Validate and post, then roll back.")
@click.option("--maker", default=None, help="Who made these entries [default: cli:<user>].")
@click.option(
    "--max-problems", type=int, default=50, show_default=True, help="How many problems to print."
)
@progress_flag
@pass_books
def import_command(
    books: Books,
    file: Path,
    fmt: str | None,
    dry_run: bool,
    maker: str | None,
    max_problems: int,
    progress: bool | None,
) -> None:
    from ledger.importer import ImportRejected
    from usecases.imports import import_operations

    if not dry_run:
        record_change("import")
    try:
        with progress_bar(f"importing {file.name}", enabled=want_progress(progress)) as bar:
            result = import_operations(
                books.engine,
                file,
                fmt,
                maker=maker or current_maker(),
                dry_run=dry_run,
                progress=lambda phase, total, n: bar(total, n) if phase == "posting" else None,
            )
    except ImportRejected as exc:
        for problem in exc.problems[:max_problems]:
            click.echo(str(problem), err=True)
        if exc.total > max_problems:
            click.echo(f"... and {exc.total - max_problems} more", err=True)
        raise
    verb = "would post" if dry_run else "posted"
    span = (
        f" (sequence {result.first_sequence}..{result.last_sequence})"
        if result.first_sequence
        else ""
    )
    click.echo(
        f"{verb} {result.entries} entries from {result.rows} rows{span}; "
        f"{result.replayed} rows were already posted (idempotency key); "
        f"{result.seconds:.2f} s, {result.entries_per_second:,.0f} entries/s"
        + ("; rolled back (dry run)" if dry_run else "")
    )
