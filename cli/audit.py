"""`huiquan export`, `huiquan audit`, `huiquan checkpoint` and `huiquan statement`.

Add them to the main group with ``register(cli)``. Every command prints findings as lines and
exits 1 when there is any; file outputs are written whole or not at all (to a temporary name,
then renamed).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from usecases.books import Books as LedgerBooks

from cli.context import Books, changes_state, current_maker, pass_books, record_change

__all__ = ["DEFAULT_ORIGIN", "STATEMENT_KINDS", "depreciate_command", "register"]

# The choices and defaults the options show, copied so that `--help` and the other commands
# need not import the audits or the Merkle log (a test holds them equal to the originals).
#: `audits.statements.KINDS`
STATEMENT_KINDS = (
    "trial-balance",
    "financial-position",
    "activities",
    "cash-flows",
    "pledges",
    "disbursements",
    "scholarships",
)
#: `ledger.tlog.proofs.DEFAULT_ORIGIN`
DEFAULT_ORIGIN = "huiquan-ledger"


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _atomic(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@click.group("export")
def export_group() -> None:
    """Export the journal for auditors."""


@export_group.command("journal")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "xlsx"]), default="csv")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--period", help="YYYY or YYYY-MM (effective date).")
@click.option("--from", "date_from", help="First effective date, YYYY-MM-DD.")
@click.option("--to", "date_to", help="Last effective date, YYYY-MM-DD.")
@click.option("--fund")
@click.option("--project")
@click.option("--bom", is_flag=True, help="Start the CSV with a UTF-8 BOM (for Excel).")
@pass_books
def export_journal(
    books: Books,
    fmt: str,
    output: Path,
    period: str | None,
    date_from: str | None,
    date_to: str | None,
    fund: str | None,
    project: str | None,
    bom: bool,
) -> None:
    """One row per posting, naming the checkpoint it was taken at."""
    from audits.exports import ExportFilter, csv_chunks, export_meta, jsonl_chunks, write_xlsx

    filters = ExportFilter(period, _date(date_from), _date(date_to), fund, project)
    tmp = _atomic(output)
    with books.engine.connect() as conn, tmp.open("wb") as out:
        meta = export_meta(conn)
        if fmt == "xlsx":
            write_xlsx(conn, out, filters, meta=meta)
        else:
            chunks = (
                csv_chunks(conn, filters, bom=bom, meta=meta)
                if fmt == "csv"
                else jsonl_chunks(conn, filters, meta=meta)
            )
            for chunk in chunks:
                out.write(chunk)
    tmp.replace(output)
    click.echo(f"wrote {output}: journal size {meta.journal_size}, checkpoint {meta.header()}")


def _ledger_books(books: Books) -> LedgerBooks:
    from usecases.books import open_books

    return open_books(books.engine, books.home, group_commit_max=1)


@export_group.command("iati")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--as-of", "as_of", help="Transactions up to this day, YYYY-MM-DD.")
@pass_books
def export_iati(books: Books, output: Path, as_of: str | None) -> None:
    """IATI 2.03 activities (one per project) as XML: open data, nobody named."""
    from usecases.statements import iati, preparer

    ledger_books = _ledger_books(books)
    tmp = _atomic(output)
    tmp.write_bytes(iati(ledger_books, as_of=_date(as_of)))
    tmp.replace(output)
    who = preparer(ledger_books)
    click.echo(f"wrote {output}: reporting organisation {who.org_ref}")
    if not who.identified:
        click.echo(
            "warning: no valid registration number is configured "
            "(RECEIPT_ISSUER_REGISTRATION_NO); the identifier is a placeholder",
            err=True,
        )


@export_group.command("grants")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--as-of", "as_of", help="Transactions up to this day, YYYY-MM-DD.")
@click.option("--bom", is_flag=True, help="Start the CSV with a UTF-8 BOM (for Excel).")
@pass_books
def export_grants(books: Books, output: Path, as_of: str | None, bom: bool) -> None:
    """The 360Giving grants CSV: project grants and scholarship cohorts, nobody named."""
    from usecases.statements import grants

    text = grants(_ledger_books(books), as_of=_date(as_of))
    tmp = _atomic(output)
    tmp.write_text(("\ufeff" if bom else "") + text, encoding="utf-8", newline="")
    tmp.replace(output)
    click.echo(f"wrote {output}: {text.count(chr(10)) - 1} grants")


@click.command("depreciate")
@click.option("--through", required=True, help="The last month to depreciate, YYYY-MM.")
@pass_books
@changes_state("depreciate")
def depreciate_command(books: Books, through: str) -> None:
    """Post the monthly depreciation of fixed assets received in kind, up to a month.

    Straight-line over the useful life (5 years, no residual, unless set on the gift): Dr 5101
    (5201 when not used in a programme) / Cr 1502. Months already posted are skipped, and a
    month that has not ended is never posted, so running it again changes nothing.
    """
    from ledger.depreciation import parse_month
    from usecases.depreciation import run_depreciation
    from usecases.unit import Actor

    try:
        parse_month(through)
    except ValueError as bad:
        raise click.BadParameter(str(bad), param_hint="--through") from None
    run = run_depreciation(
        _ledger_books(books),
        through=through,
        by=Actor(current_maker(), ("admin",)),
    )
    yuan, fen = divmod(run.total, 100)
    click.echo(
        f"depreciation through {through}: {len(run.posted)} month(s) posted over "
        f"{run.assets} asset(s), CNY {yuan:,}.{fen:02d}"
    )


@click.group("audit")
def audit_group() -> None:
    """Audit bundles: write one, check one offline."""


@audit_group.command("bundle")
@click.option("--period", required=True, help="YYYY or YYYY-MM.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--no-checkpoint", is_flag=True, help="Do not sign a fresh checkpoint first.")
@click.option(
    "--no-files",
    is_flag=True,
    help="Leave the attached documents out (their records and SHA-256 sums stay in).",
)
@pass_books
def audit_bundle(
    books: Books, period: str, output: Path, no_checkpoint: bool, no_files: bool
) -> None:
    """Write a self-contained bundle (.zip, or .tar.gz by its name)."""
    from audits.bundle import period_params, write_bundle_file
    from ledger.tlog.keys import ensure_signing_key, trusted_vkeys
    from usecases.books import open_books
    from usecases.evidence import store_for

    try:
        period_params(period)
    except ValueError as bad:
        raise click.BadParameter(str(bad), param_hint="--period") from None
    from usecases.statements import preparer

    who = preparer(_ledger_books(books))
    key = None if no_checkpoint else ensure_signing_key(books.home)
    tmp = _atomic(output)
    store = None if no_files else store_for(open_books(books.engine, books.home))
    manifest = write_bundle_file(
        books.engine,
        tmp,
        period=period,
        key=key,
        trusted=trusted_vkeys(books.home),
        evidence=store,
        org_name=who.name,
        org_ref=who.org_ref,
    )
    tmp.replace(output)
    for warning in manifest["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"wrote {output}: {manifest['journal_size']} entries, {len(manifest['files'])} files"
    )


@audit_group.command("check")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--trusted-key", "trusted", multiple=True, help="A verifier key (vkey) to trust; repeatable."
)
@click.option(
    "--trusted-keys-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of vkeys, one per line.",
)  # fmt: skip
def audit_check(bundle: Path, trusted: tuple[str, ...], trusted_keys_file: Path | None) -> None:
    """Verify a bundle offline; print every finding; exit 1 on any."""
    from audits.verify import check_bundle

    keys = list(trusted)
    if trusted_keys_file is not None:
        keys += [
            line.strip() for line in trusted_keys_file.read_text().splitlines() if line.strip()
        ]
    report = check_bundle(bundle, keys)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        sys.exit(1)


@click.command("checkpoint")
@click.option(
    "--rotate-key", "rotate", is_flag=True, help="Retire the signing key and sign with a new one."
)
@click.option("--origin", default=DEFAULT_ORIGIN, show_default=True)
@click.option("--show", is_flag=True, help="Print the latest checkpoint without signing one.")
@pass_books
def checkpoint_command(books: Books, rotate: bool, origin: str, show: bool) -> None:
    """Sign a checkpoint of the journal (the key is made at first use in $HUIQUAN_HOME/keys)."""
    from ledger.tlog.keys import ensure_signing_key, rotate_key
    from ledger.tlog.proofs import ProofError, latest_checkpoint, make_checkpoint

    if show:
        with books.engine.connect() as conn:
            latest = latest_checkpoint(conn)
        click.echo(latest.signed_text if latest else "no checkpoint yet", nl=latest is None)
        return
    record_change("checkpoint")
    key = rotate_key(books.home) if rotate else ensure_signing_key(books.home)
    try:
        with books.engine.begin() as conn:
            stored = make_checkpoint(conn, key, origin)
    except ProofError as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(stored.signed_text, nl=False)
    click.echo(f"verifier key: {key.vkey}", err=True)


@click.command("statement")
@click.argument("kind", type=click.Choice(["all", *STATEMENT_KINDS]))
@click.option("--fund")
@click.option("--from", "date_from")
@click.option("--to", "date_to")
@click.option("--as-of", "as_of")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "pdf"]), default="json")
@click.option("-o", "--output", type=click.Path(path_type=Path))
@pass_books
def statement_command(
    books: Books,
    kind: str,
    fund: str | None,
    date_from: str | None,
    date_to: str | None,
    as_of: str | None,
    fmt: str,
    output: Path | None,
) -> None:
    """Print or write a statement (or `all` of them: the PDF audit pack)."""
    from audits.exports import export_meta
    from audits.statements import KINDS, Params, statement_csv, statements_from_db

    params = Params.make(
        fund=fund, date_from=_date(date_from), date_to=_date(date_to), as_of=_date(as_of)
    )
    kinds = list(KINDS) if kind == "all" else [kind]
    with books.engine.connect() as conn:
        meta = export_meta(conn)
        statements, fold = statements_from_db(conn, params, kinds, upto=meta.journal_size)
    if fmt == "pdf":
        if output is None:
            raise click.UsageError("a PDF needs -o FILE")
        checkpoint = meta.checkpoint.to_dict() if meta.checkpoint else None
        from usecases.statements import statement_pdf

        pdf = statement_pdf(_ledger_books(books), statements, fold, checkpoint=checkpoint)
        output.write_bytes(pdf)
        click.echo(f"wrote {output}")
        return
    if fmt == "csv":
        text = "".join(statement_csv(s) for s in statements.values())
    else:
        text = (
            json.dumps(
                {k: s.to_dict() for k, s in statements.items()}, ensure_ascii=False, indent=1
            )
            + "\n"
        )
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    if any(s.checks for s in statements.values()):
        for s in statements.values():
            for failed in s.checks:
                click.echo(f"FINDING {s.kind}: {failed}", err=True)
        sys.exit(1)


def register(cli: click.Group) -> None:
    """Add `export`, `audit`, `checkpoint` and `statement` to the `huiquan` group."""
    cli.add_command(export_group)
    cli.add_command(audit_group)
    cli.add_command(checkpoint_command)
    cli.add_command(statement_command)
    cli.add_command(depreciate_command)
