"""Money that cannot be overspent, as the issue found it: restricted net assets, what an award may
commit, project budgets, a fund's purposes, and who was paid.

Each test is one of the real cases: the ¥999,999 award from SHIDU-CARE holding ¥43,875; the
project with a budget of ¥217,000 that received ¥294,666.64; a scholarship fund asked to pay a
village project; a payment nobody could say who received.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from ledger.credit_code import check_character
from ledger.money import Money
from ledger.storage import tables
from tests.api.conftest import TODAY, Books, Caller, disbursement, donation
from tests.controls.conftest import huiquan_books
from tests.controls.test_maker_checker import entry_count, put, requested
from usecases import spending
from usecases.unit import Actor

#: A made-up 统一社会信用代码 with a valid check character (its embedded organisation code fails
#: its own GB 11714 check, so no real organisation holds it).
ORG_CODE = "545101850000004105"
assert check_character(ORG_CODE[:17]) == ORG_CODE[17]


def shidu_care(admin: Caller, officer: Caller, books: Books, cash: str = "43875.00") -> str:
    admin.created(
        "/api/v1/funds",
        {"code": "SHIDU-CARE", "name": "失独家庭关爱", "restricted": True, "purpose": "探访"},
    )
    officer.created("/api/v1/donations", donation(books, cash, fund="SHIDU-CARE"))
    return "SHIDU-CARE"


def award(books: Books, fund: str, amount: str) -> dict[str, Any]:
    return {
        "fund": fund,
        "beneficiary_id": books.beneficiary,
        "amount": amount,
        "currency": "CNY",
        "term": "2026秋",
        "awarded_on": TODAY.isoformat(),
    }


def audit_events(app: Any, action: str) -> list[Any]:
    """The successful events whose action (an HTTP method and route) ends with `action`."""
    t = tables.audit_events
    with huiquan_books(app).engine.connect() as conn:
        found = conn.execute(
            select(t)
            .where(t.c.action.like(f"%{action}"), t.c.outcome == "success")
            .order_by(t.c.sequence)
        )
        return list(found)


# -- what an award may commit -------------------------------------------------------------------
def test_the_999_999_award_from_shidu_care_holding_43_875_is_refused_with_the_figures(
    app, admin, officer, books
):
    fund = shidu_care(admin, officer, books)
    before = entry_count(app)
    answer = officer.post("/api/v1/scholarship-awards", award(books, fund, "999999.00"))
    assert answer.status_code == 409, answer.get_json()
    body = answer.get_json()
    assert body["code"] == "insufficient_funds"
    assert "cash 43875.00 CNY" in body["detail"]
    assert "unpaid awards 0.00 CNY" in body["detail"]
    assert "999999.00 CNY" in body["detail"]
    assert entry_count(app) == before
    figures = officer.get(f"/api/v1/funds/{fund}").get_json()["balances"]
    assert figures["restricted_net_assets"] == {"amount": "43875.00", "currency": "CNY"}


def test_an_award_may_commit_cash_and_unconditional_pledges_less_unpaid_awards(
    admin, officer, books
):
    fund = shidu_care(admin, officer, books, cash="3000.00")
    officer.created(
        "/api/v1/pledges",
        {"donor_id": books.donor, "fund": fund, "amount": "5000.00", "currency": "CNY"},
    )
    officer.created(
        "/api/v1/pledges",
        {
            "donor_id": books.donor,
            "fund": fund,
            "amount": "90000.00",
            "currency": "CNY",
            "conditional": True,
        },
    )
    officer.created("/api/v1/scholarship-awards", award(books, fund, "6000.00"))
    refused = officer.post("/api/v1/scholarship-awards", award(books, fund, "2000.01"))
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "insufficient_funds"
    assert "pledges receivable 5000.00 CNY" in refused.get_json()["detail"]
    assert "unpaid awards 6000.00 CNY" in refused.get_json()["detail"]
    officer.created("/api/v1/scholarship-awards", award(books, fund, "2000.00"))


# -- restricted net assets ------------------------------------------------------------------------
def transfer(app: Any, books: Books, amount: str) -> None:
    """A board's transfer from the general fund into the restricted one (not donors' money)."""
    spending.transfer_between_funds(
        huiquan_books(app),
        by=Actor("理事会秘书", ("officer",)),
        from_fund=books.general,
        to_fund=books.restricted,
        amount=Money.parse(amount, "CNY"),
        on=TODAY,
        reason="理事会决议：补足助学金",
    )


def test_spending_a_boards_transfer_never_takes_restricted_net_assets_below_zero(
    app, officer, books
):
    officer.created("/api/v1/donations", donation(books, "1000.00", fund=books.general))
    officer.created("/api/v1/donations", donation(books, "300.00"))
    transfer(app, books, "1000.00")
    paid = officer.created("/api/v1/disbursements", disbursement(books, "1200.00"))
    released = [
        p for p in paid["entry"]["postings"] if p["account"] == "3102" and p["debit"] != "0.00"
    ]
    assert [p["debit"] for p in released] == ["300.00"]  # only the donors' restricted money
    figures = officer.get(f"/api/v1/funds/{books.restricted}").get_json()["balances"]
    assert figures["restricted_net_assets"] == {"amount": "0.00", "currency": "CNY"}


def test_reversing_a_restricted_gift_already_released_is_refused(app, admin, officer, books):
    """The cash came back from elsewhere, but the donors' restricted money was spent."""
    gift = officer.created("/api/v1/donations", donation(books, "500.00"))
    officer.created("/api/v1/disbursements", disbursement(books, "500.00"))
    officer.created("/api/v1/donations", donation(books, "800.00", fund=books.general))
    transfer(app, books, "800.00")
    before = entry_count(app)
    answer = officer.post(f"/api/v1/entries/{gift['id']}/reversal", {"reason": "重复入账"})
    assert answer.status_code == 409, answer.get_json()
    assert answer.get_json()["code"] == "insufficient_funds"
    assert "restricted net assets" in answer.get_json()["detail"]
    assert entry_count(app) == before


