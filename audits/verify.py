"""Offline verification of an audit bundle: trust nothing but the keys you bring.

Checks, each failure a `Finding` (``check``: what failed, ``sequence``: the first entry
concerned when there is one); one run reports everything it sees:

- ``manifest``: every file listed is present with its SHA-256; nothing unlisted is present.
- the journal check of `huiquan verify` itself (`ledger.journal_scan.check_range`, one
  implementation for both): ``gap`` (entries numbered 1..n), ``postings`` (line numbers),
  ``leaf`` / ``hash`` / ``chain`` (each entry's leaf hash and chained hash recomputed from its
  canonical serialisation, `ledger.chain`; the chain links every entry to the previous) and
  ``balance`` (every entry has two postings or more, none of zero, and sums to zero per fund
  and currency, in amount and in CNY value). An archived object that is not of the shape the
  serialiser writes is a ``hash`` finding.
- ``cash``: no fund's cash in any currency is ever below zero, running in sequence order.
- ``checkpoint-signature``: every checkpoint verifies with a trusted key (the ones given on the
  command line; without any, the bundle's own keys are used and the report says so).
- ``checkpoint-root``: each checkpoint's root equals the Merkle root recomputed over the first
  `size` leaves of the bundled journal; ``truncated`` when a checkpoint covers more entries
  than the journal holds (a deleted tail).
- ``consistency``: each consistency proof verifies between the two signed roots.
- ``audit-gap`` / ``audit-chain`` / ``audit-hash``: the audit events (``events.jsonl``) are
  numbered 1..m and each one's hash is recomputed and chained (`ledger.trail`'s recipe);
  ``audit-anchor`` / ``audit-truncated``: every trail head a checkpoint recorded is still there
  with the same hash (so a deleted tail of events is caught).
- ``statement``: every bundled statement equals the one re-derived from the journal and the
  reference data (`audits.statements`), and holds its own self-checks.
- ``evidence``: the attachment records are chained without a gap or an altered record
  (`ledger.evidence.chain_findings`), and every bundled document matches the SHA-256 and size
  its record names (a bundle written with ``--no-files`` carries the records only: noted).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import tarfile
import zipfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from audits.statements import (
    KINDS,
    Params,
    Reference,
    build_statements,
    facts_from_entries,
)
from ledger.accounts import CASH_PREFIX
from ledger.chain import GENESIS, Finding, canonical_bytes
from ledger.evidence import Attachment, chain_findings
from ledger.journal_scan import check_range, entry_rows
from ledger.tlog.checkpoints import CheckpointError, verify_checkpoint
from ledger.tlog.merkle import leaf_hash, root_from_leaf_hashes, verify_consistency
from ledger.tlog.proofs import audit_anchor
from ledger.trail import event_hash, event_object

__all__ = ["BundleReport", "check_bundle"]

MAX_FINDINGS = 200


@dataclass
class BundleReport:
    entries: int = 0
    checkpoints: int = 0
    statements: int = 0
    evidence: int = 0
    events: int = 0
    trusted_from_bundle: bool = False
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def lines(self) -> list[str]:
        out = [f"note: {n}" for n in self.notes]
        out += [f"FINDING {f}" for f in self.findings]
        verdict = "OK" if self.ok else f"{len(self.findings)} finding(s)"
        out.append(
            f"{verdict}: {self.entries} entries, {self.checkpoints} checkpoints, "
            f"{self.statements} statements, {self.events} audit events, {self.evidence} evidence "
            "records checked"
        )
        return out


class _Archive:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._tar: tarfile.TarFile | None = None
        if zipfile.is_zipfile(self.path):
            self._zip = zipfile.ZipFile(self.path)
        else:
            self._tar = tarfile.open(self.path, "r:*")

    def names(self) -> list[str]:
        if self._zip is not None:
            return [n for n in self._zip.namelist() if not n.endswith("/")]
        assert self._tar is not None
        return [m.name for m in self._tar.getmembers() if m.isfile()]

    def open(self, name: str) -> IO[bytes]:
        if self._zip is not None:
            return self._zip.open(name)
        assert self._tar is not None
        member = self._tar.extractfile(name)
        if member is None:
            raise KeyError(name)
        return member

    def read(self, name: str) -> bytes:
        with self.open(name) as f:
            return f.read()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._tar is not None:
            self._tar.close()


def _sha256(archive: _Archive, name: str) -> str:
    digest = hashlib.sha256()
    with archive.open(name) as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _entries(archive: _Archive) -> Iterator[dict[str, Any]]:
    with archive.open("journal.jsonl") as raw:
        for line in io.TextIOWrapper(raw, encoding="utf-8"):
            if line.strip():
                yield json.loads(line)


def check_bundle(
    path: str | Path, trusted_vkeys: Sequence[str] = (), *, max_findings: int = MAX_FINDINGS
) -> BundleReport:
    """Verify a bundle offline; return every finding (an empty list means it holds)."""
    report = BundleReport()

    def add(seq: int | None, check: str, detail: str) -> None:
        if len(report.findings) < max_findings:
            report.findings.append(Finding(seq, check, detail))

    archive = _Archive(path)
    try:
        manifest = json.loads(archive.read("manifest.json"))
        _check_manifest(archive, manifest, add)
        leaves = _check_journal(archive, report, add)
        keys = list(trusted_vkeys)
        if not keys:
            keys = [k for k in archive.read("keys/trusted.vkeys").decode().split() if k]
            report.trusted_from_bundle = True
            report.notes.append(
                "no --trusted-key given: the bundle's own keys were trusted, which proves only "
                "that the bundle is self-consistent"
            )
        roots = _check_checkpoints(archive, manifest, leaves, keys, report, add)
        _check_proofs(archive, roots, add)
        _check_statements(archive, manifest, report, add)
        _check_evidence(archive, manifest, report, add)
        if "events.jsonl" in manifest.get("files", {}):
            _check_events(archive, report, add)
        for warning in manifest.get("warnings", []):
            report.notes.append(f"the bundle says: {warning}")
    except (KeyError, ValueError) as broken:
        add(None, "manifest", f"the bundle is incomplete or malformed: {broken}")
    finally:
        archive.close()
    return report


def _check_evidence(
    archive: _Archive, manifest: dict[str, Any], report: BundleReport, add: Any
) -> None:
    """The attachment records' chain, and every document against its SHA-256 and size."""
    if "evidence/records.jsonl" not in archive.names():
        return
    with archive.open("evidence/records.jsonl") as raw:
        records = [
            Attachment(**json.loads(line))
            for line in io.TextIOWrapper(raw, encoding="utf-8")
            if line.strip()
        ]
    for finding in chain_findings(records):
        add(None, "evidence", finding)
    report.evidence = len(records)
    if not manifest.get("evidence", {}).get("files", False):
        report.notes.append(
            "the bundle carries the evidence records and their hashes, not the documents "
            "(--no-files): the documents were not checked"
        )
        return
    sizes = {r.sha256: r.size for r in records if r.sha256}
    names = set(archive.names())
    for sha, size in sorted(sizes.items()):
        member = f"evidence/files/{sha}"
        if member not in names:
            add(None, "evidence", f"document {sha} is missing from the bundle")
            continue
        digest, length = hashlib.sha256(), 0
        with archive.open(member) as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
                length += len(block)
        if (digest.hexdigest(), length) != (sha, size):
            add(None, "evidence", f"document {sha} does not match its SHA-256 or size")


