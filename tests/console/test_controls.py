"""The administrator's controls in the console: a fund's purposes and a project's budget, over
the use cases the API calls (`usecases.controls`), with the API's roles and audit events.

Each change made here is read back through the API; an officer or an auditor is refused; bad
input is shown beside its field and changes nothing; a form sent twice changes once.
"""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ledger.errors import PurposeMismatch
from ledger.money import Money
from ledger.storage import tables
from tests.console.conftest import (
    TODAY,
    Seeded,
    api_as,
    books_of,
    count,
    csrf_of,
    disburse,
    donate,
    error_of,
    events,
    form_of,
    sign_in,
)
from usecases import controls, spending
from usecases.unit import SYSTEM


# -- a fund's purposes ---------------------------------------------------------------------------
def test_an_admin_states_a_funds_purposes_the_fund_page_and_the_api_show_them_and_it_holds(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["admin"])
    fund_page = client.get(f"/console/funds/{seeded.restricted}").get_data(as_text=True)
    path = f"/console/admin/purposes/{seeded.restricted}"
    assert f'href="{path}"' in fund_page and "从未说明" in fund_page  # never stated: anything
    sent = {**form_of(client, path), "scholarships": "on"}
    answer = client.post(path, data=sent)
    assert answer.status_code == 303
    assert answer.location.endswith(f"/console/funds/{seeded.restricted}?changed=purposes")
    again = client.post(path, data=sent)  # the same form sent twice changes once
    assert again.status_code == 303
    shown = client.get(answer.location).get_data(as_text=True)
    assert "基金用途已保存" in shown and "助学金" in shown and "从未说明" not in shown
    assert "助学金" in client.get("/console/admin/purposes").get_data(as_text=True)
    read = api_as(app, "officer").get(f"/api/v1/funds/{seeded.restricted}/purposes").get_json()
    assert read == {
        "fund": seeded.restricted,
        "stated": True,
        "projects": False,
        "counties": [],
        "scholarships": True,
        "in_kind_handovers": False,
    }
    assert count(app, tables.fund_purposes, fund=seeded.restricted) == 1
    with pytest.raises(PurposeMismatch):  # the books hold to it: a project payment is refused
        spending.record_disbursement(
            books_of(app),
            by=SYSTEM,
            fund=seeded.restricted,
            project=seeded.project,
            amount=Money.parse("1.00", "CNY"),
            paid_on=TODAY,
        )


def test_the_consoles_purposes_event_is_the_apis_event_with_the_old_and_new_purposes(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["admin"])
    path = f"/console/admin/purposes/{seeded.restricted}"
    sent = {"projects": "on", "counties": "炉霍县，简阳市", "in_kind_handovers": "on"}
    assert client.post(path, data={**form_of(client, path), **sent}).status_code == 303
    api = api_as(app)
    put = api.client.put(
        f"/api/v1/funds/{seeded.restricted}/purposes",
        json={"scholarships": True},
        headers=api.headers(),
    )
    assert put.status_code == 200, put.get_json()
    (ours,) = events(app, "console fund-purposes", ending=True)
    (theirs,) = events(app, "/purposes", ending=True)
    stated = {
        "projects": True,
        "counties": ["炉霍县", "简阳市"],
        "scholarships": False,
        "in_kind_handovers": True,
    }
    assert json.loads(ours.detail) == {"fund": seeded.restricted, "old": None, "new": stated}
    assert json.loads(theirs.detail)["old"] == stated  # the API's event reads the same shape
    assert set(json.loads(theirs.detail)) == set(json.loads(ours.detail))
    assert ours.actor == "李管理" and ours.role == "admin" and ours.target == path


