"""`huiquan reconcile FILE --fund F --account 1002-CNY [--layout csv-config.json]`.

Imports a bank statement (camt.053 XML, or CSV in the given layout) for a fund's cash account,
matches it against the books (`usecases.reconciliation`) and prints the reconciliation report:
opening and closing balances, the books' balance, matched and unmatched lines, the difference.
The same file imported again records nothing and prints the first import's report. Exits 1 when
the difference is not zero or lines are unmatched, so a script can tell.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.context import Books, current_maker, pass_books, record_change
from cli.output import money, progress_bar, progress_flag, table, want_progress

__all__ = ["reconcile_command"]


@click.command("reconcile")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fund", required=True, help="The fund whose bank account this is.")
@click.option("--account", default="1002-CNY", show_default=True, help="The cash account.")
@click.option(
    "--layout",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CSV layout as JSON: columns (date, amount, direction, counterparty, reference, "
    "balance), delimiter, date_format, currency, credit/debit words.",
)
@progress_flag
@pass_books
def reconcile_command(
    books: Books, file: Path, fund: str, account: str, layout: Path | None, progress: bool | None
) -> None:
    """Import a bank statement FILE, match it against the books and report."""
    from ledger.bank_statements import layout_from_json
    from usecases import reconciliation
    from usecases.books import open_books
    from usecases.unit import Actor

    record_change("reconcile")
    the_books = open_books(books.engine, books.home, group_commit_max=1)
    spec = layout_from_json(layout.read_text(encoding="utf-8") if layout else None)
    with progress_bar(f"matching {file.name}", enabled=want_progress(progress)) as bar:
        done = [0]

        def step(count: int, total: int) -> None:
            bar(total, count - done[0])
            done[0] = count

        result = reconciliation.import_statement(
            the_books,
            file.read_bytes(),
            fund=fund,
            account=account,
            layout=spec,
            by=Actor(current_maker(), ("officer",)),
            progress=step,
        )
    report = reconciliation.reconciliation_report(the_books, result.statement_id)
    _print(result, report)
    if report["difference"] != 0 or report["unmatched_lines"]:
        raise click.ClickException(
            f"not reconciled: {len(report['unmatched_lines'])} unmatched line(s), difference "
            f"{_amount(report['difference'], report['statement']['currency'])}"
        )


def _amount(minor: int | None, currency: str) -> str:
    return "—" if minor is None else money(minor, currency)


def _print(result, report) -> None:  # type: ignore[no-untyped-def]
    s, cur = report["statement"], report["statement"]["currency"]
    state = "imported" if result.created else "already imported"
    click.echo(
        f"statement {s['id']} ({state}): {s['from_date']} .. {s['to_date']}, {s['lines']} lines"
    )
    rows = [
        ["opening balance (bank)", _amount(s["opening_minor"], cur)],
        ["closing balance (bank)", _amount(s["closing_minor"], cur)],
        ["books' balance", _amount(report["books_balance"], cur)],
        ["matched lines", str(len(report["matched"]))],
        ["unmatched lines", str(len(report["unmatched_lines"]))],
        ["unmatched postings", str(len(report["unmatched_postings"]))],
        ["difference", _amount(report["difference"], cur)],
    ]
    table(None, ["", cur], rows, right=(1,))
    for line in report["unmatched_lines"]:
        click.echo(
            f"unmatched line {line['line']}: {line['booked_on']} {money(line['amount'], cur)} "
            f"{line['reference']}"
        )
