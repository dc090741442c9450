"""`huiquan receipt ...`: check a receipt offline, and look one up in the books.

    huiquan receipt verify FILE.pdf|FILE.json|URL [--trusted-key VKEY ...] [--keys-file PATH]
    huiquan receipt show SERIAL

Invariants owned here:
- `verify` needs no database: it reads the proof document from a receipt PDF, a proof JSON file
  or a receipt link (fetched over http(s) with the standard library) and checks it with
  `receipts.proof.verify_receipt_document` against the verifier keys given, by default the
  local service's own (``$HUIQUAN_HOME/keys/trusted.vkeys``). It prints the verdict and the
  verified facts, or every reason the receipt failed; it exits 0 for genuine, 1 otherwise.
- `show` prints one receipt's record (status, void reason, replacement) and never a link.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import click

from cli.context import pass_books

if TYPE_CHECKING:
    from cli.context import Books

__all__ = ["fetch_receipt", "receipt", "register"]

MAX_FETCH = 8 * 1024 * 1024
FACT_LABELS = (
    ("serial", "serial"),
    ("donor", "donor"),
    ("amount", "amount"),
    ("cny_amount", "CNY value"),
    ("received_on", "received"),
    ("fund", "fund"),
    ("issued_on", "issued"),
    ("signing_officer", "signed by"),
    ("replaces", "replaces"),
    ("checkpoint", "checkpoint"),
)


def fetch_receipt(url: str, *, timeout: float = 10.0) -> bytes:
    """The proof document (or PDF) behind a receipt link: ``/r/<token>`` fetches ``.json``.

    Raises:
        click.ClickException: for a non-http(s) URL, an HTTP error or a body that is too large.
    """
    import urllib.error
    import urllib.request

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.ClickException(f"only http(s) receipt links can be fetched, not {url!r}")
    path = parts.path
    if "/r/" in path and not path.endswith((".pdf", ".json")):
        path += ".json"
    target = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    accept = {"Accept": "application/json, application/pdf"}
    request = urllib.request.Request(target, headers=accept)  # noqa: S310 - http(s) checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body: bytes = response.read(MAX_FETCH + 1)
    except urllib.error.HTTPError as exc:
        raise click.ClickException(f"{target} answered {exc.code}: no receipt there") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise click.ClickException(f"cannot fetch {target}: {reason}") from exc
    if len(body) > MAX_FETCH:
        raise click.ClickException(f"{target} is too large to be a receipt")
    return body


def _trusted(books: Books, keys: tuple[str, ...], keys_file: Path | None) -> list[str]:
    from ledger.tlog.keys import trusted_vkeys

    trusted = list(keys)
    if keys_file is not None:
        lines = keys_file.read_text(encoding="utf-8").splitlines()
        trusted += [line.strip() for line in lines if line.strip()]
    if not trusted:
        trusted = trusted_vkeys(books.home)
    if not trusted:
        raise click.ClickException(
            "no trusted keys: pass --trusted-key or --keys-file "
            f"({books.home}/keys/trusted.vkeys does not exist)"
        )
    return trusted


def _verify(
    books: Books, source: str, trusted_key: tuple[str, ...], keys_file: Path | None
) -> None:
    """Check a receipt (PDF, proof JSON or link) offline; exit 1 unless it is genuine."""
    from receipts.proof import ProofFormatError, load_document, verify_receipt_document

    if source.startswith(("http://", "https://")):
        data = fetch_receipt(source)
    else:
        data = Path(source).read_bytes()
    try:
        document = load_document(data)
    except ProofFormatError as exc:
        raise click.ClickException(f"not genuine: {exc}") from exc
    trusted = _trusted(books, trusted_key, keys_file)
    result = verify_receipt_document(document, trusted)
    if result.ok:
        click.echo(f"GENUINE: receipt {result.facts.get('serial', '?')}")
        width = max(len(label) for _, label in FACT_LABELS)
        for key, label in FACT_LABELS:
            if result.facts.get(key):
                click.echo(f"  {label:<{width}}  {result.facts[key]}")
        return
    click.echo(f"NOT GENUINE: receipt {result.facts.get('serial', '?')}")
    for finding in result.findings:
        click.echo(f"  - {finding.message}")
    raise click.ClickException(result.findings[0].message)


def _show(books: Books, serial: str) -> None:
    """Print one receipt's record: kind, donor, entry, status, void reason, replacement."""
    from ledger.errors import NotFound
    from receipts.issuing import get_receipt

    with books.engine.connect() as conn:
        record = get_receipt(conn, serial)
    if record is None:
        raise NotFound(f"there is no receipt {serial!r}")
    rows = [
        ("serial", record.serial),
        ("kind", record.kind),
        ("status", "VOID" if record.is_void else "issued"),
        ("donor", record.donor_id),
        ("entry", record.entry_id or "-"),
        ("issued at", record.issued_at),
        ("signed by", str(record.data.get("officer", ""))),
    ]
    if record.replaces_serial:
        rows.append(("replaces", record.replaces_serial))
    if record.is_void:
        rows.append(("void reason", record.void_reason or ""))
        rows.append(("replaced by", record.replaced_by or "-"))
    if record.data.get("covers"):
        rows.append(("covers", ", ".join(map(str, record.data["covers"]))))
    for label, value in rows:
        click.echo(f"{label:<12} {value}")


@click.group()
def receipt() -> None:
    """Donor receipts: check one offline, or look one up."""


@receipt.command("verify")
@click.argument("source", metavar="FILE.pdf|FILE.json|URL")
@click.option(
    "--trusted-key",
    "trusted_key",
    multiple=True,
    metavar="VKEY",
    help="A verifier key to trust (repeatable) [default: $HUIQUAN_HOME/keys/trusted.vkeys].",
)
@click.option(
    "--keys-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A file of verifier keys, one per line.",
)
@pass_books
def verify(books: Books, source: str, trusted_key: tuple[str, ...], keys_file: Path | None) -> None:
    """Check that a receipt is genuine: signed by a trusted key and proven in the ledger.

    Works offline for a PDF or proof file; a receipt link is fetched first. Exits 1 and
    prints every reason when the receipt is not genuine.
    """
    _verify(books, source, trusted_key, keys_file)


@receipt.command("show")
@click.argument("serial")
@pass_books
def show(books: Books, serial: str) -> None:
    """Print the record of receipt SERIAL (never its link)."""
    _show(books, serial)


def register(cli: click.Group) -> None:
    """Add the `receipt` command group to the `huiquan` command line."""
    cli.add_command(receipt)
