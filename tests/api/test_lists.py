"""The lists: gifts, pledges, spending, awards, payouts, receipts and the donor search.

Each list is filtered, ordered newest first (pledges: outstanding first), paged with an opaque
cursor that never repeats or skips a row, refuses unknown parameters and foreign cursors with
422, and takes its figures from the journal's postings.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from tests.api.conftest import TODAY, Books, Caller, disbursement, donation
from usecases.queries import encode_cursor

DAY = [TODAY - dt.timedelta(days=n) for n in range(6)]  # DAY[0] today, DAY[5] five days ago


def items(caller: Caller, path: str) -> list[dict[str, Any]]:
    response = caller.get(path)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return list(body["items"])


def walk(caller: Caller, path: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list read `limit` at a time, and the number of pages it took."""
    seen: list[dict[str, Any]] = []
    sep = "&" if "?" in path else "?"
    query, pages = f"{path}{sep}limit={limit}", 0
    while True:
        body = caller.get(query).get_json()
        pages += 1
        assert len(body["items"]) <= limit
        seen += body["items"]
        if body["next_cursor"] is None:
            return seen, pages
        query = f"{path}{sep}limit={limit}&cursor={body['next_cursor']}"


def _usd(books: Books) -> dict[str, Any]:
    return donation(
        books,
        "100.00",
        currency="USD",
        fx_rate="7.1000",
        fx_source="PBOC",
        method="online",
        fund=books.general,
        received_on=f"{DAY[1]}",
    )


