"""Offline verification of an audit bundle: trust nothing but the keys you bring.

Checks, each failure a `Finding` (``check``: what failed, ``sequence``: the first entry
concerned when there is one); one run reports everything it sees:

- ``manifest``: every file listed is present with its SHA-256; nothing unlisted is present.
- ``gap``: entries are numbered 1..n without a gap.
- ``leaf`` / ``hash`` / ``chain``: each entry's leaf hash and chained hash are recomputed from
  its canonical serialisation (`ledger.chain`); the chain links every entry to the previous.
- ``balance``: every entry sums to zero per fund and currency (and per fund in CNY value).
- ``cash``: no fund's cash in any currency is ever below zero, running in sequence order.
- ``checkpoint-signature``: every checkpoint verifies with a trusted key (the ones given on the
  command line; without any, the bundle's own keys are used and the report says so).
- ``checkpoint-root``: each checkpoint's root equals the Merkle root recomputed over the first
  `size` leaves of the bundled journal; ``truncated`` when a checkpoint covers more entries
  than the journal holds (a deleted tail).
- ``consistency``: each consistency proof verifies between the two signed roots.
- ``statement``: every bundled statement equals the one re-derived from the journal and the
  reference data (`audits.statements`), and holds its own self-checks.
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
from ledger.chain import GENESIS, Finding, canonical_bytes, chain_hash, leaf_hash_hex
from ledger.entries import Posting, validate
from ledger.tlog.checkpoints import CheckpointError, verify_checkpoint
from ledger.tlog.merkle import root_from_leaf_hashes, verify_consistency

__all__ = ["BundleReport", "check_bundle"]


@dataclass
class BundleReport:
    entries: int = 0
    checkpoints: int = 0
    statements: int = 0
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
            f"{self.statements} statements checked"
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


def _postings(obj: dict[str, Any]) -> list[Posting]:
    return [
        Posting(
            p["account"],
            p["fund"],
            p["amount"],
            p["currency"],
            p["functional"],
            p["project"],
            p["party"],
            p["class"],
            p["ref"],
        )
        for p in obj["postings"]
    ]


def check_bundle(
    path: str | Path, trusted_vkeys: Sequence[str] = (), *, max_findings: int = 200
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
        for warning in manifest.get("warnings", []):
            report.notes.append(f"the bundle says: {warning}")
    except (KeyError, ValueError) as broken:
        add(None, "manifest", f"the bundle is incomplete or malformed: {broken}")
    finally:
        archive.close()
    return report


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


def _check_journal(archive: _Archive, report: BundleReport, add: Any) -> list[bytes]:
    leaves: list[bytes] = []
    prev, expected = GENESIS, 1
    cash: dict[tuple[str, str], int] = defaultdict(int)
    for record in _entries(archive):
        obj = record["entry"]
        seq = int(obj["sequence"])
        if seq != expected:
            add(seq, "gap", f"expected entry {expected}, found {seq}")
        expected = seq + 1
        canonical = canonical_bytes(obj)
        leaf = leaf_hash_hex(canonical)
        if leaf != record["leaf_hash"]:
            add(seq, "leaf", "the entry does not match its leaf hash (altered)")
        if record["prev_hash"] != prev:
            add(seq, "chain", "prev_hash does not match the previous entry's hash")
        if chain_hash(record["prev_hash"], canonical) != record["hash"]:
            add(seq, "hash", "the entry does not match its chained hash (altered)")
        lines = _postings(obj)
        for problem in validate(lines):
            add(seq, "balance", problem)
        for p in lines:
            if p.account.startswith(CASH_PREFIX):
                key = (p.fund, p.currency)
                cash[key] += p.amount
        for (fund, currency), value in cash.items():
            if value < 0:
                add(
                    seq,
                    "cash",
                    f"fund {fund}'s {currency} cash is below zero ({value} minor units)",
                )
                cash[(fund, currency)] = 0  # report each dip once
        leaves.append(bytes.fromhex(leaf))
        prev = record["hash"]
        report.entries += 1
    return leaves


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
