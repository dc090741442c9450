"""`huiquan evidence attach | list | verify`: documents attached to entries (`usecases.evidence`).

Files are judged by their bytes (PDF, JPEG, PNG, WebP; at most 20 MiB). `verify` checks the
chain of attachment records and every stored file against its SHA-256; it prints every finding
and exits 1 if there is any.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli.context import Books, changes_state, current_maker, pass_books

__all__ = ["evidence_group"]

KINDS = ("invoice", "contract", "acknowledgment", "photo", "bank_slip", "other")


def _books(books: Books):  # type: ignore[no-untyped-def]
    from usecases.books import open_books

    return open_books(books.engine, books.home, group_commit_max=1)


@click.group("evidence")
def evidence_group() -> None:
    """Documents attached to entries: attach, list, verify."""


@evidence_group.command("attach")
@click.argument("entry_id")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(KINDS), required=True, help="What the document is.")
@click.option("--note", default="", help="A short note (no personal data).")
@pass_books
@changes_state("evidence attach")
def attach_command(books: Books, entry_id: str, file: Path, kind: str, note: str) -> None:
    """Attach FILE to the entry ENTRY_ID (stored once per content, chained)."""
    from usecases import evidence
    from usecases.unit import Actor

    with file.open("rb") as stream:
        record = evidence.attach(
            _books(books),
            subject_type="entry",
            subject_id=entry_id,
            kind=kind,
            upload=evidence.Upload(stream, file.name),
            note=note,
            by=Actor(current_maker(), ("officer",)),
        )
    click.echo(f"{record.id}  {record.media_type}  {record.size} bytes  sha256 {record.sha256}")


@evidence_group.command("list")
@click.argument("entry_id")
@pass_books
def list_command(books: Books, entry_id: str) -> None:
    """The attachment records of an entry, superseded ones marked."""
    from usecases import evidence

    for item in evidence.attachments_of(_books(books), "entry", entry_id):
        r = item.record
        mark = f"  superseded by {item.superseded_by}" if item.superseded_by else ""
        click.echo(
            f"{r.sequence:>6} {r.id} {r.kind:<14} {r.sha256 or '(withdrawn)'} {r.file_name}{mark}"
        )


@evidence_group.command("verify")
@pass_books
def verify_command(books: Books) -> None:
    """Check the attachment records' chain and every file against its SHA-256."""
    from usecases import evidence

    findings = evidence.verify_evidence(_books(books))
    for finding in findings:
        click.echo(finding)
    if findings:
        raise click.ClickException(f"{len(findings)} evidence finding(s)")
    click.echo("evidence: chain intact, every file matches its hash")