def _check_manifest(archive: _Archive, manifest: dict[str, Any], add: Any) -> None:
    listed: dict[str, str] = manifest.get("files", {})
    present = set(archive.names()) - {"manifest.json"}
    for name in sorted(set(listed) - present):
        add(None, "manifest", f"{name} is listed but missing")
    for name in sorted(present - set(listed)):
        add(None, "manifest", f"{name} is in the archive but not in the manifest")
    for name in sorted(set(listed) & present):
        if _sha256(archive, name) != listed[name]:
            add(None, "manifest", f"{name} does not match its SHA-256 in the manifest")


_BATCH = 4096  # entries handed to the journal check at once


def _check_journal(archive: _Archive, report: BundleReport, add: Any) -> list[bytes]:
    """The journal check of `ledger.journal_scan.check_range` over the archived entries.

    Entries go to it in batches, carrying the state of one pass; an object that is not of the
    serialiser's shape cannot be an entry and is a ``hash`` finding of its own. Then the
    bundle's own rule: no fund's cash is ever below zero, in sequence order.
    """
    leaves: list[bytes] = []
    state: list[Any] = [1, GENESIS]  # the sequence expected next, the previous entry's hash
    cash: dict[tuple[str, str], int] = defaultdict(int)
    heads: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    found: list[tuple[Any, str, str]] = []

    def flush() -> None:
        if heads:
            result = check_range(heads, lines, state[0], state[1], MAX_FINDINGS)
            state[0], state[1] = heads[-1][1] + 1, result.last_hash
            found.extend(result.findings)
            leaves.extend(result.leaves[i : i + 32] for i in range(0, len(result.leaves), 32))
            report.entries += result.entries
            found.extend(_cash_findings(heads, lines, cash))
            heads.clear()
            lines.clear()
        for seq, check, detail in sorted(found, key=lambda f: f[0] or 0):  # per entry, in order
            add(seq, check, detail)
        found.clear()

    for record in _entries(archive):
        obj = record.get("entry")
        rows = entry_rows(obj, record.get("prev_hash"), record.get("hash"), record.get("leaf_hash"))
        if rows is None:
            flush()
            seq = obj.get("sequence") if isinstance(obj, dict) else None
            add(seq, "hash", "the entry is not of the shape the ledger writes (altered)")
            leaves.append(leaf_hash(canonical_bytes(obj)))
            state[0] = seq + 1 if type(seq) is int else state[0] + 1
            state[1] = str(record.get("hash"))
            report.entries += 1
            continue
        heads.append(rows[0])
        lines.extend(rows[1])
        if len(heads) >= _BATCH:
            flush()
    flush()
    return leaves


