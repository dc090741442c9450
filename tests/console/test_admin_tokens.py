"""The administrator's API tokens in the console: make one (its secret shown once), list them
(never a secret), revoke one, over `usecases.tokens` as the API's `/api/v1/tokens`; admins only.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from ledger.storage import tables
from tests.api.conftest import Caller
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
from usecases import tokens
from usecases.unit import SYSTEM
from usecases.users import create_user

PAGE = "/console/admin/tokens"


def _gateway_user(app: Flask) -> None:
    create_user(
        books_of(app), login="wechat", display_name="微信网关", roles=("officer",), by=SYSTEM
    )


def test_an_admin_makes_a_token_sees_it_once_and_it_works_until_revoked(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    _gateway_user(app)
    sign_in(client, users["admin"])
    linked_from(client, PAGE, "/console/admin/", "/console/admin/users")
    sent = {
        **form_of(client, PAGE),
        "name": "wechat-gateway",
        "role": "officer",
        "user": "wechat",
        "expires_in_days": "30",
    }
    made = client.post(PAGE, data=sent)
    assert made.status_code == 201
    html = made.get_data(as_text=True)
    secret = re.search(r'id="secret" value="(hq_[^"]+)"', html)
    assert secret and "不会再次显示" in html and 'data-copy="secret"' in html
    works = Caller(app.test_client(), secret.group(1)).get("/api/v1/funds")
    assert works.status_code == 200  # the token shown is the one the API takes
    again = client.post(PAGE, data=sent)  # the same form sent twice makes one token
    assert again.status_code == 201
    repeated = again.get_data(as_text=True)
    assert "hq_" not in repeated and "此表单已提交过" in repeated
    listed = api_as(app).get("/api/v1/tokens").get_json()["items"]
    ours = [t for t in listed if t["name"] == "wechat-gateway"]
    assert len(ours) == 1 and ours[0]["role"] == "officer" and ours[0]["revoked_at"] is None
    (info,) = [t for t in tokens.list_tokens(books_of(app).engine) if t.name == "wechat-gateway"]
    assert info.user_id == ours[0]["user_id"] and info.display_name == "微信网关"
    created = dt.datetime.fromisoformat(info.created_at)
    expires = dt.datetime.fromisoformat(info.expires_at or "")
    assert expires - created == dt.timedelta(days=30)
    page = client.get(PAGE).get_data(as_text=True)
    row = re.search(r"<tr><td><code>wechat-gateway</code>.*?</tr>", page, re.DOTALL)
    assert row, "the token is not listed"
    assert "经办（登记）" in row.group(0) and "微信网关" in row.group(0)
    assert expires.date().isoformat() in row.group(0) and "启用" in row.group(0)
    assert "hq_" not in page  # never shown again
    token_id = ours[0]["id"]
    revoke = {"csrf_token": csrf_of(client.get(PAGE))}
    off = client.post(f"{PAGE}/{token_id}/revoke", data=revoke)
    assert off.status_code == 303
    shown = client.get(off.location).get_data(as_text=True)
    assert "令牌 wechat-gateway 已撤销" in shown and "已撤销" in shown
    refused = Caller(app.test_client(), secret.group(1)).get("/api/v1/funds")
    assert refused.status_code == 401
    assert client.post(f"{PAGE}/{token_id}/revoke", data=revoke).status_code == 303  # harmless
    made_event, replay = events(app, "console tokens")
    assert (made_event.actor, made_event.role, made_event.target) == ("李管理", "admin", PAGE)
    assert replay.idempotency_key == made_event.idempotency_key
    (revoked,) = events(app, "console token-revoke")
    assert revoked.target == f"{PAGE}/{token_id}/revoke"
    api = api_as(app)
    assert api.post("/api/v1/tokens", {"name": "api-made", "role": "auditor"}).status_code == 201
    (theirs,) = events(app, "POST /api/v1/tokens")
    assert theirs.detail == made_event.detail  # the same use case writes the same detail


def test_a_token_made_without_a_user_acts_as_a_user_of_its_name_and_an_expired_one_says_so(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["admin"])
    sent = {
        **form_of(client, PAGE),
        "name": "nightly-export",
        "role": "auditor",
        "expires_in_days": "90",
    }
    assert client.post(PAGE, data=sent).status_code == 201
    (info,) = [t for t in tokens.list_tokens(books_of(app).engine) if t.name == "nightly-export"]
    assert info.display_name == "nightly-export" and info.role == "auditor"
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).isoformat()
    with books_of(app).engine.begin() as conn:
        conn.execute(
            update(tables.api_tokens)
            .where(tables.api_tokens.c.id == info.id)
            .values(expires_at=past)
        )
    row = re.search(
        r"<tr><td><code>nightly-export</code>.*?</tr>",
        client.get(PAGE).get_data(as_text=True),
        re.DOTALL,
    )
    assert row and "已过期" in row.group(0) and "撤销" in row.group(0)


@pytest.mark.parametrize("role", ["officer", "auditor"])
def test_only_an_admin_may_see_make_or_revoke_tokens(
    app: Flask, client: FlaskClient, users: dict[str, str], role: str
) -> None:
    existing = tokens.create_token(books_of(app).engine, role="auditor", name="kept")
    (kept,) = tokens.list_tokens(books_of(app).engine)
    sign_in(client, users[role])
    assert client.get(PAGE).status_code == 403
    token = csrf_of(client.get("/console/"))
    sent = {"csrf_token": token, "_key": "k" * 20, "name": "x", "role": "admin"}
    assert client.post(PAGE, data=sent).status_code == 403
    assert client.post(f"{PAGE}/{kept.id}/revoke", data={"csrf_token": token}).status_code == 403
    assert [(t.name, t.revoked_at) for t in tokens.list_tokens(books_of(app).engine)] == [
        ("kept", None)
    ]
    assert Caller(app.test_client(), existing).get("/api/v1/funds").status_code == 200
    assert api_as(app, role).get("/api/v1/tokens").status_code == 403  # as in the API


def test_bad_token_input_is_refused_beside_its_field_and_makes_nothing(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    _gateway_user(app)
    tokens.create_token(books_of(app).engine, role="auditor", name="taken")
    sign_in(client, users["admin"])
    base = {"name": "new-one", "role": "officer", "user": "wechat", "expires_in_days": "90"}
    lifetime = "请填写 1 至 3650 之间的天数。"
    for sent, field, words in (
        ({"role": "admin"}, "role", "该用户没有此角色：请先在“用户”页面为其添加。"),
        ({"name": "taken", "user": ""}, "name", "已有同名令牌（已撤销的令牌仍占用其名称）。"),
        ({"expires_in_days": "0"}, "expires_in_days", lifetime),
        ({"expires_in_days": "3651"}, "expires_in_days", lifetime),
        ({"expires_in_days": "三十"}, "expires_in_days", lifetime),
        ({"expires_in_days": "-5"}, "expires_in_days", lifetime),
        ({"user": "nobody"}, "user", "请从选项中选择。"),
        ({"role": "root"}, "role", "请从选项中选择。"),
        ({"name": ""}, "name", "此栏为必填项。"),
        ({"name": "n" * 101}, "name", "内容过长。"),
    ):
        refused = client.post(PAGE, data={**form_of(client, PAGE), **base, **sent})
        assert refused.status_code == 422, sent
        html = refused.get_data(as_text=True)
        assert error_of(html, field) == words, sent
        assert "hq_" not in html
    assert [t.name for t in tokens.list_tokens(books_of(app).engine)] == ["taken"]
    assert events(app, "console tokens") == []
    missing = client.post(f"{PAGE}/nope/revoke", data={"csrf_token": csrf_of(client.get(PAGE))})
    assert missing.status_code == 404 and events(app, "console token-revoke") == []


def test_the_use_case_refuses_a_name_the_api_refuses(app: Flask) -> None:
    from ledger.errors import InvalidEntry

    for name in ("n" * 101, "two\nlines", "bell\x07"):
        with pytest.raises(InvalidEntry) as refused:
            tokens.issue_token(books_of(app), role="auditor", name=name)
        assert refused.value.field == "name"
    assert tokens.list_tokens(books_of(app).engine) == []


def test_the_api_and_the_console_take_the_same_token_name_length() -> None:
    from marshmallow import validate

    from api.schemas import TokenIn
    from console.admin.tokens import TOKEN_FIELDS

    api = next(v for v in TokenIn().fields["name"].validators if isinstance(v, validate.Length))
    assert api.max == next(f.max_length for f in TOKEN_FIELDS if f.name == "name")


def test_a_refused_token_leaves_no_success_in_the_trail_through_either_door(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    """The key's look-up used to commit the audit event before the creation was refused."""
    tokens.create_token(books_of(app).engine, role="auditor", name="taken")
    sign_in(client, users["admin"])
    sent = {**form_of(client, PAGE), "name": "taken", "role": "auditor", "expires_in_days": "90"}
    assert client.post(PAGE, data=sent).status_code == 422
    assert events(app, "console tokens") == []
    api = api_as(app)
    refused = api.post("/api/v1/tokens", {"name": "taken", "role": "auditor"}, key="tok-taken")
    assert refused.status_code == 409
    t = tables.audit_events
    with books_of(app).engine.connect() as conn:
        trail = conn.execute(
            select(t.c.outcome, t.c.status).where(t.c.action == "POST /api/v1/tokens")
        ).all()
    assert [tuple(r) for r in trail] == [("refused", 409)]
