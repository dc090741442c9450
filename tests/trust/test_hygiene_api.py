"""What the API lets in: clean text only, real booleans, bodies Python can parse; and the headers
every answer carries. Each test here failed before the fix it guards (issue #13, "Trust")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api import conftest as api_fixtures
from tests.api.conftest import Books, Caller, donation

# The API tests' fixtures (app, tokens, callers per role, books), used here as they are.
globals().update(
    {
        name: getattr(api_fixtures, name)
        for name in "app_config app client tokens books admin officer auditor anonymous".split()
    }
)

CONTROLS = ["esc\x1bhere", "bell\x07", "del\x7f", "c1\x85", "nul\x00", "cr\rlf"]


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["code"] == code
    return body


def _raw_post(caller: Caller, path: str, data: str | bytes) -> Any:
    headers = {**caller.headers(), "Content-Type": "application/json"}
    return caller.client.post(path, data=data, headers=headers)


@pytest.mark.parametrize("memo", CONTROLS)
def test_a_memo_with_a_control_character_is_refused_and_posts_nothing(
    officer: Caller, auditor: Caller, books: Books, memo: str
) -> None:
    body = _problem(
        officer.post("/api/v1/donations", donation(books, memo=memo)), 422, "validation_error"
    )
    assert "control characters" in body["errors"]["memo"][0]
    assert auditor.get("/api/v1/entries").get_json()["items"] == []


def test_a_memo_may_hold_several_lines_and_tabs(officer: Caller, books: Books) -> None:
    created = officer.created("/api/v1/donations", donation(books, memo="line 1\n\tline 2"))
    assert created["memo"] == "line 1\n\tline 2"


@pytest.mark.parametrize(
    ("path", "field", "body"),
    [
        ("/api/v1/donors", "name", {"name": "Wang\nXiuying"}),
        ("/api/v1/donors", "region", {"name": "Wang", "region": "Jinjiang\t"}),
    ],
)
def test_a_single_line_field_refuses_even_tab_and_line_feed(
    officer: Caller, path: str, field: str, body: dict[str, Any]
) -> None:
    problem = _problem(officer.post(path, body), 422, "validation_error")
    assert field in problem["errors"]


def test_a_fund_name_with_a_c1_control_is_refused(admin: Caller) -> None:
    body = {"code": "C1", "name": "fund\x9b", "restricted": False}
    _problem(admin.post("/api/v1/funds", body), 422, "validation_error")


def test_a_lone_surrogate_escaped_in_json_is_refused(officer: Caller, books: Books) -> None:
    text = json.dumps(donation(books)).replace('"CNY"', '"CNY", "memo": "x\\ud800y"')
    body = _problem(_raw_post(officer, "/api/v1/donations", text), 422, "validation_error")
    assert "surrogate" in body["errors"]["memo"][0]


# -- bodies Python's own parser refuses -------------------------------------------------------
def test_a_body_nested_five_thousand_deep_is_a_bad_request(officer: Caller, books: Books) -> None:
    deep = "[" * 5000 + "]" * 5000
    text = json.dumps(donation(books))[:-1] + ', "memo": ' + deep + "}"
    body = _problem(_raw_post(officer, "/api/v1/donations", text), 400, "bad_request")
    assert "nested" in body["detail"]


def test_an_integer_of_4301_digits_is_a_bad_request(officer: Caller, books: Books) -> None:
    text = json.dumps(donation(books))[:-1] + ', "amount_extra": ' + "9" * 4301 + "}"
    body = _problem(_raw_post(officer, "/api/v1/donations", text), 400, "bad_request")
    assert "digits" in body["detail"]


def test_a_body_that_is_not_utf8_is_a_bad_request(officer: Caller) -> None:
    _problem(_raw_post(officer, "/api/v1/donors", b'{"name": "\xff"}'), 400, "bad_request")


# -- strict booleans ---------------------------------------------------------------------------
@pytest.mark.parametrize("value", [0, 1, 0.0, 1.0, "true", "1", None])
def test_a_boolean_field_takes_only_true_or_false(admin: Caller, value: Any) -> None:
    body = {"code": "B1", "name": "Fund", "restricted": value}
    problem = _problem(admin.post("/api/v1/funds", body), 422, "validation_error")
    assert "restricted" in problem["errors"]
    assert admin.get("/api/v1/funds").get_json()["items"] == []


def test_a_real_boolean_is_taken(admin: Caller) -> None:
    created = admin.created("/api/v1/funds", {"code": "B2", "name": "Fund", "restricted": False})
    assert created["restricted"] is False


# -- headers -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["/api/v1/funds", "/healthz", "/api/docs", "/api/openapi.json", "/api/v1/nothing-here"]
)
def test_every_answer_says_nosniff(auditor: Caller, path: str) -> None:
    assert auditor.get(path).headers["X-Content-Type-Options"] == "nosniff"


def test_the_api_page_has_a_strict_content_security_policy(anonymous: Caller) -> None:
    response = anonymous.get("/api/docs")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "'sha256-" in policy and "unsafe-inline" not in policy
    assert "script-src" not in policy  # no script: default-src 'none' forbids it


def test_every_boolean_an_input_schema_loads_is_strict() -> None:
    from marshmallow import Schema, fields

    import api.receipt_routes
    import api.resources
    import api.schemas
    from api.schemas import StrictBoolean

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        return found.union(*(subclasses(c) for c in found))

    loose = [
        f"{schema.__name__}.{name}"
        for schema in subclasses(Schema)
        if schema.__module__.startswith("api") and schema.__name__.endswith("In")
        for name, field in schema._declared_fields.items()
        if isinstance(field, fields.Boolean) and not isinstance(field, StrictBoolean)
    ]
    assert api.resources and api.receipt_routes and api.schemas
    assert loose == []
