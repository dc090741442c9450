"""Fixtures of the HTTP API tests: an app on a fresh database, a client, a token per role.

`admin`, `officer` and `auditor` are clients that send their role's bearer token; `anonymous`
sends none. `books` opens a small set of books through the API (a restricted and an
unrestricted fund, a project, a donor, a beneficiary) for the tests of operations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from api import create_app
from usecases.tokens import create_token

ROLES = ("admin", "officer", "auditor")
TODAY = dt.datetime.now(dt.UTC).date()


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def days_since(sent: dt.date) -> set[str]:
    """The days a request sent on `sent` may call today: that day, or a later one if the clock
    passed midnight (UTC) in the meantime."""
    return {sent.isoformat(), utc_today().isoformat()}


@pytest.fixture
def app_config(database_url: str, tmp_path: Path) -> dict[str, Any]:
    """The settings of the app under test (tests may change them before `app` is built)."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "PSEUDONYM_SECRET": b"test-pseudonym-key-0123456789abcdef",
        "HUIQUAN_HOME": str(tmp_path / "home"),
        "LOG_REQUESTS": True,
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
def tokens(app: Flask) -> dict[str, str]:
    """A fresh bearer token per role."""
    engine = app.extensions["huiquan"].engine
    return {role: create_token(engine, role=role, name=f"{role}-1") for role in ROLES}


@dataclass
class Caller:
    """A test client that sends one role's token (or none) with every request."""

    client: FlaskClient
    token: str | None

    def headers(self, key: str | None = None, extra: dict[str, str] | None = None) -> dict:
        headers = dict(extra or {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(
            path, headers=self.headers(extra=kwargs.pop("headers", None)), **kwargs
        )

    def post(
        self, path: str, json: Any = None, *, key: str | None = None, **kwargs: Any
    ) -> TestResponse:
        headers = self.headers(key, kwargs.pop("headers", None))
        return self.client.post(path, json=json, headers=headers, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.delete(
            path, headers=self.headers(extra=kwargs.pop("headers", None)), **kwargs
        )

    def created(self, path: str, json: Any, **kwargs: Any) -> dict[str, Any]:
        """POST and insist on 201; the created resource."""
        response = self.post(path, json, **kwargs)
        assert response.status_code == 201, response.get_json()
        body: dict[str, Any] = response.get_json()
        return body


@pytest.fixture
def admin(client: FlaskClient, tokens: dict[str, str]) -> Caller:
    return Caller(client, tokens["admin"])


@pytest.fixture
def officer(client: FlaskClient, tokens: dict[str, str]) -> Caller:
    return Caller(client, tokens["officer"])


@pytest.fixture
def auditor(client: FlaskClient, tokens: dict[str, str]) -> Caller:
    return Caller(client, tokens["auditor"])


@pytest.fixture
def anonymous(client: FlaskClient) -> Caller:
    return Caller(client, None)


@dataclass
class Books:
    """What `books` opened: fund codes, a project code, a donor id, a beneficiary pseudonym."""

    restricted: str
    general: str
    project: str
    donor: str
    beneficiary: str


def donation(books: Books, amount: str = "1000.00", **fields: Any) -> dict[str, Any]:
    """The body of a CNY donation to the restricted fund, received today."""
    return {
        "donor_id": books.donor,
        "fund": books.restricted,
        "amount": amount,
        "currency": "CNY",
        "received_on": TODAY.isoformat(),
        **fields,
    }


def disbursement(books: Books, amount: str = "100.00", **fields: Any) -> dict[str, Any]:
    """The body of a CNY disbursement from the restricted fund to its project, paid today."""
    return {
        "fund": books.restricted,
        "project": books.project,
        "amount": amount,
        "currency": "CNY",
        "paid_on": TODAY.isoformat(),
        **fields,
    }


@pytest.fixture
def books(admin: Caller, officer: Caller) -> Books:
    admin.created(
        "/api/v1/funds",
        {
            "code": "JLZX",
            "name": "锦炉爱心助学基金",
            "restricted": True,
            "purpose": "girls' schooling",
        },
    )
    admin.created("/api/v1/funds", {"code": "GEN", "name": "General fund", "restricted": False})
    admin.created(
        "/api/v1/projects",
        {"code": "LUHUO-EDU", "name": "炉霍助学", "fund": "JLZX", "county": "炉霍县"},
    )
    donor = officer.created("/api/v1/donors", {"name": "成都某公司", "kind": "organisation"})
    beneficiary = officer.created(
        "/api/v1/beneficiaries",
        {
            "cohort": "高中助学金 2024秋",
            "county": "炉霍县",
            "personal": {"name": "卓玛", "id_number": "513327200901011234"},
        },
    )
    return Books("JLZX", "GEN", "LUHUO-EDU", donor["id"], beneficiary["id"])
