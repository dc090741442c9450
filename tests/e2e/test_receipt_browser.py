"""A donor's receipt in a real browser: open the link, switch language, download, verify.

Debian's chromium driven by Playwright against the app served on a loopback port. Screenshots
go to `artifacts/e2e/`. Any Content-Security-Policy complaint in the console fails the test.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask

from api import create_app, receipt_routes
from tests.console.browser import NEEDS_BROWSER, launched
from tests.receipts import conftest as receipt_fixtures
from tests.receipts.conftest import Books, Caller

app_config = receipt_fixtures.app_config
client = receipt_fixtures.client
tokens = receipt_fixtures.tokens
admin = receipt_fixtures.admin
officer = receipt_fixtures.officer
books = receipt_fixtures.books
live_url = receipt_fixtures.live_url

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"

pytestmark = NEEDS_BROWSER


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    """The app with receipt links on whatever host serves it (no PUBLIC_BASE_URL)."""
    app = create_app(app_config)
    receipt_routes.init_app(app)
    yield app
    app.extensions["huiquan"].engine.dispose()


@pytest.fixture
def browser_page() -> Iterator[Any]:
    with launched() as browser:
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1100, "height": 1400}, locale="zh-CN"
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def test_a_donor_opens_switches_downloads_and_verifies_the_receipt(
    officer: Caller, books: Books, live_url: str, browser_page: Any, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    donor = officer.created("/api/v1/donors", {"name": "王秀英", "language": "zh-Hans"})["id"]
    gift = officer.created(
        "/api/v1/donations",
        {
            "donor_id": donor,
            "fund": books.restricted,
            "amount": "12000.00",
            "currency": "CNY",
            "received_on": "2026-03-05",
        },
    )
    serial = gift["receipt"]["serial"]
    link = live_url + urlsplit(gift["receipt"]["url"]).path
    page = browser_page
    complaints: list[str] = []
    page.on("console", lambda m: complaints.append(m.text) if "Security Policy" in m.text else None)

    page.goto(link)
    assert page.locator(".serial").inner_text() == serial
    assert "王秀英" in page.locator("table.facts").inner_text()
    assert "壹万贰仟元整" in page.locator(".capitals-text").inner_text()
    page.screenshot(path=str(ARTIFACTS / "receipt-zh-Hans.png"), full_page=True)

    page.click("a[hreflang=en]")
    page.wait_for_url("**?lang=en")
    assert page.locator("h1").inner_text() == "Donation Receipt"
    page.screenshot(path=str(ARTIFACTS / "receipt-en.png"), full_page=True)

    # Chromium shows a PDF link in its viewer (Content-Disposition: inline), so fetch the link
    # the page offers through the browser context, as "save link as" would.
    href = page.get_attribute("a.download[type='application/pdf']", "href")
    response = page.context.request.get(urljoin(page.url, href))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["referrer-policy"] == "no-referrer" and response.headers["etag"]
    pdf = tmp_path / "receipt.pdf"
    pdf.write_bytes(response.body())
    assert pdf.read_bytes().startswith(b"%PDF-")
    shutil.copyfile(pdf, ARTIFACTS / "receipt-downloaded.pdf")
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-r",
                "80",
                "-png",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(pdf),
                str(ARTIFACTS / "receipt-downloaded"),
            ],
            check=True,
        )

    page.goto(f"{live_url}/verify")
    page.screenshot(path=str(ARTIFACTS / "verify-form.png"), full_page=True)
    page.set_input_files("#file", str(pdf))
    page.click("button[type=submit]")
    page.wait_for_selector(".panel")
    panel = page.locator(".panel").inner_text()
    assert "真实有效" in panel and serial in panel and "12,000.00 CNY" in panel
    page.screenshot(path=str(ARTIFACTS / "verify-genuine.png"), full_page=True)

    # The proof is a compressed associated file of the PDF/A: forge it as a forger would, by
    # taking it out, changing the amount and embedding it again.
    from receipts.proof import attach_to_pdf, extract_from_pdf
    from tests.receipts.test_receipt_verify import _without_attachments

    claims = extract_from_pdf(pdf.read_bytes()).replace(b"12000.00", b"92000.00")
    forged = attach_to_pdf(_without_attachments(pdf.read_bytes()), claims)
    (tmp_path / "forged.pdf").write_bytes(forged)
    page.set_input_files("#file", str(tmp_path / "forged.pdf"))
    page.click("button[type=submit]")
    page.wait_for_selector(".panel")
    assert "未通过核验" in page.locator(".panel").inner_text()
    page.screenshot(path=str(ARTIFACTS / "verify-forged.png"), full_page=True)
    assert complaints == []