# -- project budgets ------------------------------------------------------------------------------
def budgeted(admin: Caller, books: Books, code: str = "LH-IND-01", budget: str = "217000.00"):
    admin.created(
        "/api/v1/projects",
        {
            "code": code,
            "name": "新都镇食用菌种植",
            "fund": books.restricted,
            "county": "甘孜州炉霍县",
            "budget": {"amount": budget, "currency": "CNY"},
        },
    )
    return code


def test_the_project_budgeted_217_000_cannot_receive_294_666_64_without_an_approver(
    app, admin, officer, people, books
):
    officer.created("/api/v1/donations", donation(books, "400000.00"))
    project = budgeted(admin, books)
    officer.created("/api/v1/disbursements", disbursement(books, "9000.00", project=project))
    refused = officer.post(
        "/api/v1/disbursements", disbursement(books, "285666.64", project=project)
    )
    assert refused.status_code == 409, refused.get_json()
    body = refused.get_json()
    assert body["code"] == "over_budget"
    assert "208000.00 CNY of its 217000.00 CNY budget left" in body["detail"]
    before = entry_count(app)
    asked = disbursement(
        books, "285666.64", project=project, over_budget_reason="理事会同意追加第二期投入"
    )
    request = requested(people["zhang"], "/api/v1/disbursements", asked)
    assert request["details"]["over_budget_reason"] == "理事会同意追加第二期投入"
    assert entry_count(app) == before
    own = people["zhang_approver"].post(f"/api/v1/approval-requests/{request['id']}/approve")
    assert own.get_json()["code"] == "self_approval"
    done = people["li"].post(f"/api/v1/approval-requests/{request['id']}/approve").get_json()
    assert done["status"] == "posted" and done["checkers"] == ["李四"]
    entry = officer.get(f"/api/v1/entries/{done['entry_id']}").get_json()
    assert entry["data"]["over_budget"] == {
        "budget_minor": 21_700_000,
        "remaining_minor": 20_800_000,
        "reason": "理事会同意追加第二期投入",
    }
    assert entry["data"]["approval"]["checkers"] == ["李四"]


def test_an_over_budget_request_always_needs_an_approver_even_below_the_policys_bar(
    admin, officer, people, books
):
    officer.created("/api/v1/donations", donation(books, "5000.00"))
    project = budgeted(admin, books, budget="100.00")
    small = disbursement(books, "150.00", project=project, over_budget_reason="急需")
    request = requested(people["zhang"], "/api/v1/disbursements", small)
    assert request["operation"] == "disbursement"


