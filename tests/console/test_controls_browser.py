"""The administrator's controls in a real browser (Debian's chromium through Playwright): a
fund's purposes, a project's budget and the webhook subscriptions, worked through their forms
in Chinese, then every such page (and the receipt and donor pages with their fiscal-reference
and annual-receipt forms) at 390 px and 1280 px with no horizontal overflow, no console error
and no axe-core violation. Screenshots go to `artifacts/screenshots/controls-*.png`.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.console.browser import NEEDS_BROWSER, Watched, check_pages, shot, sign_in
from tests.console.conftest import Seeded, books_of, donate
from usecases import controls, delivery

pytestmark = NEEDS_BROWSER


def test_an_admin_sets_purposes_raises_a_budget_and_subscribes_a_webhook_in_the_browser(
    app: Flask, live_url: str, watched: Watched, users: dict[str, str], seeded: Seeded
) -> None:
    page = watched.page
    sign_in(page, live_url, users["admin"])
    page.goto(f"{live_url}/console/funds/{seeded.restricted}")
    page.get_by_role("link", name="修改用途").click()
    page.get_by_label("向本基金的项目拨款（及向项目转交物资）").check()
    page.get_by_label("仅限这些县的项目").fill("炉霍县")
    page.get_by_label("助学金").uncheck()
    page.get_by_label("转交收到的实物捐赠").uncheck()
    page.get_by_role("button", name="保存用途").click()
    assert "基金用途已保存" in page.locator("[role=status]").first.inner_text()
    assert "炉霍县的项目" in page.content()
    stated = controls.fund_purposes(books_of(app), seeded.restricted)
    assert stated.counties == ("炉霍县",) and not stated.scholarships

    page.get_by_role("link", name="修改预算").first.click()
    page.get_by_label("新预算（人民币）").fill("0.001")
    page.get_by_label("原因（理事会决议等）").fill("理事会同意\n追加第二期")
    page.get_by_role("button", name="保存预算").click()
    assert page.locator("#e-budget").is_visible()  # refused beside the field, input kept
    shot(page, "controls-budget-refused-1280")
    assert page.get_by_label("原因（理事会决议等）").input_value() == "理事会同意\n追加第二期"
    page.get_by_label("新预算（人民币）").fill("80000.00")
    page.get_by_role("button", name="保存预算").click()
    assert f"{seeded.project} 的预算已保存" in page.locator("[role=status]").first.inner_text()
    assert "¥80,000.00" in page.content()

    page.goto(f"{live_url}/console/admin/webhooks")
    page.get_by_label("网址（URL）").fill("https://wechat.example.org/huiquan")
    page.get_by_label("善款已使用").check()
    page.get_by_label("描述").fill("微信公众号")
    page.get_by_role("button", name="订阅", exact=True).click()
    secret = page.locator("#secret").input_value()
    assert secret.startswith("whsec_")
    assert page.locator("button[data-copy]").is_visible()  # the copy script ran under the CSP
    shot(page, "controls-webhook-secret-1280")
    [sub] = delivery.list_subscriptions(books_of(app))
    assert sub.url == "https://wechat.example.org/huiquan" and sub.events == ("gift.spent",)
    # The refused budget answered 422 (as it should), which Chromium logs; nothing else is.
    assert [e for e in watched.errors if "status of 422" not in e] == []


def test_every_controls_page_fits_both_widths_has_no_console_error_and_no_axe_violation(
    app: Flask,
    browser: Any,
    live_url: str,
    users: dict[str, str],
    seeded: Seeded,
) -> None:
    from usecases.unit import SYSTEM

    delivery.create_subscription(
        books_of(app),
        by=SYSTEM,
        url="https://sms.example.org/huiquan/inbound",
        events=["receipt.issued", "need.answered"],
        description="短信网关",
    )
    gift = donate(app, seeded, "500.00")
    pages = [
        ("receipt", f"/console/receipts/{gift.receipt.serial}"),
        ("donor", f"/console/donors/{seeded.donor}"),
        ("purposes", "/console/admin/purposes"),
        ("fund-purposes", f"/console/admin/purposes/{seeded.restricted}"),
        ("project-budget", f"/console/admin/budgets/{seeded.project}"),
        ("webhooks", "/console/admin/webhooks"),
        ("fund", f"/console/funds/{seeded.restricted}"),
        ("administration", "/console/admin/"),
    ]
    problems = check_pages(browser, live_url, pages, login=users["admin"], prefix="controls")
    assert problems == [], "\n".join(problems)
