"""Checking the journal against its signed checkpoints: entries per second.

Builds a SQLite book of `BENCH_AUDIT_ENTRIES` journal rows (default 300,000; leaf hashes only,
the append-only guards off while loading, as no real entry needs to be posted to time the
leaves' pass), signs a checkpoint every `BENCH_AUDIT_EVERY` entries (default 10,000), and times
`ledger.tlog.audit.audit_checkpoints` over them. `verify` must stay at 100,000 entries/s or more.

Run: ``python -m bench checkpoint_audit``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from ledger.integrity import CHUNK_ENTRIES
from ledger.storage.db import init_books, make_engine
from ledger.tlog.audit import CompactRange, audit_checkpoints
from ledger.tlog.checkpoints import Checkpoint, SigningKey
from ledger.tlog.journal import leaf_hashes
from ledger.tlog.merkle import root_from_leaf_hashes


def build(path: Path, entries: int, every: int, key: SigningKey) -> str:
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    init_books(engine)
    tree = CompactRange()
    with engine.begin() as conn:
        for (name,) in conn.execute(text("SELECT name FROM sqlite_master WHERE type='trigger'")):
            conn.exec_driver_sql(f"DROP TRIGGER {name}")
        rows, checkpoints = [], []
        for seq in range(1, entries + 1):
            leaf = hashlib.sha256(b"\x00" + seq.to_bytes(8, "big")).digest()
            tree.append(leaf)
            rows.append((f"e{seq}", seq, leaf.hex()))
            if seq % every == 0 or seq == entries:
                root = tree.root()
                signed = key.sign(Checkpoint("huiquan-ledger", seq, root))
                checkpoints.append((seq, root.hex(), signed))
        conn.exec_driver_sql(
            "INSERT INTO journal_entries (id, sequence, kind, occurred_on, recorded_at, period,"
            " memo, maker, data, prev_hash, hash, leaf_hash) VALUES (?, ?, 'general',"
            " '2026-01-01', 't', '2026-01', '', 'bench', '{}', '', '', ?)",
            rows,
        )
        conn.exec_driver_sql(
            "INSERT INTO checkpoints (size, root, signed_text, created_at) VALUES (?, ?, ?, 't')",
            checkpoints,
        )
        conn.exec_driver_sql(f"UPDATE chain_head SET sequence = {entries} WHERE id = 1")
    engine.dispose()
    return url


def main() -> None:
    entries = int(os.environ.get("BENCH_AUDIT_ENTRIES", "300000"))
    every = int(os.environ.get("BENCH_AUDIT_EVERY", "10000"))
    key = SigningKey.generate("bench")
    with tempfile.TemporaryDirectory() as folder:
        url = build(Path(folder) / "books.db", entries, every, key)
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                leaves = leaf_hashes(conn, entries)
            # As `verify_books` has them: ranges of CHUNK_ENTRIES leaves with their roots.
            ranges = [
                (
                    b"".join(leaves[i : i + CHUNK_ENTRIES]),
                    root_from_leaf_hashes(leaves[i : i + CHUNK_ENTRIES]),
                )
                for i in range(0, entries, CHUNK_ENTRIES)
            ]
            for label, given in (("reading leaf_hash", None), ("given verify's ranges", ranges)):
                best = float("inf")
                for _ in range(3):
                    started = time.perf_counter()
                    with engine.connect() as conn:
                        result = audit_checkpoints(conn, [key.vkey], leaf_ranges=given)
                    best = min(best, time.perf_counter() - started)
                    assert result.ok and result.leaves == entries, result.findings
                print(
                    f"audit_checkpoints ({label}): {entries} entries, {result.checkpoints} "
                    f"checkpoints: {best:.2f} s, {entries / best:,.0f} entries/s (best of 3)"
                )
        finally:
            engine.dispose()


if __name__ == "__main__":
    main()
