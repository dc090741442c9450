"""Benchmark the console's lists against the API's, and the fund dashboard on big books.

    python -m bench.bench_console                          # 20k entries for the lists
    python -m bench.bench_console --entries 20000 --dashboard-entries 1000000

Books are SQLite files cached under $BENCH_DIR (default /tmp/huiquan-bench), built by posting
donations, pledge payments and disbursements through `UnitOfWork` and the services (four funds,
a project each, 200 donors).

1. Lists: for each list, the console page (`/console/lists/...`, HTML) and the matching API
   call (`/api/v1/...`, JSON) are requested N times each through Flask's test client in this one
   process, after a warm-up; `time.process_time()` around each batch gives the server CPU per
   request (the test client has no network: it is the app's own cost). Target: a console page
   costs at most 2x its API call.
2. Dashboard: `/console/funds/<code>` (the console's fund page) on books of
   `--dashboard-entries` entries: wall time per render, median of R (the whole page through
   the test client), the officers' home (every fund's figures), and the page's reads beside the
   reads it made before (`baseline_reads`: balance rows summed in Python, a query per project,
   the fund's whole pledge list, the latest entries through an IN over the fund's postings),
   measured in the same run. Target: under 200 ms at 1M entries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

PAIRS = [
    ("donations", "/console/lists/donations?limit=50", "/api/v1/donations?limit=50"),
    (
        "donations, one fund",
        "/console/lists/donations?fund=F1&limit=50",
        "/api/v1/donations?fund=F1&limit=50",
    ),
    ("disbursements", "/console/lists/disbursements?limit=50", "/api/v1/disbursements?limit=50"),
    ("pledges", "/console/lists/pledges?limit=50", "/api/v1/pledges?limit=50"),
    ("donor search", "/console/lists/donors?q=donor 1&limit=50", "/api/v1/donors/search?q=donor 1"),
]


def build(path: Path, entries: int) -> str:
    """Books with about `entries` entries: gifts, pledges and their payments, disbursements."""
    url = f"sqlite:///{path}"
    if path.exists():
        return url
    from ledger import services
    from ledger.money import Money
    from ledger.storage.db import init_books, make_engine
    from ledger.storage.unit_of_work import UnitOfWork

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{partial}")
    init_books(engine)
    start = time.perf_counter()
    with UnitOfWork(engine, flush_every=5000) as uow:
        funds = [f"F{n}" for n in range(4)]
        for fund in funds:
            services.open_fund(uow, code=fund, name=f"基金 {fund}", restricted=False)
            services.open_project(uow, code=f"P{fund}", name="项目", fund=fund, county="炉霍县")
        donors = [services.register_donor(uow, name=f"donor {n}").id for n in range(200)]
        day = dt.date(2025, 1, 1)
        for n in range(entries // 4):
            fund, donor = funds[n % 4], donors[n % 200]
            on = day + dt.timedelta(days=(n * 4 // max(entries // 300, 1)) % 300)
            services.record_donation(
                uow,
                donor_id=donor,
                fund=fund,
                amount=Money(10_000 + n % 997, "CNY"),
                received_on=on,
                method=("bank", "cash", "online")[n % 3],
            )
            pledge, _ = services.record_pledge(
                uow, donor_id=donor, fund=fund, amount=Money(3_000, "CNY"), pledged_on=on
            )
            if n % 2:
                services.record_donation(
                    uow,
                    donor_id=donor,
                    fund=fund,
                    amount=Money(1_000, "CNY"),
                    received_on=on,
                    pledge_id=pledge.id,
                )
            services.record_disbursement(
                uow,
                fund=fund,
                project=f"P{fund}",
                amount=Money(5_000 + n % 331, "CNY"),
                paid_on=on,
            )
        uow.commit()
    engine.dispose()
    partial.rename(path)
    print(f"  built ~{entries:,} entries in {time.perf_counter() - start:.1f} s", flush=True)
    return url


def app_for(url: str, home: Path) -> Any:
    from web.app import create_app

    app = create_app(
        {
            "DATABASE_URL": url,
            "HUIQUAN_HOME": str(home),
            "PSEUDONYM_SECRET": b"bench-pseudonym-key-0123456789abcdef",
            "SECRET_KEY": "bench-console-secret",
            "LOG_REQUESTS": False,
        }
    )
    return app


def clients(app: Any) -> tuple[Any, dict[str, str]]:
    from ledger.errors import NotFound
    from usecases import users
    from usecases.tokens import create_token
    from usecases.unit import SYSTEM

    books = app.extensions["huiquan"].books
    try:
        user = users.user_by_login(books, "bench.auditor")
    except NotFound:
        user = users.create_user(
            books, login="bench.auditor", display_name="bench", roles=["auditor"], by=SYSTEM
        )
    console = app.test_client()
    with console.session_transaction() as session:
        session["user"] = {"id": user.id}
        session["signed_in_at"] = int(time.time())
    token = create_token(
        app.extensions["huiquan"].engine, role="auditor", name=f"bench-auditor-{time.time_ns()}"
    )
    return console, {"Authorization": f"Bearer {token}"}


def cpu_per_request(client: Any, path: str, n: int, headers: dict[str, str] | None = None) -> float:
    for _ in range(5):
        assert client.get(path, headers=headers).status_code == 200, path
    started = time.process_time()
    for _ in range(n):
        response = client.get(path, headers=headers)
        response.get_data()
    return (time.process_time() - started) / n * 1000


def lists_figures(url: str, n: int) -> None:
    with tempfile.TemporaryDirectory() as home:
        app = app_for(url, Path(home))
        console, headers = clients(app)
        api = app.test_client()
        print(f"  {'list':<22}{'console ms':>12}{'API ms':>10}{'ratio':>8}  (CPU per request)")
        worst = 0.0
        for name, page, call in PAIRS:
            ours = cpu_per_request(console, page, n)
            theirs = cpu_per_request(api, call, n, headers)
            worst = max(worst, ours / theirs)
            print(f"  {name:<22}{ours:>12.2f}{theirs:>10.2f}{ours / theirs:>8.2f}", flush=True)
        verdict = "met" if worst <= 2 else "NOT met"
        print(f"  target: console page <= 2x API call; worst {worst:.2f}x: {verdict}")
        app.extensions["huiquan"].engine.dispose()


def _median_ms(work: Any, repeats: int) -> tuple[float, float, float, float]:
    """Median wall ms, min and max wall ms, and median CPU ms (this process) of `work`."""
    times, cpu = [], []
    for _ in range(repeats):
        started, used = time.perf_counter(), time.process_time()
        work()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    return statistics.median(times), min(times), max(times), statistics.median(cpu)


def baseline_reads(repo: Any, fund: str) -> Any:
    """The dashboard's reads as they were before `balance_totals` and `latest_of_fund`: every
    balance row summed in Python, a balance query per project, the fund's whole pledge list,
    and the latest entries through an IN over all the fund's postings (the baseline)."""
    from ledger.balances import balance_of

    cash: dict[str, int] = {}
    for r in repo.balances_where(fund=fund):
        if r.account.startswith("1002-"):
            cash[r.currency] = cash.get(r.currency, 0) + int(r.amount)
    budgets = [
        balance_of(repo, account="5101", fund=fund, project=p.code)
        for p in repo.list_projects(fund)
    ]
    pledges = [p for p in repo.list_pledges(fund) if not p.conditional]
    head = repo.head()[0]
    latest = repo.list_entries(after_sequence=max(0, head - 500), limit=501, fund=fund)
    return cash, budgets, pledges, latest[-10:]