# -- donations ---------------------------------------------------------------------------------
def test_donations_are_listed_newest_first_with_their_cash_line(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    old = officer.created("/api/v1/donations", donation(books, "10.00", received_on=f"{DAY[3]}"))
    usd = officer.created("/api/v1/donations", _usd(books))
    new = officer.created("/api/v1/donations", donation(books, "30.50", method="cash"))
    listed = items(auditor, "/api/v1/donations")
    assert [d["id"] for d in listed] == [new["id"], usd["id"], old["id"]]
    assert listed[1] | {"id": None, "sequence": None} == {
        "id": None,
        "sequence": None,
        "kind": "donation",
        "donor_id": books.donor,
        "fund": books.general,
        "amount": "100.00",
        "currency": "USD",
        "cny_amount": "710.00",
        "received_on": f"{DAY[1]}",
        "method": "online",
        "pledge_id": None,
        "memo": "",
        "reversed_by": None,
    }
    assert listed[0]["amount"] == "30.50" and listed[0]["method"] == "cash"


def test_donations_are_filtered_by_fund_donor_dates_currency_and_method(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    other = officer.created("/api/v1/donors", {"name": "另一位捐赠人"})["id"]
    a = officer.created("/api/v1/donations", donation(books, "10.00", received_on=f"{DAY[3]}"))
    b = officer.created("/api/v1/donations", _usd(books))
    c = officer.created("/api/v1/donations", donation(books, "5.00", donor_id=other, method="cash"))

    def ids(query: str) -> list[str]:
        return [d["id"] for d in items(auditor, f"/api/v1/donations?{query}")]

    assert ids(f"fund={books.general}") == [b["id"]]
    assert ids(f"fund={books.restricted}") == [c["id"], a["id"]]
    assert ids(f"donor_id={other}") == [c["id"]]
    assert ids(f"donor_id={books.donor}") == [b["id"], a["id"]]
    assert ids(f"from={DAY[2]}") == [c["id"], b["id"]]
    assert ids(f"to={DAY[2]}") == [a["id"]]
    assert ids(f"from={DAY[1]}&to={DAY[1]}") == [b["id"]]
    assert ids("currency=USD") == [b["id"]]
    assert ids("currency=HKD") == []
    assert ids("method=cash") == [c["id"]]
    assert ids("method=bank") == [a["id"]]
    assert ids(f"method=bank&fund={books.general}") == []


def test_a_reversed_donation_names_its_reversal(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    gift = officer.created("/api/v1/donations", donation(books, "10.00"))
    reversal = officer.created(f"/api/v1/entries/{gift['id']}/reversal", {"reason": "typo"})
    (listed,) = items(auditor, "/api/v1/donations")
    assert listed["reversed_by"] == reversal["id"]


def test_donations_page_without_repeats_or_gaps_even_on_the_same_day(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    made = [
        officer.created(
            "/api/v1/donations", donation(books, f"{n + 1}.00", received_on=f"{DAY[n % 3]}")
        )["id"]
        for n in range(7)
    ]
    everything = [d["id"] for d in items(auditor, "/api/v1/donations?limit=200")]
    seen, pages = walk(auditor, "/api/v1/donations", 2)
    assert [d["id"] for d in seen] == everything
    assert sorted(everything) == sorted(made) and pages == 4
    days = [d["received_on"] for d in seen]
    assert days == sorted(days, reverse=True)


def test_donations_are_listed_oldest_first_on_request_and_paged_that_way(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    for n in range(5):
        officer.created(
            "/api/v1/donations", donation(books, f"{n + 1}.00", received_on=f"{DAY[n % 2]}")
        )
    newest = [d["id"] for d in items(auditor, "/api/v1/donations")]
    seen, pages = walk(auditor, "/api/v1/donations?order=oldest", 2)
    assert [d["id"] for d in seen] == list(reversed(newest)) and pages == 3
    cursor = auditor.get("/api/v1/donations?limit=1").get_json()["next_cursor"]
    response = auditor.get(f"/api/v1/donations?order=oldest&cursor={cursor}")
    assert response.status_code == 422  # a newest-first cursor does not page the other way
    assert auditor.get("/api/v1/donations?order=random").status_code == 422


# -- in-kind -----------------------------------------------------------------------------------
def test_in_kind_gifts_are_listed_with_value_and_basis(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    gift = officer.created(
        "/api/v1/in-kind-donations",
        {
            "donor_id": books.donor,
            "fund": books.restricted,
            "description": "手术设备",
            "quantity": "1 套",
            "fair_value": "1000000.00",
            "currency": "CNY",
            "valuation_basis": "invoice",
            "received_on": f"{DAY[2]}",
            "asset": "equipment",
        },
    )
    officer.created("/api/v1/donations", donation(books, "10.00"))
    (listed,) = items(auditor, f"/api/v1/in-kind-donations?donor_id={books.donor}")
    assert listed["id"] == gift["id"]
    assert (listed["fair_value"], listed["asset"], listed["description"]) == (
        "1000000.00",
        "equipment",
        "手术设备",
    )
    assert items(auditor, f"/api/v1/in-kind-donations?from={DAY[1]}") == []


# -- pledges -----------------------------------------------------------------------------------
def _pledge(officer: Caller, books: Books, amount: str, **fields: Any) -> str:
    body = {"donor_id": books.donor, "fund": books.restricted, "amount": amount, "currency": "CNY"}
    pledge_id: str = officer.created("/api/v1/pledges", {**body, **fields})["id"]
    return pledge_id


def test_pledges_list_outstanding_first_with_paid_and_outstanding_from_the_books(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    settled = _pledge(officer, books, "100.00")
    partly = _pledge(officer, books, "500.00")
    memo = _pledge(officer, books, "50.00", conditional=True)
    untouched = _pledge(officer, books, "20.00")
    officer.created("/api/v1/donations", donation(books, "100.00", pledge_id=settled))
    officer.created("/api/v1/donations", donation(books, "120.00", pledge_id=partly))
    wrong = officer.created("/api/v1/donations", donation(books, "30.00", pledge_id=partly))
    officer.created(f"/api/v1/entries/{wrong['id']}/reversal", {"reason": "bounced"})

    listed = items(auditor, "/api/v1/pledges")
    assert [p["id"] for p in listed] == [untouched, partly, memo, settled]
    figures = {p["id"]: (p["amount"], p["paid"], p["outstanding"]) for p in listed}
    assert figures == {
        untouched: ("20.00", "0.00", "20.00"),
        partly: ("500.00", "120.00", "380.00"),
        memo: ("50.00", "0.00", "0.00"),
        settled: ("100.00", "100.00", "0.00"),
    }
    assert {p["id"]: p["conditional"] for p in listed}[memo] is True
    seen, _ = walk(auditor, "/api/v1/pledges", 1)
    assert [p["id"] for p in seen] == [untouched, partly, memo, settled]


def test_pledges_are_filtered_by_fund_and_donor(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    other = officer.created("/api/v1/donors", {"name": "乙"})["id"]
    mine = _pledge(officer, books, "10.00")
    theirs = _pledge(officer, books, "10.00", donor_id=other, fund=books.general)
    assert [p["id"] for p in items(auditor, f"/api/v1/pledges?donor_id={other}")] == [theirs]
    assert [p["id"] for p in items(auditor, f"/api/v1/pledges?fund={books.restricted}")] == [mine]


# -- disbursements, awards, payouts ------------------------------------------------------------
def test_disbursements_are_filtered_by_fund_project_and_dates(
    admin: Caller, officer: Caller, auditor: Caller, books: Books
) -> None:
    admin.created(
        "/api/v1/projects",
        {"code": "CLINIC", "name": "交纳村卫生室", "fund": books.restricted, "county": "炉霍县"},
    )
    officer.created("/api/v1/donations", donation(books, "1000.00", received_on=f"{DAY[5]}"))
    a = officer.created("/api/v1/disbursements", disbursement(books, "10.00", paid_on=f"{DAY[4]}"))
    b = officer.created(
        "/api/v1/disbursements", disbursement(books, "20.00", project="CLINIC", memo="药品")
    )

    def ids(query: str) -> list[str]:
        return [d["id"] for d in items(auditor, f"/api/v1/disbursements?{query}")]

    assert ids("") == [b["id"], a["id"]]
    assert ids("project=CLINIC") == [b["id"]]
    assert ids(f"project={books.project}") == [a["id"]]
    assert ids(f"fund={books.general}") == []
    assert ids(f"to={DAY[1]}") == [a["id"]]
    (clinic,) = items(auditor, "/api/v1/disbursements?project=CLINIC")
    assert (clinic["amount"], clinic["memo"], clinic["functional_class"]) == (
        "20.00",
        "药品",
        "program",
    )


def _award(officer: Caller, books: Books, beneficiary: str, amount: str) -> str:
    body = {
        "fund": books.restricted,
        "beneficiary_id": beneficiary,
        "amount": amount,
        "currency": "CNY",
        "term": "2026秋",
    }
    award_id: str = officer.created("/api/v1/scholarship-awards", body)["id"]
    return award_id


def test_awards_and_payouts_show_pseudonyms_and_cohorts_only(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    other = officer.created(
        "/api/v1/beneficiaries",
        {
            "cohort": "初中 2025春",
            "county": "简阳市",
            "personal": {"name": "拉姆", "id_number": "510185201001011234", "school": "踏水中学"},
        },
    )["id"]
    officer.created("/api/v1/donations", donation(books, "5000.00"))
    first = _award(officer, books, books.beneficiary, "1000.00")
    second = _award(officer, books, other, "800.00")
    paid = officer.created(
        "/api/v1/scholarship-payouts",
        {"award_id": first, "amount": "400.00", "paid_on": f"{TODAY}"},
    )
    undone = officer.created(
        "/api/v1/scholarship-payouts",
        {"award_id": first, "amount": "100.00", "paid_on": f"{TODAY}"},
    )
    officer.created(f"/api/v1/entries/{undone['id']}/reversal", {"reason": "returned"})

    awards = {a["id"]: a for a in items(auditor, "/api/v1/scholarship-awards")}
    assert (awards[first]["paid"], awards[first]["unpaid"]) == ("400.00", "600.00")
    assert (awards[second]["paid"], awards[second]["unpaid"]) == ("0.00", "800.00")
    assert awards[second]["beneficiary_id"] == other
    assert (awards[second]["cohort"], awards[second]["county"]) == ("初中 2025春", "简阳市")
    only = items(auditor, "/api/v1/scholarship-awards?cohort=初中 2025春")
    assert [a["id"] for a in only] == [second]

    payouts = items(auditor, f"/api/v1/scholarship-payouts?award_id={first}")
    assert [p["id"] for p in payouts] == [undone["id"], paid["id"]]
    assert payouts[0]["reversed_by"] is not None and payouts[1]["reversed_by"] is None
    assert items(auditor, "/api/v1/scholarship-payouts?cohort=初中 2025春") == []

    text = json.dumps(
        [
            auditor.get(p).get_json()
            for p in ("/api/v1/scholarship-awards", "/api/v1/scholarship-payouts")
        ],
        ensure_ascii=False,
    )
    for personal in ("卓玛", "拉姆", "513327200901011234", "510185201001011234", "踏水中学"):
        assert personal not in text


# -- receipts ----------------------------------------------------------------------------------
def test_receipts_are_filtered_by_serial_prefix_donor_and_status(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    other = officer.created("/api/v1/donors", {"name": "丙"})["id"]
    first = officer.created("/api/v1/donations", donation(books, "10.00"))["receipt"]["serial"]
    second = officer.created("/api/v1/donations", donation(books, "20.00", donor_id=other))
    voided = officer.created(f"/api/v1/receipts/{first}/void", {"reason": "wrong name"})
    replacement = voided["replacement"]["serial"]

    def serials(query: str) -> list[str]:
        return [r["serial"] for r in items(auditor, f"/api/v1/receipts?{query}")]

    assert serials("") == [replacement, second["receipt"]["serial"], first]
    assert serials("status=void") == [first]
    assert serials("status=live") == [replacement, second["receipt"]["serial"]]
    assert serials(f"donor_id={other}") == [second["receipt"]["serial"]]
    year = first.split("-")[1]
    assert len(serials(f"serial=HQ-{year}-")) == 3
    assert serials("serial=XX-") == []
    assert serials("serial=HQ%25") == []  # a LIKE wildcard is a plain character here
    assert serials(f"from={TODAY + dt.timedelta(days=1)}") == []
    (old,) = items(auditor, "/api/v1/receipts?status=void")
    assert (old["replaced_by"], old["void_reason"]) == (replacement, "wrong name")
    assert old["amount"] == {"amount": "10.00", "currency": "CNY"}


# -- donors ------------------------------------------------------------------------------------
def test_donors_are_searched_by_a_fragment_of_the_name_in_any_case(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    names = ["Chan Tai Man", "CHAN Siu Ming", "Wong Ka Ho", "陈大文", "chanel 100%"]
    for name in names:
        officer.created("/api/v1/donors", {"name": name})
    found = [d["name"] for d in items(auditor, "/api/v1/donors/search?q=chan")]
    assert found == sorted(["Chan Tai Man", "CHAN Siu Ming", "chanel 100%"])
    assert [d["name"] for d in items(auditor, "/api/v1/donors/search?q=陈")] == ["陈大文"]
    assert [d["name"] for d in items(auditor, "/api/v1/donors/search?q=0%25")] == ["chanel 100%"]
    assert items(auditor, "/api/v1/donors/search?q=_") == []
    seen, pages = walk(auditor, "/api/v1/donors/search?q=a", 1)
    assert sorted(d["name"] for d in seen) == sorted(n for n in names if "a" in n.lower())
    assert pages == len(seen)


def test_the_donor_search_does_not_hide_a_donor_called_search(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    assert auditor.get(f"/api/v1/donors/{books.donor}").status_code == 200


# -- refusals and roles ------------------------------------------------------------------------
LISTS = [
    "/api/v1/donations",
    "/api/v1/in-kind-donations",
    "/api/v1/pledges",
    "/api/v1/disbursements",
    "/api/v1/scholarship-awards",
    "/api/v1/scholarship-payouts",
    "/api/v1/receipts",
    "/api/v1/donors/search?q=a",
]


@pytest.mark.parametrize("path", LISTS)
def test_a_list_refuses_unknown_parameters_bad_limits_and_foreign_cursors(
    auditor: Caller, path: str
) -> None:
    sep = "&" if "?" in path else "?"
    foreign = encode_cursor("journal", "2026-01-01", 1)
    for query, field in (
        ("colour=red", "colour"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        (f"cursor={foreign}", "cursor"),
    ):
        response = auditor.get(f"{path}{sep}{query}")
        assert response.status_code == 422, (path, query)
        assert response.headers["Content-Type"] == "application/problem+json"
        assert field in response.get_json()["errors"], (path, query)


def test_a_cursor_of_one_list_is_refused_by_another(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    for amount in ("1.00", "2.00"):
        officer.created("/api/v1/donations", donation(books, amount))
    cursor = auditor.get("/api/v1/donations?limit=1").get_json()["next_cursor"]
    assert cursor is not None
    response = auditor.get(f"/api/v1/disbursements?cursor={cursor}")
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["cursor"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/api/v1/donations?from=2026-13-01", "from"),
        ("/api/v1/donations?to=yesterday", "to"),
        ("/api/v1/donations?currency=XXX", "currency"),
        ("/api/v1/donations?method=cheque", "method"),
        ("/api/v1/receipts?status=lost", "status"),
        ("/api/v1/donors/search", "q"),
        ("/api/v1/donors/search?q=%20%20", "q"),
    ],
)
def test_a_bad_filter_is_refused_with_its_field_named(
    auditor: Caller, query: str, field: str
) -> None:
    response = auditor.get(query)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize("path", LISTS)
def test_every_reader_may_list_and_nobody_else(
    anonymous: Caller, admin: Caller, officer: Caller, auditor: Caller, path: str
) -> None:
    assert anonymous.get(path).status_code == 401
    for caller in (admin, officer, auditor):
        assert caller.get(path).status_code == 200
