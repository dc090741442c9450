"""Funds, donors, projects, beneficiaries, accounts, periods and tokens through the API."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from sqlalchemy import select

from ledger.storage import tables
from tests.api.conftest import TODAY, Books, Caller, disbursement, donation


# -- funds -----------------------------------------------------------------------------------------
def test_an_admin_opens_a_fund_and_everyone_reads_it(admin: Caller, auditor: Caller) -> None:
    fund = admin.created(
        "/api/v1/funds",
        {"code": "QXZ", "name": "失独家庭服务", "restricted": True, "purpose": "services"},
    )
    assert fund == {
        "id": "QXZ",
        "code": "QXZ",
        "name": "失独家庭服务",
        "restricted": True,
        "purpose": "services",
        "is_open": True,
    }
    assert auditor.get("/api/v1/funds").get_json()["items"] == [fund]


def test_a_restricted_fund_needs_its_purpose(admin: Caller) -> None:
    response = admin.post("/api/v1/funds", {"code": "R", "name": "r", "restricted": True})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["purpose"]


def test_a_fund_code_is_letters_digits_and_dots_dashes_underscores(admin: Caller) -> None:
    response = admin.post("/api/v1/funds", {"code": "has space", "name": "x", "restricted": False})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["code"]


def test_restricted_must_be_a_json_boolean(admin: Caller) -> None:
    response = admin.post("/api/v1/funds", {"code": "F", "name": "x", "restricted": "yes"})
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["restricted"]


def test_a_fund_shows_its_current_balances(officer: Caller, auditor: Caller, books: Books) -> None:
    officer.created(
        "/api/v1/pledges",
        {"donor_id": books.donor, "fund": books.restricted, "amount": "300.00", "currency": "CNY"},
    )
    officer.created("/api/v1/donations", donation(books, "1000.00"))
    officer.created(
        "/api/v1/donations",
        donation(books, "100.00", currency="HKD", fx_rate="0.92", fx_source="BOC"),
    )
    officer.created("/api/v1/disbursements", disbursement(books, "250.00"))
    balances = auditor.get(f"/api/v1/funds/{books.restricted}").get_json()["balances"]
    cny = lambda amount: {"amount": amount, "currency": "CNY"}  # noqa: E731
    assert balances == {
        "cash": [cny("750.00"), {"amount": "100.00", "currency": "HKD"}],
        "pledges_receivable": cny("300.00"),
        "raised": cny("1392.00"),
        "disbursed": cny("250.00"),
        "restricted_net_assets": cny("1142.00"),
        "unrestricted_net_assets": cny("0.00"),
        "available": [cny("750.00"), {"amount": "100.00", "currency": "HKD"}],
    }


# -- donors ----------------------------------------------------------------------------------------
def test_an_officer_registers_a_donor_with_language_and_anonymity(
    officer: Caller, auditor: Caller
) -> None:
    donor = officer.created(
        "/api/v1/donors",
        {"name": "陳先生", "language": "zh-Hant", "anonymous": True, "region": "Hong Kong"},
    )
    assert donor["id"].startswith("D-")
    assert donor == {
        "id": donor["id"],
        "name": "陳先生",
        "kind": "person",
        "language": "zh-Hant",
        "anonymous": True,
        "region": "Hong Kong",
    }
    assert auditor.get(f"/api/v1/donors/{donor['id']}").get_json() == donor


def test_donors_are_listed_a_page_at_a_time(officer: Caller, auditor: Caller) -> None:
    ids = sorted(officer.created("/api/v1/donors", {"name": f"d{n}"})["id"] for n in range(5))
    first = auditor.get("/api/v1/donors?limit=2").get_json()
    assert [d["id"] for d in first["items"]] == ids[:2]
    second = auditor.get(f"/api/v1/donors?limit=2&cursor={first['next_cursor']}").get_json()
    assert [d["id"] for d in second["items"]] == ids[2:4]
    last = auditor.get(f"/api/v1/donors?limit=2&cursor={second['next_cursor']}").get_json()
    assert [d["id"] for d in last["items"]] == ids[4:]
    assert last["next_cursor"] is None


def test_page_sizes_are_capped_at_200(auditor: Caller) -> None:
    response = auditor.get("/api/v1/donors?limit=201")
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["limit"]
    assert auditor.get("/api/v1/donors?limit=200").status_code == 200


def test_a_cursor_of_another_list_is_refused(
    auditor: Caller, officer: Caller, books: Books
) -> None:
    officer.created("/api/v1/donations", donation(books))
    officer.created("/api/v1/donations", donation(books))
    cursor = auditor.get("/api/v1/entries?limit=1").get_json()["next_cursor"]
    response = auditor.get(f"/api/v1/donors?cursor={cursor}")
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["cursor"]


def test_unknown_query_parameters_are_refused(auditor: Caller) -> None:
    response = auditor.get("/api/v1/donors?limt=5")
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["limt"]


# -- projects --------------------------------------------------------------------------------------
def test_projects_belong_to_a_fund_and_are_listed_by_fund(
    admin: Caller, auditor: Caller, books: Books
) -> None:
    project = admin.created(
        "/api/v1/projects",
        {
            "code": "JNC-CLINIC",
            "name": "交纳村卫生室",
            "fund": books.general,
            "county": "炉霍县",
            "town": "交纳村",
            "budget": {"amount": "30000.00", "currency": "CNY"},
        },
    )
    assert project["budget"] == {"amount": "30000.00", "currency": "CNY"}
    assert project["id"] == "JNC-CLINIC"
    listed = auditor.get(f"/api/v1/projects?fund={books.general}").get_json()["items"]
    assert listed == [project]
    assert auditor.get("/api/v1/projects/JNC-CLINIC").get_json() == project
    assert len(auditor.get("/api/v1/projects").get_json()["items"]) == 2


def test_a_project_under_an_unknown_fund_is_refused(admin: Caller) -> None:
    response = admin.post(
        "/api/v1/projects", {"code": "P", "name": "p", "fund": "NOPE", "county": "简阳市"}
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "unknown_fund"


# -- beneficiaries ---------------------------------------------------------------------------------
def test_a_beneficiarys_personal_data_goes_in_and_only_the_pseudonym_comes_out(
    app: Flask, officer: Caller, auditor: Caller
) -> None:
    personal = {
        "name": "卓玛",
        "id_number": "513327201001010021",
        "birth_date": "2010-01-01",
        "school": "炉霍县中学",
        "guardian": "阿妈",
    }
    created = officer.created(
        "/api/v1/beneficiaries",
        {"cohort": "高中助学金 2024秋", "county": "炉霍县", "personal": personal},
    )
    assert set(created) == {"id", "cohort", "county"}
    assert created["id"].startswith("B-")
    listed = auditor.get("/api/v1/beneficiaries").get_json()
    assert listed["items"] == [created]
    for text in (listed, created):
        assert "卓玛" not in str(text) and "513327" not in str(text)
    with app.extensions["huiquan"].engine.connect() as conn:
        sealed = conn.execute(select(tables.beneficiary_personal.c.ciphertext)).scalar_one()
    assert "卓玛".encode() not in sealed and b"513327" not in sealed


def test_the_same_person_is_registered_once(officer: Caller) -> None:
    body = {"cohort": "c", "county": "简阳市", "personal": {"name": "x", "id_number": "1234"}}
    officer.created("/api/v1/beneficiaries", body)
    response = officer.post("/api/v1/beneficiaries", body)
    assert response.status_code == 409
    assert list(response.get_json()["errors"]) == ["personal.id_number"]


def test_personal_data_refuses_unknown_fields(officer: Caller) -> None:
    body = {"cohort": "c", "county": "k", "personal": {"name": "x", "religion": "y"}}
    response = officer.post("/api/v1/beneficiaries", body)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"personal.religion": ["Unknown field."]}


# -- accounts --------------------------------------------------------------------------------------
def test_the_chart_of_accounts_is_listed_with_both_labels(auditor: Caller) -> None:
    accounts = {a["code"]: a for a in auditor.get("/api/v1/accounts").get_json()["items"]}
    assert accounts["4101-R"]["name_cn"] == "捐赠收入—限定性"
    assert accounts["1002-HKD"]["currency"] == "HKD"
    assert accounts["2209"]["normal_side"] == "credit"


def test_an_admin_adds_closes_and_reopens_an_account(admin: Caller, auditor: Caller) -> None:
    body = {"code": "5201-IT", "name_cn": "管理费用—信息", "name_us": "IT", "type": "expense"}
    account = admin.created("/api/v1/accounts", body)
    assert account["normal_side"] == "debit" and account["is_open"]
    assert admin.post("/api/v1/accounts", body).status_code == 409
    assert admin.post("/api/v1/accounts/5201-IT/close").get_json()["is_open"] is False
    assert admin.post("/api/v1/accounts/5201-IT/open").get_json()["is_open"] is True
    assert admin.post("/api/v1/accounts/0000/close").status_code == 404


def test_a_cash_account_holds_its_own_currency(admin: Caller) -> None:
    body = {"code": "1002-XYZ", "name_cn": "x", "name_us": "x", "type": "asset", "currency": "USD"}
    response = admin.post("/api/v1/accounts", body)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["currency"]


# -- periods ---------------------------------------------------------------------------------------
def test_an_ended_month_is_closed_once_and_listed(admin: Caller, auditor: Caller) -> None:
    last_month = f"{TODAY.replace(day=1) - dt.timedelta(days=1):%Y-%m}"
    closed = admin.created(f"/api/v1/periods/{last_month}/close", None)
    assert closed["period"] == last_month and closed["closed_by"] == "admin-1"
    assert auditor.get("/api/v1/periods").get_json()["items"] == [closed]
    assert admin.post(f"/api/v1/periods/{last_month}/close").status_code == 409


def test_a_period_that_has_not_ended_cannot_be_closed(admin: Caller) -> None:
    response = admin.post(f"/api/v1/periods/{TODAY:%Y-%m}/close")
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["period"]
    assert admin.post("/api/v1/periods/2025-13/close").status_code == 422


# -- tokens ----------------------------------------------------------------------------------------
def test_a_created_token_is_shown_once_and_works_at_once(admin: Caller, client: object) -> None:
    created = admin.created("/api/v1/tokens", {"name": "treasurer", "role": "officer"})
    assert created["token"].startswith("hq_") and created["revoked_at"] is None
    listed = admin.get("/api/v1/tokens").get_json()["items"]
    assert {t["name"] for t in listed} == {"admin-1", "officer-1", "auditor-1", "treasurer"}
    assert all("token" not in t for t in listed)
    fresh = Caller(client, created["token"])  # type: ignore[arg-type]
    assert fresh.post("/api/v1/donors", {"name": "x"}).status_code == 201


def test_a_revoked_token_stops_working_at_once(
    admin: Caller, auditor: Caller, tokens: dict[str, str]
) -> None:
    assert auditor.get("/api/v1/funds").status_code == 200  # cached now
    assert admin.delete("/api/v1/tokens/auditor-1").status_code == 204
    assert auditor.get("/api/v1/funds").status_code == 401
    assert admin.delete("/api/v1/tokens/auditor-1").status_code == 404


def test_a_token_name_is_taken_once(admin: Caller) -> None:
    response = admin.post("/api/v1/tokens", {"name": "officer-1", "role": "auditor"})
    assert response.status_code == 409


# -- health and documents --------------------------------------------------------------------------
def test_health_reports_the_service_and_the_database(anonymous: Caller, app: Flask) -> None:
    health = anonymous.get("/healthz").get_json()
    engine = app.extensions["huiquan"].engine.dialect.name
    assert health == {
        "status": "ok",
        "database": "ok",
        "engine": engine,
        "version": health["version"],
    }