@pytest.mark.parametrize("role", ["officer", "auditor"])
def test_only_an_admin_may_change_a_funds_purposes(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded, role: str
) -> None:
    sign_in(client, users[role])
    path = f"/console/admin/purposes/{seeded.restricted}"
    assert client.get(path).status_code == 403
    assert client.get("/console/admin/purposes").status_code == 403
    token = csrf_of(client.get("/console/"))
    refused = client.post(path, data={"csrf_token": token, "scholarships": "on"})
    assert refused.status_code == 403
    fund_page = client.get(f"/console/funds/{seeded.restricted}").get_data(as_text=True)
    assert path not in fund_page and "从未说明" in fund_page  # shown, but no link to change it
    assert not controls.fund_purposes(books_of(app), seeded.restricted).stated
    api = api_as(app, role)
    put = api.client.put(  # as in the API
        f"/api/v1/funds/{seeded.restricted}/purposes",
        json={"scholarships": True},
        headers=api.headers(),
    )
    assert put.status_code == 403


def test_counties_without_projects_are_refused_beside_the_counties_and_change_nothing(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["admin"])
    path = f"/console/admin/purposes/{seeded.restricted}"
    sent = {"projects": "", "counties": "简阳市", "scholarships": "on"}
    bad = client.post(path, data={**form_of(client, path), **sent})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert error_of(html, "counties") == "县只限定项目拨款：请同时勾选项目拨款。"
    assert 'value="简阳市"' in html  # what was typed is kept
    too_long = client.post(
        path, data={**form_of(client, path), "projects": "on", "counties": "县" * 61}
    )
    assert too_long.status_code == 422
    assert error_of(too_long.get_data(as_text=True), "counties") == "每个县名 1 至 60 个字。"
    assert not controls.fund_purposes(books_of(app), seeded.restricted).stated
    assert count(app, tables.fund_purposes, fund=seeded.restricted) == 0
    assert events(app, "console fund-purposes", ending=True) == []
    assert client.get("/console/admin/purposes/NOPE").status_code == 404


# -- a project's budget --------------------------------------------------------------------------
def _spend(app: Flask, seeded: Seeded, amount: str) -> None:
    donate(app, seeded)
    disburse(app, seeded, amount, memo="")  # posted, not waiting for an approver


def test_an_admin_raises_a_budget_from_the_fund_page_and_the_api_and_the_trail_show_it(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["admin"])
    fund_page = client.get(f"/console/funds/{seeded.restricted}").get_data(as_text=True)
    path = f"/console/admin/budgets/{seeded.project}"
    assert f'href="{path}"' in fund_page
    sent = {
        **form_of(client, path),
        "currency": "CNY",
        "budget": "80000.00",
        "reason": "理事会同意\r\n追加第二期",
    }
    answer = client.post(path, data=sent)
    assert answer.status_code == 303, error_of(answer.get_data(as_text=True), "budget")
    assert client.post(path, data=sent).status_code == 303  # sent twice: changed once
    shown = client.get(answer.location).get_data(as_text=True)
    assert f"{seeded.project} 的预算已保存" in shown and "80,000.00" in shown
    project = api_as(app, "auditor").get(f"/api/v1/projects/{seeded.project}").get_json()
    assert project["budget"] == {"amount": "80000.00", "currency": "CNY"}
    assert count(app, tables.project_budgets, project=seeded.project) == 1
    event, replay = events(
        app, "console project-budget", ending=True
    )  # the replay is recorded, empty
    assert replay.idempotency_key == event.idempotency_key and not replay.detail
    assert json.loads(event.detail) == {  # what the API's event says, in the same words
        "project": seeded.project,
        "old": "50000.00",
        "new": "80000.00",
        "currency": "CNY",
        "reason": "理事会同意\n追加第二期",  # a browser's CR LF kept as the books' LF
    }
    api = api_as(app)
    put = api.client.put(
        f"/api/v1/projects/{seeded.project}/budget",
        json={"budget": {"amount": "90000.00", "currency": "CNY"}, "reason": "第三期"},
        headers=api.headers(),
    )
    assert put.get_json()["old_budget"] == {"amount": "80000.00", "currency": "CNY"}
    (theirs,) = events(app, "/budget", ending=True)
    assert set(json.loads(theirs.detail)) == set(json.loads(event.detail))


