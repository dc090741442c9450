"""Erasure over HTTP (decision 0017): a need's and a sign-up's contact by the community's
staff, a donor's addresses by officers; 200 with what was erased (never the content), the same
answer again, roles refused, problem+json for bad input, and the audit trail's event."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy import text

from tests.api.conftest import TODAY, Books, Caller
from tests.api.test_community import NEED, _moderator
from tests.api.test_problems import problem
from usecases import places
from usecases.unit import SYSTEM

ADDRESS = "canary-api-erase@example.org"


@pytest.fixture(autouse=True)
def jinjiang(app: Flask) -> None:
    places.add_place(
        app.extensions["huiquan"].books, code="510104", kind="county", name="锦江区", by=SYSTEM
    )


def _events(app: Flask) -> list[dict[str, object]]:
    with app.extensions["huiquan"].engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_events ORDER BY sequence"))
        return [dict(r._mapping) for r in rows]


def test_a_moderator_erases_a_needs_contact_once_and_the_trail_says_what_not_which(
    app: Flask, client: object, officer: Caller, auditor: Caller
) -> None:
    moderator = _moderator(app, client)
    need = officer.created("/api/v1/needs", NEED)
    path = f"/api/v1/needs/{need['id']}/contact/erase"
    problem(auditor.post(path, {"reason": "requested"}), 403, "forbidden")
    bad = problem(moderator.post(path, {"reason": "because I said so"}), 422, "validation_error")
    assert "reason" in bad["errors"]
    problem(moderator.post(path, {}), 422, "validation_error")
    problem(moderator.post(path, {"reason": "requested", "note": "x"}), 422, "validation_error")
    problem(
        moderator.post("/api/v1/needs/N-nosuch/contact/erase", {"reason": "requested"}),
        404,
        "not_found",
    )

    first = moderator.post(path, {"reason": "requested"}, key="erase-need-1")
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["erased"] is True and body["erasure_id"].startswith("ER-")
    assert (body["kind"], body["subject"], body["reason"], body["erased_by"], body["rows"]) == (
        "need_contact",
        need["id"],
        "requested",
        "陈审核",
        1,
    )
    assert moderator.post(path, {"reason": "requested"}, key="erase-need-1").get_json() == body
    problem(
        moderator.post(path, {"reason": "consent_withdrawn"}, key="erase-need-1"),
        422,
        "idempotency_conflict",
    )
    again = officer.post(path, {"reason": "purpose_fulfilled"})  # no key: the latest erasure
    assert again.status_code == 200 and again.get_json() == body

    successes = [e for e in _events(app) if e["outcome"] == "success" and "erase" in e["action"]]
    assert len(successes) == 1
    [event] = successes
    assert event["action"] == "POST /api/v1/needs/<id>/contact/erase"
    assert json.loads(str(event["detail"]))["kind"] == "need_contact"
    assert "canary-api-contact" not in str(_events(app))
    refused = [e for e in _events(app) if e["outcome"] == "refused" and "erase" in e["action"]]
    assert {e["status"] for e in refused} == {403, 404, 422}


def test_an_officer_erases_a_sign_ups_contact_and_the_list_says_it_was_erased(
    app: Flask, client: object, officer: Caller, admin: Caller
) -> None:
    service = officer.created(
        "/api/v1/services",
        {
            "kind": "clinic",
            "title": "义诊",
            "description": "一天。",
            "place": "510104",
            "starts_on": TODAY.isoformat(),
            "ends_on": TODAY.isoformat(),
            "capacity": 5,
        },
    )
    signup = officer.created(
        f"/api/v1/services/{service['id']}/signups",
        {"name": "李大爷", "contact": "13900002222"},
    )
    erased = officer.post(f"/api/v1/signups/{signup['id']}/contact/erase", {"reason": "requested"})
    assert erased.status_code == 200 and erased.get_json()["rows"] == 1
    [shown] = officer.get(f"/api/v1/services/{service['id']}/signups").get_json()["items"]
    assert "contact" not in shown and "name" not in shown
    assert shown["contact_erased_at"] == erased.get_json()["erased_at"]


def test_an_officer_erases_a_donors_addresses_and_no_receipt_is_emailed_after(
    app: Flask, officer: Caller, auditor: Caller, books: Books
) -> None:
    put = officer.client.put(
        f"/api/v1/donors/{books.donor}/email",
        json={"email": ADDRESS},
        headers=officer.headers(),
    )
    assert put.status_code == 200
    gift = {
        "donor_id": books.donor,
        "fund": books.restricted,
        "amount": "100.00",
        "currency": "CNY",
        "received_on": TODAY.isoformat(),
    }
    officer.created("/api/v1/donations", gift)
    path = f"/api/v1/donors/{books.donor}/email/erase"
    problem(auditor.post(path, {"reason": "requested"}), 403, "forbidden")
    done = officer.post(path, {"reason": "consent_withdrawn"})
    assert done.status_code == 200
    assert (done.get_json()["rows"], done.get_json()["messages"]) == (1, 1)
    assert officer.get(f"/api/v1/donors/{books.donor}/email").get_json()["email"] == ""
    [message] = officer.get("/api/v1/deliveries?channel=email").get_json()["items"]
    assert (message["recipient"], message["status"]) == ("", "dead")
    officer.created("/api/v1/donations", {**gift, "amount": "5.00"})
    assert len(officer.get("/api/v1/deliveries?channel=email").get_json()["items"]) == 1
    assert ADDRESS not in str(_events(app))
    nothing = officer.post("/api/v1/donors/D-nosuch/email/erase", {"reason": "requested"})
    problem(nothing, 404, "not_found")


def test_a_donor_without_an_address_answers_that_nothing_was_held(
    officer: Caller, books: Books
) -> None:
    answer = officer.post(f"/api/v1/donors/{books.donor}/email/erase", {"reason": "requested"})
    assert answer.status_code == 200
    assert answer.get_json() == {
        "kind": "donor_email",
        "subject": books.donor,
        "erased": False,
        "erasure_id": None,
        "reason": None,
        "erased_at": None,
        "erased_by": None,
        "rows": 0,
        "messages": 0,
    }
