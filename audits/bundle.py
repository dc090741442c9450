"""The audit bundle: one self-contained archive an auditor can check offline.

Layout (zip, or tar.gz when the file name ends in ``.tar.gz``)::

    manifest.json                 format, origin, period, journal size, SHA-256 of every file
    journal.jsonl                 every entry 1..n: {"entry": canonical object, "prev_hash",
                                  "hash", "leaf_hash"} — the exact objects that were hashed
    postings.csv                  the auditor's export (one row per posting, `audits.exports`)
    reference.json                chart, funds, projects, beneficiary pseudonyms with cohort and
                                  county, pledges, awards, donors as each chose to be shown
                                  (匿名捐赠人 for the anonymous); no beneficiary is named
    statements/<kind>-<scope>.json / .csv   for the period, consolidated and per fund
    checkpoints/<size>.txt        every signed checkpoint (one larger than the journal shows
                                  that entries were deleted)
    proofs/consistency-<a>-<b>.json         between consecutive checkpoints
    keys/trusted.vkeys            the verifier keys the service trusts (informative: a checker
                                  should bring its own, see `audits.verify`)
    evidence/records.jsonl        every attachment record as chained (`ledger.evidence`)
    evidence/files/<sha256>       each attached document once (left out with ``--no-files``:
                                  the records still carry every file's SHA-256 and size)
    events.jsonl                  the audit trail, every event 1..m as stored (ids, never
                                  personal data), with its chained hashes
    opendata/iati-activities.xml  IATI 2.03 activities as of the period's end (`audits.opendata`)
    opendata/grants-360giving.csv the 360Giving grants as of the period's end

Invariants owned here:
- The whole journal goes in, whatever the period: the Merkle root covers every entry, and the
  statements' opening balances need the earlier ones. The period selects the statements.
- Written in one read of a consistent journal size; entries after it are left out, of the
  statements and the open data alike. The audit trail goes in up to its head read at the same
  time; the checker recomputes its chain and matches the heads the checkpoints recorded.
- If a fresh checkpoint cannot be signed (the journal fails its checks), the bundle is still
  written with the checkpoints that exist and the refusal in ``manifest.json`` under
  ``warnings``: the checker will then say what is wrong.
- Attached documents go in by content (each once) when a store is given; they may carry personal
  data (a recipient's signed acknowledgment), so a bundle that leaves the auditor's hands is
  written with ``--no-files``.
- Deterministic member order and timestamps, so the same books give the same archive bytes
  (apart from the auditor export's file, which is byte-stable too).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine

from audits.exports import csv_chunks, export_meta
from audits.opendata import PLACEHOLDER_ORG_REF, grants_csv, iati_xml
from audits.statements import KINDS, Params, build_statements, facts_from_db, reference_from_db
from audits.statements import statement_csv as _statement_csv
from ledger.storage.evidence_store import EvidenceStore, iter_attachments
from ledger.text import digits
from ledger.tlog.checkpoints import SigningKey
from ledger.tlog.journal import iter_entry_objects, journal_size
from ledger.tlog.proofs import ProofError, consistency_between, list_checkpoints, make_checkpoint
from ledger.trail import iter_events, trail_head

__all__ = ["FORMAT", "BundleWriter", "period_params", "write_bundle"]

FORMAT = "huiquan-audit-bundle/1"
_EPOCH = (2026, 1, 1, 0, 0, 0)


def period_params(period: str, fund: str | None = None) -> Params:
    """Params for a period ``YYYY`` or ``YYYY-MM`` (as of its last day).

    Raises:
        ValueError: for anything else.
    """
    if len(period) == 4 and digits(period):
        start, end = dt.date(int(period), 1, 1), dt.date(int(period), 12, 31)
    elif len(period) == 7 and period[4] == "-":
        year, month = int(period[:4]), int(period[5:])
        start = dt.date(year, month, 1)
        end = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    else:
        raise ValueError("a period is YYYY or YYYY-MM")
    return Params(fund, start, end, end)


class BundleWriter:
    """Adds members to a zip or tar.gz archive and keeps their SHA-256 sums."""

    def __init__(self, out: IO[bytes], *, tar: bool = False) -> None:
        self.sums: dict[str, str] = {}
        self._tar = tarfile.open(fileobj=out, mode="w:gz") if tar else None
        self._zip = None if tar else zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED)

    def add(self, name: str, chunks: Iterable[bytes]) -> None:
        digest = hashlib.sha256()
        if self._zip is not None:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with self._zip.open(info, "w") as member:
                for chunk in chunks:
                    digest.update(chunk)
                    member.write(chunk)
        else:
            data = b"".join(chunks)  # tarfile needs the size first; bundles are modest
            digest.update(data)
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 1767225600, 0o644
            assert self._tar is not None
            self._tar.addfile(info, io.BytesIO(data))
        self.sums[name] = digest.hexdigest()

    def add_json(self, name: str, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        self.add(name, [text.encode("utf-8")])

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._tar is not None:
            self._tar.close()


def _journal_lines(conn: Connection, size: int) -> Iterable[bytes]:
    lines: list[str] = []
    for head, obj, _canonical in iter_entry_objects(conn, upto=size):
        record = {
            "entry": obj,
            "prev_hash": head.prev_hash,
            "hash": head.hash,
            "leaf_hash": head.leaf_hash,
        }
        lines.append(json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")))
        if len(lines) >= 2000:
            yield ("\n".join(lines) + "\n").encode("utf-8")
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode("utf-8")


def _event_lines(conn: Connection) -> Iterable[bytes]:
    """The audit trail up to the head read now, one JSON object per line."""
    last, _hash = trail_head(conn)
    for event in iter_events(conn):
        if event.sequence > last:
            return
        line = json.dumps(
            event.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":")
        )
        yield (line + "\n").encode("utf-8")


def write_bundle(
    engine: Engine,
    out: IO[bytes],
    *,
    period: str,
    key: SigningKey | None,
    trusted: Sequence[str] = (),
    origin: str = "huiquan-ledger",
    tar: bool = False,
    evidence: EvidenceStore | None = None,
    org_name: str = "锦江·归来荟 Huiquan",
    org_ref: str = PLACEHOLDER_ORG_REF,
) -> dict[str, Any]:
    """Checkpoint the journal (when a key is given), then write the bundle; return the manifest.

    With `evidence` (the books' store) the attached documents go in; without, only their records.

    Raises:
        ValueError: for a malformed period.
    """
    params = period_params(period)
    warnings: list[str] = []
    if key is not None:
        try:
            with engine.begin() as conn:
                make_checkpoint(conn, key, origin)
        except ProofError as refused:
            warnings.append(f"no new checkpoint was signed: {refused}")
    writer = BundleWriter(out, tar=tar)
    with engine.connect() as conn:
        size = journal_size(conn)
        writer.add("journal.jsonl", _journal_lines(conn, size))
        writer.add("postings.csv", csv_chunks(conn, meta=export_meta(conn)))
        writer.add("events.jsonl", _event_lines(conn))
        opendata = {"org_name": org_name, "org_ref": org_ref, "as_of": params.as_of, "upto": size}
        writer.add("opendata/iati-activities.xml", [iati_xml(conn, **opendata)])
        writer.add("opendata/grants-360giving.csv", [grants_csv(conn, **opendata).encode()])
        reference = reference_from_db(conn)
        writer.add_json("reference.json", reference.to_dict())
        scopes: list[str | None] = [None, *sorted(reference.funds)]
        for fund in scopes:
            scoped = Params(fund, params.date_from, params.date_to, params.as_of)
            statements, _ = build_statements(
                facts_from_db(conn, scoped, upto=size), reference, scoped
            )
            for kind in KINDS:
                stem = f"statements/{kind}-{fund or 'consolidated'}"
                writer.add_json(f"{stem}.json", statements[kind].to_dict())
                writer.add(f"{stem}.csv", [_statement_csv(statements[kind]).encode("utf-8")])
        # Every checkpoint goes in, even one larger than the journal: that is the evidence of
        # a deleted tail.
        stored = list_checkpoints(conn, limit=1000)
        for checkpoint in stored:
            writer.add(f"checkpoints/{checkpoint.size:012d}.txt", [checkpoint.signed_text.encode()])
        for old, new in pairwise(c for c in stored if c.size <= size):
            try:
                proof = consistency_between(conn, old.size, new.size)
            except ProofError as failed:
                warnings.append(f"no consistency proof {old.size}→{new.size}: {failed}")
                continue
            writer.add_json(f"proofs/consistency-{old.size}-{new.size}.json", proof)
        documents = _add_evidence(writer, engine, conn, evidence)
    writer.add("keys/trusted.vkeys", ["".join(v + "\n" for v in trusted).encode()])
    manifest = {
        "format": FORMAT,
        "origin": origin,
        "period": period,
        "from": params.date_from.isoformat(),
        "to": params.date_to.isoformat(),
        "as_of": params.as_of.isoformat(),
        "journal_size": size,
        "scopes": [s or "consolidated" for s in scopes],
        "warnings": warnings,
        "evidence": documents,
        "files": dict(sorted(writer.sums.items())),
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    writer.add("manifest.json", [text.encode("utf-8")])
    writer.close()
    return manifest


def _add_evidence(
    writer: BundleWriter, engine: Engine, conn: Connection, store: EvidenceStore | None
) -> dict[str, Any]:
    """The attachment records, and each document once when `store` is given."""
    records = list(iter_attachments(conn))
    lines = [
        json.dumps(r.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
        for r in records
    ]
    writer.add("evidence/records.jsonl", [line.encode("utf-8") for line in lines])
    shas = sorted({r.sha256 for r in records if r.sha256})
    if store is not None:
        for sha in shas:
            writer.add(f"evidence/files/{sha}", store.chunks(engine, sha))
    return {"records": len(records), "documents": len(shas), "files": store is not None}


def write_bundle_file(
    engine: Engine,
    path: str | Path,
    *,
    period: str,
    key: SigningKey | None,
    trusted: Sequence[str] = (),
    evidence: EvidenceStore | None = None,
    org_name: str = "锦江·归来荟 Huiquan",
    org_ref: str = PLACEHOLDER_ORG_REF,
) -> dict[str, Any]:
    """`write_bundle` to a file; a name ending in .tar.gz (or .tgz) makes a tar.gz."""
    name = str(path)
    with open(path, "wb") as out:
        return write_bundle(
            engine,
            out,
            period=period,
            key=key,
            trusted=trusted,
            tar=name.endswith((".tar.gz", ".tgz")),
            evidence=evidence,
            org_name=org_name,
            org_ref=org_ref,
        )
