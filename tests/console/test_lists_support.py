"""What the console's list and auditor tests share: the web app with the lists and the
auditors' pages installed, browsers signed in through the login form, and books recorded
through the API (pledges part-paid, an award part-paid, gifts on several days).

The fixtures live in the test modules (`app`, `recorded`, `auditor_browser`, ...) and call these.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from ledger.errors import NotFound
from tests.api.conftest import Caller
from tests.console.conftest import sign_in
from usecases.tokens import create_token
from usecases.unit import SYSTEM
from usecases.users import create_user, user_by_login
from web.app import create_app

TODAY = dt.datetime.now(dt.UTC).date()


def web_app(config: dict[str, Any]) -> Flask:
    """The web app (API and console; the console installs the lists and the auditors' pages)."""
    return create_app(config)


def browser(app: Flask, role: str) -> FlaskClient:
    """A test client whose session holds a signed-in person (a user with `role`, made if
    missing), as the login page leaves it (`console.pages.login`); one test per module signs in
    through the form itself, the others skip the password hashing."""
    books = app.extensions["console"].books
    try:
        user = user_by_login(books, role)
    except NotFound:
        user = create_user(
            books, login=role, display_name=role, roles=(role,), by=SYSTEM, audit=False
        )
    client = app.test_client()
    with client.session_transaction() as session:
        session["user"] = {"id": user.id}
        session["signed_in_at"] = int(dt.datetime.now(dt.UTC).timestamp())
    return client


def browser_signed_in(app: Flask, login: str) -> FlaskClient:
    """A test client signed in as `login` through the login form."""
    client = app.test_client()
    response = sign_in(client, login)
    assert response.status_code == 302, response.status_code
    return client


@dataclass
class Recorded:
    """What `record_books` recorded: ids by name, and the beneficiary's pseudonym."""

    ids: dict[str, str]
    beneficiary: str


def record_books(app: Flask) -> Recorded:
    """Two funds, a project, donors, a pledge part-paid, gifts, a disbursement, an award paid."""
    engine, client = app.extensions["huiquan"].engine, app.test_client()
    admin = Caller(client, create_token(engine, role="admin", name="admin-1"))
    officer = Caller(client, create_token(engine, role="officer", name="officer-1"))
    admin.created(
        "/api/v1/funds",
        {"code": "JLZX", "name": "锦炉爱心助学基金", "restricted": True, "purpose": "girls"},
    )
    admin.created("/api/v1/funds", {"code": "GEN", "name": "General fund", "restricted": False})
    admin.created(
        "/api/v1/projects",
        {"code": "LUHUO-EDU", "name": "炉霍助学", "fund": "JLZX", "county": "炉霍县"},
    )
    donor = officer.created("/api/v1/donors", {"name": "成都某公司", "kind": "organisation"})["id"]
    other = officer.created("/api/v1/donors", {"name": "Chan Tai Man"})["id"]
    person = officer.created(
        "/api/v1/beneficiaries",
        {
            "cohort": "高中助学金 2024秋",
            "county": "炉霍县",
            "personal": {"name": "卓玛", "id_number": "513327200901011234"},
        },
    )["id"]

    def gift(amount: str, days_ago: int, **fields: Any) -> dict[str, Any]:
        body = {
            "donor_id": donor,
            "fund": "JLZX",
            "amount": amount,
            "currency": "CNY",
            "received_on": f"{TODAY - dt.timedelta(days=days_ago)}",
            **fields,
        }
        created: dict[str, Any] = officer.created("/api/v1/donations", body)
        return created

    ids: dict[str, str] = {"donor": donor, "other": other}
    ids["old_gift"] = gift("1000.00", 3)["id"]
    ids["new_gift"] = gift("250.50", 0, donor_id=other, fund="GEN", method="cash")["id"]
    pledge = officer.created(
        "/api/v1/pledges",
        {"donor_id": donor, "fund": "JLZX", "amount": "600.00", "currency": "CNY"},
    )
    ids["pledge"] = pledge["id"]
    paying = gift("200.00", 0, pledge_id=pledge["id"])
    ids["pledge_payment"] = paying["id"]
    ids["receipt"] = paying["receipt"]["serial"]
    ids["disbursement"] = officer.created(
        "/api/v1/disbursements",
        {
            "fund": "JLZX",
            "project": "LUHUO-EDU",
            "amount": "120.00",
            "currency": "CNY",
            "paid_on": f"{TODAY}",
            "memo": "课本",
        },
    )["id"]
    award = officer.created(
        "/api/v1/scholarship-awards",
        {
            "fund": "JLZX",
            "beneficiary_id": person,
            "amount": "300.00",
            "currency": "CNY",
            "term": "2026秋",
        },
    )
    ids["award"] = award["id"]
    ids["award_entry"] = award["entry"]["id"]
    ids["payout"] = officer.created(
        "/api/v1/scholarship-payouts",
        {"award_id": award["id"], "amount": "100.00", "paid_on": f"{TODAY}"},
    )["id"]
    return Recorded(ids, person)
