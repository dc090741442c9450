"""A need's journey in a real browser (Debian's chromium through Playwright), against a live
server: a resident posts it through the public form, a moderator publishes it, an officer
records a donor's offer and its payment through the console, the books show it fulfilled, the
moderator reports with a photo, and the public page shows the report. The public pages fit
390 px without horizontal overflow, log no console error (a CSP complaint is one) and pass
axe-core; the contact appears on no public page.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.console.browser import NEEDS_BROWSER, check_page, sign_in, watching
from tests.console.conftest import PASSWORD, Seeded
from usecases import community, places
from usecases.unit import SYSTEM
from usecases.users import create_user

pytestmark = NEEDS_BROWSER

CANARY = "canary-browser-13700000000"


@pytest.fixture(autouse=True)
def jinjiang(app: Flask) -> None:
    """The county the needs and services are at, and a town under it."""
    books = app.extensions["huiquan"].books
    places.add_place(books, code="510104", kind="county", name="锦江区", by=SYSTEM)
    places.add_place(
        books, code="510104017", kind="town", name="沙河街道", parent="510104", by=SYSTEM
    )


def _png(path: Path) -> Path:
    """A small real PNG (8×8, one colour), so the report carries a photo."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x0f\x5c\x52" * 8 for _ in range(8))
    header = struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path


def test_a_need_goes_from_a_residents_post_to_reported_through_the_console(
    app: Flask,
    browser: Any,
    live_url: str,
    users: dict[str, str],
    seeded: Seeded,
    tmp_path: Path,
) -> None:
    books = app.extensions["huiquan"].books
    create_user(
        books,
        login="chen.moderator",
        display_name="陈审核",
        roles=("officer", "moderator"),
        password=PASSWORD,
        by=SYSTEM,
    )
    with watching(browser, 390, 844) as resident, watching(browser, 1280) as staff:
        # 1. A resident posts the need on a phone.
        page = resident.page
        page.goto(f"{live_url}/")
        page.get_by_role("link", name="查看需求平台").click()
        page.get_by_role("link", name="提出需求").first.click()
        page.get_by_label("需求（一句话）").fill("长者食堂需要四张餐桌")
        page.get_by_label("需求说明").fill("每天六十位老人在活动室吃午饭，桌子不够。")
        page.get_by_label("类别").select_option("elder_care")
        page.get_by_label("地点").select_option("510104017")
        page.get_by_label("需要什么").select_option("money")
        page.get_by_label("资金：目标金额（人民币）").fill("1200.00")
        page.get_by_label("联系方式（不公开）").fill(f"张阿姨 {CANARY}")
        page.get_by_role("button", name="提交需求").click()
        assert page.get_by_role("status").inner_text() == "谢谢：您的需求已收到。"
        (need,) = community.list_needs(books, public=False)
        assert need.status == "pending"

        # 2. The moderator publishes it from the queue.
        desk = staff.page
        sign_in(desk, live_url, "chen.moderator")
        desk.goto(f"{live_url}/console/community/")
        desk.locator("#queue + .scroll").get_by_role("link", name="长者食堂需要四张餐桌").click()
        assert CANARY in desk.content()  # the moderator sees the contact
        desk.get_by_label("基金").select_option(seeded.restricted)
        desk.get_by_label("项目").select_option(seeded.project)
        desk.get_by_role("button", name="发布", exact=True).click()
        assert desk.locator("#need-status").inner_text() == "待答卷"

        # 3. A donor's offer, then their payment (receipted), through the console.
        desk.get_by_label("捐赠人").fill(seeded.donor)
        desk.get_by_label("资金：金额（人民币）").fill("1200.00")
        desk.get_by_role("button", name="登记答卷").click()
        assert desk.locator("#need-status").inner_text() == "已答卷"
        desk.get_by_role("link", name="登记付款").click()
        assert desk.get_by_label("金额").input_value() == "1200.0"
        desk.get_by_role("button", name="登记", exact=True).click()
        assert desk.get_by_role("status").inner_text() == "已登记。"
        assert "HQ-" in desk.content()  # the payment's receipt serial
        desk.goto(f"{live_url}/console/community/needs/{need.id}")
        assert desk.locator("#need-status").inner_text() == "已完成"

        # 4. The report, with a photo.
        desk.locator("#f-report").fill("四张餐桌已到，老人们坐得下了。")
        desk.get_by_label("照片（JPEG 或 PNG，最多四张）").set_input_files(
            str(_png(tmp_path / "tables.png"))
        )
        desk.get_by_role("button", name="发布反馈").click()
        assert desk.locator("#need-status").inner_text() == "已反馈"

        # 5. The public page shows it; nothing on it names the resident.
        problems: list[str] = []
        for name, path in (
            ("console-community", "/console/community/"),
            ("console-need", f"/console/community/needs/{need.id}"),
            ("console-services", "/console/community/services"),
            ("console-recurring", "/console/community/recurring"),
        ):
            problems += check_page(desk, f"{live_url}{path}", f"community-{name}", 1280)
        for name, path in (
            ("needs-board", "/needs"),
            ("need-page", f"/needs/{need.id}"),
            ("need-form", "/needs/new"),
            ("services", "/services"),
        ):
            problems += check_page(page, f"{live_url}{path}", f"community-{name}", 390)
            assert CANARY not in page.content(), name
        page.goto(f"{live_url}/needs")  # the county's filter takes in its towns
        page.get_by_label("地点").select_option("510104")
        page.get_by_label("状态").select_option("reported")
        page.get_by_role("button", name="筛选").click()
        assert page.get_by_role("link", name="长者食堂需要四张餐桌").count() == 1
        assert "锦江区 › 沙河街道" in page.content()
        page.goto(f"{live_url}/needs/{need.id}")
        assert "已反馈" in page.content() and "老人们坐得下了" in page.content()
        assert page.locator("img.photo").evaluate("img => img.naturalWidth") == 8
        problems += [f"resident: {e}" for e in resident.errors]
        problems += [f"staff: {e}" for e in staff.errors]
        assert problems == [], "\n".join(problems)
