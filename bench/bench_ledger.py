"""Ledger benchmarks on SQLite: import throughput, balance-read latency, verify throughput.

Prints, in one run:
1. import throughput of N donation rows (default 100,000) through `huiquan import`'s path
   (`ledger.importer.import_file`: parse, validate, services, one unit of work), run in a fresh
   process whose peak RSS is printed beside its RSS just before the import, against the floor:
   a raw sqlite3 `executemany` of the very same entry and posting rows into a fresh database
   with the same schema (triggers and indexes included), and the ratio of the two;
2. balance-read latency (`ledger.balances.fund_cash`, median of R reads) at 10,000 and at
   1,000,000 entries, and their ratio; the big books are built through the importer's bulk
   unit-of-work path (validated commands, services, batches of 100,000 per transaction);
3. verify throughput (`ledger.integrity.verify_books`) over the 1,000,000 entries, and how many
   worker processes scanned beside the benchmark's own (a big SQLite book is scanned in parallel).

Targets (issue 2): import >= 20,000 entries/s; 1M/10k read ratio < 2; verify >= 100,000
entries/s; importing 1,000,000 donations peaks below 300 MiB (HUIQUAN_BENCH_IMPORT=1000000).
Sizes come from the environment: HUIQUAN_BENCH_IMPORT (100000), HUIQUAN_BENCH_SMALL (10000),
HUIQUAN_BENCH_BIG (1000000), HUIQUAN_BENCH_READS (1000), HUIQUAN_BENCH_DIR (a temporary
folder, removed afterwards unless given).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ledger import services
from ledger.balances import fund_cash
from ledger.importer import BulkUnitOfWork, ImportResult, import_file, parse_rows, post_commands
from ledger.integrity import default_workers, verify_books
from ledger.storage.db import init_books, make_engine
from ledger.storage.unit_of_work import UnitOfWork, read_only

FUNDS = 10
DONORS = 1000
BATCH = 100_000
TARGET_IMPORT, TARGET_RATIO, TARGET_VERIFY = 20_000, 2.0, 100_000
TARGET_RSS_KIB = 300 * 1024  # peak RSS of importing 1,000,000 donations


def _env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _fresh(path: Path) -> Engine:
    """A new SQLite database at `path`, migrated and seeded, with funds and donors."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    init_books(engine)
    with UnitOfWork(engine) as uow:
        for f in range(FUNDS):
            services.open_fund(
                uow, code=f"F{f}", name=f"fund {f}", restricted=f % 2 == 0, purpose="bench"
            )
        for d in range(DONORS):
            services.register_donor(uow, name=f"donor {d}", donor_id=f"D{d}")
        uow.commit()
    return engine


def _row(n: int) -> dict[str, Any]:
    day = dt.date(2024, 1, 1) + dt.timedelta(days=n % 1000)
    return {
        "op": "donation",
        "date": day.isoformat(),
        "donor_id": f"D{n % DONORS}",
        "fund": f"F{n % FUNDS}",
        "amount": f"{100 + n % 9000}.{n % 100:02d}",
    }