@pytest.mark.parametrize("role", ["officer", "auditor"])
def test_only_an_admin_may_change_a_budget(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded, role: str
) -> None:
    sign_in(client, users[role])
    path = f"/console/admin/budgets/{seeded.project}"
    assert client.get(path).status_code == 403
    token = csrf_of(client.get("/console/"))
    sent = {"csrf_token": token, "currency": "CNY", "budget": "90000.00", "reason": "追加"}
    assert client.post(path, data=sent).status_code == 403
    assert path not in client.get(f"/console/funds/{seeded.restricted}").get_data(as_text=True)
    assert count(app, tables.project_budgets, project=seeded.project) == 0
    api = api_as(app, role)
    put = api.client.put(
        f"/api/v1/projects/{seeded.project}/budget",
        json={"budget": {"amount": "90000.00", "currency": "CNY"}, "reason": "追加"},
        headers=api.headers(),
    )
    assert put.status_code == 403


def test_a_budget_below_what_was_spent_or_without_a_reason_is_refused_beside_its_field(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    _spend(app, seeded, "8000.00")  # below the policy's bar: posted
    sign_in(client, users["admin"])
    path = f"/console/admin/budgets/{seeded.project}"
    below = client.post(
        path,
        data={**form_of(client, path), "currency": "CNY", "budget": "100.00", "reason": "削减"},
    )
    assert below.status_code == 422
    html = below.get_data(as_text=True)
    assert error_of(html, "budget") == "该项目已支出 ¥8,000.00，预算不能低于此数。"
    assert 'value="100.00"' in html and "削减</textarea>" in html
    for sent, field, words in (
        ({"budget": "60000.00", "reason": ""}, "reason", "此栏为必填项。"),
        ({"budget": "六万", "reason": "追加"}, "budget", "请填写金额，例如 1200.50。"),
        ({"budget": "60000.00", "reason": "追加\x1b"}, "reason", "请删除文字中的控制字符。"),
    ):
        refused = client.post(path, data={**form_of(client, path), "currency": "CNY", **sent})
        assert refused.status_code == 422
        assert error_of(refused.get_data(as_text=True), field) == words
    assert controls_budget(app, seeded.project) == "50000.00"
    assert count(app, tables.project_budgets, project=seeded.project) == 0
    assert events(app, "console project-budget", ending=True) == []
    assert client.get("/console/admin/budgets/NOPE").status_code == 404


def controls_budget(app: Flask, project: str) -> str:
    found = api_as(app, "auditor").get(f"/api/v1/projects/{project}").get_json()
    return str(found["budget"]["amount"])


def test_the_api_and_the_console_accept_the_same_reason_length() -> None:
    from marshmallow import validate

    from api.schemas import BudgetIn
    from console.office.controls import BUDGET_FIELDS

    api = next(v for v in BudgetIn().fields["reason"].validators if isinstance(v, validate.Length))
    console = {f.name: f.max_length for f in BUDGET_FIELDS}
    assert api.max == console["reason"]


def test_a_replayed_key_answers_the_change_it_made_even_after_another(
    app: Flask, seeded: Seeded
) -> None:
    from ledger.errors import IdempotencyConflict

    books = books_of(app)
    cny = Money.parse

    def raise_to(amount: str, key: str | None) -> controls.BudgetChange:
        return controls.set_project_budget(
            books, seeded.project, cny(amount, "CNY"), reason="追加", by=SYSTEM, key=key
        )

    first = raise_to("60000.00", "k-1")
    raise_to("70000.00", None)
    replayed = raise_to("60000.00", "k-1")
    assert (replayed.before.budget_minor, replayed.after.budget_minor) == (5_000_000, 6_000_000)
    assert replayed == first
    assert count(app, tables.project_budgets, project=seeded.project) == 2
    with pytest.raises(IdempotencyConflict):
        raise_to("65000.00", "k-1")
    stated = controls.set_fund_purposes(
        books, seeded.general, {"scholarships": True}, by=SYSTEM, key="p-1"
    )
    assert (
        controls.set_fund_purposes(
            books, seeded.general, {"scholarships": True}, by=SYSTEM, key="p-1"
        )
        == stated
    )
    assert count(app, tables.fund_purposes, fund=seeded.general) == 1
