"""Idempotency-Key on every POST: replays answer the original, conflicts 422, races post once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from ledger.storage.repository import SqlRepository
from ledger.storage.unit_of_work import UnitOfWork
from tests.api.conftest import TODAY, Books, Caller, disbursement, donation

Body = Callable[[Books, Caller], dict[str, Any] | None]


def _funded(books: Books, officer: Caller) -> None:
    officer.created("/api/v1/donations", donation(books, "10000.00"))


def _award(books: Books, officer: Caller) -> str:
    _funded(books, officer)
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
    return str(award["id"])


LAST_MONTH = f"{TODAY.replace(day=1) - dt.timedelta(days=1):%Y-%m}"

# route, caller role, body builder (may set up what it needs)
POSTS: list[tuple[str, str, Body]] = [
    ("/api/v1/funds", "admin", lambda b, o: {"code": "NEW", "name": "n", "restricted": False}),
    ("/api/v1/donors", "officer", lambda b, o: {"name": "d"}),
    (
        "/api/v1/projects",
        "admin",
        lambda b, o: {"code": "P2", "name": "p", "fund": b.general, "county": "简阳市"},
    ),
    (
        "/api/v1/beneficiaries",
        "officer",
        lambda b, o: {"cohort": "c", "county": "k", "personal": {"name": "n"}},
    ),
    (
        "/api/v1/pledges",
        "officer",
        lambda b, o: {"donor_id": b.donor, "fund": b.general, "amount": "5.00", "currency": "CNY"},
    ),
    (
        "/api/v1/pledges",
        "officer",
        lambda b, o: {
            "donor_id": b.donor,
            "fund": b.general,
            "amount": "5.00",
            "currency": "CNY",
            "conditional": True,
        },
    ),
    ("/api/v1/donations", "officer", lambda b, o: donation(b)),
    (
        "/api/v1/in-kind-donations",
        "officer",
        lambda b, o: {
            "donor_id": b.donor,
            "fund": b.general,
            "description": "books",
            "quantity": "100",
            "fair_value": "800.00",
            "currency": "CNY",
            "valuation_basis": "invoice",
            "received_on": TODAY.isoformat(),
        },
    ),
    ("/api/v1/disbursements", "officer", lambda b, o: (_funded(b, o), disbursement(b))[1]),
    (
        "/api/v1/scholarship-awards",
        "officer",
        lambda b, o: (
            _funded(b, o),
            {
                "fund": b.restricted,
                "beneficiary_id": b.beneficiary,
                "amount": "100.00",
                "currency": "CNY",
                "term": "t",
            },
        )[1],
    ),
    (
        "/api/v1/scholarship-payouts",
        "officer",
        lambda b, o: {"award_id": _award(b, o), "amount": "60.00", "paid_on": TODAY.isoformat()},
    ),
    (
        "/api/v1/accounts",
        "admin",
        lambda b, o: {"code": "5201-X", "name_cn": "x", "name_us": "x", "type": "expense"},
    ),
    (f"/api/v1/periods/{LAST_MONTH}/close", "admin", lambda b, o: None),
]


def _journal_size(auditor: Caller) -> int:
    return len(auditor.get("/api/v1/entries?limit=200").get_json()["items"])


@pytest.mark.parametrize(
    ("path", "role", "body"),
    POSTS,
    ids=[f"{p}{'-c' if i == 5 else ''}" for i, (p, _, _) in enumerate(POSTS)],
)
def test_a_repeated_key_with_the_same_body_answers_the_original_and_records_nothing(
    request: pytest.FixtureRequest,
    books: Books,
    officer: Caller,
    auditor: Caller,
    path: str,
    role: str,
    body: Body,
) -> None:
    caller: Caller = request.getfixturevalue(role)
    payload = body(books, officer)
    first = caller.post(path, payload, key="retry-me")
    assert first.status_code == 201, first.get_json()
    size = _journal_size(auditor)
    again = caller.post(path, payload, key="retry-me")
    assert (again.status_code, again.get_json()) == (201, first.get_json())
    assert _journal_size(auditor) == size


def test_a_repeated_reversal_answers_the_original(officer: Caller, books: Books) -> None:
    gift = officer.created("/api/v1/donations", donation(books))
    path = f"/api/v1/entries/{gift['id']}/reversal"
    first = officer.post(path, {"reason": "typo"}, key="rev-1")
    again = officer.post(path, {"reason": "typo"}, key="rev-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()


def test_a_replayed_token_creation_does_not_show_the_secret_again(admin: Caller) -> None:
    body = {"name": "treasurer", "role": "officer"}
    first = admin.created("/api/v1/tokens", body, key="tok-1")
    again = admin.created("/api/v1/tokens", body, key="tok-1")
    assert first["token"] and again["token"] is None
    assert {**first, "token": None} == again
    response = admin.post("/api/v1/tokens", {**body, "role": "auditor"}, key="tok-1")
    assert response.get_json()["code"] == "idempotency_conflict"


def test_the_same_key_with_another_body_is_a_conflict_for_reference_data_too(
    admin: Caller,
) -> None:
    admin.created("/api/v1/funds", {"code": "A", "name": "a", "restricted": False}, key="k")
    response = admin.post("/api/v1/funds", {"code": "B", "name": "b", "restricted": False}, key="k")
    assert response.status_code == 422
    assert response.get_json()["code"] == "idempotency_conflict"


def test_keys_are_scoped_by_route(officer: Caller, books: Books) -> None:
    officer.created("/api/v1/donors", {"name": "x"}, key="same")
    officer.created("/api/v1/donations", donation(books), key="same")


def test_without_a_key_a_repeat_records_twice(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    officer.created("/api/v1/donations", donation(books))
    officer.created("/api/v1/donations", donation(books))
    assert _journal_size(auditor) == 2


def test_a_defaulted_date_replays_after_midnight(
    officer: Caller, books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"donor_id": books.donor, "fund": books.general, "amount": "5.00", "currency": "CNY"}
    first = officer.created("/api/v1/pledges", body, key="late")
    first_day = dt.date.fromisoformat(first["pledged_on"])  # the day of the request
    tomorrow = first_day + dt.timedelta(days=1)
    monkeypatch.setattr(UnitOfWork, "today", lambda self: tomorrow)
    again = officer.created("/api/v1/pledges", body, key="late")
    assert again == first and again["pledged_on"] == first_day.isoformat()


def test_a_lost_race_on_the_key_row_is_replayed_not_a_500(
    officer: Caller, auditor: Caller, books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = officer.created("/api/v1/donations", donation(books), key="raced")
    original = SqlRepository.idempotency_record
    original_many = SqlRepository.read_ahead
    blind = {"calls": 0}

    def misses_once(self: SqlRepository, key: str) -> Any:
        blind["calls"] += 1
        return None if blind["calls"] == 1 else original(self, key)

    def misses_once_together(self: SqlRepository, keys: Any, wanted: Any) -> Any:  # group commit
        if not keys:
            return original_many(self, keys, wanted)
        blind["calls"] += 1
        found, records = original_many(self, keys, wanted)
        return ({} if blind["calls"] == 1 else found), records

    # As if the winner's key row were not visible yet: the loser posts, hits the unique key on
    # commit, rolls back, and its retry finds the winner's record.
    monkeypatch.setattr(SqlRepository, "idempotency_record", misses_once)
    monkeypatch.setattr(SqlRepository, "read_ahead", misses_once_together)
    again = officer.post("/api/v1/donations", donation(books), key="raced")
    assert (again.status_code, again.get_json()) == (201, first)
    assert blind["calls"] >= 2
    assert _journal_size(auditor) == 1


# -- concurrent duplicates --------------------------------------------------------------------
@pytest.fixture(params=[True, False], ids=["gated", "ungated"])
def gate(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> None:
    """Run with the API's writer gate, and without it (threads then race in the database)."""
    app_config["WRITER_GATE"] = request.param


