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

The per-entry checks are `ledger.journal_scan.check_range`, the one journal check, which the
audit bundle's checker (`audits.verify`) runs too over the archived entries.

How: the journal is scanned in ranges of sequence numbers (`ledger.journal_scan`), each starting
from the state a single pass would carry into it, so the findings, counts and leaves of the
ranges, taken in order, are exactly those of one pass. A big SQLite book is scanned by this
process and worker processes together (`workers`, `parallel_threshold`); PostgreSQL and small
books are scanned here alone. The scan is bounded by the journal as of the start (the chain head
is read first). The balance sums are added up during the scan, per range, and compared with the
`balances` table at the end; the Merkle root is combined from the ranges' subtree roots.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ledger.chain import GENESIS, Finding
from ledger.journal_scan import (
    WORKER_BOOT,
    Bounds,
    RangeResult,
    add_sum,
    journal_bounds,
    postings_from,
    scan_range,
)
from ledger.storage.repository import SqlRepository
from ledger.tlog.audit import audit_checkpoints
from ledger.tlog.merkle import root_from_leaf_hashes

__all__ = ["CHUNK_ENTRIES", "PARALLEL_THRESHOLD", "Finding", "VerifyReport", "verify_books"]

PARALLEL_THRESHOLD = 50_000  # sequence numbers; below it worker start-up is not worth it
CHUNK_ENTRIES = 1 << 13  # sequence numbers per range scanned (a power of two)
MAX_PROCESSES = 8  # processes scanning at once, the calling one included


@dataclass(slots=True)
class VerifyReport:
    entries: int = 0
    postings: int = 0
    head_sequence: int = 0
    head_hash: str = GENESIS
    merkle_root: str = ""
    findings: list[Finding] = field(default_factory=list)
    workers: int = 0  # worker processes that scanned beside the calling one (0: it alone)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad_sequence(self) -> int | None:
        bad = [f.sequence for f in self.findings if f.sequence is not None]
        return min(bad) if bad else None