def _cash_findings(
    heads: list[tuple[Any, ...]], lines: list[tuple[Any, ...]], cash: dict[tuple[str, str], int]
) -> list[tuple[Any, str, str]]:
    """Where a fund's cash in a currency went below zero, running over these entries in order."""
    found: list[tuple[Any, str, str]] = []
    i = 0
    for head in heads:
        seq = head[1]
        while i < len(lines) and lines[i][1] == seq:
            _line, _seq, _on, account, fund, amount, currency = lines[i][:7]
            if account.startswith(CASH_PREFIX):
                cash[(fund, currency)] += amount
            i += 1
        for (fund, currency), value in cash.items():
            if value < 0:
                detail = f"fund {fund}'s {currency} cash is below zero ({value} minor units)"
                found.append((seq, "cash", detail))
                cash[(fund, currency)] = 0  # report each dip once
    return found


def _check_checkpoints(
    archive: _Archive,
    manifest: dict[str, Any],
    leaves: list[bytes],
    keys: Sequence[str],
    report: BundleReport,
    add: Any,
) -> dict[int, bytes]:
    roots: dict[int, bytes] = {}
    names = sorted(n for n in archive.names() if n.startswith("checkpoints/"))
    if not names:
        add(None, "checkpoint-signature", "the bundle holds no signed checkpoint")
    for name in names:
        text = archive.read(name).decode("utf-8")
        report.checkpoints += 1
        try:
            checkpoint = verify_checkpoint(text, keys, origin=manifest.get("origin"))
        except CheckpointError as bad:
            add(None, "checkpoint-signature", f"{name}: {bad}")
            continue
        size = checkpoint.size
        if size > len(leaves):
            add(
                len(leaves) + 1,
                "truncated",
                f"{name} is signed for {size} entries but the journal holds {len(leaves)}: "
                "entries were deleted",
            )
            continue
        if root_from_leaf_hashes(leaves[:size]) != checkpoint.root:
            add(
                None,
                "checkpoint-root",
                f"{name}: the journal's first {size} entries do not hash to the signed root "
                "(rewritten)",
            )
            continue
        roots[size] = checkpoint.root
    if roots and max(roots) < len(leaves):
        report.notes.append(
            f"entries {max(roots) + 1}..{len(leaves)} are not covered by a signed checkpoint"
        )
    return roots