def _in_parallel(
    app: Flask, n: int, send: Callable[[Caller], TestResponse], token: str
) -> list[TestResponse]:
    barrier = threading.Barrier(n)

    def one(_: int) -> TestResponse:
        caller = Caller(app.test_client(), token)
        barrier.wait()
        return send(caller)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_concurrent_duplicates_post_exactly_one_entry(
    gate: None, app: Flask, tokens: dict[str, str], auditor: Caller, books: Books
) -> None:
    body = donation(books, "10.00")
    responses = _in_parallel(
        app, 8, lambda c: c.post("/api/v1/donations", body, key="burst"), tokens["officer"]
    )
    assert [r.status_code for r in responses] == [201] * 8
    assert len({r.get_data() for r in responses}) == 1
    assert _journal_size(auditor) == 1


def test_concurrent_requests_with_different_keys_all_post(
    gate: None, app: Flask, tokens: dict[str, str], auditor: Caller, books: Books
) -> None:
    counter = iter(range(100))
    responses = _in_parallel(
        app,
        8,
        lambda c: c.post("/api/v1/donations", donation(books, "1.00"), key=f"k{next(counter)}"),
        tokens["officer"],
    )
    assert [r.status_code for r in responses] == [201] * 8
    sequences = sorted(r.get_json()["entry"]["sequence"] for r in responses)
    assert sequences == list(range(1, 9))


def test_concurrent_duplicate_fund_creations_make_one_fund(
    gate: None, app: Flask, tokens: dict[str, str], auditor: Caller
) -> None:
    body = {"code": "RACE", "name": "r", "restricted": False}
    with_key = _in_parallel(
        app, 6, lambda c: c.post("/api/v1/funds", body, key="f"), tokens["admin"]
    )
    assert [r.status_code for r in with_key] == [201] * 6
    body = {"code": "RACE2", "name": "r", "restricted": False}
    without = _in_parallel(app, 6, lambda c: c.post("/api/v1/funds", body), tokens["admin"])
    assert sorted(r.status_code for r in without) == [201] + [409] * 5
    codes = [f["code"] for f in auditor.get("/api/v1/funds").get_json()["items"]]
    assert codes == ["RACE", "RACE2"]