def _write_csv(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write("op,date,donor_id,fund,amount\n")
        for n in range(count):
            r = _row(n)
            handle.write(f"donation,{r['date']},{r['donor_id']},{r['fund']},{r['amount']}\n")


def _bulk(engine: Engine, count: int) -> float:
    """Post `count` donations through the bulk path, in batches; return the seconds taken."""
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        rows = [(n + 1, _row(n)) for n in range(first, min(count, first + BATCH))]
        commands, problems = parse_rows(rows)
        if problems:
            raise RuntimeError(str(problems[0]))
        with BulkUnitOfWork(engine) as uow:
            _replayed, refused = post_commands(uow, commands, maker="bench")
            if refused:
                raise RuntimeError(str(refused[0]))
            uow.commit()
    return time.perf_counter() - started


def _import_child(db: str, csv_path: str) -> tuple[ImportResult, int, int]:
    """In a fresh process: import the file; (result, RSS KiB before, peak RSS KiB)."""
    engine = make_engine(f"sqlite:///{db}")
    with read_only(engine) as repo:
        repo.head()  # the engine, its pool and the schema's first statements, before the import
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = import_file(engine, Path(csv_path), maker="bench")
    engine.dispose()
    return result, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _import_in_child(db: Path, csv_path: Path) -> tuple[ImportResult, int, int]:
    """`_import_child` in a spawned process, so that its peak RSS is the import's alone."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_import_child, str(db), str(csv_path)).result()


def _raw_floor(source: Path, target: Path, *, bare: bool = False) -> tuple[int, float]:
    """Copy the journal rows of `source` into a fresh schema at `target` with executemany.

    `bare` first drops the two insert triggers and the secondary indexes of the journal
    tables: a diagnostic of what the schema's guards and indexes cost, not a floor.
    """
    engine = make_engine(f"sqlite:///{target}")
    init_books(engine)
    engine.dispose()
    if bare:
        with sqlite3.connect(target) as conn:
            conn.execute("DROP TRIGGER postings_sealed")
            conn.execute("DROP TRIGGER journal_entries_balanced")
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                "AND tbl_name IN ('postings', 'journal_entries')"
            ).fetchall():
                conn.execute(f"DROP INDEX {name}")
    with sqlite3.connect(source) as src:
        entries = src.execute("SELECT * FROM journal_entries ORDER BY sequence").fetchall()
        postings = src.execute("SELECT * FROM postings ORDER BY sequence, line").fetchall()
        entry_columns = [c[1] for c in src.execute("PRAGMA table_info(journal_entries)")]
        posting_columns = [c[1] for c in src.execute("PRAGMA table_info(postings)")]
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    insert_entry = (
        f"INSERT INTO journal_entries ({', '.join(entry_columns)}) "
        f"VALUES ({', '.join('?' * len(entry_columns))})"
    )
    insert_posting = (
        f"INSERT INTO postings ({', '.join(posting_columns)}) "
        f"VALUES ({', '.join('?' * len(posting_columns))})"
    )
    seq_at = posting_columns.index("sequence")
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    p = 0
    for start in range(0, len(entries), 2000):
        chunk = entries[start : start + 2000]
        last = chunk[-1][entry_columns.index("sequence")]
        end = p
        while end < len(postings) and postings[end][seq_at] <= last:
            end += 1
        conn.executemany(insert_posting, postings[p:end])  # postings first: the header checks
        conn.executemany(insert_entry, chunk)
        p = end
    conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return len(entries), seconds


def _median_reads_us(small: Engine, big: Engine, reads: int) -> tuple[float, float]:
    """Median `fund_cash` latency on each engine, reads interleaved so that noise hits both."""
    timings: tuple[list[int], list[int]] = ([], [])
    with read_only(small) as a, read_only(big) as b:
        for repo in (a, b):
            fund_cash(repo, "F1", "CNY")  # warm the connection and statement cache
        for n in range(reads):
            fund = f"F{n % FUNDS}"
            for repo, out in ((a, timings[0]), (b, timings[1])):
                t0 = time.perf_counter_ns()
                fund_cash(repo, fund, "CNY")
                out.append(time.perf_counter_ns() - t0)
    return statistics.median(timings[0]) / 1000, statistics.median(timings[1]) / 1000


@contextmanager
def _workdir() -> Iterator[Path]:
    given = os.environ.get("HUIQUAN_BENCH_DIR")
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="huiquan-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _verdict(ok: bool) -> str:
    return "meets target" if ok else "BELOW TARGET"


def main() -> None:
    """Run the three ledger benchmarks and print their figures."""
    n_import = _env("HUIQUAN_BENCH_IMPORT", 100_000)
    n_small = _env("HUIQUAN_BENCH_SMALL", 10_000)
    n_big = _env("HUIQUAN_BENCH_BIG", 1_000_000)
    reads = _env("HUIQUAN_BENCH_READS", 1000)
    print(
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    with _workdir() as work:
        # 1. import throughput against the raw executemany floor
        engine = _fresh(work / "import.db")
        csv_path = work / "donations.csv"
        _write_csv(csv_path, n_import)
        engine.dispose()
        result, rss_before, rss_peak = _import_in_child(work / "import.db", csv_path)
        rate = result.entries_per_second
        floor_entries, floor_seconds = _raw_floor(work / "import.db", work / "floor.db")
        floor = floor_entries / floor_seconds
        _, bare_seconds = _raw_floor(work / "import.db", work / "bare.db", bare=True)
        print(
            f"[1] import {result.entries:,} donation entries: {result.seconds:.1f} s, "
            f"{rate:,.0f} entries/s ({_verdict(rate >= TARGET_IMPORT)}: "
            f">= {TARGET_IMPORT:,})"
        )
        print(
            f"    memory: peak RSS {rss_peak / 1024:,.0f} MiB of the importing process; "
            f"{rss_before / 1024:,.0f} MiB before the import (interpreter, modules, engine), "
            f"so the import added {(rss_peak - rss_before) / 1024:,.0f} MiB "
            f"({_verdict(rss_peak < TARGET_RSS_KIB)}: peak < {TARGET_RSS_KIB // 1024} MiB)"
        )
        print(
            f"    raw sqlite3 executemany of the same {floor_entries:,} entries + postings: "
            f"{floor_seconds:.1f} s, {floor:,.0f} entries/s (the floor)"
        )
        print(
            f"    importer / floor: {rate / floor:.2f} (the importer runs at "
            f"{100 * rate / floor:.0f}% of the raw insert speed)"
        )
        print(
            "    diagnostic: the same executemany without the 2 insert triggers and the "
            f"secondary indexes of the journal tables: {floor_entries / bare_seconds:,.0f} "
            "entries/s"
        )

        # 2. balance reads at 10k and at 1M entries
        small = _fresh(work / "small.db")
        _bulk(small, n_small)
        big = _fresh(work / "big.db")
        built = _bulk(big, n_big)
        small_us, big_us = _median_reads_us(small, big, reads)
        small.dispose()
        ratio = big_us / small_us
        print(
            f"[2] built {n_big:,} entries through the bulk path in {built:.1f} s "
            f"({n_big / built:,.0f} entries/s)"
        )
        print(
            f"    fund_cash median of {reads}: {small_us:.1f} µs at {n_small:,} entries, "
            f"{big_us:.1f} µs at {n_big:,} entries; ratio {ratio:.2f} "
            f"({_verdict(ratio < TARGET_RATIO)}: < {TARGET_RATIO})"
        )

        # 3. verify throughput at 1M
        started = time.perf_counter()
        with read_only(big) as repo:
            report = verify_books(repo)
        seconds = time.perf_counter() - started
        verify_rate = report.entries / seconds
        print(
            f"[3] verify {report.entries:,} entries ({report.postings:,} postings): "
            f"{seconds:.1f} s, {verify_rate:,.0f} entries/s "
            f"({_verdict(verify_rate >= TARGET_VERIFY)}: >= {TARGET_VERIFY:,}); "
            f"{'no findings' if report.ok else f'{len(report.findings)} findings'}"
        )
        print(
            f"    scanned by this process and {report.workers} worker process(es) "
            f"(default for {os.cpu_count()} CPUs: {default_workers()}); wall time from "
            "opening the read transaction to the report, worker start-up included"
        )
        big.dispose()
