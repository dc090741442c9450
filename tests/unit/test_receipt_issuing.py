"""Receipt numbering, links, voids and where-my-gift-went, against the real books."""

from __future__ import annotations

import threading

import pytest

from ledger import services
from ledger.errors import AlreadyExists, NotFound
from ledger.storage.fastsql import Raw
from ledger.storage.unit_of_work import UnitOfWork, read_only
from receipts.allocation import where_it_went
from receipts.issuing import (
    annual_receipt,
    get_receipt,
    issue_receipt,
    lookup_token,
    revoke_links,
    void_receipt,
)
from tests.builders import DAY, Books, cny

NOW = "2026-03-02T10:00:00+00:00"


@pytest.fixture
def books(engine):
    b = Books(engine)
    b.fund("LUHUO")
    b.project("CLINIC")
    b.donor_id = b.donor()
    return b


def give(engine, donor, amount="100", *, receipt=True):
    with UnitOfWork(engine) as uow:
        entry = services.record_donation(
            uow, donor_id=donor, fund="LUHUO", amount=cny(amount), received_on=DAY
        )
        issued = (
            issue_receipt(uow.connection, entry, officer="李会计", now=NOW) if receipt else None
        )
        uow.commit()
    return entry, issued


def test_serials_are_gapless_per_year_even_when_a_gift_rolls_back(books, engine):
    _, first = give(engine, books.donor_id)
    with UnitOfWork(engine) as uow:
        entry = services.record_donation(
            uow, donor_id=books.donor_id, fund="LUHUO", amount=cny("5"), received_on=DAY
        )
        issue_receipt(uow.connection, entry, officer="x", now=NOW)
        # no commit: the gift and its number roll back together
    _, second = give(engine, books.donor_id)
    assert (first.serial, second.serial) == ("HQ-2026-000001", "HQ-2026-000002")


def test_concurrent_gifts_take_distinct_consecutive_serials(books, engine):
    serials: list[str] = []
    start = threading.Barrier(6)

    def worker() -> None:
        start.wait()
        for _ in range(3):
            serials.append(give(engine, books.donor_id)[1].serial)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(serials) == [f"HQ-2026-{n:06d}" for n in range(1, 19)]


def test_links_open_only_with_the_live_token(books, engine):
    _, issued = give(engine, books.donor_id)
    with engine.begin() as conn:
        assert lookup_token(conn, issued.token) == issued.serial
        assert lookup_token(conn, issued.token[:-1] + "A") is None or issued.token.endswith("A")
        assert lookup_token(conn, "../../etc/passwd") is None
        assert revoke_links(conn, issued.serial, NOW) == 1
        assert lookup_token(conn, issued.token) is None


def test_a_void_keeps_the_old_receipt_and_issues_a_replacement_with_a_new_serial(books, engine):
    entry, issued = give(engine, books.donor_id)
    with UnitOfWork(engine) as uow:
        replacement = void_receipt(
            uow.connection,
            issued.serial,
            reason="姓名有误",
            by="officer",
            now=NOW,
            replacement=entry,
        )
        uow.commit()
    with engine.connect() as conn:
        old, new = get_receipt(conn, issued.serial), get_receipt(conn, replacement.serial)
    assert old.is_void and old.void_reason == "姓名有误" and old.replaced_by == new.serial
    assert new.replaces_serial == issued.serial and new.serial == "HQ-2026-000002"
    with UnitOfWork(engine) as uow, pytest.raises(AlreadyExists):
        void_receipt(uow.connection, issued.serial, reason="again", by="o", now=NOW)


def test_an_annual_receipt_lists_the_years_gifts_once(books, engine):
    for amount in ("100", "200"):
        give(engine, books.donor_id, amount)
    with UnitOfWork(engine) as uow:
        annual, covered = annual_receipt(uow.connection, books.donor_id, 2026, officer="x", now=NOW)
        uow.commit()
    assert [c.serial for c in covered] == ["HQ-2026-000001", "HQ-2026-000002"]
    assert annual.serial == "HQ-2026-000003"
    with UnitOfWork(engine) as uow, pytest.raises(AlreadyExists):
        annual_receipt(uow.connection, books.donor_id, 2026, officer="x", now=NOW)
    with UnitOfWork(engine) as uow, pytest.raises(NotFound):
        annual_receipt(uow.connection, books.donor_id, 2019, officer="x", now=NOW)


def test_where_my_gift_went_follows_the_fund_first_in_first_out(books, engine):
    first, _ = give(engine, books.donor_id, "100")
    second, _ = give(engine, books.donor_id, "300")
    books.disburse("150")
    books.disburse("50")
    with read_only(engine) as repo:
        one = where_it_went(repo.conn, fund="LUHUO", currency="CNY", gift_sequence=first.sequence)
        two = where_it_went(repo.conn, fund="LUHUO", currency="CNY", gift_sequence=second.sequence)
    assert [s.amount_minor for s in one] == [10000]
    assert [s.amount_minor for s in two] == [5000, 5000]
    assert {(s.kind, s.name) for s in one + two} == {("project", "交纳村卫生室")}
    assert {s.county for s in two} == {"炉霍县"}