def test_an_admin_raises_a_budget_with_a_reason_and_the_trail_keeps_both_figures(
    app, admin, officer, auditor, books
):
    officer.created("/api/v1/donations", donation(books, "5000.00"))
    project = budgeted(admin, books, budget="1000.00")
    officer.created("/api/v1/disbursements", disbursement(books, "900.00", project=project))
    body = {"budget": {"amount": "3000.00", "currency": "CNY"}, "reason": "第二期获批"}
    assert put(officer, f"/api/v1/projects/{project}/budget", body).status_code == 403
    assert put(auditor, f"/api/v1/projects/{project}/budget", body).status_code == 403
    raised = put(admin, f"/api/v1/projects/{project}/budget", body)
    assert raised.status_code == 200, raised.get_json()
    assert raised.get_json()["old_budget"] == {"amount": "1000.00", "currency": "CNY"}
    assert raised.get_json()["budget"] == {"amount": "3000.00", "currency": "CNY"}
    (event,) = audit_events(app, "/budget")
    assert json.loads(event.detail) == {
        "project": project,
        "old": "1000.00",
        "new": "3000.00",
        "currency": "CNY",
        "reason": "第二期获批",
    }
    assert officer.get(f"/api/v1/projects/{project}").get_json()["budget"]["amount"] == "3000.00"
    officer.created("/api/v1/disbursements", disbursement(books, "2000.00", project=project))
    below = {"budget": {"amount": "100.00", "currency": "CNY"}, "reason": "削减"}
    answer = put(admin, f"/api/v1/projects/{project}/budget", below)
    assert answer.status_code == 422 and answer.get_json()["errors"] == {
        "budget": [answer.get_json()["detail"]]
    }


def budget_versions(app: Any, project: str) -> int:
    b = tables.project_budgets.c
    with app.extensions["huiquan"].engine.connect() as conn:
        return len(conn.execute(select(b.version).where(b.project == project)).all())


def test_a_budget_or_purposes_change_sent_again_with_its_key_changes_nothing_more(
    app, admin, books
):
    project = budgeted(admin, books, budget="1000.00")
    assert budget_versions(app, project) == 0
    path = f"/api/v1/projects/{project}/budget"
    body = {"budget": {"amount": "3000.00", "currency": "CNY"}, "reason": "第二期获批"}
    send = admin.client.put
    first = send(path, json=body, headers=admin.headers("raise-1"))
    assert first.status_code == 200
    again = send(path, json=body, headers=admin.headers("raise-1"))
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert len(audit_events(app, "/budget")) == 2  # the replay is on the trail, changing nothing
    assert budget_versions(app, project) == 1  # one raise, however often it was sent
    other = {**body, "reason": "另一个理由"}
    conflict = send(path, json=other, headers=admin.headers("raise-1"))
    assert conflict.status_code == 422 and conflict.get_json()["code"] == "idempotency_conflict"
    purposes = f"/api/v1/funds/{books.restricted}/purposes"
    stated = send(purposes, json={"scholarships": True}, headers=admin.headers("p-1"))
    assert stated.status_code == 200
    second = send(purposes, json={"in_kind_handovers": True}, headers=admin.headers("p-2"))
    assert second.status_code == 200
    replay = send(purposes, json={"scholarships": True}, headers=admin.headers("p-1"))
    assert replay.get_json() == stated.get_json()
    # the replay answered the first change and did not undo the second
    now = admin.get(purposes).get_json()
    assert now["in_kind_handovers"] is True and now["scholarships"] is False


# -- fund purposes --------------------------------------------------------------------------------
def test_a_scholarship_fund_cannot_pay_a_village_project(app, admin, officer, auditor, books):
    officer.created("/api/v1/donations", donation(books, "5000.00"))
    path = f"/api/v1/funds/{books.restricted}/purposes"
    assert officer.get(path).get_json()["stated"] is False  # never stated: pays for anything
    assert put(auditor, path, {"scholarships": True}).status_code == 403
    stated = put(admin, path, {"scholarships": True})
    assert stated.status_code == 200, stated.get_json()
    assert stated.get_json() == {
        "fund": books.restricted,
        "stated": True,
        "projects": False,
        "counties": [],
        "scholarships": True,
        "in_kind_handovers": False,
    }
    before = entry_count(app)
    refused = officer.post("/api/v1/disbursements", disbursement(books, "100.00"))
    assert refused.status_code == 409 and refused.get_json()["code"] == "purpose_mismatch"
    assert entry_count(app) == before
    officer.created("/api/v1/scholarship-awards", award(books, books.restricted, "100.00"))
    (event,) = audit_events(app, "/purposes")
    assert json.loads(event.detail)["old"] is None
    assert json.loads(event.detail)["new"]["scholarships"] is True


