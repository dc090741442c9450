"""The administrator's reference data in the console: open a fund, open a project, add a place,
and the chart of accounts (add, close, re-open), over the use cases the API's `POST /funds`,
`/projects`, `/places`, `/accounts` and `/accounts/{code}/close|open` call.

Each write made here is read back through the console and the API; an officer or an auditor
is refused; bad input is shown beside its field and changes nothing; a form sent twice makes
one; the audit event says what the API's says.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ledger.errors import InvalidEntry
from tests.console.conftest import (
    Seeded,
    api_as,
    books_of,
    csrf_of,
    error_of,
    events,
    form_of,
    linked_from,
    sign_in,
)
from usecases import places, reference
from usecases.unit import SYSTEM

FUND = "/console/admin/funds/new"
PROJECT = "/console/admin/projects/new"
PLACES = "/console/admin/places"
ACCOUNTS = "/console/admin/accounts"
PURPOSE_WORDS = "限定性基金必须填写用途。"
CODE_WORDS = "1 至 40 个字母、数字、“.”、“_”或“-”，以字母或数字开头。"


def _items(app: Flask, path: str) -> list[dict[str, Any]]:
    answer = api_as(app, "auditor").get(path)
    assert answer.status_code == 200, answer.get_json()
    items: list[dict[str, Any]] = answer.get_json()["items"]
    return items


def _county_and_town(app: Flask) -> None:
    for code, kind, name, parent in (
        ("513327", "county", "炉霍县", ""),
        ("513327100", "town", "新都镇", "513327"),
    ):
        places.add_place(books_of(app), by=SYSTEM, code=code, kind=kind, name=name, parent=parent)


# -- funds ---------------------------------------------------------------------------------------
def test_an_admin_opens_a_fund_its_page_and_the_api_show_it_and_a_second_send_opens_none_more(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["admin"])
    linked_from(client, FUND, "/console/", "/console/admin/")
    sent = {
        **form_of(client, FUND),
        "code": "JYXC",
        "name": "简阳乡村振兴基金",
        "restricted": "on",
        "purpose": "简阳市乡村学校\r\n与道路",
    }
    answer = client.post(FUND, data=sent)
    assert answer.status_code == 303
    assert answer.location.endswith("/console/funds/JYXC?changed=opened")
    again = client.post(FUND, data=sent)  # the same form sent twice opens one fund
    assert again.status_code == 303 and again.location == answer.location
    page = client.get(answer.location).get_data(as_text=True)
    assert "基金已设立" in page and "简阳乡村振兴基金" in page and "限定性基金" in page
    assert "简阳乡村振兴基金" in client.get("/console/").get_data(as_text=True)
    listed = [f for f in _items(app, "/api/v1/funds") if f["code"] == "JYXC"]
    assert listed == [
        {
            "id": "JYXC",
            "code": "JYXC",
            "name": "简阳乡村振兴基金",
            "restricted": True,
            "purpose": "简阳市乡村学校\n与道路",
            "is_open": True,
        }
    ]
    made, replay = events(app, "console funds")
    assert (made.actor, made.role, made.target) == ("李管理", "admin", FUND)
    assert replay.idempotency_key == made.idempotency_key
    created = api_as(app).post(
        "/api/v1/funds", {"code": "API", "name": "API 基金", "restricted": False}, key="k-api-1"
    )
    assert created.status_code == 201, created.get_json()
    (theirs,) = events(app, "POST /api/v1/funds")
    assert made.detail == theirs.detail  # the same use case writes the same detail


def test_a_bad_fund_is_refused_beside_its_field_and_opens_nothing(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["admin"])
    before = _items(app, "/api/v1/funds")
    for sent, field, words in (
        ({"code": "新 基金", "name": "新基金"}, "code", CODE_WORDS),
        ({"code": "-X", "name": "新基金"}, "code", CODE_WORDS),
        ({"code": seeded.general, "name": "新基金"}, "code", "已有使用此代码的基金。"),
        ({"code": "NEW", "name": "新基金", "restricted": "on"}, "purpose", PURPOSE_WORDS),
        ({"code": "NEW"}, "name", "此栏为必填项。"),
        ({"code": "NEW", "name": "新\x1b基金"}, "name", "请删除文字中的控制字符。"),
        ({"code": "NEW", "name": "长" * 201}, "name", "内容过长。"),
    ):
        refused = client.post(FUND, data={**form_of(client, FUND), **sent})
        assert refused.status_code == 422, sent
        html = refused.get_data(as_text=True)
        assert error_of(html, field) == words, sent
        assert f'value="{sent["code"]}"' in html  # what was typed is kept
    assert _items(app, "/api/v1/funds") == before
    assert events(app, "console funds") == []


# -- projects ------------------------------------------------------------------------------------
def test_an_admin_opens_a_project_at_a_place_from_the_fund_page(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    _county_and_town(app)
    sign_in(client, users["admin"])
    fund_page = client.get(f"/console/funds/{seeded.general}").get_data(as_text=True)
    link = f"{PROJECT}?fund={seeded.general}"
    assert f'href="{link}"' in fund_page
    form = client.get(link).get_data(as_text=True)
    assert f'<option value="{seeded.general}" selected>' in form
    assert '<option value="513327100">炉霍县 · 新都镇</option>' in form
    sent = {
        **form_of(client, link),
        "fund": seeded.general,
        "code": "XD-ROAD",
        "name": "新都镇道路",
        "place": "513327100",
        "currency": "CNY",
        "budget": "12000.50",
    }
    answer = client.post(PROJECT, data=sent)
    assert answer.status_code == 303
    assert answer.location.endswith(
        f"/console/funds/{seeded.general}?changed=project&project=XD-ROAD"
    )
    assert client.post(PROJECT, data=sent).location == answer.location  # sent twice: one
    page = client.get(answer.location).get_data(as_text=True)
    assert "项目 XD-ROAD 已设立" in page and "新都镇道路" in page and "¥12,000.50" in page
    read = api_as(app, "officer").get("/api/v1/projects/XD-ROAD").get_json()
    assert read == {
        "id": "XD-ROAD",
        "code": "XD-ROAD",
        "name": "新都镇道路",
        "fund": seeded.general,
        "county": "炉霍县",
        "town": "新都镇",
        "budget": {"amount": "12000.50", "currency": "CNY"},
        "place": "513327100",
    }
    assert [p["code"] for p in _items(app, "/api/v1/projects")].count("XD-ROAD") == 1
    made, replay = events(app, "console projects")
    assert made.target == PROJECT and replay.idempotency_key == made.idempotency_key


def test_an_admin_opens_a_project_by_its_county_without_a_place(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["admin"])
    sent = {
        **form_of(client, PROJECT),
        "fund": seeded.restricted,
        "code": "JY-SCHOOL",
        "name": "简阳学校",
        "county": "简阳市",
        "currency": "CNY",
    }
    assert client.post(PROJECT, data=sent).status_code == 303
    read = api_as(app).get("/api/v1/projects/JY-SCHOOL").get_json()
    assert (read["county"], read["town"], read["place"]) == ("简阳市", "", None)
    assert read["budget"] == {"amount": "0.00", "currency": "CNY"}


def test_a_bad_project_is_refused_beside_its_field_and_opens_nothing(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["admin"])
    base = {"fund": seeded.general, "code": "NEW-P", "name": "新项目", "currency": "CNY"}
    before = _items(app, "/api/v1/projects")
    for sent, field, words in (
        ({}, "county", "请填写县，或选择地点。"),
        ({"county": "炉霍县", "code": seeded.project}, "code", "已有使用此代码的项目。"),
        ({"county": "炉霍县", "code": "a b"}, "code", CODE_WORDS),
        ({"county": "炉霍县", "fund": "NOPE"}, "fund", "请从选项中选择。"),
        ({"county": "炉霍县", "place": "999999"}, "place", "请从选项中选择。"),
        ({"county": "炉霍县", "budget": "12.345"}, "budget", "该币种没有这么多位小数。"),
        ({"county": "县" * 61}, "county", "内容过长。"),
    ):
        refused = client.post(PROJECT, data={**form_of(client, PROJECT), **base, **sent})
        assert refused.status_code == 422, sent
        html = refused.get_data(as_text=True)
        assert error_of(html, field) == words, sent
        assert 'value="新项目"' in html  # what was typed is kept
    assert _items(app, "/api/v1/projects") == before
    assert events(app, "console projects") == []


# -- places --------------------------------------------------------------------------------------
def test_an_admin_adds_a_county_a_town_and_a_village_and_the_api_lists_them(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["admin"])
    linked_from(client, PLACES, "/console/admin/", "/console/programmes", PROJECT)
    for code, kind, name, parent in (
        ("510185", "county", "简阳市", ""),
        ("510185101", "town", "石桥街道", "510185"),
        ("510185101201", "village", "石桥村", "510185101"),
    ):
        sent = {
            **form_of(client, PLACES),
            "kind": kind,
            "parent": parent,
            "code": code,
            "name": name,
            "official": "on" if kind == "county" else "",
        }
        answer = client.post(PLACES, data=sent)
        assert answer.status_code == 303, answer.get_data(as_text=True)
        assert answer.location.endswith(f"{PLACES}?added={code}")
        assert client.post(PLACES, data=sent).status_code == 303  # sent twice: one place
        assert f"已添加{name}（{code}）" in client.get(answer.location).get_data(as_text=True)
    page = client.get(PLACES).get_data(as_text=True)
    assert "简阳市 · 石桥街道 · 石桥村" in page and 'href="/v/510185101201"' in page
    listed = [
        (p["code"], p["kind"], p["parent"], p["official"], p["path"])
        for p in _items(app, "/api/v1/places")
    ]
    assert listed == [
        ("510185", "county", "", True, ["简阳市"]),
        ("510185101", "town", "510185", False, ["简阳市", "石桥街道"]),
        ("510185101201", "village", "510185101", False, ["简阳市", "石桥街道", "石桥村"]),
    ]
    assert len(events(app, "console places")) == 6  # three places, each sent twice


def test_a_bad_place_is_refused_beside_its_field_and_adds_nothing(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    _county_and_town(app)
    sign_in(client, users["admin"])
    before = _items(app, "/api/v1/places")
    code_words = "县的代码为 6 位，乡镇 9 位，村 12 位，且须以上级地点的代码开头。"
    parent_words = "请选择上级地点：乡镇选所属县，村选所属乡镇；县无需选择。"
    for sent, field, words in (
        ({"kind": "town", "parent": "513327", "code": "510185101"}, "code", code_words),
        ({"kind": "village", "parent": "513327100", "code": "5133271002"}, "code", code_words),
        ({"kind": "town", "code": "513327101"}, "parent", parent_words),
        ({"kind": "village", "parent": "513327", "code": "513327100201"}, "parent", parent_words),
        ({"kind": "county", "code": "513327"}, "code", "已有使用此代码的地点。"),
        ({"kind": "city", "code": "513300"}, "kind", "请从选项中选择。"),
    ):
        refused = client.post(PLACES, data={**form_of(client, PLACES), "name": "新地点", **sent})
        assert refused.status_code == 422, sent
        html = refused.get_data(as_text=True)
        assert error_of(html, field) == words, sent
        assert 'value="新地点"' in html
    assert _items(app, "/api/v1/places") == before
    assert events(app, "console places") == []


# -- accounts ------------------------------------------------------------------------------------
def test_an_admin_adds_an_account_closes_it_and_opens_it_again(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["admin"])
    linked_from(client, ACCOUNTS, "/console/admin/")
    sent = {
        **form_of(client, ACCOUNTS),
        "code": "5102",
        "name_cn": "业务活动成本—物资转交",
        "name_us": "Program expenses - goods handed on",
        "type": "expense",
        "currency": "",
    }
    answer = client.post(ACCOUNTS, data=sent)
    assert answer.status_code == 303 and answer.location.endswith(f"{ACCOUNTS}?added=5102")
    assert client.post(ACCOUNTS, data=sent).status_code == 303  # sent twice: one account
    page = client.get(answer.location).get_data(as_text=True)
    assert "已添加科目 5102" in page and "业务活动成本—物资转交" in page

    def read() -> list[dict[str, Any]]:
        return [a for a in _items(app, "/api/v1/accounts") if a["code"] == "5102"]

    assert read() == [
        {
            "code": "5102",
            "name_cn": "业务活动成本—物资转交",
            "name_us": "Program expenses - goods handed on",
            "type": "expense",
            "normal_side": "debit",
            "currency": None,
            "is_open": True,
        }
    ]
    token = {"csrf_token": csrf_of(client.get(ACCOUNTS))}
    closed = client.post(f"{ACCOUNTS}/5102/close", data=token)
    assert closed.status_code == 303
    assert "科目 5102 已停用" in client.get(closed.location).get_data(as_text=True)
    assert read()[0]["is_open"] is False
    assert client.post(f"{ACCOUNTS}/5102/close", data=token).status_code == 303  # harmless
    assert read()[0]["is_open"] is False
    opened = client.post(f"{ACCOUNTS}/5102/open", data=token)
    assert opened.status_code == 303 and read()[0]["is_open"] is True
    assert "科目 5102 已重新启用" in client.get(opened.location).get_data(as_text=True)
    assert len(events(app, "console accounts")) == 2
    assert len(events(app, "console account-close")) == 2
    (reopened,) = events(app, "console account-open")
    assert reopened.target == f"{ACCOUNTS}/5102/open"
    api = api_as(app)
    assert api.post("/api/v1/accounts/5102/close").status_code == 200
    theirs = events(app, "POST /api/v1/accounts/<code>/close")
    assert [e.detail for e in theirs] == [events(app, "console account-close")[0].detail]
    missing = client.post(f"{ACCOUNTS}/9999/close", data=token)
    assert missing.status_code == 404 and len(events(app, "console account-close")) == 2


def test_a_bad_account_is_refused_beside_its_field_and_adds_nothing(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["admin"])
    before = _items(app, "/api/v1/accounts")
    base = {"code": "5102", "name_cn": "项目费用", "name_us": "Program", "type": "expense"}
    for sent, field, words in (
        ({"code": "51A"}, "code", "科目代码为四位数字，可加“-”及大写字母或数字，例如 5102。"),
        ({"code": "5101"}, "code", "已有使用此代码的科目。"),
        (
            {"code": "1002-EUR", "type": "asset", "currency": "USD"},
            "currency",
            "现金账户 1002-XXX 只存放币种 XXX：请选择该币种。",
        ),
        ({"type": "equity"}, "type", "请从选项中选择。"),
        ({"name_us": ""}, "name_us", "此栏为必填项。"),
        ({"name_cn": "长" * 101}, "name_cn", "内容过长。"),
    ):
        refused = client.post(ACCOUNTS, data={**form_of(client, ACCOUNTS), **base, **sent})
        assert refused.status_code == 422, sent
        assert error_of(refused.get_data(as_text=True), field) == words, sent
    assert _items(app, "/api/v1/accounts") == before
    assert events(app, "console accounts") == []


# -- roles ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["officer", "auditor"])
def test_only_an_admin_may_open_funds_projects_places_or_change_the_chart(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded, role: str
) -> None:
    sign_in(client, users[role])
    for path in (FUND, PROJECT, PLACES, ACCOUNTS):
        assert client.get(path).status_code == 403, path
    token = csrf_of(client.get("/console/"))
    for path, sent in (
        (FUND, {"code": "X", "name": "X", "restricted": ""}),
        (PROJECT, {"fund": seeded.general, "code": "X", "name": "X", "county": "炉霍县"}),
        (PLACES, {"kind": "county", "code": "510185", "name": "简阳市"}),
        (ACCOUNTS, {"code": "5102", "name_cn": "x", "name_us": "x", "type": "expense"}),
        (f"{ACCOUNTS}/5101/close", {}),
        (f"{ACCOUNTS}/5101/open", {}),
    ):
        refused = client.post(path, data={"csrf_token": token, "_key": "k" * 20, **sent})
        assert refused.status_code == 403, path
    for page in ("/console/", f"/console/funds/{seeded.general}", "/console/programmes"):
        html = client.get(page).get_data(as_text=True)
        assert FUND not in html and PROJECT not in html and PLACES not in html, page
    assert [f["code"] for f in _items(app, "/api/v1/funds")] == ["GEN", "JLZX"]
    assert [p["code"] for p in _items(app, "/api/v1/projects")] == [seeded.project]
    assert _items(app, "/api/v1/places") == []
    assert all(a["is_open"] for a in _items(app, "/api/v1/accounts"))
    assert "5102" not in {a["code"] for a in _items(app, "/api/v1/accounts")}
    api = api_as(app, role)  # as in the API
    fund = {"code": "X", "name": "X", "restricted": False}
    assert api.post("/api/v1/funds", fund, key="k-roles-1").status_code == 403


# -- one rule, every door ------------------------------------------------------------------------
def test_the_use_cases_refuse_what_the_api_schemas_refuse(app: Flask, seeded: Seeded) -> None:
    """The text rules live in the use cases, so the console (and the CLI) meet the API's."""
    books = books_of(app)
    for details, field in (
        ({"code": "N1", "name": "", "restricted": False}, "name"),
        ({"code": "N1", "name": "  ", "restricted": False}, "name"),
        ({"code": "N1", "name": "长" * 201, "restricted": False}, "name"),
        ({"code": "N1", "name": "a\nb", "restricted": False}, "name"),
        ({"code": "N1", "name": "名", "restricted": 1}, "restricted"),
        ({"code": "N1", "name": "名", "restricted": False, "purpose": "长" * 2001}, "purpose"),
        ({"code": "N1", "name": "名", "restricted": False, "purpose": "a\x07"}, "purpose"),
    ):
        with pytest.raises(InvalidEntry) as refused:
            reference.open_fund(books, **details)
        assert refused.value.field == field, details
    project = {"code": "P1", "name": "项目", "fund": seeded.general}
    for details, field in (
        ({**project, "county": ""}, "county"),
        ({**project, "county": "县" * 61}, "county"),
        ({**project, "county": "炉霍县", "town": "镇" * 61}, "town"),
        ({**project, "county": "炉霍县", "name": ""}, "name"),
    ):
        with pytest.raises(InvalidEntry) as refused:
            reference.open_project(books, **details)
        assert refused.value.field == field, details
    with pytest.raises(InvalidEntry) as refused:
        places.open_project_at(books, place="513327", by=SYSTEM, **{**project, "name": ""})
    assert refused.value.field == "name"
    account = {"code": "5102", "name_cn": "费用", "name_us": "Cost", "type": "expense"}
    for details, field in (
        ({**account, "code": "51020"}, "code"),
        ({**account, "name_cn": ""}, "name_cn"),
        ({**account, "name_us": "x" * 121}, "name_us"),
        ({**account, "type": "equity"}, "type"),
        ({**account, "currency": "XXX"}, "currency"),
    ):
        with pytest.raises(InvalidEntry) as refused:
            reference.add_account(books, **{"currency": None, **details})
        assert refused.value.field == field, details
    assert [f["code"] for f in _items(app, "/api/v1/funds")] == ["GEN", "JLZX"]
    assert [p["code"] for p in _items(app, "/api/v1/projects")] == [seeded.project]


def test_the_api_and_the_console_take_the_same_lengths() -> None:
    from marshmallow import validate

    from api.programme_schemas import PlaceIn
    from api.schemas import AccountIn, FundIn, ProjectIn
    from console.admin.reference import ACCOUNT_FIELDS, FUND_FIELDS, PLACE_FIELDS, PROJECT_FIELDS

    for schema, fields in (
        (FundIn(), FUND_FIELDS),
        (ProjectIn(), PROJECT_FIELDS),
        (PlaceIn(), PLACE_FIELDS),
        (AccountIn(), ACCOUNT_FIELDS),
    ):
        for f in fields:
            if f.name not in schema.fields or f.kind in ("choice", "checkbox", "amount", "hidden"):
                continue
            lengths = [
                v for v in schema.fields[f.name].validators if isinstance(v, validate.Length)
            ]
            if lengths:
                assert lengths[0].max == f.max_length, (type(schema).__name__, f.name)
