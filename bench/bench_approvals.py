"""What approving a request costs beside posting the same operation directly (issue #14).

    python -m bench approvals          # or: python -m bench.bench_approvals [N] [database-url]

Options from the environment: HUIQUAN_BENCH_APPROVALS (N, 300) and HUIQUAN_BENCH_DATABASE_URL
(default: a fresh SQLite file). Posts N disbursements directly (a fund whose policy needs no
approval), then requests N in a fund that needs one approver and approves each, in the same
run; prints the median and mean milliseconds of a direct posting, of a request and of an
approval, and approve / direct (the target: <= 1.5). Both funds run every control of the
ledger: a stated purpose (projects in the project's county), a project budget that is checked
(large enough never to refuse), restricted net assets and a named payee.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ledger import services
from ledger.money import Money
from ledger.storage.db import init_books, make_engine
from ledger.storage.unit_of_work import UnitOfWork
from usecases import approvals, spending
from usecases.books import open_books
from usecases.unit import SYSTEM
from usecases.users import create_user

#: A made-up organisation (valid check character; its organisation code fails GB 11714).
PAYEE = {"kind": "organisation", "name": "交纳村", "registration_number": "545101850000004105"}


def main(n: int | None = None, url: str | None = None) -> None:
    n = n or int(os.environ.get("HUIQUAN_BENCH_APPROVALS", "300"))
    url = url or os.environ.get("HUIQUAN_BENCH_DATABASE_URL")
    home = Path(tempfile.mkdtemp())
    engine = make_engine(url or f"sqlite:///{home}/books.db")
    init_books(engine)
    books = open_books(engine, home, group_commit_max=1)
    with UnitOfWork(engine) as uow:
        for fund in ("DIRECT", "CHECKED"):
            services.open_fund(uow, code=fund, name=fund, restricted=True, purpose="炉霍县项目")
            services.open_project(
                uow,
                code=f"P-{fund}",
                name=fund,
                fund=fund,
                county="炉霍县",
                budget=Money(10**13, "CNY"),
            )
            services.set_fund_purposes(
                uow, fund=fund, purposes={"projects": True, "counties": ["炉霍县"]}, by="bench"
            )
            donor = services.register_donor(uow, name="王秀英").id
            services.record_donation(
                uow,
                donor_id=donor,
                fund=fund,
                amount=Money(10**12, "CNY"),
                received_on=dt.date.today(),
            )
        uow.commit()
    approvals.set_policy(books, "DIRECT", {"thresholds": {"disbursement": None}}, by=SYSTEM)
    approvals.set_policy(books, "CHECKED", {"thresholds": {"disbursement": 0}}, by=SYSTEM)
    maker = create_user(books, login="zhang", display_name="张三", roles=("officer",), by=SYSTEM)
    checker = create_user(books, login="li", display_name="李四", roles=("approver",), by=SYSTEM)

    def pay(fund: str) -> object:
        return spending.record_disbursement(
            books,
            by=maker.actor(),
            fund=fund,
            project=f"P-{fund}",
            amount=Money(1_200_000, "CNY"),
            paid_on=dt.date.today(),
            payee=PAYEE,
            bank_reference="BENCH-0001",
        )

    direct, asked, approved, ids = [], [], [], []
    for _ in range(n):
        started = time.perf_counter()
        pay("DIRECT")
        direct.append(time.perf_counter() - started)
    for _ in range(n):
        started = time.perf_counter()
        ids.append(pay("CHECKED").id)  # type: ignore[attr-defined]
        asked.append(time.perf_counter() - started)
    for request_id in ids:
        started = time.perf_counter()
        approvals.approve(books, request_id, by=checker.actor())
        approved.append(time.perf_counter() - started)

    def show(name: str, times: list[float]) -> float:
        median = statistics.median(times) * 1000
        print(f"{name:10} median {median:6.2f} ms  mean {statistics.mean(times) * 1000:6.2f} ms")
        return median

    base = show("direct", direct)
    show("request", asked)
    cost = show("approve", approved)
    print(f"approve / direct = {cost / base:.2f} ({engine.dialect.name}, n={n})")
    engine.dispose()


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else None, sys.argv[2] if len(sys.argv) > 2 else None
    )
