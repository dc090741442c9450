"""Recording operations through the API: every create answers 201 with its journal entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask

from api import create_app
from ledger.entries import PostedEntry
from ledger.storage.unit_of_work import UnitOfWork
from tests.api.conftest import (
    TODAY,
    Books,
    Caller,
    days_since,
    disbursement,
    donation,
    utc_today,
)
from usecases.tokens import create_token


def lines(entry: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(account, debit, credit) of each posting."""
    return [(p["account"], p["debit"], p["credit"]) for p in entry["postings"]]


def test_a_cash_gift_posts_cash_against_restricted_income(officer: Caller, books: Books) -> None:
    gift = officer.created("/api/v1/donations", donation(books, "1200.50", memo="年度捐款"))
    assert gift["id"] == gift["entry"]["id"]
    assert gift["amount"] == "1200.50" and gift["cny_amount"] == "1200.50"
    assert gift["receipt"]["serial"].startswith("HQ-")
    entry = gift["entry"]
    assert entry["kind"] == "donation" and entry["sequence"] == 1
    assert len(entry["hash"]) == 64 and entry["maker"] == "officer-1"
    assert lines(entry) == [("1002-CNY", "1200.50", "0.00"), ("4101-R", "0.00", "1200.50")]
    assert entry["postings"][1]["party"] == books.donor


def test_a_foreign_gift_keeps_the_original_amount_and_its_cny_value(
    officer: Caller, books: Books
) -> None:
    gift = officer.created(
        "/api/v1/donations",
        donation(books, "1000", currency="JPY", fx_rate="0.0478", fx_source="中国银行"),
    )
    assert gift["amount"] == "1000" and gift["currency"] == "JPY"
    assert gift["cny_amount"] == "47.80"
    cash = gift["entry"]["postings"][0]
    assert (cash["account"], cash["debit"], cash["cny_debit"]) == ("1002-JPY", "1000", "47.80")
    assert gift["entry"]["data"]["fx_source"] == "中国银行"


