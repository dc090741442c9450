"""The administrator's webhook subscriptions in the console: subscribe a URL (its secret shown
once), list, disable, over `usecases.delivery` as the API's `/api/v1/webhooks`; admins only."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ledger.storage import tables
from tests.console.conftest import (
    api_as,
    books_of,
    csrf_of,
    error_of,
    events,
    form_of,
    linked_from,
    sign_in,
)
from usecases import delivery

PAGE = "/console/admin/webhooks"


def test_an_admin_subscribes_a_url_sees_its_secret_once_and_disables_it(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["admin"])
    linked_from(client, PAGE, "/console/deliveries", "/console/admin/")
    sent = {
        **form_of(client, PAGE),
        "url": "https://wechat.example.org/huiquan",
        "event_gift_spent": "on",
        "event_need_answered": "on",
        "description": "微信公众号",
    }
    made = client.post(PAGE, data=sent)
    assert made.status_code == 201
    html = made.get_data(as_text=True)
    secret = re.search(r'id="secret" value="(whsec_[^"]+)"', html)
    assert secret and "不会再次显示" in html
    again = client.post(PAGE, data=sent)  # the same form sent twice subscribes once
    assert again.status_code == 201
    repeated = again.get_data(as_text=True)
    assert "whsec_" not in repeated and "此表单已提交过" in repeated
    listed = api_as(app).get("/api/v1/webhooks").get_json()["items"]
    assert [(s["url"], s["events"], s["description"], s["active"]) for s in listed] == [
        ("https://wechat.example.org/huiquan", ["gift.spent", "need.answered"], "微信公众号", True)
    ]
    assert listed[0]["created_by"] == "李管理"
    page = client.get(PAGE).get_data(as_text=True)
    assert "https://wechat.example.org/huiquan" in page and "善款已使用" in page
    assert "whsec_" not in page  # never shown again
    sub = listed[0]["id"]
    off = client.post(f"{PAGE}/{sub}/disable", data={"csrf_token": csrf_of(client.get(PAGE))})
    assert off.status_code == 303
    assert "订阅已停用" in client.get(off.location).get_data(as_text=True)
    assert api_as(app).get("/api/v1/webhooks").get_json()["items"][0]["active"] is False
    made_event, replay = events(app, "console webhooks")
    assert made_event.target == PAGE and made_event.role == "admin" and made_event.actor == "李管理"
    assert replay.idempotency_key == made_event.idempotency_key
    (disabled,) = events(app, "console webhook-disable")
    assert disabled.target == f"{PAGE}/{sub}/disable"


def test_the_secret_shown_is_the_one_the_deliveries_are_signed_with(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    from usecases.delivery import _unseal

    sign_in(client, users["admin"])
    made = client.post(
        PAGE,
        data={
            **form_of(client, PAGE),
            "url": "http://127.0.0.1:9/hook",
            "event_receipt_issued": "on",
        },
    )
    shown = re.search(r'id="secret" value="(whsec_[^"]+)"', made.get_data(as_text=True))
    assert shown
    t = tables.webhook_subscriptions
    with books_of(app).engine.connect() as conn:
        row = conn.execute(select(t.c.id, t.c.secret_sealed)).one()
    assert _unseal(books_of(app), row.id, row.secret_sealed) == shown.group(1)


@pytest.mark.parametrize("role", ["officer", "auditor"])
def test_only_an_admin_may_see_subscribe_or_disable(
    app: Flask, client: FlaskClient, users: dict[str, str], role: str
) -> None:
    from usecases.unit import SYSTEM

    sub = delivery.create_subscription(
        books_of(app), by=SYSTEM, url="https://sms.example.org/in", events=["receipt.issued"]
    )
    sign_in(client, users[role])
    assert client.get(PAGE).status_code == 403
    token = csrf_of(client.get("/console/"))
    sent = {"csrf_token": token, "url": "https://x.example.org", "event_gift_spent": "on"}
    assert client.post(PAGE, data=sent).status_code == 403
    assert client.post(f"{PAGE}/{sub.id}/disable", data={"csrf_token": token}).status_code == 403
    assert f'href="{PAGE}"' not in client.get("/console/office").get_data(as_text=True)
    assert [(s.id, s.active) for s in delivery.list_subscriptions(books_of(app))] == [
        (sub.id, True)
    ]
    assert api_as(app, role).get("/api/v1/webhooks").status_code == 403  # as in the API


def test_a_bad_address_or_no_event_is_refused_beside_its_field_and_subscribes_nothing(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["admin"])
    for sent, field, words in (
        (
            {"url": "ftp://files.example.org/x", "event_gift_spent": "on"},
            "url",
            "请填写 http:// 或 https:// 网址，例如 https://example.org/hooks。",
        ),
        (
            {"url": "https://", "event_gift_spent": "on"},
            "url",
            "请填写 http:// 或 https:// 网址，例如 https://example.org/hooks。",
        ),
        ({"url": "https://ok.example.org/h"}, "event_receipt_issued", "请至少勾选一个事件。"),
        ({"event_gift_spent": "on"}, "url", "此栏为必填项。"),
        (
            {"url": "https://ok.example.org/h", "event_gift_spent": "on", "description": "a\tb"},
            "description",
            "请删除文字中的控制字符。",
        ),
    ):
        refused = client.post(PAGE, data={**form_of(client, PAGE), **sent})
        assert refused.status_code == 422, sent
        html = refused.get_data(as_text=True)
        assert error_of(html, field) == words
        if sent.get("url"):
            assert f'value="{sent["url"]}"' in html  # what was typed is kept
    assert delivery.list_subscriptions(books_of(app)) == []
    assert events(app, "console webhooks") == []
    off = client.post(f"{PAGE}/sub_nope/disable", data={"csrf_token": csrf_of(client.get(PAGE))})
    assert off.status_code == 404
    assert events(app, "console webhook-disable") == []


def test_the_use_case_refuses_what_the_api_refuses(app: Flask) -> None:
    """The address and description rules live in the use case, so both doors meet them."""
    from ledger.errors import InvalidEntry
    from usecases.unit import SYSTEM

    for url, description, field in (
        ("https://", "", "url"),
        ("https://exa mple.org/h", "", "url"),
        ("https://x.org:99999/h", "", "url"),
        ("x.org/h", "", "url"),
        ("https://x.org/h", "两行\n说明", "description"),
        ("https://x.org/h", "长" * 201, "description"),
    ):
        with pytest.raises(InvalidEntry) as refused:
            delivery.create_subscription(
                books_of(app), by=SYSTEM, url=url, events=["gift.spent"], description=description
            )
        assert refused.value.field == field, (url, description)
    made = delivery.create_subscription(
        books_of(app), by=SYSTEM, url="http://127.0.0.1:8080/h", events=["gift.spent"]
    )
    assert made.secret and made.secret.startswith("whsec_")
