"""The needs board and services in the console (test client): the public form and its spam
guards, moderation by the moderator only, hostile text shown escaped and exported safely, the
contact canary, services and sign-ups, recurring pledges and their reminders."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ledger.money import Money
from tests.console.conftest import PASSWORD, TODAY, Seeded, csrf_of, key_of, post_form, sign_in
from usecases import community, places
from usecases.unit import SYSTEM
from usecases.users import create_user

CANARY = "canary-phone-13912345678"
HOSTILE_TITLE = '=HYPERLINK("http://evil.example","x")<script>alert(1)</script>'
HOSTILE_TEXT = (
    "<script>alert('x')</script><img src=x onerror=alert(1)>\n"
    "+SUM(1,2)\n-2+3\n@cmd\n<b>bold</b> & 'quotes' \"double\"\n"
)


@pytest.fixture(autouse=True)
def jinjiang(app: Flask) -> None:
    """The county the needs and services are at, and a town under it."""
    books = app.extensions["huiquan"].books
    places.add_place(books, code="510104", kind="county", name="锦江区", by=SYSTEM)
    places.add_place(
        books, code="510104017", kind="town", name="沙河街道", parent="510104", by=SYSTEM
    )
    places.add_place(books, code="513327", kind="county", name="炉霍县", by=SYSTEM)


def _need(client: FlaskClient, **fields: str) -> str:
    body = {
        "title": "社区长者食堂需要餐桌",
        "description": "每天六十位老人吃午饭。",
        "category": "elder_care",
        "place": "510104",
        "kind": "money",
        "goal": "1200.00",
        "contact": f"张阿姨 {CANARY}",
        **fields,
    }
    return post_form(client, "/needs/new", body).get_data(as_text=True)


@pytest.fixture
def moderator(app: Flask) -> str:
    books = app.extensions["huiquan"].books
    create_user(
        books,
        login="chen.moderator",
        display_name="陈审核",
        roles=("officer", "moderator"),
        password=PASSWORD,
        by=SYSTEM,
    )
    return "chen.moderator"


def test_a_resident_posts_a_need_and_it_waits_unseen_until_a_moderator_publishes_it(
    app: Flask, client: FlaskClient, users: dict[str, str], moderator: str, seeded: Seeded
) -> None:
    assert "收到" in _need(client)
    books = app.extensions["huiquan"].books
    (need,) = community.list_needs(books, public=False)
    assert need.status == "pending"
    assert need.title not in client.get("/needs").get_data(as_text=True)
    assert client.get(f"/needs/{need.id}").status_code == 404
    officer = app.test_client()
    sign_in(officer, users["officer"])
    page = officer.get(f"/console/community/needs/{need.id}")
    assert CANARY in page.get_data(as_text=True)  # officers see the contact
    refused = officer.post(
        f"/console/community/needs/{need.id}",
        data={"_action": "publish", "fund": seeded.restricted, "csrf_token": csrf_of(page)},
    )
    assert refused.status_code == 403
    mod = app.test_client()
    sign_in(mod, moderator)
    page = mod.get(f"/console/community/needs/{need.id}")
    done = mod.post(
        f"/console/community/needs/{need.id}",
        data={
            "_action": "publish",
            "fund": seeded.restricted,
            "project": seeded.project,
            "csrf_token": csrf_of(page),
            "_key": key_of(page),
        },
    )
    assert done.status_code == 302
    assert community.get_need(books, need.id).status == "open"
    board = client.get("/needs").get_data(as_text=True)
    assert need.title in board and CANARY not in board


def test_the_honeypot_keeps_nothing_and_the_sixth_post_in_an_hour_is_refused(
    app: Flask, client: FlaskClient
) -> None:
    books = app.extensions["huiquan"].books
    _need(client, website="http://spam.example")
    assert community.list_needs(books, public=False) == []
    for _ in range(community.POSTS_PER_HOUR):
        _need(client)
    page = client.get("/needs/new")
    refused = client.post(
        "/needs/new",
        data={
            "csrf_token": csrf_of(page),
            "_key": key_of(page),
            "title": "t",
            "description": "d",
            "category": "health",
            "place": "510104",
            "kind": "hours",
            "hours": "3",
            "contact": "c",
        },
    )
    assert refused.status_code == 429
    assert len(community.list_needs(books, public=False)) == community.POSTS_PER_HOUR


def test_a_form_with_errors_keeps_its_input_and_records_nothing(
    app: Flask, client: FlaskClient
) -> None:
    page = post_form(
        client,
        "/needs/new",
        {"title": "", "description": "d", "category": "nope", "kind": "money", "contact": "c"},
    )
    assert page.status_code == 422
    assert community.list_needs(app.extensions["huiquan"].books, public=False) == []


def test_hostile_text_is_stored_as_sent_shown_escaped_and_exported_without_formulas(
    app: Flask, client: FlaskClient, seeded: Seeded
) -> None:
    books = app.extensions["huiquan"].books
    long_text = HOSTILE_TEXT + "很" * 30_000 + "=1+1" * 4_000  # 100 KB and more of UTF-8
    assert len(long_text.encode()) > 100_000
    _need(client, title=HOSTILE_TITLE, description=long_text)
    (need,) = community.list_needs(books, public=False)
    assert need.title == HOSTILE_TITLE and need.description == long_text.strip()
    community.publish_need(books, need.id, fund=seeded.restricted, by=SYSTEM)
    for path in ("/needs", f"/needs/{need.id}"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert" in html
    rows = list(csv.reader(io.StringIO(client.get("/needs.csv").get_data(as_text=True))))
    title = rows[1][rows[0].index("\ufeffid") + 5]
    assert title.startswith("'=HYPERLINK")
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_no_public_page_or_export_shows_a_contact(
    app: Flask, client: FlaskClient, seeded: Seeded
) -> None:
    books = app.extensions["huiquan"].books
    _need(client)
    (need,) = community.list_needs(books, public=False)
    community.publish_need(books, need.id, fund=seeded.restricted, by=SYSTEM)
    service = community.publish_service(
        books,
        kind="clinic",
        title="义诊",
        description="血压",
        place="510104",
        starts_on=TODAY,
        ends_on=TODAY,
        capacity=5,
        by=SYSTEM,
    )
    post_form(
        client,
        f"/services/{service.id}/signup",
        {"name": "canary-name-王奶奶", "contact": CANARY},
    )
    pages = [
        "/needs",
        f"/needs/{need.id}",
        "/needs.csv",
        "/services",
        f"/services/{service.id}/signup",
        "/",
        "/transparency",
    ]
    for path in pages:
        text = client.get(path).get_data(as_text=True)
        assert CANARY not in text and "canary-name" not in text, path


def test_a_service_fills_up_and_attendance_counts_person_times(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    books = app.extensions["huiquan"].books
    service = community.publish_service(
        books,
        kind="course",
        title="手机课",
        description="教老人用手机",
        place="510104",
        starts_on=TODAY,
        ends_on=TODAY,
        capacity=1,
        by=SYSTEM,
    )
    done = post_form(client, f"/services/{service.id}/signup", {"name": "李", "contact": "138"})
    assert "1" in done.get_data(as_text=True) and done.status_code == 200
    full = post_form(client, f"/services/{service.id}/signup", {"name": "王", "contact": "139"})
    assert full.status_code == 409
    officer = app.test_client()
    sign_in(officer, users["officer"])
    page = officer.get(f"/console/community/services/{service.id}")
    assert "138" in page.get_data(as_text=True)
    signup = re.search(r'name="signup" value="([^"]+)"', page.get_data(as_text=True))
    assert signup
    officer.post(
        f"/console/community/services/{service.id}",
        data={"signup": signup.group(1), "csrf_token": csrf_of(page)},
    )
    assert community.person_times_served(books) == 1
    assert "1" in client.get("/services").get_data(as_text=True)


def test_an_officer_records_a_recurring_pledge_and_sees_it_in_the_reminders(
    app: Flask, users: dict[str, str], seeded: Seeded
) -> None:
    officer = app.test_client()
    sign_in(officer, users["officer"])
    done = post_form(
        officer,
        "/console/community/recurring",
        {
            "donor_id": seeded.donor,
            "fund": seeded.restricted,
            "instalment": "300.00",
            "frequency": "monthly",
            "count": "12",
            "first_due": TODAY.isoformat(),
            "purpose": "每月资助",
            "cny": "CNY",
        },
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    page = officer.get("/console/community/recurring").get_data(as_text=True)
    assert "每月资助" in page and "/console/pledge-payments/new?pledge_id=" in page
    from usecases import recurring

    (schedule,) = recurring.list_schedules(app.extensions["huiquan"].books)
    assert schedule.total_minor == Money.parse("3600.00", "CNY").minor
    register = officer.get("/console/lists/pledges").get_data(as_text=True)
    assert f"#pledge-{schedule.pledge_id}" in register and "每月 × 12 · 已付 0 期" in register


def test_the_board_filters_by_category_status_and_place_with_the_places_under_it(
    app: Flask, client: FlaskClient, seeded: Seeded
) -> None:
    books = app.extensions["huiquan"].books
    _need(client, title="沙河街道的长者食堂", place="510104017")
    _need(client, title="炉霍的村医", place="513327", category="health")
    for need in community.list_needs(books, public=False):
        community.publish_need(books, need.id, fund=seeded.restricted, by=SYSTEM)

    def shown(**query: str) -> set[str]:
        html = client.get("/needs", query_string=query).get_data(as_text=True)
        return {t for t in ("沙河街道的长者食堂", "炉霍的村医") if t in html}

    assert shown() == {"沙河街道的长者食堂", "炉霍的村医"}
    assert shown(place="510104") == {"沙河街道的长者食堂"}
    assert shown(place="510104017") == {"沙河街道的长者食堂"}
    assert shown(category="health") == {"炉霍的村医"}
    assert shown(status="answered") == set()
    assert shown(status="open", place="513327") == {"炉霍的村医"}
    assert "锦江区 › 沙河街道" in client.get("/needs").get_data(as_text=True)
    refused = post_form(
        client,
        "/needs/new",
        {"title": "t", "description": "d", "category": "health", "place": "999999"},
    )
    assert refused.status_code == 422
