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

from collections.abc import Callable
from dataclasses import dataclass, field

from ledger.chain import GENESIS, canonical_entry_bytes, chain_hash
from ledger.merkle import leaf_hash, root_from_leaf_hashes
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

    for head, rows in repo.iter_journal_raw():
        (
            entry_id,
            seq,
            kind,
            occurred,
            recorded,
            period,
            memo,
            maker,
            reverses,
            data_json,
            prev_hash,
            digest,
            leaf_hex,
        ) = head
        if seq != expected_seq:
            add(seq, "gap", f"expected sequence {expected_seq}, found {seq}")
        expected_seq = seq + 1
        report.postings += len(rows)
        # rows: (line, sequence, occurred_on, account, fund, amount, currency, functional,
        #        project, party, functional_class, ref)
        sums: dict[tuple[str, str], list[int]] = {}
        for n, r in enumerate(rows, 1):
            if r[0] != n or r[1] != seq or r[2] != occurred:
                add(seq, "postings", "a posting's line, date or sequence does not fit its entry")
            if r[5] == 0:
                add(seq, "balance", f"line {n} is a zero posting")
            acc = sums.setdefault((r[4], r[6]), [0, 0])
            acc[0] += r[5]
            acc[1] += r[7]
        if len(rows) < 2:
            add(seq, "balance", "an entry needs at least two postings")
        for (fund, currency), (amount, value) in sums.items():
            if amount or value:
                add(seq, "balance", f"fund {fund} does not balance in {currency}")
        canonical = canonical_entry_bytes(
            entry_id,
            seq,
            kind,
            occurred,
            recorded,
            period,
            memo,
            maker,
            reverses,
            data_json,
            [(r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]) for r in rows],
        )
        if prev_hash != prev:
            add(seq, "chain", "prev_hash does not match the previous entry's hash")
        if chain_hash(prev_hash, canonical) != digest:
            add(seq, "hash", "entry content does not match its hash (altered)")
        leaf = leaf_hash(canonical)
        if leaf.hex() != leaf_hex:
            add(seq, "leaf", "leaf hash does not match the entry")
        leaves.append(leaf)
        prev = digest
        report.entries += 1
        if progress and report.entries % 10_000 == 0:
            progress(report.entries)
    seq_head, hash_head = repo.head()
    report.head_sequence, report.head_hash = seq_head, hash_head
    if seq_head != report.entries or hash_head != prev:
        add(
            min(seq_head, report.entries) + 1,
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