def dashboard_figures(url: str, repeats: int) -> None:
    from console import reads
    from usecases.unit import read

    with tempfile.TemporaryDirectory() as home:
        app = app_for(url, Path(home))
        console, _ = clients(app)
        books = app.extensions["huiquan"].books
        first = time.perf_counter()
        assert console.get("/console/funds/F1").status_code == 200
        cold = (time.perf_counter() - first) * 1000

        def page() -> None:
            response = console.get("/console/funds/F1")
            assert response.status_code == 200
            response.get_data()

        median, low, high, cpu = _median_ms(page, repeats)
        verdict = "met" if median < 200 else "NOT met"
        print(
            f"  /console/funds/F1 (whole page): first {cold:.0f} ms, median of {repeats} "
            f"{median:.0f} ms (min {low:.0f}, max {high:.0f}; CPU {cpu:.0f} ms); "
            f"target < 200 ms: {verdict}"
        )
        home = _median_ms(lambda: console.get("/console/").get_data(), repeats)
        print(f"  /console/ (every fund's figures): median {home[0]:.0f} ms (CPU {home[3]:.0f} ms)")
        now = _median_ms(lambda: reads.fund_page(books, "F1"), repeats)
        before = _median_ms(lambda: read(books, lambda r: baseline_reads(r, "F1")), repeats)
        gain = before[3] / max(now[3], 0.001)
        print(
            f"  the page's reads: now {now[0]:.1f} ms (CPU {now[3]:.1f}); baseline (the reads "
            f"before) {before[0]:.1f} ms (CPU {before[3]:.1f}); {gain:.0f}x less CPU"
        )
        app.extensions["huiquan"].engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--dashboard-entries", type=int, default=0, help="0: skip the dashboard")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    folder = Path(os.environ.get("BENCH_DIR", "/tmp/huiquan-bench"))
    print(f"lists: {args.entries:,} entries, {args.requests} requests each", flush=True)
    lists_figures(build(folder / f"console-{args.entries}.db", args.entries), args.requests)
    if args.dashboard_entries:
        size = args.dashboard_entries
        print(f"dashboard: {size:,} entries", flush=True)
        dashboard_figures(build(folder / f"console-{size}.db", size), args.repeats)


if __name__ == "__main__":
    main()