_EVENT_FIELDS = (
    "sequence",
    "at",
    "actor",
    "role",
    "action",
    "target",
    "request_id",
    "idempotency_key",
    "client",
    "outcome",
    "status",
    "detail",
)


def _check_events(archive: _Archive, report: BundleReport, add: Any) -> None:
    """Recompute the audit trail's chain, and match the heads the checkpoints recorded."""
    hashes: dict[int, str] = {}
    prev, expected = GENESIS, 1
    with archive.open("events.jsonl") as raw:
        for line in io.TextIOWrapper(raw, encoding="utf-8"):
            if not line.strip():
                continue
            event = json.loads(line)
            seq = int(event["sequence"])
            report.events += 1
            if seq != expected:
                add(None, "audit-gap", f"expected audit event {expected}, found {seq}")
            expected = seq + 1
            if event["prev_hash"] != prev:
                add(None, "audit-chain", f"audit event {seq}: prev_hash breaks the chain")
            obj = event_object(**{k: event[k] for k in _EVENT_FIELDS})
            if event_hash(event["prev_hash"], obj) != event["hash"]:
                add(None, "audit-hash", f"audit event {seq} does not match its hash (altered)")
            prev = hashes[seq] = event["hash"]
    for name in sorted(n for n in archive.names() if n.startswith("checkpoints/")):
        try:
            anchor = audit_anchor(archive.read(name).decode("utf-8"))
        except (CheckpointError, ValueError):
            continue  # a malformed checkpoint is reported by the signature check
        if anchor is None or anchor[0] == 0:
            continue
        count, head = anchor
        if count not in hashes:
            add(None, "audit-truncated", f"{name} records {count} audit events; the trail ends")
        elif hashes[count] != head:
            add(None, "audit-anchor", f"{name}: audit event {count} differs from its record")


def _check_proofs(archive: _Archive, roots: dict[int, bytes], add: Any) -> None:
    for name in sorted(n for n in archive.names() if n.startswith("proofs/consistency-")):
        doc = json.loads(archive.read(name))
        old, new = int(doc["from"]), int(doc["to"])
        if old not in roots or new not in roots:
            add(None, "consistency", f"{name}: no verified checkpoint for size {old} or {new}")
            continue
        proof = [base64.b64decode(h) for h in doc["proof"]]
        if not verify_consistency(old, new, roots[old], roots[new], proof):
            add(None, "consistency", f"{name}: checkpoint {new} is not consistent with {old}")


def _check_statements(
    archive: _Archive, manifest: dict[str, Any], report: BundleReport, add: Any
) -> None:
    reference = Reference.from_dict(json.loads(archive.read("reference.json")))
    start = dt.date.fromisoformat(manifest["from"])
    end = dt.date.fromisoformat(manifest["to"])
    as_of = dt.date.fromisoformat(manifest["as_of"])
    for scope in manifest["scopes"]:
        fund = None if scope == "consolidated" else scope
        params = Params(fund, start, end, as_of)
        entries = (r["entry"] for r in _entries(archive))  # one streaming pass per scope
        derived, _ = build_statements(facts_from_entries(entries), reference, params)
        for kind in KINDS:
            name = f"statements/{kind}-{scope}.json"
            report.statements += 1
            bundled = json.loads(archive.read(name))
            mine = derived[kind].to_dict()
            if bundled != mine:
                add(None, "statement", f"{name} does not re-derive from the journal")
            for failed in mine["checks"]:
                add(None, "statement", f"{name}: {failed}")
