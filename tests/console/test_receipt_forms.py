"""Two receipt operations of the API at the console: recording the fiscal platform's 票据代码 /
号码 on a receipt, and issuing a donor's annual receipt, over `usecases.receipts` as the API;
officers and admins act, auditors may not; bad input is shown beside its field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from ledger.storage import tables
from tests.console.conftest import (
    TODAY,
    Seeded,
    api_as,
    books_of,
    count,
    csrf_of,
    donate,
    error_of,
    key_of,
    sign_in,
)
from usecases import receipts


def _gift(app: Flask, seeded: Seeded) -> str:
    return str(donate(app, seeded, "500.00").receipt.serial)


def _fiscal(client: FlaskClient, serial: str, **sent: str) -> Any:
    page = client.get(f"/console/receipts/{serial}")
    body = {"csrf_token": csrf_of(page), **sent}
    return client.post(f"/console/receipts/{serial}/fiscal-reference", data=body)


# -- the fiscal reference ------------------------------------------------------------------------
def test_an_officer_records_a_fiscal_reference_that_the_receipt_then_shows(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    serial = _gift(app, seeded)
    sign_in(client, users["officer"])
    sent = {"code": "51010126", "number": "0000123456"}
    answer = _fiscal(client, serial, **sent)
    assert answer.status_code == 303
    assert _fiscal(client, serial, **sent).status_code == 303  # the same again: a replay
    page = client.get(answer.location).get_data(as_text=True)
    assert "51010126 / 0000123456" in page and "票据代码" in page
    assert 'action="/console/receipts/' + serial + '/fiscal-reference"' not in page  # done
    link = receipts.current_link(books_of(app), serial)  # the donor's page shows it too
    assert "0000123456" in client.get(f"/r/{link.token}").get_data(as_text=True)
    assert count(app, tables.fiscal_references, serial=serial) == 1
    t = tables.audit_events
    with books_of(app).engine.connect() as conn:
        actions = list(conn.scalars(select(t.c.action).where(t.c.target.like(f"%{serial}%"))))
    assert actions.count("console receipt-fiscal-reference") == 2


def test_a_bad_or_second_fiscal_reference_is_refused_and_an_auditor_may_not_record_one(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    serial = _gift(app, seeded)
    sign_in(client, users["auditor"])
    assert "fiscal-reference" not in client.get(f"/console/receipts/{serial}").get_data(
        as_text=True
    )
    assert _fiscal(client, serial, code="51010126", number="1").status_code == 403
    client.post("/console/logout", data={"csrf_token": csrf_of(client.get("/console/"))})
    sign_in(client, users["officer"])
    bad = _fiscal(client, serial, code="票据#1", number="0000123456")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert error_of(html, "code") == "请按平台开具的写法填写：1 至 60 位数字、字母或“-”。"
    assert 'value="0000123456"' in html
    assert _fiscal(client, serial, code="51010126", number="").status_code == 422
    assert count(app, tables.fiscal_references, serial=serial) == 0
    assert _fiscal(client, serial, code="51010126", number="7").status_code == 303
    again = _fiscal(client, serial, code="51010126", number="8")
    assert again.status_code == 422
    assert "此收据已登记财政票据号码。" in again.get_data(as_text=True)
    assert count(app, tables.fiscal_references, serial=serial) == 1


# -- the annual receipt --------------------------------------------------------------------------
def test_an_officer_issues_a_donors_annual_receipt_once_and_the_api_reads_it(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    _gift(app, seeded)
    sign_in(client, users["officer"])
    path = f"/console/donors/{seeded.donor}"
    page = client.get(path)
    sent = {"csrf_token": csrf_of(page), "_key": key_of(page), "year": str(TODAY.year)}
    action = f"/console/donors/{seeded.donor}/annual-receipts"
    answer = client.post(action, data=sent)
    assert answer.status_code == 303
    assert client.post(action, data=sent).status_code == 303  # sent twice: issued once
    shown = client.get(answer.location).get_data(as_text=True)
    serial = re.search(
        r'<p class="notice" role="status">[^<]*<a href="/console/receipts/([^"]+)"', shown
    )
    assert serial, shown
    record = api_as(app, "auditor").get(f"/api/v1/receipts/{serial.group(1)}").get_json()
    assert record["kind"] == "annual" and record["donor_id"] == seeded.donor
    assert count(app, tables.receipts, kind="annual") == 1


@pytest.mark.parametrize(
    ("year", "words"),
    [
        ("20x6", "请填写 1900 至 2999 之间的年份。"),
        ("", "此栏为必填项。"),
        ("1999", "该捐赠人在 1999 年没有开具收据的捐赠。"),
    ],
)
def test_a_bad_year_is_refused_beside_it_and_issues_nothing(
    app: Flask,
    client: FlaskClient,
    users: dict[str, str],
    seeded: Seeded,
    year: str,
    words: str,
) -> None:
    _gift(app, seeded)
    sign_in(client, users["officer"])
    page = client.get(f"/console/donors/{seeded.donor}")
    sent = {"csrf_token": csrf_of(page), "_key": key_of(page), "year": year}
    refused = client.post(f"/console/donors/{seeded.donor}/annual-receipts", data=sent)
    assert refused.status_code == 422
    assert error_of(refused.get_data(as_text=True), "year") == words
    assert count(app, tables.receipts, kind="annual") == 0


def test_an_auditor_may_not_issue_an_annual_receipt(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    _gift(app, seeded)
    sign_in(client, users["auditor"])
    page = client.get(f"/console/donors/{seeded.donor}")
    assert "annual-receipts" not in page.get_data(as_text=True)
    sent = {"csrf_token": csrf_of(page), "year": str(TODAY.year)}
    assert (
        client.post(f"/console/donors/{seeded.donor}/annual-receipts", data=sent).status_code == 403
    )
    assert count(app, tables.receipts, kind="annual") == 0
