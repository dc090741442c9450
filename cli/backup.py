"""`huiquan backup`, `huiquan restore` and `huiquan keys export`: archives that restore, and
recovery codes for the keys.

    huiquan backup -o FILE [--recipient age1...]          (passphrase: $HUIQUAN_BACKUP_PASSPHRASE)
    huiquan restore FILE --home DIR [--database-url URL] [--identity-file F] [--grant-to ROLE]
    huiquan keys export [-o FILE]

Registered on the main group by `register(cli)`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from cli.context import Books, pass_books
from usecases.environment import PASSPHRASE_ENV

__all__ = ["backup_command", "keys_group", "restore_command"]

F = TypeVar("F", bound=Callable[..., Any])


def _passphrase_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--passphrase",
        envvar=PASSPHRASE_ENV,
        default=None,
        metavar="TEXT",
        help=f"{help_text} [env {PASSPHRASE_ENV}; prefer the variable: options show in `ps`].",
    )


@click.command("backup")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (never overwritten), e.g. huiquan-2026-06-01.hqbak.",
)
@_passphrase_option("Passphrase that encrypts the archive")
@click.option(
    "--recipient",
    "recipients",
    multiple=True,
    metavar="AGE1...",
    help="An age public key (age1...) whose identity may also open the archive (repeatable).",
)
@pass_books
def backup_command(
    books: Books, output: Path, passphrase: str | None, recipients: tuple[str, ...]
) -> None:
    """Write one consistent, encrypted archive of the books, the home's keys and evidence.

    The service may keep running: SQLite is copied through its online backup API, PostgreSQL
    through pg_dump in one snapshot. The archive holds beneficiaries' personal data; it is
    sealed with AES-256-GCM in chunks, its key wrapped for the passphrase (scrypt) and for
    every --recipient given (age X25519).
    """
    from usecases.backup import create_backup

    books.dispose()
    result = create_backup(
        output, home=books.home, url=books.url, passphrase=passphrase, recipients=recipients
    )
    checkpoint = (
        f"checkpoint {result.checkpoint_size}" if result.checkpoint_size else "no checkpoint"
    )
    click.echo(
        f"backed up {result.journal_size} entries ({result.engine}, root "
        f"{result.merkle_root[:16]}…, {checkpoint}) and {result.members} members into "
        f"{result.path} ({result.bytes:,} bytes, {result.seconds:.1f} s)"
    )


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--home",
    "target_home",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="An empty (or new) folder to restore the home into; never a live one.",
)
@click.option(
    "--database-url",
    "target_url",
    metavar="URL",
    default=None,
    help="PostgreSQL archives: an empty database to load the books into.",
)
@_passphrase_option("Passphrase of the archive")
@click.option(
    "--identity-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="An age identity file (AGE-SECRET-KEY-1...) of one of the archive's recipients.",
)
@click.option(
    "--grant-to",
    metavar="ROLE",
    default=None,
    help="PostgreSQL: grant SELECT and INSERT on the restored tables to this service role.",
)
def restore_command(
    archive: Path,
    target_home: Path,
    target_url: str | None,
    passphrase: str | None,
    identity_file: Path | None,
    grant_to: str | None,
) -> None:
    """Restore ARCHIVE into an empty home, check every member and verify the books.

    Refused, changing nothing, when the home (or the PostgreSQL database) is not empty, the
    passphrase is wrong, a member does not match the manifest, the books do not verify, or the
    journal's Merkle root or signed checkpoint does not match the manifest's.
    """
    from usecases.backup import restore_backup

    identities = _identity_lines(identity_file)
    result = restore_backup(
        archive,
        home=target_home,
        url=target_url,
        passphrase=passphrase,
        identities=identities,
        grant_to=grant_to,
    )
    checkpoint = (
        f"consistent with signed checkpoint {result.checkpoint_size}"
        if result.checkpoint_size
        else "no checkpoint in the archive"
    )
    click.echo(
        f"restored {result.journal_size} entries into {result.home}: every member matches the "
        f"manifest, the books verify, root {result.merkle_root[:16]}… as recorded, {checkpoint} "
        f"({result.seconds:.1f} s)"
    )


def _identity_lines(path: Path | None) -> list[str]:
    if path is None:
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip().startswith("AGE-SECRET-KEY-")]


@click.group("keys")
def keys_group() -> None:
    """Custody of the home's keys: recovery codes for paper, or an encrypted file."""


@keys_group.command("export")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the recovery sheet to this file, encrypted with the passphrase, instead of "
    "printing it.",
)
@_passphrase_option("Passphrase for --output")
@pass_books
def keys_export(books: Books, output: Path | None, passphrase: str | None) -> None:
    """Print the pseudonym key and the checkpoint signing key as recovery codes.

    Each code is base32 in groups of four with a checksum, so a mistyped character is caught.
    Print it, keep it offline; anyone holding the codes can re-identify beneficiaries' pseudonyms
    and sign checkpoints. The export is recorded in the home (`verify` warns until it is done).
    """
    from usecases.backup import export_keys

    sheet = export_keys(books.home, out=output, passphrase=passphrase)
    if output is None:
        click.echo(sheet, nl=False)
        if os.isatty(1):
            click.echo("keep this sheet offline; it is the only copy outside the home", err=True)
    else:
        click.echo(f"recovery sheet written to {output}, encrypted with the passphrase (age)")
