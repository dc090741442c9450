"""Concurrent gifts to a matched campaign: the matcher never goes beyond its cap.

Each thread has books of its own without the in-process writer gate, as separate server
processes would: what keeps the cap is the database (the chain head's row lock on PostgreSQL,
the write lock on SQLite), read inside each gift's transaction. Run it on PostgreSQL with
HUIQUAN_TEST_DB=postgresql.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger import services
from ledger.integrity import verify_books
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork, read_only
from usecases import campaigns, gifts
from usecases.books import open_books
from usecases.unit import SYSTEM

TODAY = dt.datetime.now(dt.UTC).date()
THREADS, GIFTS_EACH = 8, 3


@pytest.mark.parametrize("writers", ["processes", "group-commit"])
def test_eight_writers_giving_at_once_never_take_the_matcher_beyond_its_cap(
    engine: Engine, tmp_path: Path, writers: str
) -> None:
    """`processes`: books of their own per thread, no in-process gate, as separate servers;
    `group-commit`: one server's books, whose concurrent gifts share transactions."""
    with UnitOfWork(engine) as uow:
        services.open_fund(uow, code="F", name="Luhuo", restricted=True, purpose="industry")
        firm = services.register_donor(uow, name="配捐企业", kind="organisation").id
        givers = [services.register_donor(uow, name=f"捐赠人{n}").id for n in range(THREADS)]
        pledge, _ = services.record_pledge(
            uow, donor_id=firm, fund="F", amount=Money(1_000_000, "CNY"), pledged_on=TODAY
        )
        uow.commit()
    setup = open_books(engine, tmp_path / "home", group_commit_max=1, pseudonym_secret=b"k" * 32)
    campaigns.create_campaign(
        setup,
        by=SYSTEM,
        slug="race",
        fund="F",
        title_zh="并发众筹",
        goal=Money(10_000_000, "CNY"),
        starts_on=TODAY.isoformat(),
        ends_on=TODAY.isoformat(),
        status="open",
    )
    cap = 750_000  # 7,500.00: seven and a half of the 24 gifts of 1,000.00
    campaigns.set_matcher(
        setup, "race", pledge_id=pledge.id, ratio="1:1", cap=Money(cap, "CNY"), by=SYSTEM
    )
    matched: list[int] = []
    errors: list[BaseException] = []
    lock, start = threading.Lock(), threading.Barrier(THREADS)

    shared = open_books(engine, tmp_path / "home", group_commit_max=32, pseudonym_secret=b"k" * 32)

    def worker(n: int) -> None:
        books = shared
        if writers == "processes":
            books = open_books(
                engine,
                tmp_path / "home",
                writer_gate=False,
                group_commit_max=1,
                pseudonym_secret=b"k" * 32,
            )
        start.wait()
        try:
            for _ in range(GIFTS_EACH):
                gift = gifts.record_donation(
                    books,
                    by=SYSTEM,
                    donor_id=givers[n],
                    fund="F",
                    amount=Money(100_000, "CNY"),
                    received_on=TODAY,
                    campaign="race",
                )
                value = 0
                if gift.match is not None:
                    value = sum(p.functional for p in gift.match.entry.postings if p.functional > 0)
                with lock:
                    matched.append(value)
        except BaseException as failure:
            with lock:
                errors.append(failure)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(matched) == THREADS * GIFTS_EACH
    assert sum(matched) == cap
    assert sorted(v for v in matched if v) == [50_000] + [100_000] * 7
    with engine.connect() as conn:
        progress = campaigns.progress_of(conn, campaigns.load_campaign(conn, "race"))  # type: ignore[arg-type]
    assert progress.matched_minor == cap
    assert progress.gifts_minor == THREADS * GIFTS_EACH * 100_000
    with read_only(engine) as repo:
        assert verify_books(repo).ok
