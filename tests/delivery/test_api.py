"""The delivery API: donors' addresses, webhook subscriptions (admins), deliveries and replays
(officers), each refused to the wrong role, with the whole path to a loopback receiver."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.delivery.conftest import settings
from usecases.delivery import deliver_once


@pytest.fixture
def opened(admin) -> str:
    """A restricted fund with a project, and a donor; the donor's id."""
    admin.created(
        "/api/v1/funds", {"code": "R", "name": "医疗", "restricted": True, "purpose": "x"}
    )
    admin.created(
        "/api/v1/projects",
        {"code": "P", "name": "卫生室", "fund": "R", "county": "炉霍县"},
        key="project-p",
    )
    return admin.created("/api/v1/donors", {"name": "陈美玲"}, key="donor-1")["id"]


def test_an_officer_records_a_donors_address_and_a_bad_one_changes_nothing(
    officer, auditor, opened
) -> None:
    path = f"/api/v1/donors/{opened}/email"
    assert (
        officer.client.put(
            path, json={"email": "mei@example.hk"}, headers=officer.headers()
        ).status_code
        == 200
    )
    bad = officer.client.put(path, json={"email": "not an address"}, headers=officer.headers())
    assert bad.status_code == 422 and "email" in bad.get_json()["errors"]
    assert officer.get(path).get_json() == {"donor_id": opened, "email": "mei@example.hk"}
    assert auditor.get(path).status_code == 403
    missing = officer.client.put(
        "/api/v1/donors/nobody/email", json={"email": ""}, headers=officer.headers()
    )
    assert missing.status_code == 404


def test_admins_subscribe_list_and_disable_webhooks_and_others_may_not(
    admin, officer, opened
) -> None:
    made = admin.created(
        "/api/v1/webhooks",
        {
            "url": "https://wechat.example.org/hooks",
            "events": ["gift.spent", "receipt.issued"],
            "description": "微信公众号",
        },
    )
    assert made["secret"].startswith("whsec_") and made["active"] is True
    listed = admin.get("/api/v1/webhooks").get_json()["items"]
    assert [w["id"] for w in listed] == [made["id"]] and "secret" not in listed[0]
    assert (
        officer.post(
            "/api/v1/webhooks", {"url": "https://x.org", "events": ["gift.spent"]}
        ).status_code
        == 403
    )
    bad = admin.post("/api/v1/webhooks", {"url": "https://x.org", "events": ["gift.lost"]})
    assert bad.status_code == 422
    off = admin.post(f"/api/v1/webhooks/{made['id']}/disable")
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert admin.post("/api/v1/webhooks/sub_nope/disable").status_code == 404


def test_a_gift_through_the_api_is_delivered_listed_and_replayed(
    app: Flask, admin, officer, opened, receiver
) -> None:
    made = admin.created("/api/v1/webhooks", {"url": receiver.url, "events": ["receipt.issued"]})
    receiver.secret = made["secret"]
    gift = officer.created(
        "/api/v1/donations",
        {
            "donor_id": opened,
            "fund": "R",
            "amount": "88.00",
            "currency": "CNY",
            "received_on": "2026-12-01",
            "method": "bank",
        },
        key="gift-1",
    )
    books = app.extensions["huiquan"].books
    assert deliver_once(books, settings()).sent == 1
    page = officer.get("/api/v1/deliveries?status=sent").get_json()
    assert page["counts"]["sent"] == 1
    [item] = page["items"]
    assert item["event_type"] == "receipt.issued" and item["recipient"] == receiver.url
    detail = officer.get(f"/api/v1/deliveries/{item['id']}").get_json()
    assert detail["payload"]["data"]["receipt"] == gift["receipt"]["serial"]
    assert [h["outcome"] for h in detail["history"]] == ["sent"]

    replayed = officer.post(f"/api/v1/deliveries/{item['id']}/replay")
    assert replayed.status_code == 200 and replayed.get_json()["status"] == "pending"
    deliver_once(books, settings())
    assert [r.headers["webhook-id"] for r in receiver.got] == [item["id"], item["id"]]
    assert officer.post("/api/v1/deliveries/msg_nope/replay").status_code == 404
    assert officer.get("/api/v1/deliveries?status=lost").status_code == 422


def test_a_replayed_subscription_request_answers_the_same_subscription_without_its_secret(
    admin,
) -> None:
    body = {"url": "https://sms.example.org/hook", "events": ["gift.spent"]}
    first = admin.created("/api/v1/webhooks", body, key="wh-1")
    again = admin.created("/api/v1/webhooks", body, key="wh-1")
    assert again["id"] == first["id"] and first["secret"] and again["secret"] is None
    assert len(admin.get("/api/v1/webhooks").get_json()["items"]) == 1
    changed = admin.post("/api/v1/webhooks", {**body, "events": ["receipt.issued"]}, key="wh-1")
    assert changed.status_code == 422
    assert changed.get_json()["code"] == "idempotency_conflict"
