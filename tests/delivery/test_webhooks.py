"""Webhooks: subscriptions per event, deliveries queued with the event's own transaction, signed
(checked by the reference library on a loopback receiver), retried, dead-lettered, replayed,
and nothing lost when the worker is killed mid-flight."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from ledger.errors import InsufficientFunds, InvalidEntry, NotFound
from ledger.storage.tables import outbox_messages
from ledger.storage.unit_of_work import UnitOfWork
from tests.delivery.conftest import (
    BASE_URL,
    OFFICER,
    give,
    new_donor,
    payloads,
    settings,
    spend,
    subscribe,
)
from usecases import delivery
from usecases.delivery import GIFT_SPENT, NEED_ANSWERED, RECEIPT_ISSUED, deliver_once
from usecases.unit import Actor

ADMIN = Actor("admin", ("admin",))


def messages(books) -> int:
    with books.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(outbox_messages)))


def test_a_receipt_issued_webhook_arrives_signed_with_the_receipts_link(books, receiver) -> None:
    subscribe(books, receiver, RECEIPT_ISSUED)
    donor = new_donor(books, "陈美玲")
    gift = give(books, donor, "5000.00")
    assert deliver_once(books, settings()).sent == 1
    [got] = receiver.got
    assert receiver.refused == []
    body = json.loads(got.body)
    assert body["type"] == "receipt.issued"
    data = body["data"]
    assert data["receipt"] == gift.receipt.serial and data["donor_id"] == donor
    assert (data["amount"], data["currency"], data["fund"]) == ("5000.00", "CNY", "R")
    assert data["receipt_url"] == f"{BASE_URL}/r/{gift.receipt.token}"
    assert got.headers["webhook-id"].startswith("msg_")
    assert got.headers["content-type"] == "application/json"


def test_gift_spent_names_each_donors_share_first_in_first_out_and_the_place(
    books, receiver
) -> None:
    subscribe(books, receiver, GIFT_SPENT)
    first, second = new_donor(books, "甲"), new_donor(books, "乙")
    gift_1, gift_2 = give(books, first, "300.00"), give(books, second, "500.00")
    disbursement = spend(books, "400.00")
    assert deliver_once(books, settings()).sent == 2
    spent = sorted(payloads(receiver.got, "gift.spent"), key=lambda d: d["amount"])
    assert [(d["donor_id"], d["amount"], d["receipt"]) for d in spent] == [
        (second, "100.00", gift_2.receipt.serial),
        (first, "300.00", gift_1.receipt.serial),
    ]
    for data in spent:
        assert data["disbursement_id"] == disbursement.id
        assert data["project"] == {
            "code": "P",
            "name": "乡村卫生室设备",
            "county": "炉霍县",
            "town": "新都镇",
        }
        assert "炉霍县" in data["summary"]["zh-Hans"] and "reached" in data["summary"]["en"]
        assert "设备采购" not in json.dumps(data, ensure_ascii=False)  # memos never travel


def test_a_scholarship_payout_announces_the_gifts_it_spent_without_naming_the_student(
    books, receiver
) -> None:
    from ledger import services
    from ledger.money import Money
    from usecases import scholarships

    subscribe(books, receiver, GIFT_SPENT)
    donor = new_donor(books, "甲")
    gift = give(books, donor, "2000.00")
    with UnitOfWork(books.engine) as uow:
        child = services.register_beneficiary(
            uow, cohort="2024秋", county="炉霍县", personal={"name": "卓玛"}, secret=b"k" * 32
        )
        award, _ = services.award_scholarship(
            uow,
            fund="R",
            beneficiary_id=child.id,
            amount=Money.parse("1500", "CNY"),
            term="2026春",
            awarded_on=dt.date.today(),
        )
        uow.commit()
    for _ in range(2):  # a replay announces nothing again
        payout = scholarships.pay_scholarship(
            books,
            award_id=award.id,
            amount="600.00",
            currency="CNY",
            paid_on=dt.date.today(),
            by=OFFICER,
            key="payout-1",
        )
    assert deliver_once(books, settings()).sent == 1
    [data] = payloads(receiver.got, "gift.spent")
    assert (data["donor_id"], data["amount"], data["receipt"]) == (
        donor,
        "600.00",
        gift.receipt.serial,
    )
    assert data["use"] == "scholarship" and data["disbursement_id"] == payout.entry.id
    assert data["project"] == {} and "助学金" in data["summary"]["zh-Hans"]
    text = json.dumps(data, ensure_ascii=False)
    assert child.id not in text and "卓玛" not in text and award.id not in text


def test_goods_given_in_kind_announce_their_handover_at_carrying_value(books, receiver) -> None:
    from ledger.money import Money
    from usecases import gifts, handover

    subscribe(books, receiver, GIFT_SPENT)
    donor = new_donor(books, "华西医疗器械公司")
    gift = gifts.record_in_kind(
        books,
        by=OFFICER,
        donor_id=donor,
        fund="R",
        description="手术无影灯",
        quantity="10 台",
        fair_value=Money.parse("100000.00", "CNY"),
        valuation_basis="发票",
        received_on=dt.date.today(),
    )
    handed = handover.hand_over(
        books,
        gift.entry.id,
        by=OFFICER,
        quantity="4",
        recipient="炉霍县人民医院",
        handed_over_on=dt.date.today(),
        project="P",
    )
    assert deliver_once(books, settings()).sent == 1
    [data] = payloads(receiver.got, "gift.spent")
    assert data["use"] == "in_kind_handover" and data["disbursement_id"] == handed.id
    assert (data["donor_id"], data["gift_entry_id"], data["receipt"]) == (
        donor,
        gift.entry.id,
        gift.receipt.serial,
    )
    assert (data["amount"], data["currency"], data["fund"]) == ("40000.00", "CNY", "R")
    assert data["goods"] == {"description": "手术无影灯", "quantity": "4", "unit": "台"}
    assert data["project"]["county"] == "炉霍县"
    assert (
        data["summary"]["zh-Hans"]
        == "您捐赠的手术无影灯（4台）已交付炉霍县新都镇，用于「乡村卫生室设备」。"
    )
    assert "人民医院" not in json.dumps(data, ensure_ascii=False)  # the recipient is not named


def test_an_operation_refused_announces_nothing(books, receiver) -> None:
    subscribe(books, receiver, GIFT_SPENT, RECEIPT_ISSUED)
    with pytest.raises(InsufficientFunds):
        spend(books, "1.00")
    assert messages(books) == 0


def test_an_idempotent_replay_of_a_disbursement_announces_nothing_twice(books, receiver) -> None:
    from ledger.money import Money
    from usecases import spending

    subscribe(books, receiver, GIFT_SPENT)
    give(books, new_donor(books, "甲"), "300.00")
    for _ in range(2):
        spending.record_disbursement(
            books,
            by=OFFICER,
            key="disb-1",
            fund="R",
            project="P",
            amount=Money.parse("100.00", "CNY"),
            paid_on=dt.date.today(),
        )
    assert messages(books) == 1


def test_subscriptions_are_per_event_and_a_disabled_one_gets_nothing_more(books, receiver) -> None:
    only_spent = subscribe(books, receiver, GIFT_SPENT)
    donor = new_donor(books, "甲")
    give(books, donor, "300.00")
    assert messages(books) == 0  # nobody asked for receipt.issued
    spend(books, "100.00")
    assert messages(books) == 1
    disabled = delivery.disable_subscription(books, only_spent, by=ADMIN)
    assert not disabled.active and disabled.disabled_at
    spend(books, "100.00")
    assert messages(books) == 1
    # what was queued before the disable is dead-lettered, not sent
    done = deliver_once(books, settings())
    assert (done.dead, receiver.got) == (1, [])
    [listed] = delivery.list_subscriptions(books)
    assert listed.secret is None and not listed.active


def test_bad_subscriptions_are_refused(books) -> None:
    with pytest.raises(InvalidEntry):
        delivery.create_subscription(books, by=ADMIN, url="https://x.example", events=["nope"])
    with pytest.raises(InvalidEntry):
        delivery.create_subscription(books, by=ADMIN, url="ftp://x.example", events=[GIFT_SPENT])
    with pytest.raises(NotFound):
        delivery.disable_subscription(books, "sub_missing", by=ADMIN)


def test_a_failing_receiver_is_retried_then_dead_lettered_and_a_replay_delivers(
    books, receiver
) -> None:
    subscribe(books, receiver, RECEIPT_ISSUED)
    give(books, new_donor(books, "甲"), "10.00")
    receiver.fail = 3
    for _ in range(3):
        deliver_once(books, settings(attempts=3))
    [dead], counts = delivery.list_deliveries(books, status="dead")
    assert counts["dead"] == 1 and dead.last_error == "HTTP 500"
    assert receiver.got == []
    delivery.replay(books, dead.id, by=OFFICER)
    assert deliver_once(books, settings()).sent == 1
    assert receiver.ids() == {dead.id}  # the same webhook-id: receivers deduplicate


def test_need_answered_is_an_event_a_subscriber_receives(books, receiver) -> None:
    subscribe(books, receiver, NEED_ANSWERED)
    with UnitOfWork(books.engine) as uow:
        delivery.need_answered(
            uow,
            need_id="N-7",
            title="新都镇卫生室需要血压计",
            county="炉霍县",
            town="新都镇",
            answered_on=dt.date(2026, 12, 1),
            amount="1200.00",
            currency="CNY",
        )
        uow.commit()
    deliver_once(books, settings())
    [data] = payloads(receiver.got, "need.answered")
    assert data == {
        "need_id": "N-7",
        "title": "新都镇卫生室需要血压计",
        "county": "炉霍县",
        "town": "新都镇",
        "answered_on": "2026-12-01",
        "amount": "1200.00",
        "currency": "CNY",
    }


def _worker(books, database_url: str, lease: float) -> subprocess.Popen:
    env = {
        **os.environ,
        "HUIQUAN_DATABASE_URL": database_url,
        "HUIQUAN_HOME": str(books.home),
        "HUIQUAN_PUBLIC_BASE_URL": BASE_URL,
        "HUIQUAN_DELIVERY_LEASE_SECONDS": str(lease),
        "HUIQUAN_DELIVERY_BACKOFF_SECONDS": "0",
        "PYTHONPATH": os.getcwd(),
    }
    env.pop("HUIQUAN_SMTP_HOST", None)
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "deliver", "--loop", "--interval", "0.2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_nothing_is_lost_when_the_worker_is_killed_mid_flight(
    books, receiver, database_url
) -> None:
    subscribe(books, receiver, RECEIPT_ISSUED, GIFT_SPENT)
    donors = [new_donor(books, f"捐赠人{n}") for n in range(4)]
    for donor in donors:
        give(books, donor, "100.00")
    spend(books, "250.00")  # three gifts paid it
    with books.engine.connect() as conn:
        expected = set(conn.scalars(select(outbox_messages.c.id)))
    assert len(expected) == 4 + 3

    receiver.stall = 30.0  # the first request hangs: the worker is mid-flight when killed
    worker = _worker(books, database_url, lease=2.0)
    try:
        deadline = time.monotonic() + 20
        while receiver.stall and time.monotonic() < deadline:  # until the request arrived
            time.sleep(0.05)
        assert receiver.stall == 0.0, "the worker never sent anything"
        time.sleep(0.3)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    assert len(receiver.ids()) < len(expected)

    again = _worker(books, database_url, lease=2.0)  # a fresh worker, once the lease expired
    try:
        receiver.wait_for(len(expected), timeout=40)
    finally:
        again.send_signal(signal.SIGTERM)
        again.wait(timeout=10)
    assert receiver.ids() == expected  # every event at least once, deduplicable by webhook-id
    assert receiver.refused == []
