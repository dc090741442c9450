"""The office pages in a real browser (Debian's chromium through Playwright), against a live
server: the login post under `Referrer-Policy: no-referrer`, an officer's receipt, evidence,
bank statement and import work, and every office page at 390 px and 1280 px with no
horizontal overflow, no console error and no axe-core violation. Screenshots go to
`artifacts/screenshots/office-*.png`.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from ledger.money import Money
from tests.console.browser import NEEDS_BROWSER, Watched, check_pages, sign_in
from tests.console.conftest import TODAY, Seeded, books_of, csrf_of
from tests.console.conftest import sign_in as sign_client_in
from usecases import gifts, reconciliation, spending
from usecases.unit import SYSTEM, Actor

SAMPLE = Path(__file__).resolve().parents[1] / "evidence" / "data" / "camt053_sample.xml"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

pytestmark = NEEDS_BROWSER


def _records(app: Flask, seeded: Seeded) -> dict[str, str]:
    """A gift with its receipt, a payment, an imported statement with open lines."""
    books = books_of(app)
    gift = gifts.record_donation(
        books,
        by=SYSTEM,
        donor_id=seeded.donor,
        fund=seeded.restricted,
        amount=Money.parse("1000.00", "CNY"),
        received_on=dt.date(2026, 11, 2),
    )
    paid = spending.record_disbursement(
        books,
        by=SYSTEM,
        fund=seeded.restricted,
        project=seeded.project,
        amount=Money.parse("300.00", "CNY"),
        paid_on=dt.date(2026, 11, 20),
        memo="运输",
    )
    imported = reconciliation.import_statement(
        books,
        SAMPLE.read_bytes(),
        fund=seeded.restricted,
        account="1002-CNY",
        by=Actor("王经办", ("officer",)),
    )
    return {
        "gift": gift.entry.id,
        "serial": gift.receipt.serial,
        "payment": paid.id,
        "statement": imported.statement_id,
    }


def test_the_login_post_under_no_referrer_is_accepted_by_the_origin_check(
    app: Flask, live_url: str, watched: Watched, users: dict[str, str]
) -> None:
    """Chromium sends `Origin: null` with a form post from a no-referrer page; `check_post`
    then trusts `Sec-Fetch-Site: same-origin` (and the CSRF token), so signing in works."""
    page = watched.page
    seen: dict[str, str] = {}

    def remember(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/console/login"):
            seen.update(request.all_headers())

    page.on("request", remember)
    page.goto(f"{live_url}/console/login")
    assert page.evaluate("document.referrer") == ""
    sign_in(page, live_url, users["officer"])
    assert "referer" not in seen
    assert seen.get("origin") in ("null", live_url)
    assert seen.get("sec-fetch-site") == "same-origin"
    assert watched.errors == []


def test_an_officer_voids_a_receipt_attaches_evidence_reconciles_and_imports_in_the_browser(
    app: Flask, live_url: str, watched: Watched, users: dict[str, str], seeded: Seeded
) -> None:
    ids = _records(app, seeded)
    page = watched.page
    sign_in(page, live_url, users["officer"])
    page.goto(f"{live_url}/lang/en?next=/console/office")
    page.get_by_role("link", name="Receipts").first.click()
    page.get_by_label("Serial").fill(ids["serial"])
    page.get_by_role("button", name="Find").click()
    page.get_by_role("button", name="Show the donor's link").click()
    link = page.locator("#link-url").input_value()
    assert "/r/" in link
    assert page.locator("button[data-copy]").is_visible()  # the script ran under the CSP
    page.get_by_label("Why the receipt is wrong").fill("金额写错")
    page.get_by_role("button", name="Void this receipt").click()
    assert "Its replacement is" in page.locator("[role=status]").first.inner_text()

    page.goto(f"{live_url}/console/entries/{ids['payment']}/evidence")
    page.get_by_label("Kind of document").select_option("invoice")
    page.set_input_files(
        "#f-file", files=[{"name": "运费发票.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Attach").click()
    assert page.get_by_role("link", name="运费发票.pdf").is_visible()

    page.goto(f"{live_url}/console/bank-statements/{ids['statement']}")
    payment_line = page.locator(".panel[id^=line-]", has_text="300.00")
    payment_line.locator("input[name=entry_id]").fill(ids["payment"])
    payment_line.get_by_role("button", name="Match to this entry").click()
    assert "Line 2 is matched." in page.content()
    fee = page.locator("form[action$='/fee']")
    assert fee.count() == 1  # the fee line only: the payment is matched
    fee.get_by_role("button").click()
    assert "Every bank line is matched." in page.content()

    page.goto(f"{live_url}/console/imports")
    rows = "op,date,donor_id,fund,amount\n" + "".join(
        f"donation,{TODAY},{seeded.donor},{seeded.general},{n}.00\n" for n in range(1, 41)
    )
    page.set_input_files(
        "#f-file", files=[{"name": "gifts.csv", "mimeType": "text/csv", "buffer": rows.encode()}]
    )
    page.get_by_role("button", name="Import", exact=True).click()
    page.wait_for_selector("text=Posted 40 entries from 40 rows.", timeout=20000)
    assert watched.errors == []


def _job(client: FlaskClient, seeded: Seeded) -> str:
    page = client.get("/console/imports")
    started = client.post(
        "/console/imports",
        data={
            "csrf_token": csrf_of(page),
            "file": (
                io.BytesIO(f"op,date,fund,amount\nfee,{TODAY},{seeded.general},x\n".encode()),
                "fees.csv",
            ),
        },
    )
    assert started.status_code == 303
    return started.location.split("localhost", 1)[-1]


def _pages(ids: dict[str, str], seeded: Seeded, job: str, admin_id: str) -> list[tuple[str, str]]:
    return [
        ("office", "/console/office"),
        ("find-receipt", "/console/receipts"),
        ("receipt", f"/console/receipts/{ids['serial']}"),
        ("evidence", f"/console/entries/{ids['payment']}/evidence"),
        ("bank-statements", "/console/bank-statements"),
        ("reconciliation", f"/console/bank-statements/{ids['statement']}"),
        ("import", "/console/imports"),
        ("import-job", job),
        ("users", "/console/admin/users"),
        ("password", f"/console/admin/users/{admin_id}/password"),
        ("issuers", "/console/issuers"),
        ("policies", "/console/admin/policies"),
        ("policy", f"/console/admin/policies/{seeded.restricted}"),
    ]


def test_every_office_page_fits_both_widths_has_no_console_error_and_no_axe_violation(
    app: Flask,
    browser: Any,
    live_url: str,
    users: dict[str, str],
    seeded: Seeded,
) -> None:
    from usecases import users as user_cases

    ids = _records(app, seeded)
    client = app.test_client()
    sign_client_in(client, users["admin"])
    job = _job(client, seeded)
    admin = user_cases.user_by_login(books_of(app), users["admin"])
    problems = check_pages(
        browser, live_url, _pages(ids, seeded, job, admin.id), login=users["admin"], prefix="office"
    )
    assert problems == [], "\n".join(problems)
