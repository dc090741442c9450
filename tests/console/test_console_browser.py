"""The console in a real browser (Debian's chromium through Playwright), against a live server.

An officer signs in, records a gift and opens its receipt; a form with errors keeps its input;
CSRF-less and cross-site posts are refused; a signed-out session cannot be reused; every page at
390 px and 1280 px has no horizontal overflow, no console error (a CSP complaint is one) and no
axe-core violation. Screenshots of every page at both widths go to `artifacts/screenshots/`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from tests.console.browser import (
    NEEDS_BROWSER,
    WIDTHS,
    Watched,
    check_page,
    serve,
    shot,
    sign_in,
    watching,
)
from tests.console.conftest import TODAY, Seeded

pytestmark = NEEDS_BROWSER


def test_an_officer_records_a_gift_and_opens_its_receipt_and_errors_keep_the_input(
    watched: Watched, live_url: str, users: dict[str, str], seeded: Seeded
) -> None:
    page = watched.page
    sign_in(page, live_url, users["officer"])
    assert page.url.endswith("/console/")
    page.goto(f"{live_url}/console/gifts/new?donor_id={seeded.donor}")
    page.get_by_label("基金").select_option(seeded.restricted)
    page.get_by_label("金额").fill("12.345")
    page.get_by_label("备注").fill("第一笔")
    page.get_by_role("button", name="登记", exact=True).click()
    assert page.locator("#e-amount").inner_text().startswith("该币种没有这么多位小数")
    assert page.get_by_label("金额").input_value() == "12.345"
    assert page.get_by_label("备注").input_value() == "第一笔"
    assert page.get_by_label("基金").input_value() == seeded.restricted
    page.get_by_label("金额").fill("12000.00")
    page.get_by_role("button", name="登记", exact=True).click()
    assert page.get_by_role("status").inner_text() == "已登记。"
    serial = re.search(r"HQ-\d{4}-\d{6}", page.content())
    assert serial
    page.locator("a.break").click()
    page.wait_for_load_state()
    assert "/r/" in page.url and serial.group(0) in page.content()
    # The refused form answered 422 (as it should), which Chromium logs; nothing else is logged.
    assert [e for e in watched.errors if "status of 422" not in e] == []


def test_csrf_less_and_cross_site_posts_are_refused_and_a_signed_out_session_is_dead(
    browser: Any, watched: Watched, live_url: str, users: dict[str, str], seeded: Seeded
) -> None:
    page = watched.page
    sign_in(page, live_url, users["officer"])
    no_token = page.request.post(
        f"{live_url}/console/fees/new",
        form={"fund": seeded.general, "amount": "1.00", "currency": "CNY", "paid_on": str(TODAY)},
    )
    assert no_token.status == 400

    def evil(environ: Any, start_response: Any) -> list[bytes]:
        form = (
            f'<form method="post" action="{live_url}/console/fees/new">'
            f'<input name="fund" value="{seeded.general}"><input name="amount" value="1.00">'
            '<button type="submit">go</button></form>'
        )
        start_response("200 OK", [("Content-Type", "text/html")])
        return [form.encode()]

    server, evil_url = serve(evil)
    try:
        page.goto(evil_url)
        page.get_by_role("button", name="go").click()
        page.wait_for_load_state()
        assert "您无权进行此操作" in page.content()
    finally:
        server.shutdown()

    cookies = watched.context.cookies()
    page.goto(f"{live_url}/console/")
    page.get_by_role("button", name="退出登录").click()
    assert "您已退出登录" in page.content()
    other = browser.new_context()
    try:
        other.add_cookies(cookies)
        replay = other.new_page()
        replay.goto(f"{live_url}/console/")
        assert replay.url.startswith(f"{live_url}/console/login")
    finally:
        other.close()


def _pages(seeded: Seeded) -> list[tuple[str, str, bool]]:
    """(name, path, signed in) of every page worth a screenshot."""
    from console.officers import FORMS

    pages = [("landing", "/", False), ("login", "/console/login", False)]
    pages += [
        ("funds", "/console/", True),
        ("fund", f"/console/funds/{seeded.restricted}", True),
        ("record", "/console/record", True),
        ("donors", "/console/donors", True),
        ("donor", f"/console/donors/{seeded.donor}", True),
        ("approvals", "/console/approvals", True),
    ]
    pages += [(spec.name, spec.path, True) for spec in FORMS]
    pages[-len(FORMS) :] = [
        (n, f"{p}?fund={seeded.restricted}" if n == "disbursement" else p, s)
        for n, p, s in pages[-len(FORMS) :]
    ]
    return pages


def _try_it(page: Any, base: str, token: str) -> None:
    """On the API page: authorize with a token, try GET /api/v1/funds, get its 200."""
    page.goto(f"{base}/api/docs")
    page.wait_for_selector(".opblock", timeout=15000)
    page.locator("button.authorize").first.click()
    page.locator(".auth-container input").first.fill(token)
    page.locator(".auth-btn-wrapper button.authorize").click()
    page.locator("button.btn-done").click()
    operation = page.locator(".opblock-get:has([data-path='/api/v1/funds'])").first
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=15000)
    assert status.inner_text().strip().startswith("200")
    assert "锦炉爱心助学基金" in operation.locator(".live-responses-table").inner_text()


def _activity(app: Flask, seeded: Seeded) -> None:
    """Some gifts, a pledge and a payment, so the pages show real figures."""
    from ledger.money import Money
    from usecases import gifts, pledges, spending
    from usecases.unit import SYSTEM

    books = app.extensions["huiquan"].books
    cny = lambda text: Money.parse(text, "CNY")  # noqa: E731
    gift = {"donor_id": seeded.donor, "fund": seeded.restricted, "received_on": TODAY}
    gifts.record_donation(books, by=SYSTEM, amount=cny("120000.00"), **gift)
    gifts.record_donation(
        books,
        by=SYSTEM,
        amount=Money.parse("5000.00", "HKD"),
        fx_rate="0.9215",
        fx_source="PBOC",
        **gift,
    )
    pledges.record_pledge(
        books, by=SYSTEM, donor_id=seeded.donor, fund=seeded.restricted, amount=cny("30000.00")
    )
    spending.record_disbursement(
        books,
        by=SYSTEM,
        fund=seeded.restricted,
        project=seeded.project,
        amount=cny("18500.00"),
        paid_on=TODAY,
        memo="秋季学费",
    )


def test_every_page_fits_both_widths_has_no_console_error_and_no_axe_violation(
    app: Flask, browser: Any, live_url: str, users: dict[str, str], seeded: Seeded
) -> None:
    _activity(app, seeded)
    problems: list[str] = []
    from usecases.tokens import create_token

    token = create_token(app.extensions["huiquan"].engine, role="auditor", name="swagger")
    for width in WIDTHS:
        with watching(browser, width) as watched:
            page = watched.page
            signed_in = False
            for name, path, needs_user in _pages(seeded):
                if needs_user and not signed_in:
                    sign_in(page, live_url, users["admin"])
                    signed_in = True
                problems += check_page(page, f"{live_url}{path}", name, width)
            _try_it(page, live_url, token)
            shot(page, f"api-docs-{width}", full_page=False)
            problems += [f"@{width}: console: {e}" for e in watched.errors]
    assert problems == [], "\n".join(problems)
