"""Writers racing against one fund: no overdraft, no lost entry, no gap (both engines)."""

from __future__ import annotations

import threading

from sqlalchemy import text

from ledger import services
from ledger.balances import fund_cash
from ledger.errors import InsufficientFunds
from ledger.integrity import verify_books
from ledger.storage.unit_of_work import UnitOfWork, read_only
from tests.builders import Books, cny


def test_eight_threads_racing_disbursements_never_overdraw_the_fund(engine):
    books = Books(engine)
    books.fund("LUHUO")
    books.project("CLINIC")
    books.donate("1000.00", donor=books.donor())
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(5):
            try:
                with UnitOfWork(engine) as uow:
                    services.record_disbursement(
                        uow,
                        fund="LUHUO",
                        project="CLINIC",
                        amount=cny("70.00"),
                        paid_on=books_day(),
                    )
                    uow.commit()
                result = "posted"
            except InsufficientFunds:
                result = "refused"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    posted = outcomes.count("posted")
    assert posted == 14  # 14 x 70 = 980 <= 1000 < 15 x 70
    assert outcomes.count("refused") == 40 - 14
    with read_only(engine) as repo:
        assert fund_cash(repo, "LUHUO", "CNY") == 100000 - posted * 7000
        assert verify_books(repo).ok
    with engine.connect() as conn:
        seqs = conn.execute(
            text("SELECT sequence FROM journal_entries ORDER BY sequence")
        ).scalars()
        assert list(seqs) == list(range(1, posted + 2))


def test_concurrent_duplicates_with_one_idempotency_key_post_exactly_once(engine):
    books = Books(engine)
    books.fund("LUHUO")
    donor = books.donor()
    start = threading.Barrier(6)
    ids: list[str] = []

    def worker() -> None:
        start.wait()
        with UnitOfWork(engine) as uow:
            entry = services.record_donation(
                uow,
                donor_id=donor,
                fund="LUHUO",
                amount=cny("88.00"),
                received_on=books_day(),
                key="same-key",
            )
            uow.commit()
        ids.append(entry.id)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 6 and len(set(ids)) == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM journal_entries")).scalar_one() == 1


def books_day():
    from tests.builders import DAY

    return DAY
