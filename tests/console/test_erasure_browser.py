"""Erasure in a real browser (Debian's chromium through Playwright), against a live server: a
moderator opens a need's file, follows 删除…, is refused without a reason and a tick (errors
beside the fields), confirms, and the file says the contact was erased; an officer does the same
for a donor's addresses from the donor's page. The pages fit 390 px, log no console error beyond
the refused form's 422 and pass axe-core; screenshots go to `artifacts/screenshots/`."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.console.browser import NEEDS_BROWSER, SHOTS, Watched, axe, overflow, sign_in
from tests.console.conftest import PASSWORD, Seeded
from usecases import community, delivery, places
from usecases.unit import SYSTEM
from usecases.users import create_user

pytestmark = NEEDS_BROWSER

CANARY = "canary-browser-erase-13700001111"
ADDRESS = "canary.browser.erase@example.org"


def test_a_contact_and_a_donors_addresses_are_erased_through_the_confirm_page(
    app: Flask, browser: Any, live_url: str, users: dict[str, str], seeded: Seeded
) -> None:
    books = app.extensions["huiquan"].books
    places.add_place(books, code="510104", kind="county", name="锦江区", by=SYSTEM)
    create_user(
        books,
        login="chen.moderator",
        display_name="陈审核",
        roles=("officer", "moderator"),
        password=PASSWORD,
        by=SYSTEM,
    )
    need = community.post_need(
        books,
        title="长者食堂需要四张餐桌",
        description="每天六十位老人吃午饭。",
        category="elder_care",
        place="510104",
        kind="hours",
        hours=8,
        contact=f"张阿姨 {CANARY}",
        client="c",
    )
    delivery.record_donor_email(books, seeded.donor, ADDRESS, by=SYSTEM)
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for width in (1280, 390):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
        watched = Watched(context)
        page = watched.page
        try:
            sign_in(page, live_url, "chen.moderator")
            page.goto(f"{live_url}/console/community/needs/{need.id}")
            if width == 390:  # erased at 1280 already: the file says so
                assert "陈审核 删除：本人要求删除。" in page.locator("#need-contact").inner_text()
                page.screenshot(path=str(SHOTS / "erase-need-file-390.png"), full_page=True)
                problems += [f"390 file: {v}" for v in axe(page)]
                if overflow(page) > 0:
                    problems.append(f"390 file: {overflow(page)}px of horizontal overflow")
                continue
            assert CANARY in page.locator("#need-contact").inner_text()
            page.get_by_role("link", name="删除…").click()
            assert page.get_by_role("heading", level=1).inner_text() == "删除需求的联系方式"
            assert CANARY in page.content()
            page.get_by_role("button", name="永久删除").click()  # no reason, no tick
            assert page.locator("#e-reason").inner_text().strip() == "此栏为必填项。"
            assert page.locator("#e-confirm").inner_text().strip() == "请勾选此项以确认删除。"
            page.screenshot(path=str(SHOTS / "erase-confirm-errors-1280.png"), full_page=True)
            problems += [f"form with errors: {v}" for v in axe(page)]
            assert community.contact_of(books, need.id) is not None
            page.get_by_label("删除原因").select_option("requested")
            page.get_by_label("我了解这是永久删除：无法撤销，也无法恢复。").check()
            page.get_by_role("button", name="永久删除").click()
            assert page.get_by_role("status").first.inner_text() == "已删除。"
            assert CANARY not in page.content()
            assert "陈审核 删除：本人要求删除。" in page.locator("#need-contact").inner_text()
            page.screenshot(path=str(SHOTS / "erase-need-file-1280.png"), full_page=True)
            assert community.contact_of(books, need.id) is None
            # The donor's addresses, from the donor's page.
            page.goto(f"{live_url}/console/donors/{seeded.donor}")
            assert page.locator("#donor-email").inner_text() == ADDRESS
            page.get_by_role("link", name="删除电子邮箱地址…").click()
            page.screenshot(path=str(SHOTS / "erase-donor-confirm-1280.png"), full_page=True)
            problems += [f"donor confirm: {v}" for v in axe(page)]
            page.get_by_label("删除原因").select_option("consent_withdrawn")
            page.get_by_label("我了解这是永久删除：无法撤销，也无法恢复。").check()
            page.get_by_role("button", name="永久删除").click()
            assert "陈审核 删除：本人撤回同意。" in page.locator("#donor-email").inner_text()
            assert ADDRESS not in page.content()
            page.screenshot(path=str(SHOTS / "erase-donor-page-1280.png"), full_page=True)
            assert delivery.donor_email(books, seeded.donor) == ""
            errors = [e for e in watched.errors if "status of 422" not in e]
            assert errors == [], errors
        finally:
            context.close()
    assert problems == []
