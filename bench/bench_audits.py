"""Benchmark the audit side: journal CSV export vs a plain csv.writer floor, statements, checks.

    python -m bench.bench_audits                    # 100k postings
    python -m bench.bench_audits --sizes 100000,1000000

For each size it builds a SQLite book (cached under $BENCH_DIR, default /tmp/huiquan-bench) by
posting donations and disbursements through `UnitOfWork` and the services (2 postings each), then
measures, each in a fresh subprocess so peak memory is the process's own (ru_maxrss):

- export: `audits.exports.csv_chunks` to /dev/null — rows/s and peak RSS;
- floor: the same query (`audits.exports.query_batches`) written raw with csv.writer;
- statements: every statement, consolidated, from the database;
- audit check: `huiquan audit bundle` then `audit check` throughput (entries/s).

Targets: export within 2x of the floor; peak RSS under 150 MB at 1M postings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import csv, json, os, resource, sys, time
from ledger.storage.db import make_engine
mode, url = sys.argv[1], sys.argv[2]
engine = make_engine(url)
def rss():
    # VmHWM: this process's own peak (ru_maxrss would carry the parent's over fork + exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with engine.connect() as conn:
    from audits.exports import ExportFilter, csv_chunks, export_meta, query_batches
    from audits.statements import Params, statements_from_db
    import datetime as dt
    size = export_meta(conn).journal_size
    base = rss()
    t = time.perf_counter()
    rows = 0
    with open(os.devnull, "wb") as out:
        if mode == "export":
            for chunk in csv_chunks(conn, meta=export_meta(conn)):
                out.write(chunk)
                rows += chunk.count(b"\r\n")
        elif mode == "floor":
            class W:
                def write(self, s):
                    out.write(s.encode())
            writer = csv.writer(W(), lineterminator="\r\n")
            for _lo, _hi, batch in query_batches(conn, ExportFilter(), size):
                writer.writerows(batch)
                rows += len(batch)
        elif mode == "statements":
            params = Params.make(date_from=dt.date(2020, 1, 1), date_to=dt.date(2030, 12, 31))
            statements, fold = statements_from_db(conn, params)
            rows = fold.facts
            bad = [c for s in statements.values() for c in s.checks]
            assert not bad, bad
    seconds = time.perf_counter() - t
result = {"mode": mode, "rows": rows, "seconds": seconds, "peak_mb": rss(), "base_mb": base}
print(json.dumps(result))
"""

CHECK_CHILD = r"""
import json, resource, sys, time
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
from audits.verify import check_bundle
t = time.perf_counter()
report = check_bundle(sys.argv[1], [l for l in open(sys.argv[2]).read().split() if l])
seconds = time.perf_counter() - t
assert report.ok, report.lines()[:5]
print(json.dumps({"mode": "check", "rows": report.entries, "seconds": seconds,
                  "peak_mb": rss()}))
"""


def build(path: Path, postings: int) -> str:
    """A book with about `postings` postings (half donations, half disbursements)."""
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    from ledger import services
    from ledger.money import Money
    from ledger.storage.db import init_books, make_engine
    from ledger.storage.unit_of_work import UnitOfWork

    engine = make_engine(url)
    init_books(engine)
    start = time.perf_counter()
    with UnitOfWork(engine, flush_every=5000) as uow:
        funds = [f"F{n}" for n in range(4)]
        for fund in funds:
            services.open_fund(uow, code=fund, name=fund, restricted=False)
            services.open_project(uow, code=f"P{fund}", name="项目", fund=fund, county="炉霍县")
        donor = services.register_donor(uow, name="bench donor").id
        day = dt.date(2026, 1, 1)
        for n in range(postings // 4):
            fund = funds[n % 4]
            on = day + dt.timedelta(days=(n // 2000) % 300)
            services.record_donation(
                uow,
                donor_id=donor,
                fund=fund,
                amount=Money(10_000 + n % 997, "CNY"),
                received_on=on,
            )
            services.record_disbursement(
                uow,
                fund=fund,
                project=f"P{fund}",
                amount=Money(5_000 + n % 331, "CNY"),
                paid_on=on,
                memo="=cmd|' /C calc'!A0" if n % 1000 == 0 else "",
            )
        uow.commit()
    engine.dispose()
    print(f"  built {postings:,} postings in {time.perf_counter() - start:.1f} s", flush=True)
    return url


def child(mode: str, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, url], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--check", action="store_true", help="also bundle and check")
    args = parser.parse_args()
    folder = Path(os.environ.get("BENCH_DIR", "/tmp/huiquan-bench"))
    folder.mkdir(parents=True, exist_ok=True)
    for size in [int(s) for s in args.sizes.split(",")]:
        print(f"== {size:,} postings")
        url = build(folder / f"books-{size}.db", size)
        floor, export = child("floor", url), child("export", url)
        ratio = export["seconds"] / floor["seconds"]
        for r in (floor, export):
            print(
                f"  {r['mode']:<7} {r['rows']:>10,.0f} rows {r['seconds']:7.2f} s "
                f"{r['rows'] / r['seconds']:>10,.0f} rows/s  peak RSS {r['peak_mb']:6.1f} MB "
                f"(before the export {r['base_mb']:.1f} MB)"
            )
        verdict = "OK" if ratio <= 2 and export["peak_mb"] < 150 else "MISSED"
        print(f"  export/floor = {ratio:.2f}x (target <= 2x), peak < 150 MB: {verdict}")
        stm = child("statements", url)
        print(
            f"  statements (all 7, consolidated): {stm['seconds']:.2f} s over "
            f"{stm['rows']:,.0f} postings, peak {stm['peak_mb']:.0f} MB"
        )
        if args.check:
            check(folder, url, size)


def check(folder: Path, url: str, size: int) -> None:
    from audits.bundle import write_bundle_file
    from ledger.storage.db import make_engine
    from ledger.tlog.keys import ensure_signing_key, trusted_vkeys

    engine = make_engine(url)
    bundle = folder / f"bundle-{size}.zip"
    start = time.perf_counter()
    write_bundle_file(
        engine, bundle, period="2026", key=ensure_signing_key(folder), trusted=trusted_vkeys(folder)
    )
    built = time.perf_counter() - start
    engine.dispose()
    out = subprocess.run(
        [sys.executable, "-c", CHECK_CHILD, str(bundle), str(folder / "keys" / "trusted.vkeys")],
        capture_output=True,
        text=True,
        check=True,
    )
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"  audit bundle {built:.1f} s; audit check {r['rows']:,} entries in {r['seconds']:.1f} s "
        f"= {r['rows'] / r['seconds']:,.0f} entries/s, peak {r['peak_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
