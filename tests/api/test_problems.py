"""Every problem code of the catalogue, answered as RFC 9457 problem+json (one test per code)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import ImATeapot
from werkzeug.test import TestResponse

from api import create_app
from api.errors import CATALOGUE, catalogue_markdown
from ledger.errors import UnknownAccount
from tests.api.conftest import TODAY, Books, Caller, disbursement, donation


def problem(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """Assert the response is the problem `code` with `status`; its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"] == f"https://huiquan.example/problems/{code}"
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["X-Request-Id"]
    return body


# -- 4xx from the HTTP layer -------------------------------------------------------------------
def test_a_body_that_is_not_json_is_a_bad_request(officer: Caller) -> None:
    response = officer.client.post(
        "/api/v1/donations",
        data="{not json",
        headers={**officer.headers(), "Content-Type": "application/json"},
    )
    problem(response, 400, "bad_request")


def test_a_request_without_a_token_is_unauthorized_with_a_bearer_challenge(
    anonymous: Caller,
) -> None:
    response = anonymous.get("/api/v1/funds")
    problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer hq_not-a-real-token", "Basic YWRtaW46YWRtaW4=", "Bearer", "hq_x"]
)
def test_a_bad_token_or_scheme_is_unauthorized(client: Any, header: str) -> None:
    problem(client.get("/api/v1/funds", headers={"Authorization": header}), 401, "unauthorized")


def test_an_auditor_may_not_write(auditor: Caller, books: Books) -> None:
    body = problem(auditor.post("/api/v1/donations", donation(books)), 403, "forbidden")
    assert "auditor" in body["detail"]


@pytest.mark.parametrize(
    "path", ["/api/v1/funds/NOPE", "/api/v1/donors/D-none", "/api/v1/entries/x", "/nowhere"]
)
def test_a_path_that_names_nothing_is_not_found(auditor: Caller, path: str) -> None:
    problem(auditor.get(path), 404, "not_found")


def test_a_path_with_a_nul_character_is_not_found(auditor: Caller) -> None:
    problem(auditor.get("/api/v1/funds/a%00b"), 404, "not_found")


def test_a_method_the_path_does_not_take_is_not_allowed(admin: Caller) -> None:
    response = admin.delete("/api/v1/funds")
    problem(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_a_body_over_one_mebibyte_is_too_large(officer: Caller, books: Books) -> None:
    body = json.dumps({**donation(books), "memo": "x" * (1024 * 1024)})
    response = officer.client.post(
        "/api/v1/donations",
        data=body,
        headers={**officer.headers(), "Content-Type": "application/json"},
    )
    problem(response, 413, "payload_too_large")


def test_a_path_and_query_over_eight_kibibytes_is_a_uri_too_long(auditor: Caller) -> None:
    response = auditor.get("/api/v1/entries?fund=" + "x" * 9000)
    problem(response, 414, "uri_too_long")


def test_a_body_that_is_not_declared_json_is_an_unsupported_media_type(officer: Caller) -> None:
    response = officer.client.post(
        "/api/v1/donors",
        data="name=x",
        headers={**officer.headers(), "Content-Type": "application/x-www-form-urlencoded"},
    )
    problem(response, 415, "unsupported_media_type")


# -- validation ---------------------------------------------------------------------------------
def test_unknown_fields_are_refused_and_named(officer: Caller, books: Books) -> None:
    body = problem(
        officer.post("/api/v1/donations", donation(books, is_admin=True)),
        422,
        "validation_error",
    )
    assert body["errors"] == {"is_admin": ["Unknown field."]}


def test_a_json_number_for_an_amount_is_refused_with_a_clear_message(
    officer: Caller, books: Books
) -> None:
    body = problem(
        officer.post("/api/v1/donations", donation(books, amount=1200.5)), 422, "validation_error"
    )
    assert body["errors"]["amount"] == [
        'amount must be a decimal string such as "12.50", not a number (1200.5)'
    ]
    body = problem(
        officer.post("/api/v1/donations", donation(books, amount=1200)), 422, "validation_error"
    )
    assert "not a JSON number" in body["errors"]["amount"][0]


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("12.345", "CNY", "CNY has 2 decimal places"),
        ("12.5", "JPY", "JPY has 0 decimal places"),
        ("1e3", "CNY", "uses an exponent"),
        ("NaN", "CNY", "is not a number"),
        ("0", "CNY", "greater than zero"),
        ("-5.00", "CNY", "greater than zero"),
        ("99999999999999", "CNY", "above the ceiling"),
    ],
)
def test_amounts_follow_the_ledgers_money_rules(
    officer: Caller, books: Books, amount: str, currency: str, message: str
) -> None:
    body = problem(
        officer.post(
            "/api/v1/donations",
            donation(books, amount=amount, currency=currency, fx_rate="0.05", fx_source="PBOC"),
        ),
        422,
        "validation_error",
    )
    assert message in body["errors"]["amount"][0]


