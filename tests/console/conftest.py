"""Fixtures of the console tests: the web app (API + console) on fresh books, signed-in clients.

`seeded` opens a restricted and a general fund, a project with a budget, a donor and a
beneficiary through the use cases, and gives the general fund some cash. `sign_in(client,
login)` signs a test client in through the login form (CSRF token and all).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ledger.money import Money
from usecases import gifts, reference
from usecases.unit import SYSTEM
from usecases.users import create_user
from web.app import create_app

TODAY = dt.datetime.now(dt.UTC).date()
PASSWORD = "correct horse battery staple"
USERS = {
    "officer": ("wang.officer", "王经办", ("officer",)),
    "admin": ("li.admin", "李管理", ("admin",)),
    "auditor": ("zhao.auditor", "赵审计", ("auditor",)),
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_KEY = re.compile(r'name="_key" value="([^"]+)"')


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "PSEUDONYM_SECRET": b"test-pseudonym-key-0123456789abcdef",
        "HUIQUAN_HOME": str(tmp_path / "home"),
        "LOG_REQUESTS": False,
        "SECRET_KEY": "test-console-secret",
        "CONSOLE_LOGIN_FLOOR_SECONDS": 0.05,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    yield app
    app.extensions["huiquan"].engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def users(app: Flask) -> dict[str, str]:
    """One user per role (password `PASSWORD`); role -> login."""
    books = app.extensions["huiquan"].books
    for login, name, roles in USERS.values():
        create_user(
            books, login=login, display_name=name, roles=roles, password=PASSWORD, by=SYSTEM
        )
    return {role: login for role, (login, _, _) in USERS.items()}


@dataclass
class Seeded:
    restricted: str
    general: str
    project: str
    donor: str
    beneficiary: str


@pytest.fixture
def seeded(app: Flask) -> Seeded:
    books = app.extensions["huiquan"].books
    reference.open_fund(
        books, code="JLZX", name="锦炉爱心助学基金", restricted=True, purpose="女童助学"
    )
    reference.open_fund(books, code="GEN", name="综合基金", restricted=False)
    reference.open_project(
        books,
        code="LUHUO-EDU",
        name="炉霍助学",
        fund="JLZX",
        county="炉霍县",
        budget=Money.parse("50000.00", "CNY"),
    )
    donor = reference.register_donor(books, name="成都某公司", kind="organisation")
    beneficiary = reference.register_beneficiary(
        books,
        cohort="高中助学金 2024秋",
        county="炉霍县",
        personal={"name": "卓玛", "id_number": "513327200901011234"},
    )
    gifts.record_donation(
        books,
        by=SYSTEM,
        donor_id=donor.id,
        fund="GEN",
        amount=Money.parse("800.00", "CNY"),
        received_on=TODAY,
    )
    return Seeded("JLZX", "GEN", "LUHUO-EDU", donor.id, beneficiary.id)


def csrf_of(response: TestResponse) -> str:
    found = _CSRF.search(response.get_data(as_text=True))
    assert found, "the page has no CSRF token"
    return found.group(1)


def key_of(response: TestResponse) -> str:
    found = _KEY.search(response.get_data(as_text=True))
    assert found, "the form has no idempotency key"
    return found.group(1)


def sign_in(client: FlaskClient, login: str, password: str = PASSWORD) -> TestResponse:
    page = client.get("/console/login")
    return client.post(
        "/console/login",
        data={"login": login, "password": password, "csrf_token": csrf_of(page)},
    )


def post_form(client: FlaskClient, path: str, data: dict[str, str], **query: str) -> TestResponse:
    """GET the form (for its CSRF token and key), then POST `data` with them."""
    page = client.get(path, query_string=query)
    assert page.status_code == 200, page.status_code
    body = {"csrf_token": csrf_of(page), "_key": key_of(page), **data}
    return client.post(path, data=body, query_string=query)
