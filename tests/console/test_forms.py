"""Officers' forms: each records through the API's use case; a refusal changes nothing."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ledger.balances import fund_summary
from ledger.storage import tables
from tests.console.conftest import TODAY, Seeded, csrf_of, key_of, post_form, sign_in
from usecases import unit


def _head(app: Flask) -> int:
    return unit.read(app.extensions["huiquan"].books, lambda repo: repo.head()[0])


def _cash(app: Flask, fund: str) -> dict[str, int]:
    return unit.read(app.extensions["huiquan"].books, lambda repo: fund_summary(repo, fund).cash)


@pytest.fixture
def officer(client: FlaskClient, users: dict[str, str], seeded: Seeded) -> FlaskClient:
    assert sign_in(client, users["officer"]).status_code == 302
    return client


def _gift(seeded: Seeded, **fields: str) -> dict[str, str]:
    return {
        "donor_id": seeded.donor,
        "fund": seeded.restricted,
        "amount": "12000.00",
        "currency": "CNY",
        "received_on": TODAY.isoformat(),
        "method": "bank",
        **fields,
    }


def test_a_gift_is_recorded_with_its_receipt_serial_and_the_donors_link(
    app: Flask, officer: FlaskClient, seeded: Seeded
) -> None:
    response = post_form(officer, "/console/gifts/new", _gift(seeded))
    text = response.get_data(as_text=True)
    assert response.status_code == 200, text
    serial = re.search(r"HQ-\d{4}-\d{6}", text)
    link = re.search(r'href="(http://localhost/r/[A-Za-z0-9_-]{32})"', text)
    assert serial and link
    assert officer.get(link.group(1)).status_code == 200
    assert _cash(app, seeded.restricted) == {"CNY": 1_200_000}


def test_a_form_with_errors_shows_each_beside_its_field_keeps_the_input_and_records_nothing(
    app: Flask, officer: FlaskClient, seeded: Seeded
) -> None:
    head = _head(app)
    typed = _gift(seeded, amount="12.345", received_on="", memo="第一笔 <b>memo</b>")
    response = post_form(officer, "/console/gifts/new", typed)
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="e-amount">[^<]*该币种没有这么多位小数', text)
    assert re.search(r'id="e-received_on">[^<]*此栏为必填项', text)
    assert 'value="12.345"' in text
    assert "第一笔 &lt;b&gt;memo&lt;/b&gt;" in text
    assert 'aria-invalid="true"' in text
    assert _head(app) == head


def test_a_refusal_of_the_books_goes_beside_the_field_it_names(
    app: Flask, officer: FlaskClient, seeded: Seeded
) -> None:
    head = _head(app)
    response = post_form(
        officer,
        "/console/disbursements/new",
        {
            "fund": seeded.general,
            "project": "",
            "amount": "5.00",
            "currency": "CNY",
            "paid_on": TODAY.isoformat(),
            "functional_class": "program",
        },
        fund=seeded.general,
    )
    assert response.status_code == 422
    assert re.search(r'id="e-project">[^<]*此栏为必填项', response.get_data(as_text=True))
    response = post_form(
        officer,
        "/console/fees/new",
        {
            "fund": seeded.general,
            "amount": "900.00",
            "currency": "CNY",
            "paid_on": TODAY.isoformat(),
        },
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="e-amount">[^<]*该基金此币种的现金不足', text)
    assert 'value="900.00"' in text
    assert _head(app) == head


def test_in_english_the_errors_are_in_english(officer: FlaskClient, seeded: Seeded) -> None:
    officer.get("/lang/en")
    response = post_form(officer, "/console/gifts/new", _gift(seeded, amount="abc"))
    assert "Enter an amount such as 1200.50." in response.get_data(as_text=True)


def test_a_double_submitted_form_records_once(
    app: Flask, officer: FlaskClient, seeded: Seeded
) -> None:
    page = officer.get("/console/gifts/new")
    body = {"csrf_token": csrf_of(page), "_key": key_of(page), **_gift(seeded)}
    first = officer.post("/console/gifts/new", data=body)
    head = _head(app)
    second = officer.post("/console/gifts/new", data=body)
    assert first.status_code == second.status_code == 200
    serials = [re.search(r"HQ-\d{4}-\d{6}", r.get_data(as_text=True)) for r in (first, second)]
    assert serials[0] and serials[1] and serials[0].group(0) == serials[1].group(0)
    assert _head(app) == head
    assert _cash(app, seeded.restricted) == {"CNY": 1_200_000}


def test_each_rendering_of_a_form_has_its_own_key(officer: FlaskClient) -> None:
    assert key_of(officer.get("/console/gifts/new")) != key_of(officer.get("/console/gifts/new"))


def test_the_disbursement_form_shows_the_funds_cash_and_the_projects_remaining_budget(
    app: Flask, officer: FlaskClient, seeded: Seeded
) -> None:
    post_form(officer, "/console/gifts/new", _gift(seeded))
    page = officer.get(f"/console/disbursements/new?fund={seeded.restricted}")
    text = page.get_data(as_text=True)
    assert "¥12,000.00" in text  # the fund's cash
    assert "¥50,000.00" in text  # the project's budget, all of it remaining
    paid = post_form(
        officer,
        "/console/disbursements/new",
        {
            "fund": seeded.restricted,
            "project": seeded.project,
            "amount": "2000.00",
            "currency": "CNY",
            "paid_on": TODAY.isoformat(),
            "functional_class": "program",
        },
        fund=seeded.restricted,
    )
    assert paid.status_code == 200, paid.get_data(as_text=True)
    text = officer.get(f"/console/disbursements/new?fund={seeded.restricted}").get_data(
        as_text=True
    )
    assert "¥10,000.00" in text and "¥48,000.00" in text


def test_donors_are_created_searched_and_shown_with_their_gifts_and_receipts(
    officer: FlaskClient, seeded: Seeded
) -> None:
    created = post_form(
        officer, "/console/donors/new", {"name": "陈美玲", "kind": "person", "language": "zh-Hant"}
    )
    text = created.get_data(as_text=True)
    assert created.status_code == 200
    donor_id = re.search(r"/console/donors/(D-[A-Za-z0-9-]+)", text)
    assert donor_id
    found = officer.get("/console/donors?q=美玲").get_data(as_text=True)
    assert "陈美玲" in found and "成都某公司" not in found
    post_form(officer, "/console/gifts/new", _gift(seeded, donor_id=donor_id.group(1)))
    detail = officer.get(f"/console/donors/{donor_id.group(1)}").get_data(as_text=True)
    assert "¥12,000.00" in detail and re.search(r"HQ-\d{4}-\d{6}", detail)
    assert officer.get("/console/donors/D-nobody").status_code == 404


def test_the_other_forms_record_through_their_use_cases(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["admin"])
    day = TODAY.isoformat()
    pledge = post_form(
        client,
        "/console/pledges/new",
        {
            "donor_id": seeded.donor,
            "fund": seeded.restricted,
            "amount": "3000.00",
            "currency": "CNY",
            "pledged_on": day,
        },
    )
    assert pledge.status_code == 200, pledge.get_data(as_text=True)
    pledge_id = re.search(r"<dd>(P-[^<]+)</dd>", pledge.get_data(as_text=True))
    assert pledge_id
    paid = post_form(
        client,
        "/console/pledge-payments/new",
        {**_gift(seeded, amount="1000.00"), "pledge_id": pledge_id.group(1)},
    )
    assert paid.status_code == 200, paid.get_data(as_text=True)
    in_kind = post_form(
        client,
        "/console/in-kind/new",
        {
            "donor_id": seeded.donor,
            "fund": seeded.restricted,
            "description": "手术器械",
            "quantity": "1 套",
            "fair_value": "100000.00",
            "currency": "CNY",
            "valuation_basis": "发票",
            "received_on": day,
            "asset": "equipment",
        },
    )
    assert in_kind.status_code == 200, in_kind.get_data(as_text=True)
    award = post_form(
        client,
        "/console/awards/new",
        {
            "fund": seeded.restricted,
            "beneficiary_id": seeded.beneficiary,
            "amount": "500.00",
            "currency": "CNY",
            "term": "2026秋",
            "awarded_on": day,
        },
    )
    assert award.status_code == 200, award.get_data(as_text=True)
    award_id = re.search(r"<dd>(A-[^<]+)</dd>", award.get_data(as_text=True))
    assert award_id
    payout = post_form(
        client,
        "/console/payouts/new",
        {"award_id": award_id.group(1), "amount": "200.00", "paid_on": day},
    )
    assert payout.status_code == 200, payout.get_data(as_text=True)
    over = post_form(
        client,
        "/console/payouts/new",
        {"award_id": award_id.group(1), "amount": "900.00", "paid_on": day},
    )
    assert over.status_code == 422 and re.search(
        r'id="e-amount">[^<]*超过了尚欠金额', over.get_data(as_text=True)
    )
    transfer = post_form(
        client,
        "/console/transfers/new",
        {
            "from_fund": seeded.general,
            "to_fund": seeded.restricted,
            "amount": "100.00",
            "currency": "CNY",
            "on": day,
            "reason": "补足",
        },
    )
    assert transfer.status_code == 200, transfer.get_data(as_text=True)
    entry = re.search(r"#\d+ · ([0-9a-zA-Z-]+)", transfer.get_data(as_text=True))
    assert entry
    reversal = post_form(
        client, "/console/reversals/new", {"entry_id": entry.group(1), "reason": "录错"}
    )
    assert reversal.status_code == 200, reversal.get_data(as_text=True)
    again = post_form(
        client, "/console/reversals/new", {"entry_id": entry.group(1), "reason": "录错"}
    )
    assert again.status_code == 422 and "该分录已被冲销" in again.get_data(as_text=True)
    bad = post_form(client, "/console/periods/close", {"period": "2099-01"})
    assert bad.status_code == 422 and 'id="e-period"' in bad.get_data(as_text=True)
    closed = post_form(client, "/console/periods/close", {"period": "2001-01"})
    assert closed.status_code == 200, closed.get_data(as_text=True)


def test_every_page_renders_for_an_admin(
    client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["admin"])
    pages = [
        "/console/",
        f"/console/funds/{seeded.restricted}",
        "/console/record",
        "/console/donors",
        f"/console/donors/{seeded.donor}",
    ]
    from console.officers import FORMS

    pages += [spec.path for spec in FORMS]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'lang="zh-Hans"' in response.get_data(as_text=True)


def test_a_disbursement_form_names_its_payee_and_a_bad_code_goes_beside_its_field(
    app: Flask, officer: FlaskClient, seeded: Seeded
) -> None:
    post_form(officer, "/console/gifts/new", _gift(seeded))
    body = {
        "fund": seeded.restricted,
        "project": seeded.project,
        "amount": "300.00",
        "currency": "CNY",
        "paid_on": TODAY.isoformat(),
        "functional_class": "program",
        "payee_kind": "organisation",
        "payee_name": "炉霍县交纳村村民委员会",
        "payee_registration_number": "545101850000004100",
        "bank_reference": "CMB-0042",
    }
    head = _head(app)
    refused = post_form(officer, "/console/disbursements/new", body, fund=seeded.restricted)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'id="e-payee_registration_number"' in text
    assert _head(app) == head
    body["payee_registration_number"] = "545101850000004105"
    paid = post_form(officer, "/console/disbursements/new", body, fund=seeded.restricted)
    assert paid.status_code == 200, paid.get_data(as_text=True)
    assert _head(app) == head + 1

    with app.extensions["huiquan"].books.engine.connect() as conn:
        data = conn.execute(
            select(tables.journal_entries.c.data).where(
                tables.journal_entries.c.sequence == head + 1
            )
        ).scalar_one()
    assert '"registration_number":"545101850000004105"' in data.replace(" ", "")
    assert '"bank_reference":"CMB-0042"' in data.replace(" ", "")


def test_a_disbursement_beyond_the_budget_is_refused_in_words_and_then_requested_with_a_reason(
    app: Flask, officer: FlaskClient, seeded: Seeded
) -> None:
    post_form(officer, "/console/gifts/new", _gift(seeded, amount="60000.00"))
    body = {
        "fund": seeded.restricted,
        "project": seeded.project,
        "amount": "50000.01",
        "currency": "CNY",
        "paid_on": TODAY.isoformat(),
        "functional_class": "program",
    }
    refused = post_form(officer, "/console/disbursements/new", body, fund=seeded.restricted)
    assert refused.status_code == 422
    assert "超出项目剩余预算" in refused.get_data(as_text=True)
    head = _head(app)
    body["over_budget_reason"] = "理事会同意追加"
    asked = post_form(officer, "/console/disbursements/new", body, fund=seeded.restricted)
    assert asked.status_code == 200, asked.get_data(as_text=True)
    assert _head(app) == head  # a request, not an entry: an approver decides it


def test_an_award_beyond_the_funds_capacity_shows_the_figures_in_the_persons_language(
    app: Flask, officer: FlaskClient, seeded: Seeded
) -> None:
    from ledger.money import Money
    from usecases import gifts
    from usecases.unit import SYSTEM

    gifts.record_donation(
        app.extensions["huiquan"].books,
        by=SYSTEM,
        donor_id=seeded.donor,
        fund=seeded.restricted,
        amount=Money.parse("1000.00", "CNY"),
        received_on=TODAY,
    )
    cash = _cash(app, seeded.restricted).get("CNY", 0)
    assert cash
    head = _head(app)
    fields = {
        "fund": seeded.restricted,
        "beneficiary_id": seeded.beneficiary,
        "amount": f"{cash // 100 + 900}.00",
        "currency": "CNY",
        "term": "2026秋",
        "awarded_on": TODAY.isoformat(),
    }
    refused = post_form(officer, "/console/awards/new", fields)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422, text
    error = re.search(r'id="e-amount">([^<]*)<', text)
    assert error, text
    shown = error.group(1)
    assert "最多" in shown and f"¥{int(fields['amount'][:-3]):,}.00" in shown
    assert f"¥{cash // 100:,}.{cash % 100:02d}" in shown
    assert _head(app) == head
    officer.set_cookie("hq_lang", "en")
    again = post_form(officer, "/console/awards/new", fields)
    found = re.search(r'id="e-amount">([^<]*)<', again.get_data(as_text=True))
    assert found and found.group(1).startswith("The fund can commit at most")
    assert "unpaid awards CN¥0.00" in found.group(1)
