"""The console's list pages: each shows the journal's figures, filters, sorts and pages by a
cursor (following "next" visits every row once), refuses bad filters with 400, and keeps
personal data of beneficiaries off the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.console.test_lists_support import (
    Recorded,
    browser,
    browser_signed_in,
    record_books,
    web_app,
)


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = web_app(app_config)
    yield app
    app.extensions["huiquan"].engine.dispose()


@pytest.fixture
def web(app: Flask) -> Flask:
    return app


@pytest.fixture
def recorded(web: Flask) -> Recorded:
    return record_books(web)


@pytest.fixture
def auditor_browser(web: Flask) -> FlaskClient:
    return browser(web, "auditor")


@pytest.fixture
def officer_browser(web: Flask) -> FlaskClient:
    return browser(web, "officer")


ENTRY_LINK = re.compile(r'href="/console/audit/entries/([^"]+)"')
NEXT_LINK = re.compile(r'<a rel="next" href="([^"]+)"')


def page(browser: FlaskClient, path: str, status: int = 200) -> str:
    response = browser.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def entry_ids(html: str) -> list[str]:
    return list(dict.fromkeys(ENTRY_LINK.findall(html)))


LISTS = [
    "donations",
    "in-kind",
    "pledges",
    "disbursements",
    "awards",
    "payouts",
    "journal",
    "receipts",
    "donors",
]


@pytest.mark.parametrize("name", LISTS)
def test_every_list_page_answers_a_reader_and_sends_a_stranger_to_sign_in(
    web: Flask, auditor_browser: FlaskClient, officer_browser: FlaskClient, name: str
) -> None:
    for reader in (auditor_browser, officer_browser):
        html = page(reader, f"/console/lists/{name}")
        assert '<form method="get"' in html and 'class="muted">' in html  # nothing yet
    response = web.test_client().get(f"/console/lists/{name}")
    assert response.status_code == 302
    assert "/console/login" in response.headers["Location"]


def test_the_donations_page_shows_the_cash_lines_newest_first_and_filters_by_fund(
    auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    html = page(auditor_browser, "/console/lists/donations")
    ids = recorded.ids
    assert entry_ids(html) == [ids["pledge_payment"], ids["new_gift"], ids["old_gift"]]
    assert "¥250.50" in html and "¥1,000.00" in html
    only = page(auditor_browser, "/console/lists/donations?fund=GEN")
    assert entry_ids(only) == [ids["new_gift"]]
    oldest = page(auditor_browser, "/console/lists/donations?order=oldest")
    assert entry_ids(oldest) == [ids["old_gift"], ids["new_gift"], ids["pledge_payment"]]
    by_method = page(auditor_browser, "/console/lists/donations?method=cash")
    assert entry_ids(by_method) == [ids["new_gift"]]


def test_following_next_visits_every_journal_entry_once(
    auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    everything = entry_ids(page(auditor_browser, "/console/lists/journal?limit=200"))
    seen: list[str] = []
    path, pages = "/console/lists/journal?limit=2", 0
    while True:
        html = page(auditor_browser, path)
        pages += 1
        rows = re.findall(r'<tr><td><a href="/console/audit/entries/([^"]+)"', html)
        assert len(rows) <= 2
        seen += rows
        found = NEXT_LINK.search(html)
        if found is None:
            break
        path = found.group(1).replace("&amp;", "&")
    assert seen == everything and len(seen) == 7
    assert pages == 4


def test_the_pledges_page_shows_paid_and_outstanding_from_the_books(
    auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    html = page(auditor_browser, "/console/lists/pledges")
    row = re.search(rf"<code>{recorded.ids['pledge']}</code>.*?</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(0))
    assert cells == ["¥600.00", "¥200.00", "¥400.00"]


def test_awards_and_payouts_show_pseudonyms_never_names(
    auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    for name in ("awards", "payouts"):
        html = page(auditor_browser, f"/console/lists/{name}")
        assert recorded.beneficiary in html and "高中助学金 2024秋" in html
        assert "卓玛" not in html and "513327200901011234" not in html
    awards = page(auditor_browser, "/console/lists/awards")
    assert "¥300.00" in awards and "¥100.00" in awards and "¥200.00" in awards
    cohort = page(auditor_browser, "/console/lists/awards?cohort=nobody")
    assert recorded.ids["award"] not in cohort


def test_the_disbursements_page_filters_by_project(
    auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    html = page(auditor_browser, "/console/lists/disbursements?project=LUHUO-EDU")
    assert entry_ids(html) == [recorded.ids["disbursement"]] and "课本" in html
    none = page(auditor_browser, "/console/lists/disbursements?project=OTHER")
    assert entry_ids(none) == []


def test_the_receipts_page_finds_a_serial_by_its_prefix(
    auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    serial = recorded.ids["receipt"]
    html = page(auditor_browser, f"/console/lists/receipts?serial={serial}")
    assert serial in html and "¥200.00" in html
    assert "<table" not in page(auditor_browser, "/console/lists/receipts?serial=ZZ-")


def test_the_donors_page_searches_names_in_any_case(
    auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    html = page(auditor_browser, "/console/lists/donors?q=chan")
    assert "Chan Tai Man" in html and "成都某公司" not in html


def test_the_donors_rows_escape_names_and_link_each_donors_gifts_and_receipts(
    web: Flask, auditor_browser: FlaskClient
) -> None:
    from usecases import reference

    books = web.extensions["huiquan"].books
    made = reference.register_donor(books, name="<b>王&李</b>", kind="organisation", anonymous=True)
    html = page(auditor_browser, "/console/lists/donors?q=王")
    row = re.search(r"<tr><td>(?:(?!</tr>).)*</tr>", html, re.S)
    assert row is not None, html
    cells = row.group(0)
    assert "&lt;b&gt;王&amp;李&lt;/b&gt;" in cells and "<b>" not in cells
    assert '<span class="tag">' in cells and "<td>机构</td>" in cells
    assert f'href="/console/lists/donations?donor_id={made.id}">' in cells
    assert f'href="/console/lists/receipts?donor_id={made.id}">' in cells


@pytest.mark.parametrize(
    "query",
    [
        "donations?from=2026-02-30",
        "donations?method=cheque",
        "donations?order=sideways",
        "journal?limit=0",
        "journal?kind=gift",
        "journal?cursor=bm90LWEtY3Vyc29y",
    ],
)
def test_a_bad_filter_or_cursor_is_answered_400_with_the_form_and_no_rows(
    auditor_browser: FlaskClient, recorded: Recorded, query: str
) -> None:
    html = page(auditor_browser, f"/console/lists/{query}", status=400)
    assert 'role="alert"' in html and "<table" not in html
    assert '<form method="get"' in html


def test_a_cursor_of_one_list_is_refused_by_another(
    auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    found = NEXT_LINK.search(page(auditor_browser, "/console/lists/donations?limit=1"))
    assert found is not None
    cursor = re.search(r"cursor=([^&\"]+)", found.group(1))
    assert cursor is not None
    page(auditor_browser, f"/console/lists/disbursements?cursor={cursor.group(1)}", status=400)


def test_audit_events_are_for_auditors_and_admins(
    web: Flask, auditor_browser: FlaskClient, officer_browser: FlaskClient, recorded: Recorded
) -> None:
    html = page(auditor_browser, "/console/lists/audit-events?actor=officer-1")
    assert "officer-1" in html and "<table" in html
    assert officer_browser.get("/console/lists/audit-events").status_code == 403
    admin = browser(web, "admin")
    assert admin.get("/console/lists/audit-events").status_code == 200


def test_a_person_signed_in_through_the_login_form_sees_the_lists(
    web: Flask, users: dict[str, str], recorded: Recorded
) -> None:
    signed = browser_signed_in(web, users["auditor"])
    html = page(signed, "/console/lists/donations")
    assert recorded.ids["old_gift"] in html
    assert "/console/lists/awards" in page(signed, "/console/lists/")


def test_the_disbursements_page_shows_payee_bank_reference_and_acknowledgment(
    web: Flask, auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    import io

    from tests.api.conftest import Caller
    from tests.console.test_lists_support import TODAY
    from usecases import evidence
    from usecases.tokens import create_token
    from usecases.unit import SYSTEM

    officer = Caller(
        web.test_client(),
        create_token(web.extensions["huiquan"].engine, role="officer", name="officer-2"),
    )
    paid = officer.created(
        "/api/v1/disbursements",
        {
            "fund": "JLZX",
            "project": "LUHUO-EDU",
            "amount": "80.00",
            "currency": "CNY",
            "paid_on": f"{TODAY}",
            "payee": {
                "kind": "organisation",
                "name": "炉霍县书店",
                "registration_number": "91510104MA62N8Q0XU",
            },
            "bank_reference": "BOC-2026-0042",
        },
    )["id"]
    html = page(auditor_browser, "/console/lists/disbursements")
    row = re.search(rf"<tr>(?:(?!</tr>).)*{paid}.*?</tr>", html, re.S)
    assert row is not None
    assert "炉霍县书店 (91510104MA62N8Q0XU)" in row.group(0)
    assert "<code>BOC-2026-0042</code>" in row.group(0) and "尚未" in row.group(0)
    evidence.acknowledge(
        web.extensions["huiquan"].books,
        paid,
        acknowledged_on=TODAY,
        by=SYSTEM,
        upload=evidence.Upload(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "回执.pdf"),
    )
    html = page(auditor_browser, "/console/lists/disbursements")
    row = re.search(rf"<tr>(?:(?!</tr>).)*{paid}.*?</tr>", html, re.S)
    assert row is not None and "尚未" not in row.group(0)
    assert f'<td class="nowrap">{TODAY.year}年{TODAY.month}月{TODAY.day}日</td>' in row.group(0)
    payouts = page(auditor_browser, "/console/lists/payouts")
    assert "尚未" in payouts  # the award's payout has no acknowledgment yet
