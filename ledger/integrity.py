"""Verification of the books: chain, Merkle root, per-entry balance and stored balances.

Invariants checked (each failure is a finding; one run reports every problem it sees, and the
first bad sequence number is named):
- sequence numbers run 1..n without a gap, and the chain head matches the last entry;
- each entry's hash equals SHA-256(prev_hash || 0x0A || canonical(entry)) recomputed from its
  columns and postings, and its prev_hash is the previous entry's hash;
- each entry's leaf hash is SHA-256(0x00 || canonical(entry)); the Merkle root over all leaves
  is reported so it can be compared with a signed checkpoint;
- each entry sums to zero per fund and currency, and its CNY values per fund;
- the `balances` table equals the sums of the journal for every key.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.chain import GENESIS, canonical_bytes, canonical_object, chain_hash, leaf_hash_hex
from ledger.entries import Posting, validate
from ledger.merkle import root_from_leaf_hashes
from ledger.repository import SqlRepository

__all__ = ["Finding", "VerifyReport", "verify_books"]


@dataclass(frozen=True, slots=True)
class Finding:
    sequence: int | None
    check: str
    detail: str

    def __str__(self) -> str:
        where = f"sequence {self.sequence}: " if self.sequence is not None else ""
        return f"{where}{self.check}: {self.detail}"


@dataclass(slots=True)
class VerifyReport:
    entries: int = 0
    postings: int = 0
    head_sequence: int = 0
    head_hash: str = GENESIS
    merkle_root: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad_sequence(self) -> int | None:
        bad = [f.sequence for f in self.findings if f.sequence is not None]
        return min(bad) if bad else None


def verify_books(
    repo: SqlRepository,
    *,
    progress: Callable[[int], None] | None = None,
    max_findings: int = 100,
) -> VerifyReport:
    """Recompute the chain, the Merkle root and every balance; return the findings."""
    report = VerifyReport()
    leaves: list[bytes] = []
    prev = GENESIS
    expected_seq = 1

    def add(seq: int | None, check: str, detail: str) -> None:
        if len(report.findings) < max_findings:
            report.findings.append(Finding(seq, check, detail))

    for head, rows in repo.iter_journal():
        seq = int(head.sequence)
        if seq != expected_seq:
            add(seq, "gap", f"expected sequence {expected_seq}, found {seq}")
        expected_seq = seq + 1
        lines = tuple(
            Posting(
                r.account,
                r.fund,
                int(r.amount),
                r.currency,
                int(r.functional),
                r.project,
                r.party,
                r.functional_class,
                r.ref,
            )
            for r in rows
        )
        report.postings += len(lines)
        if [r.line for r in rows] != list(range(1, len(rows) + 1)):
            add(seq, "postings", "posting lines are missing or out of order")
        if any(r.occurred_on != head.occurred_on or r.sequence != seq for r in rows):
            add(seq, "postings", "a posting's date or sequence differs from its entry")
        canonical = canonical_bytes(
            canonical_object(
                entry_id=head.id,
                sequence=seq,
                kind=head.kind,
                occurred_on=head.occurred_on,
                recorded_at=head.recorded_at,
                period=head.period,
                memo=head.memo,
                maker=head.maker,
                reverses=head.reverses,
                data=json.loads(head.data),
                postings=lines,
            )
        )
        if head.prev_hash != prev:
            add(seq, "chain", "prev_hash does not match the previous entry's hash")
        if chain_hash(head.prev_hash, canonical) != head.hash:
            add(seq, "hash", "entry content does not match its hash (altered)")
        leaf = leaf_hash_hex(canonical)
        if leaf != head.leaf_hash:
            add(seq, "leaf", "leaf hash does not match the entry")
        for problem in validate(lines):
            add(seq, "balance", problem)
        leaves.append(bytes.fromhex(leaf))
        prev = head.hash
        report.entries += 1
        if progress and report.entries % 10_000 == 0:
            progress(report.entries)
    seq_head, hash_head = repo.head()
    report.head_sequence, report.head_hash = seq_head, hash_head
    if seq_head != report.entries or hash_head != prev:
        add(
            seq_head if seq_head > report.entries else report.entries + 1,
            "head",
            f"chain head says {seq_head} entries ending {hash_head[:12]}…, the journal has "
            f"{report.entries} ending {prev[:12]}… (entries deleted or appended behind its back)",
        )
    report.merkle_root = root_from_leaf_hashes(leaves).hex()
    _check_balances(repo, add)
    return report


def _check_balances(repo: SqlRepository, add: Callable[[int | None, str, str], None]) -> None:
    journal = {
        (r.account, r.fund, r.currency, r.project, r.ref): (int(r.amount), int(r.functional))
        for r in repo.journal_sums()
    }
    stored = {
        (r.account, r.fund, r.currency, r.project, r.ref): (int(r.amount), int(r.functional))
        for r in repo.all_balances()
    }
    for key in sorted(set(journal) | set(stored)):
        if journal.get(key, (0, 0)) != stored.get(key, (0, 0)):
            add(
                None,
                "balances",
                f"stored balance of {'/'.join(k for k in key if k)} is {stored.get(key)}, the "
                f"journal sums to {journal.get(key)}",
            )
