"""What approving a request costs beside posting the same operation directly.

    PYTHONPATH=. python -m tests.controls.measure_approval_cost [N] [database-url]

Posts N disbursements directly (a fund whose policy needs no approval), then requests N in a
fund that needs one approver and approves each; prints the median and mean milliseconds of a
direct posting, of a request and of an approval, and approval / direct (the target: <= 1.5).
"""

from __future__ import annotations

import datetime as dt
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


def main(n: int = 300, url: str | None = None) -> None:
    home = Path(tempfile.mkdtemp())
    engine = make_engine(url or f"sqlite:///{home}/books.db")
    init_books(engine)
    books = open_books(engine, home, group_commit_max=1)
    with UnitOfWork(engine) as uow:
        for fund in ("DIRECT", "CHECKED"):
            services.open_fund(uow, code=fund, name=fund, restricted=False)
            services.open_project(uow, code=f"P-{fund}", name=fund, fund=fund, county="炉霍县")
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
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300, sys.argv[2] if len(sys.argv) > 2 else None)
