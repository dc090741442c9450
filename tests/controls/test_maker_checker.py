"""Maker-checker, as the charity lives it: 张三 records, 李四 and 王五 approve.

By default disbursements, awards, transfers and reversals of 10,000 or more, and every reversal
of a disbursement, need an approver other than their maker.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select, update

from ledger.integrity import verify_books
from ledger.storage import tables
from ledger.storage.unit_of_work import read_only
from tests.api.conftest import TODAY, Caller, disbursement, donation
from tests.controls.conftest import huiquan_books


def entry_count(app: Any) -> int:
    with huiquan_books(app).engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.journal_entries)).scalar())


def put(caller: Caller, path: str, body: dict[str, Any]) -> Any:
    return caller.client.put(path, json=body, headers=caller.headers())


def requested(caller: Caller, path: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = caller.post(path, body)
    assert answer.status_code == 202, answer.get_json()
    payload: dict[str, Any] = answer.get_json()
    assert payload["status"] == "pending_approval"
    return payload["request"]


def test_an_officer_cannot_approve_their_own_disbursement_even_with_a_second_token(
    app, officer, people, books
):
    officer.created("/api/v1/donations", donation(books, "50000.00"))
    before = entry_count(app)
    request = requested(
        people["zhang"], "/api/v1/disbursements", disbursement(books, "12000.00", memo="校舍")
    )
    assert request["maker"] == "张三" and request["operation"] == "disbursement"
    assert entry_count(app) == before  # nothing posted
    own = people["zhang_approver"].post(f"/api/v1/approval-requests/{request['id']}/approve")
    assert own.status_code == 403 and own.get_json()["code"] == "self_approval"
    withdrawn_by_other = people["li"].post(f"/api/v1/approval-requests/{request['id']}/withdraw")
    assert withdrawn_by_other.status_code == 403
    approved = people["li"].post(f"/api/v1/approval-requests/{request['id']}/approve")
    assert approved.status_code == 200, approved.get_json()
    done = approved.get_json()
    assert done["status"] == "posted" and done["checkers"] == ["李四"]
    entry = officer.get(f"/api/v1/entries/{done['entry_id']}").get_json()
    assert entry["maker"] == "张三"
    assert entry["data"]["approval"] == {"request": request["id"], "checkers": ["李四"]}
    assert entry_count(app) == before + 1
    with read_only(huiquan_books(app).engine) as repo:
        assert verify_books(repo).findings == []  # the checkers are inside what is hashed


def test_an_auditor_cannot_approve_and_an_officer_cannot_either(officer, auditor, people, books):
    officer.created("/api/v1/donations", donation(books, "50000.00"))
    request = requested(people["zhang"], "/api/v1/disbursements", disbursement(books, "10000.00"))
    for caller in (auditor, officer):
        answer = caller.post(f"/api/v1/approval-requests/{request['id']}/approve")
        assert answer.status_code == 403 and answer.get_json()["code"] == "forbidden"


def test_two_approvers_approving_at_once_post_one_entry(app, officer, people, books):
    officer.created("/api/v1/donations", donation(books, "50000.00"))
    request = requested(people["zhang"], "/api/v1/disbursements", disbursement(books, "20000.00"))
    before = entry_count(app)
    answers: list[int] = []
    start = threading.Barrier(2)

    def approve(who: str) -> None:
        caller = Caller(app.test_client(), people[who].token)
        start.wait()
        answers.append(
            caller.post(f"/api/v1/approval-requests/{request['id']}/approve").status_code
        )

    threads = [threading.Thread(target=approve, args=(who,)) for who in ("li", "wang")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 409]
    assert entry_count(app) == before + 1


def test_an_approval_that_would_now_overdraw_is_refused_and_stays_pending(
    app, officer, people, books
):
    officer.created("/api/v1/donations", donation(books, "15000.00"))
    request = requested(people["zhang"], "/api/v1/disbursements", disbursement(books, "12000.00"))
    fund = officer.get(f"/api/v1/funds/{books.restricted}").get_json()["balances"]
    assert fund["cash"] == [{"amount": "15000.00", "currency": "CNY"}]
    assert fund["available"] == [{"amount": "3000.00", "currency": "CNY"}]
    officer.created("/api/v1/disbursements", disbursement(books, "5000.00"))  # below the bar
    before = entry_count(app)
    refused = people["li"].post(f"/api/v1/approval-requests/{request['id']}/approve")
    assert refused.status_code == 409 and refused.get_json()["code"] == "insufficient_funds"
    assert entry_count(app) == before
    still = people["li"].get(f"/api/v1/approval-requests/{request['id']}").get_json()
    assert still["status"] == "pending" and still["checkers"] == []
    officer.created("/api/v1/donations", donation(books, "2000.00"))
    assert (
        people["li"].post(f"/api/v1/approval-requests/{request['id']}/approve").status_code == 200
    )


def test_a_reversal_of_a_disbursement_needs_approval(app, officer, people, books):
    officer.created("/api/v1/donations", donation(books, "1000.00"))
    paid = officer.created("/api/v1/disbursements", disbursement(books, "100.00"))
    request = requested(
        people["zhang"], f"/api/v1/entries/{paid['id']}/reversal", {"reason": "paid twice"}
    )
    assert request["operation"] == "reversal" and request["amount"] == "100.00"
    done = people["wang"].post(f"/api/v1/approval-requests/{request['id']}/approve").get_json()
    assert done["status"] == "posted"
    entry = officer.get(f"/api/v1/entries/{done['entry_id']}").get_json()
    assert entry["reverses"] == paid["id"] and entry["data"]["approval"]["checkers"] == ["王五"]


def test_a_small_reversal_of_a_gift_posts_at_once(officer, people, books):
    gift = officer.created("/api/v1/donations", donation(books, "1000.00"))
    answer = people["zhang"].post(
        f"/api/v1/entries/{gift['entry']['id']}/reversal", {"reason": "bounced"}
    )
    assert answer.status_code == 201


def test_a_request_expires_and_then_cannot_be_approved(app, officer, people, books):
    officer.created("/api/v1/donations", donation(books, "50000.00"))
    request = requested(people["zhang"], "/api/v1/disbursements", disbursement(books, "30000.00"))
    with huiquan_books(app).engine.begin() as conn:
        conn.execute(
            update(tables.approval_requests)
            .where(tables.approval_requests.c.id == request["id"])
            .values(expires_at="2000-01-01T00:00:00+00:00")
        )
    pending = people["li"].get("/api/v1/approval-requests?status=pending").get_json()["items"]
    assert request["id"] not in [r["id"] for r in pending]
    answer = people["li"].post(f"/api/v1/approval-requests/{request['id']}/approve")
    assert answer.status_code == 409 and answer.get_json()["code"] == "request_expired"
    fund = officer.get(f"/api/v1/funds/{books.restricted}").get_json()["balances"]
    assert fund["available"] == fund["cash"]  # an expired request holds nothing back


def test_a_policy_asking_for_two_approvers_posts_at_the_second(app, admin, officer, people, books):
    policy = {"approvers": 2, "thresholds": {"disbursement": 500}}
    answer = put(admin, f"/api/v1/funds/{books.restricted}/approval-policy", policy)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["thresholds"]["disbursement"] == 500
    officer.created("/api/v1/donations", donation(books, "5000.00"))
    request = requested(people["zhang"], "/api/v1/disbursements", disbursement(books, "600.00"))
    assert request["approvals_needed"] == 2
    first = people["li"].post(f"/api/v1/approval-requests/{request['id']}/approve").get_json()
    assert first["status"] == "pending" and first["checkers"] == ["李四"]
    again = people["li"].post(f"/api/v1/approval-requests/{request['id']}/approve")
    assert again.status_code == 409 and again.get_json()["code"] == "request_closed"
    second = people["wang"].post(f"/api/v1/approval-requests/{request['id']}/approve").get_json()
    assert second["status"] == "posted"
    entry = officer.get(f"/api/v1/entries/{second['entry_id']}").get_json()
    assert entry["data"]["approval"]["checkers"] == ["李四", "王五"]


def test_a_policy_change_is_validated_and_audited(admin, auditor, books):
    bad = put(admin, f"/api/v1/funds/{books.restricted}/approval-policy", {"approvers": 3})
    assert bad.status_code == 422
    unknown = put(admin, "/api/v1/funds/NOPE/approval-policy", {"approvers": 1})
    assert unknown.status_code == 422 and unknown.get_json()["code"] == "unknown_fund"
    ok = put(admin, f"/api/v1/funds/{books.general}/approval-policy", {"approvers": 2})
    assert ok.status_code == 200
    events = auditor.get("/api/v1/audit/events?limit=1000").get_json()["events"]
    assert any(
        e["action"].startswith("PUT") and e["outcome"] == "success" and books.general in e["target"]
        for e in events
    )


def test_a_rejected_request_is_never_posted_and_a_withdrawn_one_neither(
    app, officer, people, books
):
    officer.created("/api/v1/donations", donation(books, "50000.00"))
    before = entry_count(app)
    one = requested(people["zhang"], "/api/v1/disbursements", disbursement(books, "10000.00"))
    two = requested(people["zhang"], "/api/v1/disbursements", disbursement(books, "10001.00"))
    rejected = (
        people["li"]
        .post(f"/api/v1/approval-requests/{one['id']}/reject", {"reason": "没有发票"})
        .get_json()
    )
    assert rejected["status"] == "rejected" and rejected["reason"] == "没有发票"
    withdrawn = people["zhang"].post(f"/api/v1/approval-requests/{two['id']}/withdraw")
    assert withdrawn.get_json()["status"] == "withdrawn"
    for request in (one, two):
        late = people["wang"].post(f"/api/v1/approval-requests/{request['id']}/approve")
        assert late.status_code == 409 and late.get_json()["code"] == "request_closed"
    assert entry_count(app) == before


def test_a_replayed_request_answers_the_same_request(officer, people, books):
    officer.created("/api/v1/donations", donation(books, "50000.00"))
    body = disbursement(books, "10000.00")
    first = people["zhang"].post("/api/v1/disbursements", body, key="pay-school-roof")
    again = people["zhang"].post("/api/v1/disbursements", body, key="pay-school-roof")
    assert first.status_code == again.status_code == 202
    assert first.get_json()["request"]["id"] == again.get_json()["request"]["id"]
    request_id = first.get_json()["request"]["id"]
    assert people["li"].post(f"/api/v1/approval-requests/{request_id}/approve").status_code == 200
    after = people["zhang"].post("/api/v1/disbursements", body, key="pay-school-roof")
    assert after.status_code == 201  # posted now: the key replays the entry


def test_an_award_of_ten_thousand_needs_approval(officer, people, books):
    officer.created("/api/v1/donations", donation(books, "50000.00"))
    body = {
        "fund": books.restricted,
        "beneficiary_id": books.beneficiary,
        "amount": "10000.00",
        "currency": "CNY",
        "term": "2024秋",
        "awarded_on": TODAY.isoformat(),
    }
    request = requested(people["zhang"], "/api/v1/scholarship-awards", body)
    done = people["li"].post(f"/api/v1/approval-requests/{request['id']}/approve").get_json()
    assert done["status"] == "posted", done