def test_a_pledge_is_receivable_and_paid_by_a_donation(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    sent = utc_today()
    pledge = officer.created(
        "/api/v1/pledges",
        {
            "donor_id": books.donor,
            "fund": books.restricted,
            "amount": "500.00",
            "currency": "CNY",
            "due_on": "2030-01-31",
        },
    )
    assert pledge["pledged_on"] in days_since(sent) and pledge["due_on"] == "2030-01-31"
    assert lines(pledge["entry"]) == [("1122", "500.00", "0.00"), ("4101-R", "0.00", "500.00")]
    paid = officer.created("/api/v1/donations", donation(books, "200.00", pledge_id=pledge["id"]))
    assert paid["entry"]["kind"] == "pledge_payment"
    assert lines(paid["entry"]) == [("1002-CNY", "200.00", "0.00"), ("1122", "0.00", "200.00")]
    balances = auditor.get(f"/api/v1/funds/{books.restricted}").get_json()["balances"]
    assert balances["pledges_receivable"]["amount"] == "300.00"


def test_a_conditional_pledge_stays_off_the_books(officer: Caller, books: Books) -> None:
    pledge = officer.created(
        "/api/v1/pledges",
        {
            "donor_id": books.donor,
            "fund": books.restricted,
            "amount": "500.00",
            "currency": "CNY",
            "conditional": True,
        },
    )
    assert pledge["conditional"] is True and pledge["entry"] is None


def test_an_in_kind_gift_is_valued_with_its_basis(officer: Caller, books: Books) -> None:
    gift = officer.created(
        "/api/v1/in-kind-donations",
        {
            "donor_id": books.donor,
            "fund": books.general,
            "description": "手术器械",
            "quantity": "1 set",
            "fair_value": "1000000.00",
            "currency": "CNY",
            "valuation_basis": "invoice",
            "evidence": "INV-2024-001",
            "received_on": TODAY.isoformat(),
            "asset": "equipment",
        },
    )
    assert gift["fair_value"] == "1000000.00" and gift["receipt"]["serial"].startswith("HQ-")
    assert lines(gift["entry"]) == [
        ("1501", "1000000.00", "0.00"),
        ("4101-U", "0.00", "1000000.00"),
    ]


def test_goods_passed_on_to_a_named_recipient_are_agency_assets(
    officer: Caller, books: Books
) -> None:
    gift = officer.created(
        "/api/v1/in-kind-donations",
        {
            "donor_id": books.donor,
            "fund": books.general,
            "description": "耗材",
            "quantity": "20 boxes",
            "fair_value": "30000.00",
            "currency": "CNY",
            "valuation_basis": "customs value",
            "received_on": TODAY.isoformat(),
            "pass_through_to": "炉霍县人民医院",
        },
    )
    assert lines(gift["entry"]) == [("1701", "30000.00", "0.00"), ("2601", "0.00", "30000.00")]


def test_in_kind_gifts_are_valued_in_cny(officer: Caller, books: Books) -> None:
    body = {
        "donor_id": books.donor,
        "fund": books.general,
        "description": "x",
        "quantity": "1",
        "fair_value": "10.00",
        "currency": "USD",
        "valuation_basis": "appraisal",
        "received_on": TODAY.isoformat(),
    }
    response = officer.post("/api/v1/in-kind-donations", body)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["currency"]


def test_a_disbursement_from_a_restricted_fund_releases_the_restriction(
    officer: Caller, books: Books
) -> None:
    officer.created("/api/v1/donations", donation(books, "1000.00"))
    paid = officer.created(
        "/api/v1/disbursements",
        disbursement(books, "400.00", memo="学费", functional_class="program"),
    )
    assert lines(paid["entry"]) == [
        ("5101", "400.00", "0.00"),
        ("1002-CNY", "0.00", "400.00"),
        ("3102", "400.00", "0.00"),
        ("3101", "0.00", "400.00"),
    ]
    assert paid["entry"]["postings"][0]["project"] == books.project


def test_a_scholarship_is_awarded_then_paid_in_parts(officer: Caller, books: Books) -> None:
    officer.created("/api/v1/donations", donation(books, "5000.00"))
    sent = utc_today()
    award = officer.created(
        "/api/v1/scholarship-awards",
        {
            "fund": books.restricted,
            "beneficiary_id": books.beneficiary,
            "amount": "1900.00",
            "currency": "CNY",
            "term": "2026秋",
        },
    )
    assert award["id"].startswith("A-") and award["awarded_on"] in days_since(sent)
    assert [a for a, _, _ in lines(award["entry"])] == ["5101", "2209", "3102", "3101"]
    assert award["entry"]["postings"][0]["party"] == books.beneficiary
    payout = {"award_id": award["id"], "amount": "1000.00", "paid_on": TODAY.isoformat()}
    first = officer.created("/api/v1/scholarship-payouts", payout)
    assert first["currency"] == "CNY"
    assert lines(first["entry"]) == [("2209", "1000.00", "0.00"), ("1002-CNY", "0.00", "1000.00")]
    over = officer.post("/api/v1/scholarship-payouts", {**payout, "amount": "900.01"})
    assert over.status_code == 409 and over.get_json()["code"] == "overpayment"
    officer.created("/api/v1/scholarship-payouts", {**payout, "amount": "900.00"})


def test_a_payout_amount_follows_the_awards_currency_rules(officer: Caller, books: Books) -> None:
    officer.created("/api/v1/donations", donation(books, "5000.00"))
    award = officer.created(
        "/api/v1/scholarship-awards",
        {
            "fund": books.restricted,
            "beneficiary_id": books.beneficiary,
            "amount": "100.00",
            "currency": "CNY",
            "term": "t",
        },
    )
    payout = {"award_id": award["id"], "amount": "1.001", "paid_on": TODAY.isoformat()}
    response = officer.post("/api/v1/scholarship-payouts", payout)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["amount"]
    payout = {**payout, "amount": "1.00", "currency": "USD"}
    assert officer.post("/api/v1/scholarship-payouts", payout).status_code == 422


def test_a_reversal_mirrors_the_entry_and_points_back_at_it(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    gift = officer.created("/api/v1/donations", donation(books, "80.00"))
    reversal = officer.created(
        f"/api/v1/entries/{gift['id']}/reversal", {"reason": "entered twice"}
    )
    assert reversal["reverses"] == gift["id"] and reversal["reason"] == "entered twice"
    assert reversal["entry"]["kind"] == "reversal"
    assert reversal["entry"]["reverses"] == gift["id"]
    assert lines(reversal["entry"]) == [("1002-CNY", "0.00", "80.00"), ("4101-R", "80.00", "0.00")]
    balances = auditor.get(f"/api/v1/funds/{books.restricted}").get_json()["balances"]
    assert balances["cash"] == [{"amount": "0.00", "currency": "CNY"}]


def test_reversing_an_unknown_entry_is_not_found(officer: Caller) -> None:
    response = officer.post("/api/v1/entries/no-such-entry/reversal", {"reason": "x"})
    assert response.status_code == 404


def test_a_plugged_in_receipt_issuer_is_called_in_the_gifts_transaction(
    app_config: dict[str, Any],
) -> None:
    calls: list[str] = []

    def issue_receipt_for(uow: UnitOfWork, entry: PostedEntry) -> dict[str, str] | None:
        calls.append(entry.id)
        serial = f"HQ-{TODAY.year}-{len(calls):06d}"
        return {"serial": serial, "url": f"/r/{serial}", "pdf_url": f"/r/{serial}.pdf"}

    app = create_app({**app_config, "RECEIPT_ISSUER": issue_receipt_for})
    try:
        _receipt_issued(app, calls)
    finally:
        app.extensions["huiquan"].engine.dispose()


def _receipt_issued(app: Flask, calls: list[str]) -> None:
    engine = app.extensions["huiquan"].engine
    admin = Caller(app.test_client(), create_token(engine, role="admin", name="a"))
    admin.created("/api/v1/funds", {"code": "F", "name": "f", "restricted": False})
    donor = admin.created("/api/v1/donors", {"name": "d"})["id"]
    gift = admin.created(
        "/api/v1/donations",
        {
            "donor_id": donor,
            "fund": "F",
            "amount": "10.00",
            "currency": "CNY",
            "received_on": (TODAY - dt.timedelta(days=1)).isoformat(),
        },
    )
    assert gift["receipt"] == {
        "serial": f"HQ-{TODAY.year}-000001",
        "url": f"/r/HQ-{TODAY.year}-000001",
        "pdf_url": f"/r/HQ-{TODAY.year}-000001.pdf",
    }
    assert calls == [gift["id"]]