def test_a_pairing_fund_pays_projects_in_its_own_county_only(admin, officer, books):
    officer.created("/api/v1/donations", donation(books, "5000.00"))
    path = f"/api/v1/funds/{books.restricted}/purposes"
    put(admin, path, {"projects": True, "counties": ["简阳市"]})
    refused = officer.post("/api/v1/disbursements", disbursement(books, "100.00"))
    assert refused.get_json()["code"] == "purpose_mismatch"
    assert "炉霍县" in refused.get_json()["detail"]
    put(admin, path, {"projects": True, "counties": ["简阳市", "炉霍县"]})
    officer.created("/api/v1/disbursements", disbursement(books, "100.00"))
    bad = put(admin, path, {"counties": ["简阳市"], "scholarships": "yes"})
    assert bad.status_code == 422


# -- payees -------------------------------------------------------------------------------------
def test_a_disbursement_names_its_payee_and_bank_reference_and_the_register_shows_them(
    admin, officer, auditor, books
):
    officer.created("/api/v1/donations", donation(books, "5000.00"))
    org = {
        "kind": "organisation",
        "name": "炉霍县交纳村村民委员会",
        "registration_number": ORG_CODE,
    }
    paid = officer.created(
        "/api/v1/disbursements",
        disbursement(books, "300.00", payee=org, bank_reference="CMB-2026-0042"),
    )
    assert paid["payee"] == org and paid["bank_reference"] == "CMB-2026-0042"
    person = {"kind": "person", "pseudonym": books.beneficiary}
    officer.created("/api/v1/disbursements", disbursement(books, "200.00", payee=person))
    listed = auditor.get("/api/v1/disbursements").get_json()["items"]
    assert {r["payee"] for r in listed} == {
        f"炉霍县交纳村村民委员会 ({ORG_CODE})",
        books.beneficiary,
    }
    assert {r["bank_reference"] for r in listed} == {"CMB-2026-0042", ""}
    register = auditor.get("/api/v1/statements/disbursements?format=json")
    assert register.status_code == 200, register.get_json()
    text = register.get_data(as_text=True)
    assert ORG_CODE in text and books.beneficiary in text and "CMB-2026-0042" in text
    assert "卓玛" not in text  # the person's name never leaves the sealed record


def test_a_payee_is_an_organisation_with_a_valid_code_or_a_person_by_pseudonym_only(
    app, officer, books
):
    officer.created("/api/v1/donations", donation(books, "5000.00"))
    before = entry_count(app)
    cases = [
        (
            {
                "kind": "organisation",
                "name": "某合作社",
                "registration_number": ORG_CODE[:17] + "0",
            },
            422,
            "payee.registration_number",
        ),
        ({"kind": "person", "pseudonym": books.beneficiary, "name": "卓玛"}, 422, "payee"),
        ({"kind": "person", "pseudonym": "B-0000000000000000"}, 422, "payee.pseudonym"),
        ({"kind": "organisation", "name": "某合作社"}, 422, "payee"),
    ]
    for payee, status, field in cases:
        answer = officer.post("/api/v1/disbursements", disbursement(books, payee=payee))
        assert answer.status_code == status, (payee, answer.get_json())
        errors = answer.get_json()["errors"]
        assert any(k == field or k.startswith(field + ".") for k in errors), errors
    assert entry_count(app) == before


# -- the trail -------------------------------------------------------------------------------------
def test_a_pending_requests_audit_event_says_202(app, officer, people, books):
    officer.created("/api/v1/donations", donation(books, "50000.00"))
    requested(people["zhang"], "/api/v1/disbursements", disbursement(books, "12000.00"))
    events = audit_events(app, "POST /api/v1/disbursements")
    assert [e.status for e in events] == [202]
