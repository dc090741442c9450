"""The needs board through its use cases: a need's whole journey, moderation, offers of money,
goods and hours, and the rules that keep the board honest."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from ledger.errors import InvalidEntry
from ledger.money import Money
from tests.community.conftest import MODERATOR, OFFICER, TODAY, World
from usecases import community, corrections, gifts
from usecases.community import GoodsLine
from usecases.unit import Actor

CONTACT = "联系人 张阿姨 13800001111 canary-contact-7731"


def _post(
    world: World, kind: str = "money", client: str = "c1", category: str = "elder_care"
) -> str:
    details: dict[str, object] = {
        "money": {"goal": Money.parse("1000.00", "CNY")},
        "goods": {"goods": [GoodsLine("轮椅", 2, "台")]},
        "hours": {"hours": 10},
    }[kind]
    need = community.post_need(
        world.books,
        title="长者食堂需要帮助",
        description="每天午餐六十位老人。",
        category=category,
        place="510104",
        kind=kind,
        contact=CONTACT,
        client=client,
        **details,  # type: ignore[arg-type]
    )
    return need.id


def _publish(world: World, need_id: str) -> None:
    community.publish_need(
        world.books, need_id, fund=world.fund, project=world.project, by=MODERATOR
    )


def test_a_money_need_goes_from_pending_to_reported_as_the_books_show(world: World) -> None:
    need_id = _post(world)
    assert community.get_need(world.books, need_id).status == "pending"
    assert community.list_needs(world.books) == []  # not on the board until published
    _publish(world, need_id)
    assert community.get_need(world.books, need_id).status == "open"
    offer = community.record_offer(
        world.books,
        need_id,
        donor_id=world.donor,
        kind="money",
        amount=Money.parse("600.00", "CNY"),
        by=OFFICER,
    )
    second = community.record_offer(
        world.books,
        need_id,
        donor_id=world.firm,
        kind="money",
        amount=Money.parse("400.00", "CNY"),
        by=OFFICER,
    )
    need = community.get_need(world.books, need_id)
    assert need.status == "answered" and need.pledged_minor == 100000 and need.paid_minor == 0
    assert [a for _, a, _ in need.history].count("answered") == 1
    assert offer.pledge_id and second.pledge_id
    gifts.record_donation(
        world.books,
        by=OFFICER,
        donor_id=world.donor,
        fund=world.fund,
        amount=Money.parse("600.00", "CNY"),
        received_on=TODAY,
        pledge_id=offer.pledge_id,
    )
    assert community.get_need(world.books, need_id).status == "answered"
    with pytest.raises(community.NeedClosed):
        community.report_need(world.books, need_id, report="还没完成", by=MODERATOR)
    paid = gifts.record_donation(
        world.books,
        by=OFFICER,
        donor_id=world.firm,
        fund=world.fund,
        amount=Money.parse("400.00", "CNY"),
        received_on=TODAY,
        pledge_id=second.pledge_id,
    )
    assert community.get_need(world.books, need_id).status == "fulfilled"
    # A reversed payment takes the need back: fulfilment is read from the books.
    reversal = corrections.reverse_entry(
        world.books, entry_id=paid.entry.id, reason="退回", by=OFFICER
    )
    assert community.get_need(world.books, need_id).paid_minor == 60000
    assert community.get_need(world.books, need_id).status == "answered"
    assert reversal is not None
    gifts.record_donation(
        world.books,
        by=OFFICER,
        donor_id=world.firm,
        fund=world.fund,
        amount=Money.parse("400.00", "CNY"),
        received_on=TODAY,
        pledge_id=second.pledge_id,
    )
    photo = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    need = community.report_need(
        world.books, need_id, report="六十位老人吃上了午餐。", photos=[photo], by=MODERATOR
    )
    assert need.status == "reported" and need.report.startswith("六十位") and len(need.photos) == 1
    found = community.need_photo(world.books, need.photos[0])
    assert found == ("image/png", photo, need_id)


def test_goods_are_fulfilled_when_delivered_as_in_kind_gifts_and_hours_by_the_register(
    world: World,
) -> None:
    goods_need = _post(world, "goods")
    _publish(world, goods_need)
    offer = community.record_offer(
        world.books,
        goods_need,
        donor_id=world.firm,
        kind="goods",
        goods=[GoodsLine("轮椅", 2, "台")],
        by=OFFICER,
    )
    assert offer.pledge_id is None
    delivered = community.record_delivery(
        world.books,
        offer.id,
        goods=[GoodsLine("轮椅", 1, "台")],
        fair_value=Money.parse("900.00", "CNY"),
        valuation_basis="发票",
        received_on=TODAY,
        by=OFFICER,
    )
    assert delivered.delivered == (GoodsLine("轮椅", 1, "台"),)
    assert community.get_need(world.books, goods_need).status == "answered"
    community.record_delivery(
        world.books,
        offer.id,
        goods=[GoodsLine("轮椅", 1, "台")],
        fair_value=Money.parse("900.00", "CNY"),
        valuation_basis="发票",
        received_on=TODAY,
        by=OFFICER,
        key="delivery-2",
    )
    assert community.get_need(world.books, goods_need).status == "fulfilled"

    hours_need = _post(world, "hours")
    _publish(world, hours_need)
    hours = community.record_offer(
        world.books, hours_need, donor_id=world.donor, kind="hours", hours=10, by=OFFICER
    )
    community.record_hours(world.books, hours.id, hours=4, served_on=TODAY, by=OFFICER)
    assert community.get_need(world.books, hours_need).status == "answered"
    community.record_hours(world.books, hours.id, hours=6, served_on=TODAY, by=OFFICER)
    assert community.get_need(world.books, hours_need).status == "fulfilled"
    # volunteer hours are not money: the journal has no entry naming the hours offer
    with world.books.engine.connect() as conn:
        memos = [str(m) for m in conn.execute(text("SELECT data FROM journal_entries"))]
    assert not any(hours.id in m for m in memos)


def test_moderation_declines_with_a_reason_edits_the_public_text_and_refuses_twice(
    world: World,
) -> None:
    need_id = _post(world)
    with pytest.raises(InvalidEntry):
        community.decline_need(world.books, need_id, reason="  ", by=MODERATOR)
    declined = community.decline_need(world.books, need_id, reason="重复", by=MODERATOR)
    assert declined.status == "declined" and declined.reason == "重复"
    with pytest.raises(community.NeedClosed):
        _publish(world, need_id)
    with pytest.raises(community.NeedClosed):
        community.record_offer(
            world.books,
            need_id,
            donor_id=world.donor,
            kind="money",
            amount=Money.parse("1.00", "CNY"),
            by=OFFICER,
        )
    other = _post(world)
    _publish(world, other)
    edited = community.edit_need(
        world.books, other, title="长者食堂", description="改写后的公开说明", by=MODERATOR
    )
    assert (edited.title, edited.description) == ("长者食堂", "改写后的公开说明")
    with world.books.engine.connect() as conn:  # the poster's words are kept
        assert conn.execute(
            text("SELECT title FROM needs WHERE id = :i"), {"i": other}
        ).scalar() == ("长者食堂需要帮助")
    with pytest.raises(DatabaseError, match="append-only"), world.books.engine.begin() as conn:
        conn.execute(text("UPDATE needs SET title = 'x'"))


def test_one_address_may_post_only_so_many_needs_an_hour(world: World) -> None:
    for _ in range(community.POSTS_PER_HOUR):
        _post(world, client="busy")
    with pytest.raises(community.TooManyPosts):
        _post(world, client="busy")
    _post(world, client="other")  # another address is not held back


def test_bad_needs_are_refused_and_change_nothing(world: World) -> None:
    with pytest.raises(InvalidEntry) as refused:
        _post(world, kind="money", category="nope")
    assert refused.value.field == "category"
    with pytest.raises(InvalidEntry):
        community.post_need(
            world.books,
            title="x\x1b[31m",
            description="d",
            category="health",
            place="510104",
            kind="hours",
            hours=3,
            contact="c",
            client="c",
        )
    assert community.list_needs(world.books, public=False) == []


def test_the_contact_is_kept_encrypted_and_read_only_by_contact_of(world: World) -> None:
    need_id = _post(world)
    assert community.contact_of(world.books, need_id) == {"contact": CONTACT}
    with world.books.engine.connect() as conn:
        dumped = " ".join(
            str(row)
            for name in ("needs", "need_events", "community_contacts")
            for row in conn.execute(text(f"SELECT * FROM {name}"))
        )
    assert "canary-contact" not in dumped


def test_the_first_offer_queues_one_need_answered_webhook_naming_the_need_and_its_county(
    world: World,
) -> None:
    import json

    from usecases import delivery

    admin = Actor("陈管理", ("admin",))
    delivery.create_subscription(
        world.books, by=admin, url="https://wechat.example/hook", events=[delivery.NEED_ANSWERED]
    )
    need_id = _post(world)
    _publish(world, need_id)
    for amount in ("600.00", "400.00"):  # only the first offer answers the need
        community.record_offer(
            world.books,
            need_id,
            donor_id=world.donor,
            kind="money",
            amount=Money.parse(amount, "CNY"),
            by=OFFICER,
        )
    with world.books.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event_type, payload FROM outbox_messages WHERE channel = 'webhook'")
        ).all()
    assert [r.event_type for r in rows] == ["need.answered"]
    body = rows[0].payload
    data = json.loads(body)["data"]
    assert data["need_id"] == need_id and data["county"] == "锦江区"
    assert data["title"] == "长者食堂需要帮助" and data["amount"] == "600.00"
    assert CONTACT not in body and "13800001111" not in body
