"""Fixtures of the console tests: the web app (API + console) on fresh books, signed-in clients.

`seeded` opens a restricted and a general fund, a project with a budget, a donor and a
beneficiary through the use cases, and gives the general fund some cash. `sign_in(client,
login)` signs a test client in through the login form (CSRF token and all); `form_of` is a
form's CSRF token and idempotency key, `error_of` the error shown beside a field, `events` the
audit trail's successes, `api_as` an API caller of a role. `donate`, `disburse`, `in_kind` and
`attach` record through the use cases. The browser tests' fixtures (`live_url`, `browser`,
`watched`) are `tests.console.browser`'s.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from ledger.entries import PostedEntry
from ledger.money import Money
from ledger.storage import tables
from tests.api.conftest import Caller
from tests.console.browser import browser, live_url, watched
from usecases import evidence, gifts, reference, spending
from usecases.tokens import create_token
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
_ERROR = r'<p class="error" id="e-{}">([^<]*)</p>'
_ALERT = re.compile(r'<div class="alert" role="alert"><p>([^<]*)</p>')
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

__all__ = ["browser", "live_url", "watched"]  # the browser tests' fixtures, for every module


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


def form_of(client: FlaskClient, path: str) -> dict[str, str]:
    """The form at `path`'s CSRF token and idempotency key, to send with its fields."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return {"csrf_token": csrf_of(page), "_key": key_of(page)}


def linked_from(client: FlaskClient, target: str, *pages: str) -> None:
    """Each of `pages` links to `target`."""
    for page in pages:
        assert f'href="{target}"' in client.get(page).get_data(as_text=True), (page, target)


def _html(page: TestResponse | str) -> str:
    return page if isinstance(page, str) else page.get_data(as_text=True)


def error_of(page: TestResponse | str, name: str) -> str:
    """The error shown beside field `name` (the page must show one)."""
    found = re.search(_ERROR.format(name), _html(page))
    assert found, f"no error beside {name}"
    return found.group(1).strip()


def alert_of(page: TestResponse | str) -> str:
    """The error shown above the form (the page must show one)."""
    found = _ALERT.search(_html(page))
    assert found, "no alert above the form"
    return found.group(1).strip()


# -- the books, read and written through the use cases ------------------------------------------
def books_of(app: Flask) -> Any:
    return app.extensions["huiquan"].books


def api_as(app: Flask, role: str = "admin") -> Caller:
    """An API caller with a new token of `role`."""
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    return Caller(app.test_client(), create_token(books_of(app).engine, role=role, name=name))


def events(app: Flask, action: str, *, ending: bool = False) -> list[Any]:
    """The successful audit events whose action is `action` (or, `ending`, ends with it),
    oldest first."""
    t = tables.audit_events
    named = t.c.action.like(f"%{action}") if ending else t.c.action == action
    with books_of(app).engine.connect() as conn:
        query = select(t).where(named, t.c.outcome == "success")
        return list(conn.execute(query.order_by(t.c.sequence)))


def count(app: Flask, table: Any, **where: str) -> int:
    """How many rows of `table` have these column values."""
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(getattr(table.c, column) == value)
    with books_of(app).engine.connect() as conn:
        return int(conn.scalar(query) or 0)


def donate(app: Flask, seeded: Seeded, amount: str = "20000.00") -> Any:
    """A gift of `amount` CNY from the seeded donor to the restricted fund, today."""
    return gifts.record_donation(
        books_of(app),
        by=SYSTEM,
        donor_id=seeded.donor,
        fund=seeded.restricted,
        amount=Money.parse(amount, "CNY"),
        received_on=TODAY,
    )


def disburse(app: Flask, seeded: Seeded, amount: str = "3000.00", memo: str = "冬季校服") -> str:
    """A payment of `amount` CNY from the restricted fund to the seeded project, posted (not
    waiting for an approver): its entry."""
    paid = spending.record_disbursement(
        books_of(app),
        by=SYSTEM,
        fund=seeded.restricted,
        project=seeded.project,
        amount=Money.parse(amount, "CNY"),
        paid_on=TODAY,
        memo=memo,
    )
    assert isinstance(paid, PostedEntry), paid  # posted, not an approval request
    return str(paid.id)


def in_kind(app: Flask, seeded: Seeded) -> str:
    """Ten ventilators given in kind to the restricted fund, held as inventory: the entry."""
    gift = gifts.record_in_kind(
        books_of(app),
        by=SYSTEM,
        donor_id=seeded.donor,
        fund=seeded.restricted,
        description="呼吸机",
        quantity="10 台",
        fair_value=Money.parse("100000.00", "CNY"),
        valuation_basis="发票",
        received_on=TODAY,
        asset="inventory",
        evidence="",
        pass_through_to=None,
        memo="",
    )
    return str(gift.entry.id)


def attach(app: Flask, entry_id: str, kind: str, file_name: str, content: bytes = PDF) -> Any:
    """A document of `kind` attached to an entry: its record."""
    return evidence.attach(
        books_of(app),
        subject_type="entry",
        subject_id=entry_id,
        kind=kind,
        upload=evidence.Upload(io.BytesIO(content), file_name),
        by=SYSTEM,
    )