def test_every_field_problem_is_reported_at_once(officer: Caller) -> None:
    body = problem(
        officer.post("/api/v1/donations", {"amount": "1.00", "currency": "XXX", "method": "gold"}),
        422,
        "validation_error",
    )
    assert set(body["errors"]) == {"donor_id", "fund", "currency", "received_on", "method"}


def test_a_ledger_rule_names_the_field_and_gives_the_finer_reason(
    officer: Caller, books: Books
) -> None:
    body = problem(
        officer.post("/api/v1/donations", donation(books, currency="USD", amount="10.00")),
        422,
        "validation_error",
    )
    assert body["errors"] == {"fx_rate": ["a USD gift needs fx_rate and fx_source"]}
    assert body["reason"] == "invalid_entry"


def test_a_future_date_is_refused_under_the_requests_own_field_name(
    officer: Caller, books: Books
) -> None:
    later = (TODAY + dt.timedelta(days=5)).isoformat()
    body = problem(
        officer.post("/api/v1/donations", donation(books, received_on=later)),
        422,
        "validation_error",
    )
    assert list(body["errors"]) == ["received_on"]


# -- references inside a body ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "change", "code"),
    [
        ("/api/v1/donations", {"fund": "NOPE"}, "unknown_fund"),
        ("/api/v1/donations", {"donor_id": "D-nobody"}, "unknown_donor"),
        ("/api/v1/donations", {"pledge_id": "P-nothing"}, "unknown_pledge"),
        ("/api/v1/donations", {"campaign": "no-such-drive"}, "unknown_campaign"),
        ("/api/v1/disbursements", {"project": "NOPE"}, "unknown_project"),
    ],
)
def test_a_body_that_names_nothing_is_an_unknown_reference(
    officer: Caller, books: Books, path: str, change: dict[str, str], code: str
) -> None:
    base = donation(books) if path.endswith("donations") else disbursement(books)
    body = problem(officer.post(path, {**base, **change}), 422, code)
    assert list(body["errors"]) == list(change)


def test_a_project_at_a_place_that_names_nothing_is_an_unknown_place(admin: Caller) -> None:
    body = {"code": "NOWHERE", "name": "x", "fund": "NOPE", "place": "513327999"}
    problem(admin.post("/api/v1/projects", body), 422, "unknown_place")


def test_an_award_to_an_unknown_beneficiary_is_refused(officer: Caller, books: Books) -> None:
    award = {
        "fund": books.restricted,
        "beneficiary_id": "B-0000000000000000",
        "amount": "500.00",
        "currency": "CNY",
        "term": "2026秋",
    }
    problem(officer.post("/api/v1/scholarship-awards", award), 422, "unknown_beneficiary")


def test_a_payout_of_an_unknown_award_is_refused(officer: Caller) -> None:
    payout = {"award_id": "A-none", "amount": "1.00", "paid_on": TODAY.isoformat()}
    body = problem(officer.post("/api/v1/scholarship-payouts", payout), 422, "unknown_award")
    assert list(body["errors"]) == ["award_id"]


