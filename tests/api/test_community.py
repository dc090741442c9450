"""The programmes over HTTP: a need moderated and answered, services and sign-ups, recurring
pledges and their reminders; the moderator's right, and the problems they answer."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.api.conftest import TODAY, Books, Caller
from tests.api.test_problems import problem
from usecases import places
from usecases.tokens import create_token
from usecases.unit import SYSTEM
from usecases.users import create_user

NEED = {
    "title": "长者食堂缺少餐桌",
    "description": '=HYPERLINK("http://evil") <script>alert(1)</script>',
    "category": "elder_care",
    "place": "510104",
    "kind": "money",
    "goal": "500.00",
    "currency": "CNY",
    "contact": "canary-api-contact 13900000000",
}


@pytest.fixture(autouse=True)
def jinjiang(app: Flask) -> None:
    places.add_place(
        app.extensions["huiquan"].books, code="510104", kind="county", name="锦江区", by=SYSTEM
    )


def _moderator(app: Flask, client: object) -> Caller:
    books = app.extensions["huiquan"].books
    create_user(books, login="chen.mod", display_name="陈审核", roles=("moderator",), by=SYSTEM)
    token = create_token(
        app.extensions["huiquan"].engine, role="moderator", name="m", user="chen.mod"
    )
    return Caller(client, token)  # type: ignore[arg-type]


def test_a_need_is_posted_moderated_answered_and_fulfilled_over_http(
    app: Flask, client: object, officer: Caller, auditor: Caller, books: Books
) -> None:
    moderator = _moderator(app, client)
    need = officer.created("/api/v1/needs", NEED)
    assert need["status"] == "pending" and "contact" not in need
    assert "canary-api-contact" not in str(officer.get("/api/v1/needs").get_json())
    problem(officer.post(f"/api/v1/needs/{need['id']}/publish", {"fund": "JLZX"}), 403, "forbidden")
    body = {"fund": books.restricted, "project": books.project}
    published = moderator.post(f"/api/v1/needs/{need['id']}/publish", body, key="pub-1")
    assert published.status_code == 200 and published.get_json()["status"] == "open"
    retried = moderator.post(f"/api/v1/needs/{need['id']}/publish", body, key="pub-1")
    assert retried.status_code == 200  # a retry replays; without the key it is need_closed
    problem(moderator.post(f"/api/v1/needs/{need['id']}/publish", body), 409, "need_closed")
    problem(
        moderator.post(f"/api/v1/needs/{need['id']}/decline", {"reason": "迟了"}),
        409,
        "need_closed",
    )
    offer = officer.created(
        "/api/v1/offers",
        {
            "need_id": need["id"],
            "donor_id": books.donor,
            "kind": "money",
            "amount": "500.00",
            "currency": "CNY",
        },
        key="offer-1",
    )
    again = officer.post(
        "/api/v1/offers",
        {
            "need_id": need["id"],
            "donor_id": books.donor,
            "kind": "money",
            "amount": "500.00",
            "currency": "CNY",
        },
        key="offer-1",
    )
    assert again.get_json()["id"] == offer["id"]  # the retry replays; one pledge
    assert auditor.get(f"/api/v1/needs/{need['id']}").get_json()["status"] == "answered"
    officer.created(
        "/api/v1/donations",
        {
            "donor_id": books.donor,
            "fund": books.restricted,
            "amount": "500.00",
            "currency": "CNY",
            "received_on": TODAY.isoformat(),
            "pledge_id": offer["pledge_id"],
        },
    )
    shown = auditor.get(f"/api/v1/needs/{need['id']}").get_json()
    assert (shown["status"], shown["paid"], shown["pledged"]) == ("fulfilled", "500.00", "500.00")
    reported = moderator.post(f"/api/v1/needs/{need['id']}/report", {"report": "已买桌子"})
    assert reported.get_json()["status"] == "reported"
    listed = auditor.get("/api/v1/needs", query_string={"status": "reported"}).get_json()
    assert [n["id"] for n in listed["items"]] == [need["id"]]
    assert listed["counts"]["reported"] == 1


def test_an_offer_to_an_unpublished_need_is_a_conflict_and_bad_input_a_validation_error(
    officer: Caller, books: Books
) -> None:
    need = officer.created("/api/v1/needs", NEED)
    body = {"need_id": need["id"], "donor_id": books.donor, "kind": "money", "amount": "5.00"}
    problem(officer.post("/api/v1/offers", body), 409, "need_closed")
    problem(officer.post("/api/v1/needs", {**NEED, "category": "x"}), 422, "validation_error")
    problem(officer.post("/api/v1/needs", {**NEED, "goal": 5}), 422, "validation_error")


def test_a_full_service_refuses_the_next_sign_up_and_attendance_counts_person_times(
    officer: Caller, auditor: Caller
) -> None:
    service = officer.created(
        "/api/v1/services",
        {
            "kind": "clinic",
            "title": "义诊日",
            "description": "血压血糖",
            "place": "510104",
            "starts_on": TODAY.isoformat(),
            "ends_on": TODAY.isoformat(),
            "capacity": 1,
        },
    )
    path = f"/api/v1/services/{service['id']}/signups"
    signup = officer.created(path, {"name": "李大爷", "contact": "138"})
    problem(officer.post(path, {"name": "王奶奶", "contact": "139"}), 409, "service_full")
    assert officer.get(path).get_json()["items"][0]["name"] == "李大爷"
    problem(auditor.get(path), 403, "forbidden")
    officer.created(f"/api/v1/signups/{signup['id']}/attendance", None)
    listed = auditor.get("/api/v1/services").get_json()
    assert listed["person_times_served"] == 1
    assert listed["items"][0]["places_left"] == 0 and "李大爷" not in str(listed)


def test_a_recurring_pledge_shows_its_schedule_and_the_reminders_name_what_is_due(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    made = officer.created(
        "/api/v1/recurring-pledges",
        {
            "donor_id": books.donor,
            "fund": books.restricted,
            "instalment": "3800.00",
            "currency": "CNY",
            "frequency": "yearly",
            "count": 3,
            "first_due": TODAY.replace(year=TODAY.year - 1).isoformat(),
            "purpose": "资助一名高中生",
        },
    )
    assert made["total"] == "11400.00"
    assert [i["status"] for i in made["instalments"]] == ["overdue", "due", "upcoming"]
    reminders = auditor.get("/api/v1/recurring-pledges/reminders").get_json()["items"]
    assert [(r["instalment"]["number"], r["days_late"] > 0) for r in reminders] == [
        (1, True),
        (2, False),
    ]