def test_a_caller_that_mints_its_own_links_gets_no_random_one(books, engine):
    from sqlalchemy import text

    with UnitOfWork(engine) as uow:
        entry = services.record_donation(
            uow, donor_id=books.donor_id, fund="LUHUO", amount=cny("5"), received_on=DAY
        )
        issued = issue_receipt(uow.connection, entry, officer="x", now=NOW, link=False)
        uow.commit()
    assert issued.token is None and issued.serial == "HQ-2026-000001"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM receipt_links")).scalar_one() == 0


def _gift_in(uow, donor, amount):
    entry = services.record_donation(
        uow, donor_id=donor, fund="LUHUO", amount=cny(amount), received_on=DAY
    )
    return issue_receipt(uow.connection, entry, officer="x", now=NOW, link=False, uow=uow)


def test_serials_counted_in_a_shared_unit_of_work_stay_gapless_past_a_failed_operation(
    books, engine
):
    give(engine, books.donor_id)  # HQ-2026-000001, the counter row exists from here on

    class Refused(Exception):
        pass

    def refused(uow):
        _gift_in(uow, books.donor_id, "7")
        raise Refused

    with UnitOfWork(engine) as uow:
        first = uow.attempt(lambda u: _gift_in(u, books.donor_id, "10"))
        with pytest.raises(Refused):
            uow.attempt(refused)  # took 000003, then failed: the number goes back
        second = uow.attempt(lambda u: _gift_in(u, books.donor_id, "20"))
        annual, covered = uow.attempt(
            lambda u: annual_receipt(
                u.connection, books.donor_id, 2026, officer="x", now=NOW, link=False, uow=u
            )
        )
        uow.commit()
    assert (first.serial, second.serial) == ("HQ-2026-000002", "HQ-2026-000003")
    # the annual receipt sees the gifts receipted earlier in its own transaction
    assert [c.serial for c in covered] == ["HQ-2026-000001", "HQ-2026-000002", "HQ-2026-000003"]
    assert annual.serial == "HQ-2026-000004"
    _, after = give(engine, books.donor_id)  # a later transaction counts on from the saved row
    assert after.serial == "HQ-2026-000005"
    with engine.connect() as conn:
        assert get_receipt(conn, second.serial).entry_id is not None
        assert get_receipt(conn, "HQ-2026-000006") is None


def test_a_shared_unit_of_work_saves_its_counter_once_with_the_last_serial(
    books, engine, monkeypatch
):
    written: list[tuple] = []
    original = Raw.many

    def spy(self, sql, rows):
        if "receipt_counters" in sql:
            written.extend(rows)
        return original(self, sql, rows)

    monkeypatch.setattr(Raw, "many", spy)

    class Refused(Exception):
        pass

    def refused(uow):
        _gift_in(uow, books.donor_id, "7")  # the unit's first serial, then the failure
        raise Refused

    with UnitOfWork(engine) as uow:
        with pytest.raises(Refused):
            uow.attempt(refused)
        serials = [uow.attempt(lambda u: _gift_in(u, books.donor_id, "10")).serial]
        uow.flush()  # a flush before the commit does not write the counter
        serials += [uow.attempt(lambda u: _gift_in(u, books.donor_id, "10")).serial for _ in "ab"]
        assert written == []
        uow.commit()
    assert serials == ["HQ-2026-000001", "HQ-2026-000002", "HQ-2026-000003"]
    assert written == [("HQ", 2026, 3)]  # one row, the last number
    _, after = give(engine, books.donor_id)
    assert after.serial == "HQ-2026-000004"


def test_a_void_in_a_shared_unit_of_work_finds_a_receipt_issued_earlier_in_it(books, engine):
    with UnitOfWork(engine) as uow:
        entry = services.record_donation(
            uow, donor_id=books.donor_id, fund="LUHUO", amount=cny("10"), received_on=DAY
        )
        issued = issue_receipt(uow.connection, entry, officer="x", now=NOW, link=False, uow=uow)
        replacement = void_receipt(
            uow.connection,
            issued.serial,
            reason="姓名有误",
            by="officer",
            now=NOW,
            replacement=entry,
            link=False,
            uow=uow,
        )
        uow.commit()
    assert (issued.serial, replacement.serial) == ("HQ-2026-000001", "HQ-2026-000002")
    with engine.connect() as conn:
        assert get_receipt(conn, issued.serial).replaced_by == "HQ-2026-000002"
