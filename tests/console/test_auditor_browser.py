"""An auditor in a real browser: downloads the journal as XLSX, opens a statement
line's entries and one entry's postings.

Debian's chromium driven by Playwright against the web app served on a loopback port
(`tests.console.browser`'s `browser` and `live_url`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook

from tests.console.browser import NEEDS_BROWSER
from tests.console.test_lists_support import Recorded, record_books
from tests.console.test_lists_support import browser as signed_in

pytestmark = NEEDS_BROWSER


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    try:
        yield context.new_page()
    finally:
        context.close()


def test_an_auditor_downloads_the_xlsx_and_opens_a_statement_lines_entries(
    app: Flask, live_url: str, browser_page: Any, tmp_path: Path
) -> None:
    recorded: Recorded = record_books(app)
    page = browser_page
    # Signed in as the login form leaves a session (the form itself is the console's tests'):
    # the session's cookie, handed to the browser.
    cookie_name = app.config["SESSION_COOKIE_NAME"]
    session = signed_in(app, "auditor").get_cookie(cookie_name)
    assert session is not None
    page.context.add_cookies([{"name": cookie_name, "value": session.value, "url": live_url}])
    page.goto(f"{live_url}/lang/en?next=/console/audit/")  # English: the links' names below
    assert page.locator("h1").inner_text() in ("Audit", "审计")

    with page.expect_download() as waiting:
        page.click("a[href='/console/audit/exports/journal.xlsx']")
    download = waiting.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert saved.name == "journal.xlsx"
    book = load_workbook(saved, read_only=True)
    try:
        assert sum(1 for _ in book.worksheets[0].iter_rows()) >= 15
    finally:
        book.close()  # read-only mode holds the file open

    page.click("a[href='/console/audit/statements/trial-balance']")
    page.locator("tr", has_text="2209").get_by_role("link", name="entries").click()
    page.wait_for_url("**/console/lists/journal?*account=2209*")
    links = page.locator("a[href^='/console/audit/entries/']")
    shown = {links.nth(i).get_attribute("href") for i in range(links.count())}
    wanted = {recorded.ids["award_entry"], recorded.ids["payout"]}
    assert {f"/console/audit/entries/{i}" for i in wanted} <= shown

    page.click(f"a[href='/console/audit/entries/{recorded.ids['payout']}']")
    assert page.locator("h2#postings").is_visible()
    assert "2209" in page.locator("table").first.inner_text()
    assert recorded.beneficiary in page.content() and "卓玛" not in page.content()
