"""Reading the books: entries by filter and cursor, one entry, the trial balance."""

from __future__ import annotations

import datetime as dt

from tests.api.conftest import TODAY, Books, Caller, disbursement, donation

YESTERDAY = TODAY - dt.timedelta(days=1)


def _journal(officer: Caller, books: Books) -> dict[str, str]:
    """A donation yesterday, one today, a disbursement, an award: their entry ids by name."""
    old = officer.created(
        "/api/v1/donations", donation(books, "100.00", received_on=f"{YESTERDAY}")
    )
    new = officer.created("/api/v1/donations", donation(books, "900.00"))
    paid = officer.created("/api/v1/disbursements", disbursement(books, "50.00"))
    award = officer.created(
        "/api/v1/scholarship-awards",
        {
            "fund": books.restricted,
            "beneficiary_id": books.beneficiary,
            "amount": "10.00",
            "currency": "CNY",
            "term": "t",
        },
    )
    return {"old": old["id"], "new": new["id"], "paid": paid["id"], "award": award["entry"]["id"]}


def ids(caller: Caller, query: str) -> list[str]:
    response = caller.get(f"/api/v1/entries?{query}")
    assert response.status_code == 200, response.get_json()
    return [e["id"] for e in response.get_json()["items"]]


def test_entries_are_filtered_by_fund_project_party_kind_and_date(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    e = _journal(officer, books)
    assert ids(auditor, "") == [e["old"], e["new"], e["paid"], e["award"]]
    assert ids(auditor, f"fund={books.general}") == []
    assert ids(auditor, f"project={books.project}") == [e["paid"]]
    assert ids(auditor, f"donor={books.donor}") == [e["old"], e["new"]]
    assert ids(auditor, f"beneficiary={books.beneficiary}") == [e["award"]]
    assert ids(auditor, "kind=disbursement") == [e["paid"]]
    assert ids(auditor, f"from={TODAY}") == [e["new"], e["paid"], e["award"]]
    assert ids(auditor, f"to={YESTERDAY}") == [e["old"]]
    assert ids(auditor, f"kind=donation&from={TODAY}") == [e["new"]]


def test_entries_are_paged_with_an_opaque_cursor(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    e = _journal(officer, books)
    seen: list[str] = []
    query = "limit=3"
    while True:
        page = auditor.get(f"/api/v1/entries?{query}").get_json()
        seen += [x["id"] for x in page["items"]]
        if page["next_cursor"] is None:
            break
        query = f"limit=3&cursor={page['next_cursor']}"
    assert seen == [e["old"], e["new"], e["paid"], e["award"]]


def test_a_forged_cursor_is_refused(auditor: Caller) -> None:
    for cursor in ("bm90LWEtY3Vyc29y", "entries", "ZW50cmllczp4"):
        response = auditor.get(f"/api/v1/entries?cursor={cursor}")
        assert response.status_code == 422, cursor
        assert list(response.get_json()["errors"]) == ["cursor"]


def test_a_donor_and_a_beneficiary_filter_do_not_combine(auditor: Caller) -> None:
    response = auditor.get("/api/v1/entries?donor=D-1&beneficiary=B-1")
    assert response.status_code == 422


def test_one_entry_shows_its_postings_sequence_and_hash(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    e = _journal(officer, books)
    entry = auditor.get(f"/api/v1/entries/{e['paid']}").get_json()
    assert entry["sequence"] == 3 and entry["kind"] == "disbursement"
    first = auditor.get(f"/api/v1/entries/{e['new']}").get_json()
    assert entry["prev_hash"] == first["hash"]
    assert {p["account"] for p in entry["postings"]} == {"5101", "1002-CNY", "3102", "3101"}


def test_the_trial_balance_totals_are_equal_in_cny(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    _journal(officer, books)
    officer.created(
        "/api/v1/donations",
        donation(books, "100.00", currency="USD", fx_rate="7.1", fx_source="PBOC"),
    )
    tb = auditor.get("/api/v1/trial-balance").get_json()
    assert tb["currency"] == "CNY" and tb["as_of"] is None
    assert tb["total_debit"] == tb["total_credit"] == "1780.00"
    rows = {r["account"]: r for r in tb["rows"]}
    assert rows["1002-USD"]["debit"] == "710.00"
    assert rows["4101-R"] == {
        "account": "4101-R",
        "name": "捐赠收入—限定性",
        "name_us": "Contributions with donor restrictions",
        "debit": "0.00",
        "credit": "1710.00",
    }


def test_the_trial_balance_as_of_a_day_counts_entries_dated_up_to_it(
    officer: Caller, auditor: Caller, books: Books
) -> None:
    _journal(officer, books)
    tb = auditor.get(f"/api/v1/trial-balance?as_of={YESTERDAY}").get_json()
    assert tb["as_of"] == YESTERDAY.isoformat()
    assert tb["total_debit"] == tb["total_credit"] == "100.00"
    general = auditor.get(f"/api/v1/trial-balance?fund={books.general}").get_json()
    assert general["rows"] == [] and general["fund"] == books.general
