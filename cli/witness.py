"""`huiquan witness`: run an independent witness of the ledger's checkpoints.

    huiquan witness init --home DIR --name NAME --log-key VKEY [--origin ORIGIN]
    huiquan witness cosign --home DIR --url URL [--no-submit]
    huiquan witness cosign --home DIR --checkpoint-file FILE [--proof-file FILE] [--output FILE]
    huiquan witness show --home DIR

The witness keeps its key and state in its own folder, never in the ledger's database. `cosign`
fetches (or reads) the log's latest signed checkpoint and the consistency proof from the size it
last cosigned, checks both (`ledger.tlog.witness.Witness.add_checkpoint`), prints the
cosignature line and, with `--url`, submits it to the service. A checkpoint inconsistent with
one it cosigned before is refused: one `error: split view: ...` line naming both sizes and
roots, exit status 1, nothing signed and nothing recorded.

Service endpoints used with `--url` (base URL of the service)::

    GET  /api/v1/checkpoints/latest                 (Accept: text/plain) the signed checkpoint
    GET  /api/v1/proofs/consistency?from=N&to=M     JSON, `proof`: base64 hashes
    POST /api/v1/checkpoints/M/cosignatures         JSON {"checkpoint": ..., "cosignature": ...}

"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from ledger.tlog import DEFAULT_ORIGIN
from ledger.tlog.checkpoints import CheckpointError, parse_signed_checkpoint
from ledger.tlog.witness import Witness, WitnessError, add_checkpoint_request

__all__ = ["witness_group"]

_TIMEOUT = 15.0


def _home_option(f: Any) -> Any:
    return click.option(
        "--home",
        "witness_home",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="The witness's own folder (its key and the latest checkpoint it cosigned).",
    )(f)


def _open(home: Path) -> Witness:
    try:
        return Witness(home)
    except WitnessError as bad:
        raise click.ClickException(str(bad)) from None


@click.group("witness")
def witness_group() -> None:
    """Witness the ledger: cosign its checkpoints only if they extend what you cosigned before."""


@witness_group.command("init")
@_home_option
@click.option("--name", required=True, help="The witness key name, e.g. witness.example.org/w1.")
@click.option("--log-key", "log_keys", multiple=True, metavar="VKEY", help="A log vkey to trust.")
@click.option(
    "--log-keys-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A file of log vkeys, one a line (the service's keys/trusted.vkeys, as published).",
)
@click.option("--origin", default=DEFAULT_ORIGIN, show_default=True, help="The log's origin.")
def witness_init(
    witness_home: Path,
    name: str,
    log_keys: tuple[str, ...],
    log_keys_file: Path | None,
    origin: str,
) -> None:
    """Make the witness key and an empty state; print the witness vkey to give the service."""
    vkeys = list(log_keys)
    if log_keys_file is not None:
        vkeys += [v.strip() for v in log_keys_file.read_text(encoding="utf-8").split()]
    if not vkeys:
        raise click.UsageError("give the log's verifier key with --log-key or --log-keys-file")
    try:
        witness = Witness.init(witness_home, name, vkeys, origin)
    except FileExistsError:
        raise click.ClickException(f"{witness_home} already holds a witness key") from None
    except (WitnessError, CheckpointError) as bad:
        raise click.ClickException(str(bad)) from None
    click.echo(f"witness {witness.key.name} for {origin}; its vkey (for witnesses.vkeys):")
    click.echo(witness.key.vkey)


@witness_group.command("show")
@_home_option
def witness_show(witness_home: Path) -> None:
    """Print the witness vkey and the latest checkpoint it cosigned."""
    witness = _open(witness_home)
    click.echo(f"vkey: {witness.key.vkey}")
    click.echo(f"origin: {witness.origin}")
    latest = witness.latest()
    if latest is None:
        click.echo("latest: none")
    else:
        root = base64.b64encode(latest.root).decode("ascii")
        click.echo(f"latest: size {latest.size} root {root} cosigned at {latest.cosigned_at}")


@witness_group.command("cosign")
@_home_option
@click.option("--url", help="Base URL of the service (http or https).")
@click.option(
    "--checkpoint-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Offline: the signed checkpoint to cosign.",
)
@click.option(
    "--proof-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Offline: the consistency proof from the size last cosigned (the service's JSON, or "
    "base64 hashes one a line).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the cosignature line to this file.",
)
@click.option(
    "--no-submit", is_flag=True, help="With --url: print the cosignature, do not post it."
)
def witness_cosign(
    witness_home: Path,
    url: str | None,
    checkpoint_file: Path | None,
    proof_file: Path | None,
    output: Path | None,
    no_submit: bool,
) -> None:
    """Check the log's latest checkpoint against the last one cosigned, and cosign it."""
    if (url is None) == (checkpoint_file is None):
        raise click.UsageError("give either --url or --checkpoint-file")
    witness = _open(witness_home)
    latest = witness.latest()
    old = 0 if latest is None else latest.size
    if url is not None:
        base = _base(url)
        note = _get(f"{base}/api/v1/checkpoints/latest", "text/plain")
        size = _size(note)
        proof: list[bytes] = []
        if 0 < old < size:
            body = json.loads(_get(f"{base}/api/v1/proofs/consistency?from={old}&to={size}"))
            proof = [base64.b64decode(h) for h in body.get("proof", [])]
    else:
        assert checkpoint_file is not None
        note = checkpoint_file.read_text(encoding="utf-8")
        proof = _read_proof(proof_file, old)
    line = _cosign(witness, add_checkpoint_request(old, proof, note))
    click.echo(line)
    if output is not None:
        output.write_text(line + "\n", encoding="utf-8")
    if url is not None and not no_submit:
        payload = json.dumps({"checkpoint": note, "cosignature": line}).encode("utf-8")
        _post(f"{_base(url)}/api/v1/checkpoints/{_size(note)}/cosignatures", payload)
        click.echo(f"submitted to {_base(url)}", err=True)


