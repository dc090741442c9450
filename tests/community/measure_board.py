"""What the needs board and a crowd of sign-ups cost (decision 0016).

    PYTHONPATH=. python -m tests.community.measure_board [N] [database-url]

Posts and publishes N needs (half answered with a pledge, a quarter paid), then times
`list_needs` (the board's one read, median of 15), and 40 residents signing up for one service
at once (wall time, median and worst latency). Without a URL, a fresh SQLite file.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from ledger.money import Money
from ledger.storage.db import init_books, make_engine
from usecases import community, gifts, places, reference
from usecases.books import Books, open_books
from usecases.unit import SYSTEM


def cny(text: str) -> Money:
    return Money.parse(text, "CNY")


def board(books: Books, n: int, donor: str) -> str:
    for i in range(n):
        need = community.post_need(
            books,
            title=f"需求 {i}",
            description="说明" * 50,
            category="health",
            place="510104",
            kind="money",
            goal=cny("100.00"),
            contact="c",
            client=f"c{i}",
        )
        community.publish_need(books, need.id, fund="HQ", by=SYSTEM)
        if i % 2 == 0:
            offer = community.record_offer(
                books, need.id, donor_id=donor, kind="money", amount=cny("100.00"), by=SYSTEM
            )
            if i % 4 == 0:
                gifts.record_donation(
                    books,
                    by=SYSTEM,
                    donor_id=donor,
                    fund="HQ",
                    amount=cny("100.00"),
                    received_on=dt.datetime.now(dt.UTC).date(),
                    pledge_id=offer.pledge_id,
                )
    times = []
    for _ in range(15):
        started = time.perf_counter()
        found = community.list_needs(books)
        times.append(time.perf_counter() - started)
    counts = community.board_counts(found)
    return f"list_needs, {n} needs: median {statistics.median(times) * 1000:.1f} ms ({counts})"


def crowd(books: Books, people: int = 40) -> str:
    today = dt.datetime.now(dt.UTC).date()
    service = community.publish_service(
        books,
        kind="clinic",
        title="义诊",
        description="d",
        place="510104",
        starts_on=today,
        ends_on=today,
        capacity=50,
        by=SYSTEM,
    )
    latencies: list[float] = []
    lock, start = threading.Lock(), threading.Barrier(people)

    def resident(i: int) -> None:
        start.wait()
        began = time.perf_counter()
        try:
            community.sign_up(books, service.id, name="n", contact="c", client=f"s{i}")
        except community.ServiceFull:
            pass
        with lock:
            latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=resident, args=(i,)) for i in range(people)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    signed = community.get_service(books, service.id).signed_up
    return (
        f"{people} sign-ups at once: wall {wall * 1000:.0f} ms, median "
        f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms, "
        f"{signed} signed"
    )


def main(n: int, url: str | None) -> None:
    home = Path(tempfile.mkdtemp())
    engine = make_engine(url or f"sqlite:///{home / 'board.db'}")
    try:
        init_books(engine)
        books = open_books(engine, home, pseudonym_secret=b"k" * 32)
        reference.open_fund(books, code="HQ", name="云上荟泉", restricted=True, purpose="p")
        places.add_place(books, code="510104", kind="county", name="锦江区", by=SYSTEM)
        donor = reference.register_donor(books, name="d", kind="person").id
        print(engine.dialect.name, board(books, n, donor))
        print(engine.dialect.name, crowd(books))
    finally:
        engine.dispose()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300, sys.argv[2] if len(sys.argv) > 2 else None)
