"""Erasing contacts in the console (test client; decision 0017): the confirm page shows what
will go, a missing reason or tick is an error beside its field and erases nothing, the erasure
goes through the API's use case, the pages that showed the contact say it was erased, a form
sent twice erases once, and roles without the right are refused."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from ledger.money import Money
from tests.console.conftest import PASSWORD, TODAY, Seeded, csrf_of, key_of, sign_in
from usecases import community, delivery, erasure, gifts, places
from usecases.unit import SYSTEM, Actor
from usecases.users import create_user

CANARY = "canary-console-erase-13911112222"
ADDRESS = "canary.console.erase@example.org"


@pytest.fixture(autouse=True)
def jinjiang(app: Flask) -> None:
    places.add_place(
        app.extensions["huiquan"].books, code="510104", kind="county", name="锦江区", by=SYSTEM
    )


def _client(app: Flask, login: str) -> FlaskClient:
    client = app.test_client()
    sign_in(client, login)
    return client


@pytest.fixture
def moderator(app: Flask) -> str:
    create_user(
        app.extensions["huiquan"].books,
        login="chen.moderator",
        display_name="陈审核",
        roles=("moderator",),
        password=PASSWORD,
        by=SYSTEM,
    )
    return "chen.moderator"


def _need(app: Flask) -> str:
    return community.post_need(
        app.extensions["huiquan"].books,
        title="长者食堂需要餐桌",
        description="每天六十位老人吃午饭。",
        category="elder_care",
        place="510104",
        kind="hours",
        hours=6,
        contact=f"张阿姨 {CANARY}",
        client="c",
    ).id


def _events(app: Flask) -> list[dict[str, object]]:
    with app.extensions["huiquan"].engine.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM audit_events WHERE action LIKE '%erase%' AND outcome = 'success'")
        )
        return [dict(r._mapping) for r in rows]


def _errors(html: str) -> dict[str, str]:
    """The error shown beside each field: field name -> its text."""
    return {
        name: re.sub(r"\s+", " ", message).strip()
        for name, message in re.findall(r'<p class="error" id="e-(\w+)">(.*?)</p>', html, re.S)
    }


def test_a_moderator_erases_a_needs_contact_after_confirming_and_the_file_says_so(
    app: Flask, users: dict[str, str], moderator: str
) -> None:
    need_id = _need(app)
    mod = _client(app, moderator)
    file = mod.get(f"/console/community/needs/{need_id}").get_data(as_text=True)
    assert CANARY in file and f"/console/erase/needs/{need_id}" in file
    path = f"/console/erase/needs/{need_id}"
    page = mod.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "删除需求的联系方式" in html and CANARY in html and "永久删除" in html
    token, key = csrf_of(page), key_of(page)

    blank = mod.post(path, data={"csrf_token": token, "_key": key})
    assert blank.status_code == 422
    assert _errors(blank.get_data(as_text=True)) == {
        "reason": "此栏为必填项。",
        "confirm": "请勾选此项以确认删除。",
    }
    unticked = mod.post(path, data={"csrf_token": token, "_key": key, "reason": "requested"})
    assert unticked.status_code == 422
    assert _errors(unticked.get_data(as_text=True)) == {"confirm": "请勾选此项以确认删除。"}
    odd = mod.post(path, data={"csrf_token": token, "_key": key, "reason": "x", "confirm": "on"})
    assert odd.status_code == 422 and "reason" in _errors(odd.get_data(as_text=True))
    books = app.extensions["huiquan"].books
    assert community.contact_of(books, need_id) is not None and _events(app) == []

    form = {"csrf_token": token, "_key": key, "reason": "requested", "confirm": "on"}
    done = mod.post(path, data=form)
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/console/community/needs/{need_id}?erased=1")
    assert mod.post(path, data=form).status_code == 303  # sent twice: erased once
    assert community.contact_of(books, need_id) is None
    [event] = _events(app)
    assert (event["actor"], event["action"]) == ("陈审核", "console erase-need_contact")
    assert CANARY not in str(event)
    file = mod.get(f"/console/community/needs/{need_id}?erased=1").get_data(as_text=True)
    assert CANARY not in file
    assert "陈审核 删除：本人要求删除。" in file and "已删除。" in file
    again = mod.get(path).get_data(as_text=True)
    assert "已于" in again and "<form" not in again.split("<main")[1]


def test_declining_shows_the_contact_erased_on_the_file(
    app: Flask, users: dict[str, str], moderator: str
) -> None:
    need_id = _need(app)
    books = app.extensions["huiquan"].books
    community.decline_need(books, need_id, reason="重复", by=Actor("陈审核", ("moderator",)))
    file = _client(app, moderator).get(f"/console/community/needs/{need_id}")
    html = file.get_data(as_text=True)
    assert CANARY not in html and "陈审核 删除：需求未通过审核。" in html


def test_an_officer_erases_a_sign_ups_contact_from_the_service_page(
    app: Flask, users: dict[str, str]
) -> None:
    books = app.extensions["huiquan"].books
    service = community.publish_service(
        books,
        kind="clinic",
        title="义诊",
        description="一天。",
        place="510104",
        starts_on=TODAY,
        ends_on=TODAY,
        capacity=5,
        by=SYSTEM,
    )
    signup = community.sign_up(books, service.id, name="李大爷", contact=CANARY, client="c")
    officer = _client(app, users["officer"])
    listing = officer.get(f"/console/community/services/{service.id}").get_data(as_text=True)
    path = f"/console/erase/services/{service.id}/signups/{signup.id}"
    assert CANARY in listing and path in listing
    assert officer.get(f"/console/erase/services/{service.id}/signups/SU-none").status_code == 404
    page = officer.get(path)
    assert "李大爷" in page.get_data(as_text=True)
    form = {
        "csrf_token": csrf_of(page),
        "_key": key_of(page),
        "reason": "purpose_fulfilled",
        "confirm": "on",
    }
    assert officer.post(path, data=form).status_code == 303
    listing = officer.get(f"/console/community/services/{service.id}").get_data(as_text=True)
    assert CANARY not in listing and "李大爷" not in listing
    assert "王经办 删除：处理目的已实现或不再必要。" in listing


def test_an_officer_erases_a_donors_addresses_from_the_donor_page(
    app: Flask, users: dict[str, str], seeded: Seeded
) -> None:
    books = app.extensions["huiquan"].books
    delivery.record_donor_email(books, seeded.donor, ADDRESS, by=SYSTEM)
    gifts.record_donation(
        books,
        by=SYSTEM,
        donor_id=seeded.donor,
        fund=seeded.general,
        amount=Money.parse("10.00", "CNY"),
        received_on=TODAY,
    )
    officer = _client(app, users["officer"])
    donor_page = officer.get(f"/console/donors/{seeded.donor}").get_data(as_text=True)
    path = f"/console/erase/donors/{seeded.donor}"
    assert ADDRESS in donor_page and path in donor_page
    page = officer.get(path)
    assert ADDRESS in page.get_data(as_text=True)
    form = {"csrf_token": csrf_of(page), "_key": key_of(page), "reason": "consent_withdrawn"}
    assert officer.post(path, data=form).status_code == 422  # not ticked
    assert delivery.donor_email(books, seeded.donor) == ADDRESS
    done = officer.post(path, data={**form, "confirm": "on"})
    assert done.status_code == 303
    donor_page = officer.get(done.headers["Location"]).get_data(as_text=True)
    assert ADDRESS not in donor_page and "王经办 删除：本人撤回同意。" in donor_page
    deliveries = officer.get("/console/deliveries").get_data(as_text=True)
    assert ADDRESS not in deliveries and "（地址已删除）" in deliveries
    found = erasure.erasure_of(books, "donor_email", seeded.donor)
    assert found is not None and found.messages == 1


def test_those_without_the_right_are_refused_and_erase_nothing(
    app: Flask, users: dict[str, str], moderator: str, seeded: Seeded
) -> None:
    books = app.extensions["huiquan"].books
    need_id = _need(app)
    delivery.record_donor_email(books, seeded.donor, ADDRESS, by=SYSTEM)
    auditor = _client(app, users["auditor"])
    assert auditor.get(f"/console/erase/needs/{need_id}").status_code == 403
    assert auditor.get(f"/console/erase/donors/{seeded.donor}").status_code == 403
    file = auditor.get(f"/console/community/needs/{need_id}").get_data(as_text=True)
    assert "/console/erase/" not in file  # no link for those who may not
    mod = _client(app, moderator)
    assert mod.get(f"/console/erase/donors/{seeded.donor}").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get(f"/console/erase/needs/{need_id}").status_code == 302  # sign in
    assert community.contact_of(books, need_id) is not None
    assert delivery.donor_email(books, seeded.donor) == ADDRESS