def default_workers() -> int:
    """Worker processes a big verify starts besides the calling one: one per further CPU."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(0, min(cpus, MAX_PROCESSES) - 1)


def verify_books(
    repo: SqlRepository,
    *,
    progress: Callable[[int], None] | None = None,
    max_findings: int = 100,
    workers: int | None = None,
    parallel_threshold: int = PARALLEL_THRESHOLD,
    chunk_entries: int = CHUNK_ENTRIES,
    trusted_vkeys: Sequence[str] | None = None,
    anchors: Sequence[str] = (),
) -> VerifyReport:
    """Recompute the chain, the Merkle root and every balance; return the findings.

    The journal is scanned in ranges of `chunk_entries` sequence numbers (a power of two). On a
    file-backed SQLite database with at least `parallel_threshold` sequence numbers, `workers`
    further processes (default: `default_workers()`) scan ranges beside this one; the report is
    the same either way, `report.workers` says how many helped.

    With `trusted_vkeys` (verifier keys kept outside the database) the journal is also checked
    against every stored signed checkpoint and the `anchors` kept outside it
    (`ledger.tlog.audit`): a forged checkpoint, an entry rewritten under one and a deleted tail
    are named findings. Without them the database is trusted to hold the truth about itself.
    """
    if chunk_entries < 1 or chunk_entries & (chunk_entries - 1):
        raise ValueError("chunk_entries must be a power of two")
    report = VerifyReport()

    def add(seq: int | None, check: str, detail: str) -> None:
        if len(report.findings) < max_findings:
            report.findings.append(Finding(seq, check, detail))

    # The head first: on SQLite this opens the read snapshot, and the scan is bounded by the
    # journal as it stands in it, so entries appended meanwhile are neither read nor missed.
    seq_head, hash_head = repo.head()
    conn, mark = repo.driver()
    low, high = journal_bounds(conn)
    plan = _plan(low, high, chunk_entries)
    path = repo.sqlite_file()
    helpers = default_workers() if workers is None else max(0, workers)
    if path is None or len(plan) < 2 or high - low + 1 < parallel_threshold:
        helpers = 0
    helpers = min(helpers, len(plan) - 1)
    results, report.workers = _scan(repo, plan, path, helpers, max_findings, progress)

    prev = GENESIS
    sums: dict[tuple[Any, ...], list[Any]] = {}
    for result in results:
        for seq, check, detail in result.findings:
            add(seq, check, detail)
        report.entries += result.entries
        report.postings += result.postings
        if result.last_hash is not None:
            prev = result.last_hash
        _add_sums(sums, result.sums.items())
    if plan[-1][1] is not None:  # postings numbered after the last entry: no entry scans them
        rows = postings_from(conn, mark, plan[-1][1])
        _add_sums(sums, (((r[0], r[1], r[2], r[3], r[4]), (r[5], r[6])) for r in rows))
    if progress and report.entries:
        progress(report.entries)
    report.head_sequence, report.head_hash = seq_head, hash_head
    if seq_head != report.entries or hash_head != prev:
        add(
            min(seq_head, report.entries) + 1,
            "head",
            f"chain head says {seq_head} entries ending {hash_head[:12]}…, the journal has "
            f"{report.entries} ending {prev[:12]}… (entries deleted or appended behind its back)",
        )
    report.merkle_root = _merkle_root(results, chunk_entries).hex()
    if trusted_vkeys is not None:  # the journal against its signed checkpoints
        signed = audit_checkpoints(
            repo.conn,
            trusted_vkeys,
            anchors=anchors,
            leaf_ranges=[(r.leaves, r.root) for r in results],
            upto=seq_head,
        )
        for finding in signed.findings:
            add(finding.sequence, finding.check, finding.detail)
    _check_balances(repo, add, sums)
    return report


def _plan(low: Any, high: Any, chunk: int) -> list[Bounds]:
    """Ranges [lo, hi) of sequence numbers, cut at 1 + k * chunk, covering the journal.

    The first range is open below; the last ends after `high`. Without integer bounds (an empty
    or a mangled journal) the plan is one range open on both sides.
    """
    if type(low) is not int or type(high) is not int:
        return [(None, None)]
    plan: list[Bounds] = []
    lo: int | None = None
    k = max(0, (low - 1) // chunk)
    while (hi := 1 + (k + 1) * chunk) <= high:
        plan.append((lo, hi))
        lo, k = hi, k + 1
    plan.append((lo, high + 1))
    return plan


def _scan(
    repo: SqlRepository,
    plan: list[Bounds],
    path: str | None,
    helpers: int,
    max_findings: int,
    progress: Callable[[int], None] | None,
) -> tuple[list[RangeResult], int]:
    """Scan every range of `plan`, here and in `helpers` worker processes.

    Returns the results in plan order and how many workers delivered any. Each process takes
    the next range not yet taken, so whichever starts first simply does more; a range a worker
    fails to deliver is scanned here afterwards, so the results never depend on the workers.
    """
    conn, mark = repo.driver()
    lock = threading.Lock()
    taken = [0]
    results: dict[int, RangeResult] = {}
    delivered: list[int] = []

    def take() -> int | None:
        with lock:
            k = taken[0]
            taken[0] += 1
        return k if k < len(plan) else None

    def feed(proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        count = 0
        try:
            pickle.dump(sys.path, proc.stdin)
            pickle.dump((path, max_findings), proc.stdin)
            while (k := take()) is not None:
                pickle.dump(plan[k], proc.stdin)
                proc.stdin.flush()
                results[k] = pickle.load(proc.stdout)  # noqa: S301 (our own worker's pipe)
                count += 1
            pickle.dump(None, proc.stdin)
            proc.stdin.flush()
        except (OSError, EOFError, pickle.UnpicklingError):
            pass  # the ranges it did not deliver are scanned by the calling process
        if count:
            delivered.append(count)

    procs: list[subprocess.Popen[bytes]] = []
    threads: list[threading.Thread] = []
    try:
        if path is not None and sys.executable:
            for _ in range(helpers):
                # A fresh interpreter, not fork (the calling process holds SQLite connections,
                # which must not cross a fork) and not multiprocessing (which would import the
                # caller's main module again): it imports `ledger.journal_scan` and the stdlib.
                proc = subprocess.Popen(  # noqa: S603 (this interpreter, a fixed program)
                    [sys.executable, "-c", WORKER_BOOT],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
                procs.append(proc)
                thread = threading.Thread(target=feed, args=(proc,), daemon=True)
                thread.start()
                threads.append(thread)
        scanned = 0
        while (k := take()) is not None:
            results[k] = scan_range(conn, mark, plan[k], max_findings)
            scanned += results[k].entries
            if progress:
                progress(max(scanned, sum(r.entries for r in list(results.values()))))
        for thread in threads:
            thread.join()
    finally:
        for proc in procs:
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    for k in range(len(plan)):
        if k not in results:
            results[k] = scan_range(conn, mark, plan[k], max_findings)
    return [results[k] for k in range(len(plan))], len(delivered)


def _merkle_root(results: list[RangeResult], chunk: int) -> bytes:
    """The root over all leaves, from the ranges' roots when those are whole subtrees."""
    if len(results) == 1:
        return results[0].root
    counts = [r.entries for r in results]
    if all(c == chunk for c in counts[:-1]) and counts[-1] > 0:
        # Every range but the last holds `chunk` (a power of two) leaves, so each range's root is
        # the tree's node over exactly those leaves, and the last range's root is the node over
        # the remaining ones: the tree over these nodes is the tree over the leaves.
        return root_from_leaf_hashes([r.root for r in results])
    blob = b"".join(r.leaves for r in results)
    return root_from_leaf_hashes([blob[i : i + 32] for i in range(0, len(blob), 32)])


def _add_sums(
    sums: dict[tuple[Any, ...], list[Any]], items: Iterable[tuple[tuple[Any, ...], Sequence[Any]]]
) -> None:
    for key, (amount, value) in items:
        add_sum(sums, key, amount, value)


def _check_balances(
    repo: SqlRepository,
    add: Callable[[int | None, str, str], None],
    sums: dict[tuple[Any, ...], list[Any]],
) -> None:
    if all(type(a) is int and type(f) is int for a, f in sums.values()):
        journal = {key: (a, f) for key, (a, f) in sums.items()}
    else:  # non-integer amounts (rows altered behind the triggers): let SQL sum as it would
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
