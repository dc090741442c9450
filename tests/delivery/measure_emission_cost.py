"""What announcing a gift costs the request that records it.

    PYTHONPATH=. python -m tests.delivery.measure_emission_cost [N] [database-url]

Records N gifts with the emission switched off (`usecases.delivery.receipt_issued` replaced by
a no-op), N with it on but nothing to announce (no address, no subscription: the usual case
today), and N from a donor with an address to two subscribers (one email and two webhooks
queued per gift); prints the median and mean milliseconds of each and their ratio to "off".
Nothing is sent: sending is the worker's.
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
from usecases import delivery, gifts
from usecases.books import open_books
from usecases.unit import SYSTEM


def main(n: int = 300, url: str | None = None) -> None:
    home = Path(tempfile.mkdtemp())
    engine = make_engine(url or f"sqlite:///{home}/books.db")
    init_books(engine)
    books = open_books(engine, home, group_commit_max=1)
    with UnitOfWork(engine) as uow:
        services.open_fund(uow, code="F", name="F", restricted=False)
        quiet = services.register_donor(uow, name="王秀英").id
        loud = services.register_donor(uow, name="陈美玲", language="zh-Hant").id
        uow.commit()

    def give(donor: str) -> float:
        started = time.perf_counter()
        gifts.record_donation(
            books,
            by=SYSTEM,
            donor_id=donor,
            fund="F",
            amount=Money(10_000, "CNY"),
            received_on=dt.date.today(),
        )
        return (time.perf_counter() - started) * 1000

    real = delivery.receipt_issued
    delivery.receipt_issued = lambda uow, entry, serial: None  # type: ignore[assignment]
    off = [give(quiet) for _ in range(n)]
    delivery.receipt_issued = real  # type: ignore[assignment]
    idle = [give(quiet) for _ in range(n)]
    delivery.record_donor_email(books, loud, "mei@example.hk", by=SYSTEM)
    for name in ("wechat", "sms"):
        delivery.create_subscription(
            books, by=SYSTEM, url=f"https://{name}.example.org/hook", events=["receipt.issued"]
        )
    busy = [give(loud) for _ in range(n)]
    base = statistics.median(off)
    for label, times in (("off", off), ("on, nothing to send", idle), ("email + 2 webhooks", busy)):
        median = statistics.median(times)
        print(
            f"{label:>22}: median {median:6.2f} ms, mean {statistics.mean(times):6.2f} ms "
            f"({median / base:.2f}x)"
        )
    engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300, sys.argv[2] if len(sys.argv) > 2 else None)