# -- the books' rules -----------------------------------------------------------------------------
def test_a_disbursement_beyond_the_funds_cash_is_refused_and_changes_nothing(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    officer.created("/api/v1/donations", donation(books, "100.00"))
    problem(
        officer.post("/api/v1/disbursements", disbursement(books, "100.01")),
        409,
        "insufficient_funds",
    )
    cash = auditor.get(f"/api/v1/funds/{books.restricted}").get_json()["balances"]["cash"]
    assert cash == [{"amount": "100.00", "currency": "CNY"}]
    assert len(auditor.get("/api/v1/entries").get_json()["items"]) == 1


def test_a_disbursement_beyond_its_projects_budget_is_over_budget(
    admin: Caller, officer: Caller, books: Books
) -> None:
    admin.created(
        "/api/v1/projects",
        {
            "code": "BUDGETED",
            "name": "有预算的项目",
            "fund": books.restricted,
            "county": "炉霍县",
            "budget": {"amount": "50.00", "currency": "CNY"},
        },
    )
    officer.created("/api/v1/donations", donation(books, "100.00"))
    body = problem(
        officer.post("/api/v1/disbursements", disbursement(books, "50.01", project="BUDGETED")),
        409,
        "over_budget",
    )
    assert "50.00 CNY of its 50.00 CNY budget left" in body["detail"]


def test_a_payment_outside_the_funds_purposes_is_a_purpose_mismatch(
    admin: Caller, officer: Caller, books: Books
) -> None:
    admin.client.put(
        f"/api/v1/funds/{books.restricted}/purposes",
        json={"scholarships": True},
        headers=admin.headers(),
    )
    officer.created("/api/v1/donations", donation(books, "100.00"))
    problem(
        officer.post("/api/v1/disbursements", disbursement(books, "10.00")),
        409,
        "purpose_mismatch",
    )


def test_paying_a_pledge_beyond_its_amount_is_an_overpayment(officer: Caller, books: Books) -> None:
    pledge = officer.created(
        "/api/v1/pledges",
        {"donor_id": books.donor, "fund": books.restricted, "amount": "50.00", "currency": "CNY"},
    )
    problem(
        officer.post("/api/v1/donations", donation(books, "50.01", pledge_id=pledge["id"])),
        409,
        "overpayment",
    )


def test_an_entry_dated_in_a_closed_period_is_refused(
    admin: Caller, officer: Caller, books: Books
) -> None:
    last_month = TODAY.replace(day=1) - dt.timedelta(days=1)
    admin.created(f"/api/v1/periods/{last_month:%Y-%m}/close", None)
    body = problem(
        officer.post("/api/v1/donations", donation(books, received_on=last_month.isoformat())),
        409,
        "period_closed",
    )
    assert list(body["errors"]) == ["received_on"]


def test_an_entry_is_reversed_once(officer: Caller, books: Books) -> None:
    gift = officer.created("/api/v1/donations", donation(books))
    officer.created(f"/api/v1/entries/{gift['id']}/reversal", {"reason": "duplicate import"})
    problem(
        officer.post(f"/api/v1/entries/{gift['id']}/reversal", {"reason": "again"}),
        409,
        "already_reversed",
    )


def test_a_fund_code_is_taken_once(admin: Caller, books: Books) -> None:
    body = problem(
        admin.post("/api/v1/funds", {"code": books.general, "name": "x", "restricted": False}),
        409,
        "already_exists",
    )
    assert list(body["errors"]) == ["code"]


def test_posting_to_a_closed_account_is_refused(
    admin: Caller, officer: Caller, books: Books
) -> None:
    admin.post("/api/v1/accounts/1002-CNY/close")
    problem(officer.post("/api/v1/donations", donation(books)), 409, "account_closed")


def test_reusing_an_idempotency_key_for_another_body_is_a_conflict(
    officer: Caller, books: Books
) -> None:
    officer.created("/api/v1/donations", donation(books, "10.00"), key="gift-1")
    problem(
        officer.post("/api/v1/donations", donation(books, "20.00"), key="gift-1"),
        422,
        "idempotency_conflict",
    )


def test_a_malformed_idempotency_key_is_a_validation_error(officer: Caller, books: Books) -> None:
    body = problem(
        officer.post("/api/v1/donations", donation(books), key="has space"),
        422,
        "validation_error",
    )
    assert list(body["errors"]) == ["Idempotency-Key"]


# -- failed authentications are slowed ------------------------------------------------------------
@pytest.fixture
def strict_limit(app_config: dict[str, Any]) -> None:
    app_config["FAILED_AUTH_LIMIT"] = "3 per minute"


def test_repeated_failed_authentications_from_one_address_are_rate_limited(
    strict_limit: None, client: Any, tokens: dict[str, str]
) -> None:
    bad = {"Authorization": "Bearer hq_wrong"}
    for _ in range(3):
        assert client.get("/api/v1/funds", headers=bad).status_code == 401
    response = client.get("/api/v1/funds", headers=bad)
    problem(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0
    # Issue 13: the limiter slows failed attempts only; a valid token from the same address
    # (another client behind the same NAT) is still served, and the next bad one is still 429.
    good = {"Authorization": f"Bearer {tokens['auditor']}"}
    assert client.get("/api/v1/funds", headers=good).status_code == 200
    problem(client.get("/api/v1/funds", headers=bad), 429, "rate_limited")
    assert client.get("/healthz").status_code == 200
    other = {"REMOTE_ADDR": "10.9.9.9"}
    assert client.get("/api/v1/funds", headers=good, environ_base=other).status_code == 200
    assert client.get("/api/v1/funds", headers=bad, environ_base=other).status_code == 401


def test_successful_requests_do_not_count_towards_the_limit(
    strict_limit: None, client: Any, tokens: dict[str, str]
) -> None:
    good = {"Authorization": f"Bearer {tokens['auditor']}"}
    for _ in range(10):
        assert client.get("/api/v1/funds", headers=good).status_code == 200


# -- failures of the service itself ---------------------------------------------------------------
def _routes_that_fail(app: Flask) -> None:
    def boom() -> None:
        raise RuntimeError("SELECT secret FROM vault WHERE password = 'hunter2'")

    def teapot() -> None:
        raise ImATeapot()

    def unknown_account() -> None:
        raise UnknownAccount("no account '9999'", field="account")

    def database_down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    for view in (boom, teapot, unknown_account, database_down):
        app.add_url_rule(f"/test/{view.__name__}", view_func=view)


def test_an_unexpected_error_is_a_generic_500_logged_with_its_request_id(
    app: Flask, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _routes_that_fail(app)
    with caplog.at_level(logging.ERROR, logger="huiquan.api"):
        response = client.get("/test/boom", headers={"X-Request-Id": "trace-me-42"})
    body = problem(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    assert "hunter2" not in text and "SELECT" not in text and "Traceback" not in text
    assert body["request_id"] == "trace-me-42"
    logged = [r for r in caplog.records if getattr(r, "request_id", "") == "trace-me-42"]
    assert logged and logged[0].exc_info is not None


def test_any_other_client_error_keeps_its_status(app: Flask, client: Any) -> None:
    _routes_that_fail(app)
    problem(client.get("/test/teapot"), 418, "client_error")


def test_an_unknown_account_is_a_422(app: Flask, client: Any) -> None:
    # Accounts are never deleted, so no route reaches this today; the mapping still holds.
    _routes_that_fail(app)
    body = problem(client.get("/test/unknown_account"), 422, "unknown_account")
    assert body["errors"] == {"account": ["no account '9999'"]}


def test_an_unreachable_database_is_a_503(app: Flask, client: Any) -> None:
    _routes_that_fail(app)
    response = client.get("/test/database_down")
    problem(response, 503, "service_unavailable")
    assert "connection refused" not in response.get_data(as_text=True)


def test_health_reports_an_unreachable_database_as_503(tmp_path: Path) -> None:
    app = create_app(
        {
            "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
            "DATABASE_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
            "PSEUDONYM_SECRET": "x",
        }
    )
    response = app.test_client().get("/healthz")
    problem(response, 503, "service_unavailable")
    assert response.headers["Retry-After"] == "1"


# -- maker-checker ------------------------------------------------------------------------------
def test_deciding_a_request_wrongly_is_a_problem_of_its_own(
    app: Flask, client: Any, officer: Caller, books: Books
) -> None:
    from sqlalchemy import update

    from ledger.storage.tables import approval_requests
    from usecases.tokens import create_token
    from usecases.unit import SYSTEM
    from usecases.users import create_user

    engine = app.extensions["huiquan"].engine
    both = ("officer", "approver")
    create_user(
        app.extensions["huiquan"].books, login="zs", display_name="张三", roles=both, by=SYSTEM
    )
    maker = Caller(client, create_token(engine, role="officer", name="zs-1", user="zs"))
    officer.created("/api/v1/donations", donation(books, "30000.00"))
    asked = maker.post("/api/v1/disbursements", disbursement(books, "10000.00"))
    request = f"/api/v1/approval-requests/{asked.get_json()['request']['id']}"
    own = Caller(client, create_token(engine, role="approver", name="zs-2", user="zs"))
    problem(own.post(f"{request}/approve"), 403, "self_approval")
    other = Caller(client, create_token(engine, role="admin", name="admin-2"))
    problem(other.post(f"{request}/withdraw"), 403, "not_an_approver")
    with engine.begin() as conn:
        conn.execute(update(approval_requests).values(expires_at="2000-01-01T00:00:00+00:00"))
    approver = Caller(client, create_token(engine, role="approver", name="approver-1"))
    problem(approver.post(f"{request}/approve"), 409, "request_expired")
    problem(maker.post(f"{request}/withdraw"), 409, "request_expired")
    later = maker.post("/api/v1/disbursements", disbursement(books, "10000.00"))
    request = f"/api/v1/approval-requests/{later.get_json()['request']['id']}"
    assert maker.post(f"{request}/withdraw").status_code == 200
    problem(approver.post(f"{request}/approve"), 409, "request_closed")


# -- the catalogue ----------------------------------------------------------------------------
def test_the_catalogue_is_served_and_every_code_has_a_test_here(anonymous: Caller) -> None:
    items = anonymous.get("/api/v1/problems").get_json()["items"]
    assert [i["code"] for i in items] == [p.code for p in CATALOGUE]
    assert {(i["code"], i["status"]) for i in items} == {(p.code, p.status) for p in CATALOGUE}
    source = Path(__file__).read_text()
    untested = {p.code for p in CATALOGUE if f'"{p.code}"' not in source}
    assert untested == set()


def test_problems_md_lists_the_catalogue_as_served() -> None:
    text = (Path(__file__).parents[2] / "api" / "PROBLEMS.md").read_text()
    assert catalogue_markdown() in text


# -- checkpoints: a proof not yet possible, a cosignature refused -------------------------------
def test_a_proof_of_an_entry_newer_than_the_latest_checkpoint_says_when_it_will_be_provable(
    officer: Caller, anonymous: Caller, books: Books
) -> None:
    entry_id = officer.post("/api/v1/donations", donation(books)).get_json()["id"]
    response = anonymous.get(f"/api/v1/proofs/inclusion/{entry_id}")
    body = problem(response, 409, "proof_pending")
    assert "provable once" in body["detail"]
    assert int(response.headers["Retry-After"]) >= 1


def test_a_cosignature_from_no_configured_witness_is_rejected_and_nothing_is_stored(
    officer: Caller, anonymous: Caller, books: Books, app: Flask
) -> None:
    from ledger.tlog.keys import ensure_signing_key
    from ledger.tlog.proofs import make_checkpoint

    officer.post("/api/v1/donations", donation(books))
    state = app.extensions["huiquan"]
    with state.engine.begin() as conn:
        signed = make_checkpoint(conn, ensure_signing_key(state.books.home))
    forged = "— stranger " + "A" * 96
    response = anonymous.post(
        f"/api/v1/checkpoints/{signed.size}/cosignatures",
        {"checkpoint": signed.signed_text, "cosignature": forged},
    )
    problem(response, 422, "cosignature_rejected")
    witnessed = anonymous.get(f"/api/v1/checkpoints/{signed.size}/witnessed")
    assert witnessed.status_code == 200
    assert witnessed.data.decode() == signed.signed_text  # no cosignature line was added


# -- the needs board and services (tests/api/test_community.py walks them in full) -------------
def test_an_offer_to_an_unpublished_need_is_need_closed_and_a_full_service_is_service_full(
    officer: Caller, admin: Caller, books: Books
) -> None:
    admin.created("/api/v1/places", {"code": "510104", "kind": "county", "name": "锦江区"})
    need = officer.created(
        "/api/v1/needs",
        {
            "title": "t",
            "description": "d",
            "category": "health",
            "place": "510104",
            "kind": "hours",
            "hours": 2,
            "contact": "c",
        },
    )
    offer = {"need_id": need["id"], "donor_id": books.donor, "kind": "hours", "hours": 2}
    problem(officer.post("/api/v1/offers", offer), 409, "need_closed")
    service = officer.created(
        "/api/v1/services",
        {
            "kind": "course",
            "title": "t",
            "description": "d",
            "place": "510104",
            "starts_on": TODAY.isoformat(),
            "ends_on": TODAY.isoformat(),
            "capacity": 1,
        },
    )
    path = f"/api/v1/services/{service['id']}/signups"
    officer.created(path, {"name": "a", "contact": "1"})
    problem(officer.post(path, {"name": "b", "contact": "2"}), 409, "service_full")