def _cosign(witness: Witness, request: str) -> str:
    try:
        return witness.add_checkpoint(request).rstrip("\n")
    except WitnessError as refused:
        raise click.ClickException(str(refused)) from None


def _size(note: str) -> int:
    try:
        return parse_signed_checkpoint(note)[0].size
    except CheckpointError as bad:
        raise click.ClickException(f"the service's checkpoint is malformed: {bad}") from None


def _read_proof(path: Path | None, old: int) -> list[bytes]:
    if path is None:
        return []
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("{"):
        body = json.loads(text)
        if int(body.get("from", old)) != old:
            raise click.ClickException(
                f"the proof is from size {body.get('from')}, but this witness last cosigned {old}"
            )
        hashes = body.get("proof", [])
    else:
        hashes = text.split()
    try:
        return [base64.b64decode(h, validate=True) for h in hashes]
    except ValueError as bad:
        raise click.ClickException(
            f"the proof file holds a hash that is not base64: {bad}"
        ) from None


def _base(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.ClickException(f"the service URL must be http(s)://host, not {url!r}")
    return url.rstrip("/")


def _get(url: str, accept: str = "application/json") -> str:
    request = urllib.request.Request(url, headers={"Accept": accept})  # noqa: S310 (http(s) only)
    return _send(request)


def _post(url: str, payload: bytes) -> str:
    request = urllib.request.Request(  # noqa: S310 (http(s) only, checked by _base)
        url, data=payload, method="POST", headers={"Content-Type": "application/json"}
    )
    return _send(request)


def _send(request: urllib.request.Request) -> str:
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:  # noqa: S310
            return str(response.read().decode("utf-8"))
    except urllib.error.HTTPError as bad:
        detail = bad.read().decode("utf-8", "replace")[:300].replace("\n", " ")
        raise click.ClickException(f"{request.full_url}: HTTP {bad.code}: {detail}") from None
    except urllib.error.URLError as bad:
        raise click.ClickException(f"{request.full_url}: {bad.reason}") from None
