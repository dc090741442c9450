"""The auditors' pages: the trial balance as of any day, statements with their downloads and
the entries behind a line, the journal exports and the bundle (the API's own files), the
checkpoints, and an entry's file (postings, reversal, receipts, audit events)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook

from tests.api.conftest import Caller
from tests.console.test_lists_support import TODAY, Recorded, browser, record_books, web_app
from usecases.tokens import create_token

ENTRY_LINK = re.compile(r'href="/console/audit/entries/([^"]+)"')


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = web_app(app_config)
    yield app
    app.extensions["huiquan"].engine.dispose()


@pytest.fixture
def recorded(app: Flask) -> Recorded:
    return record_books(app)


@pytest.fixture
def auditor_browser(app: Flask) -> FlaskClient:
    return browser(app, "auditor")


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def _rows(html: str) -> dict[str, list[str]]:
    """A table's body rows by their first cell's text (links and tags stripped)."""
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        if cells:
            out[cells[0]] = cells[1:]
    return out


def test_the_trial_balance_as_of_a_day_leaves_out_later_entries_and_balances(
    auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    before = _rows(
        page(auditor_browser, f"/console/audit/trial-balance?as_of={TODAY - dt.timedelta(days=1)}")
    )
    assert before["1002-CNY"][1:] == ["¥1,000.00", "¥0.00"]
    now = _rows(page(auditor_browser, "/console/audit/trial-balance"))
    # 1000 + 250.50 + 200 in, 120 + 100 out
    assert now["1002-CNY"][1:] == ["¥1,230.50", "¥0.00"]
    html = page(auditor_browser, "/console/audit/trial-balance?fund=GEN")
    totals = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S)
    assert totals is not None and totals.group(1).count("¥250.50") == 2


def test_an_account_of_the_trial_balance_leads_to_its_entries(
    auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    html = page(auditor_browser, "/console/audit/trial-balance")
    link = re.search(r'<a href="(/console/lists/journal\?account=2209[^"]*)"', html)
    assert link is not None
    entries = page(auditor_browser, link.group(1).replace("&amp;", "&"))
    ids = recorded.ids
    assert set(ENTRY_LINK.findall(entries)) == {ids["award_entry"], ids["payout"]}


def test_a_statement_line_leads_to_the_entries_behind_it(
    auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    html = page(auditor_browser, "/console/audit/statements/activities?fund=JLZX")
    assert "业务活动表" in html
    program = re.search(r"<tr><td[^>]*>program</td>.*?</tr>", html, re.S)
    assert program is not None
    link = re.search(r'href="(/console/lists/journal\?[^"]+)"', program.group(0))
    assert link is not None and "account=5101" in link.group(1)
    entries = page(auditor_browser, link.group(1).replace("&amp;", "&"))
    ids = recorded.ids
    assert set(ENTRY_LINK.findall(entries)) == {ids["disbursement"], ids["award_entry"]}


def test_a_statement_downloads_as_the_apis_csv_and_a_pdf(
    app: Flask, auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    html = page(auditor_browser, "/console/audit/statements/trial-balance")
    csv_link = re.search(r'href="([^"]+download\.csv[^"]*)"', html)
    assert csv_link is not None
    ours = auditor_browser.get(csv_link.group(1).replace("&amp;", "&"))
    assert ours.status_code == 200 and ours.mimetype == "text/csv"
    token = create_token(app.extensions["huiquan"].engine, role="auditor", name="auditor-api")
    theirs = Caller(app.test_client(), token).get("/api/v1/statements/trial-balance?format=csv")
    assert ours.get_data() == theirs.get_data()
    assert ours.headers["X-Huiquan-Journal-Size"] == "7"
    pdf = auditor_browser.get("/console/audit/statements/disbursements/download.pdf")
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF")


def test_the_journal_exports_are_the_apis_files(
    app: Flask, auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    token = create_token(app.extensions["huiquan"].engine, role="auditor", name="auditor-api")
    api = Caller(app.test_client(), token)
    for fmt in ("csv", "jsonl"):
        ours = auditor_browser.get(f"/console/audit/exports/journal.{fmt}")
        theirs = api.get(f"/api/v1/exports/journal.{fmt}")
        assert ours.status_code == 200
        assert ours.get_data() == theirs.get_data()
        assert ours.headers["Content-Disposition"] == f'attachment; filename="journal.{fmt}"'
    lines = auditor_browser.get("/console/audit/exports/journal.jsonl").get_data().splitlines()
    postings = [json.loads(line) for line in lines[1:]]
    assert len(postings) == sum(1 for p in postings if "account" in p) >= 14
    xlsx = auditor_browser.get("/console/audit/exports/journal.xlsx")
    book = load_workbook(io.BytesIO(xlsx.get_data()), read_only=True)
    sheet = book.worksheets[0]
    assert sum(1 for _ in sheet.iter_rows()) >= 15  # a header and a row per posting


def test_the_bundle_is_a_zip_with_a_manifest_and_signs_nothing(
    app: Flask, auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    response = auditor_browser.get(f"/console/audit/bundle?period={TODAY.year}")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.get_data())) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))
        assert manifest["journal_size"] == 7
        assert "statements/trial-balance-consolidated.csv" in bundle.namelist()
    assert "<table" not in page(auditor_browser, "/console/audit/checkpoints")
    assert auditor_browser.get("/console/audit/bundle?period=20x6").status_code == 400


def test_an_entry_shows_its_postings_receipt_reversal_and_audit_events(
    app: Flask, auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    ids = recorded.ids
    engine = app.extensions["huiquan"].engine
    officer = Caller(app.test_client(), create_token(engine, role="officer", name="officer-2"))
    reversal = officer.created(
        f"/api/v1/entries/{ids['pledge_payment']}/reversal", {"reason": "bounced"}
    )
    html = page(auditor_browser, f"/console/audit/entries/{ids['pledge_payment']}")
    assert "1002-CNY" in html and "1122" in html and "¥200.00" in html
    assert ids["receipt"] in html
    assert f"/console/audit/entries/{reversal['id']}" in html
    assert "/api/v1/donations" in html  # the event that recorded it
    back = page(auditor_browser, f"/console/audit/entries/{reversal['id']}")
    assert f"/console/audit/entries/{ids['pledge_payment']}" in back
    assert "/reversal" in back  # the reversal's own audit event
    page(auditor_browser, "/console/audit/entries/no-such-entry", status=404)


def test_awards_in_an_entry_show_the_pseudonym_only(
    auditor_browser: FlaskClient, recorded: Recorded
) -> None:
    html = page(auditor_browser, f"/console/audit/entries/{recorded.ids['award_entry']}")
    assert recorded.beneficiary in html and "卓玛" not in html


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/console/audit/statements/nope", 404),
        ("/console/audit/statements/activities?from=2026-05-01&to=2026-01-01", 400),
        ("/console/audit/statements/activities?fund=NOPE", 400),
        ("/console/audit/trial-balance?as_of=yesterday", 400),
        ("/console/audit/exports/journal.pdf", 404),
    ],
)
def test_bad_requests_are_refused(auditor_browser: FlaskClient, path: str, status: int) -> None:
    assert auditor_browser.get(path).status_code == status


def test_officers_read_statements_but_export_nothing(app: Flask) -> None:
    officer = browser(app, "officer")
    assert officer.get("/console/audit/trial-balance").status_code == 200
    assert officer.get("/console/audit/statements/activities").status_code == 200
    for path in (
        "/console/audit/exports/journal.csv",
        f"/console/audit/bundle?period={TODAY.year}",
    ):
        assert officer.get(path).status_code == 403
    assert app.test_client().get("/console/audit/").status_code == 302
