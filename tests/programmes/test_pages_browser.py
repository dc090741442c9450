"""The public pages in headless Chromium at 390 px: /c/{slug}, /v/{code}, /transparency.

Nothing is wider than the screen (no horizontal scroll), every chart label lies inside its
chart, nothing is loaded from elsewhere and the CSP blocks nothing the page needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from tests.api.conftest import TODAY, Books, Caller, disbursement, donation
from tests.console.browser import launched, serve

ARTIFACTS = Path(__file__).parents[2] / "artifacts"
LONG = "宗麦乡三果村牦牛养殖合作社暖棚与饲草储备设施建设（第二期，含技术培训与市场对接）"


def _content(admin: Caller, officer: Caller, books: Books) -> None:
    for code, place in (("SG-YAK", "513327212001"), ("JN-CLINIC", "513327100201")):
        body = {"code": code, "name": LONG if code == "SG-YAK" else "交纳村卫生室", "place": place}
        admin.created("/api/v1/projects", {**body, "fund": books.restricted})
    officer.created(
        "/api/v1/campaigns",
        {
            "slug": "sanguo-yak",
            "fund": books.restricted,
            "project": "SG-YAK",
            "place": "513327212001",
            "title_zh": LONG,
            "title_en": "Yak shelters for Sanguo village, Zongmai township, Luhuo County (phase 2)",
            "story_zh": "冬季漫长，" * 40,
            "goal": {"amount": "1250000.00", "currency": "CNY"},
            "starts_on": TODAY.isoformat(),
            "ends_on": TODAY.isoformat(),
            "status": "open",
        },
    )
    for n in range(12):
        donor = officer.created(
            "/api/v1/donors", {"name": f"成都市锦江区爱心企业第{n}号有限责任公司"}
        )
        gift = donation(books, "123456.78", campaign="sanguo-yak")
        officer.created("/api/v1/donations", {**gift, "donor_id": donor["id"]})
    officer.created("/api/v1/disbursements", disbursement(books, "9500.00", project="SG-YAK"))
    officer.created("/api/v1/disbursements", disbursement(books, "8999.99", project="JN-CLINIC"))
    officer.created(
        "/api/v1/chiefs",
        {
            "village": "513327212001",
            "donor_id": books.donor,
            "starts_on": TODAY.isoformat(),
            "ends_on": TODAY.isoformat(),
            "citation_zh": "为三果村牧民合作社筹建暖棚，" * 6,
        },
    )


def test_the_public_pages_fit_390_px_without_scrolling_sideways(
    placed: list[dict[str, Any]], admin: Caller, officer: Caller, books: Books, app: Flask
) -> None:
    _content(admin, officer, books)
    server, base = serve(app)
    blocked: list[str] = []
    try:
        with launched() as browser:
            page = browser.new_page(
                java_script_enabled=False, viewport={"width": 390, "height": 844}
            )
            page.on(
                "console",
                lambda m: blocked.append(m.text) if "Content Security" in m.text else None,
            )
            page.on("request", lambda r: None if r.url.startswith(base) else blocked.append(r.url))
            ARTIFACTS.mkdir(exist_ok=True)
            for path, name in (
                ("/c/sanguo-yak", "campaign"),
                ("/v/513327212001", "village"),
                ("/v/513327", "county"),
                ("/transparency", "transparency"),
                ("/c/", "campaigns"),
            ):
                response = page.goto(base + path)
                assert response is not None and response.status == 200, path
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, (path, width)
                wide = page.evaluate(
                    "[...document.querySelectorAll('body *')]"
                    ".filter(e => e.getBoundingClientRect().right > 391).map(e => e.tagName)"
                )
                assert wide == [], (path, wide)
                clipped = page.evaluate(
                    """[...document.querySelectorAll('svg')].flatMap(svg => {
                        const box = svg.getBoundingClientRect();
                        return [...svg.querySelectorAll('text')].filter(t => {
                            const r = t.getBoundingClientRect();
                            return r.left < box.left - 0.5 || r.right > box.right + 0.5;
                        }).map(t => t.textContent);
                    })"""
                )
                assert clipped == [], (path, clipped)
                page.screenshot(path=str(ARTIFACTS / f"{name}-390.png"), full_page=True)
            page.goto(base + "/c/sanguo-yak")
            assert page.locator("progress").count() == 1
            assert "¥1,481,481.36" in page.locator("#progress").inner_text()
            page.goto(base + "/transparency")
            assert page.locator("#places a[href='/v/513327212001']").count() == 1
    finally:
        server.shutdown()
    assert blocked == []
