"""The administrator's webhook subscriptions in the console: subscribe a URL (its secret shown
once), list, disable, over `usecases.delivery` as the API's `/api/v1/webhooks`; admins only."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ledger.storage import tables
from tests.api.conftest import Caller
from tests.console.conftest import csrf_of, key_of, sign_in
from usecases import delivery
from usecases.tokens import create_token

PAGE = "/console/admin/webhooks"


def _books(app: Flask) -> Any:
    return app.extensions["huiquan"].books


def _api(app: Flask, role: str = "admin") -> Caller:
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    return Caller(app.test_client(), create_token(_books(app).engine, role=role, name=name))


def _form(client: FlaskClient) -> dict[str, str]:
    page = client.get(PAGE)
    assert page.status_code == 200, page.status_code
    return {"csrf_token": csrf_of(page), "_key": key_of(page)}


def _error_of(html: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="e-{name}">([^<]*)</p>', html)
    assert found, f"no error beside {name}"
    return found.group(1).strip()


def _events(app: Flask, action: str) -> list[Any]:
    t = tables.audit_events
    with _books(app).engine.connect() as conn:
        query = select(t).where(t.c.action == action, t.c.outcome == "success")
        return list(conn.execute(query.order_by(t.c.sequence)))


def test_an_admin_subscribes_a_url_sees_its_secret_once_and_disables_it(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["admin"])
    assert f'href="{PAGE}"' in client.get("/console/deliveries").get_data(as_text=True)
    assert f'href="{PAGE}"' in client.get("/console/admin/").get_data(as_text=True)
    sent = {
        **_form(client),
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
    listed = _api(app).get("/api/v1/webhooks").get_json()["items"]
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
    assert _api(app).get("/api/v1/webhooks").get_json()["items"][0]["active"] is False
    made_event, replay = _events(app, "console webhooks")
    assert made_event.target == PAGE and made_event.role == "admin" and made_event.actor == "李管理"
    assert replay.idempotency_key == made_event.idempotency_key
    (disabled,) = _events(app, "console webhook-disable")
    assert disabled.target == f"{PAGE}/{sub}/disable"


def test_the_secret_shown_is_the_one_the_deliveries_are_signed_with(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    from usecases.delivery import _unseal

    sign_in(client, users["admin"])
    made = client.post(
        PAGE, data={**_form(client), "url": "http://127.0.0.1:9/hook", "event_receipt_issued": "on"}
    )
    shown = re.search(r'id="secret" value="(whsec_[^"]+)"', made.get_data(as_text=True))
    assert shown
    t = tables.webhook_subscriptions
    with _books(app).engine.connect() as conn:
        row = conn.execute(select(t.c.id, t.c.secret_sealed)).one()
    assert _unseal(_books(app), row.id, row.secret_sealed) == shown.group(1)


@pytest.mark.parametrize("role", ["officer", "auditor"])
def test_only_an_admin_may_see_subscribe_or_disable(
    app: Flask, client: FlaskClient, users: dict[str, str], role: str
) -> None:
    from usecases.unit import SYSTEM

    sub = delivery.create_subscription(
        _books(app), by=SYSTEM, url="https://sms.example.org/in", events=["receipt.issued"]
    )
    sign_in(client, users[role])
    assert client.get(PAGE).status_code == 403
    token = csrf_of(client.get("/console/"))
    sent = {"csrf_token": token, "url": "https://x.example.org", "event_gift_spent": "on"}
    assert client.post(PAGE, data=sent).status_code == 403
    assert client.post(f"{PAGE}/{sub.id}/disable", data={"csrf_token": token}).status_code == 403
    assert f'href="{PAGE}"' not in client.get("/console/office").get_data(as_text=True)
    assert [(s.id, s.active) for s in delivery.list_subscriptions(_books(app))] == [(sub.id, True)]
    assert _api(app, role).get("/api/v1/webhooks").status_code == 403  # as in the API


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
        refused = client.post(PAGE, data={**_form(client), **sent})
        assert refused.status_code == 422, sent
        html = refused.get_data(as_text=True)
        assert _error_of(html, field) == words
        if sent.get("url"):
            assert f'value="{sent["url"]}"' in html  # what was typed is kept
    assert delivery.list_subscriptions(_books(app)) == []
    assert _events(app, "console webhooks") == []
    off = client.post(f"{PAGE}/sub_nope/disable", data={"csrf_token": csrf_of(client.get(PAGE))})
    assert off.status_code == 404
    assert _events(app, "console webhook-disable") == []


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
                _books(app), by=SYSTEM, url=url, events=["gift.spent"], description=description
            )
        assert refused.value.field == field, (url, description)
    made = delivery.create_subscription(
        _books(app), by=SYSTEM, url="http://127.0.0.1:8080/h", events=["gift.spent"]
    )
    assert made.secret and made.secret.startswith("whsec_")
