"""The administrator's reference data and tokens in a real browser (Debian's chromium through
Playwright): a place, a fund, a project at the place, an account and a token, worked through
their forms in Chinese, then every such page at 390 px and 1280 px with no horizontal overflow,
no console error and no axe-core violation. Screenshots go to
`artifacts/screenshots/admin-*.png`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from tests.console.browser import NEEDS_BROWSER, Watched, check_pages, shot, sign_in
from tests.console.conftest import Seeded, books_of
from usecases import places, tokens
from usecases.unit import SYSTEM

pytestmark = NEEDS_BROWSER


def _field(page: Any, label: str) -> Any:
    """The input labelled exactly `label` (a required field's label ends with its asterisk)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}(\s*\*)?$"))


def test_an_admin_adds_a_place_opens_a_fund_and_a_project_there_and_makes_a_token(
    app: Flask, live_url: str, watched: Watched, users: dict[str, str], seeded: Seeded
) -> None:
    page = watched.page
    sign_in(page, live_url, users["admin"])

    page.goto(f"{live_url}/console/admin/")
    page.get_by_role("link", name="地点", exact=True).click()
    _field(page, "类型").select_option("county")
    _field(page, "代码").fill("510185")
    _field(page, "名称").fill("简阳市")
    page.get_by_label("已与公布的统计用区划代码核对").check()
    page.get_by_role("button", name="添加地点").click()
    assert "已添加简阳市（510185）" in page.locator("[role=status]").first.inner_text()
    _field(page, "类型").select_option("town")
    page.get_by_label("上级地点").select_option("510185")
    _field(page, "代码").fill("510186101")  # not under 510185: refused beside the code
    _field(page, "名称").fill("石桥街道")
    page.get_by_role("button", name="添加地点").click()
    assert page.locator("#e-code").is_visible()
    assert page.locator("[role=status]").count() == 0  # the earlier notice is not repeated
    shot(page, "admin-place-refused-1280")
    assert _field(page, "名称").input_value() == "石桥街道"
    _field(page, "代码").fill("510185101")
    page.get_by_role("button", name="添加地点").click()
    assert "已添加石桥街道（510185101）" in page.locator("[role=status]").first.inner_text()

    page.goto(f"{live_url}/console/")
    page.get_by_role("link", name="设立基金").click()
    _field(page, "代码").fill("JYXC")
    _field(page, "名称").fill("简阳乡村振兴基金")
    page.get_by_label("限定性：捐赠只能用于其用途").check()
    page.get_by_role("button", name="设立基金").click()
    assert page.locator("#e-purpose").is_visible()  # a restricted fund needs its purpose
    _field(page, "用途").fill("简阳市乡村学校与道路")
    page.get_by_role("button", name="设立基金").click()
    assert "基金已设立" in page.locator("[role=status]").first.inner_text()

    page.get_by_role("link", name="设立项目").click()
    assert _field(page, "基金").input_value() == "JYXC"
    _field(page, "代码").fill("SQ-ROAD")
    _field(page, "名称").fill("石桥道路")
    _field(page, "地点").select_option("510185101")
    page.get_by_label("预算（人民币）").fill("30000.00")
    page.get_by_role("button", name="设立项目").click()
    assert "项目 SQ-ROAD 已设立" in page.locator("[role=status]").first.inner_text()
    assert "石桥道路" in page.content() and "¥30,000.00" in page.content()

    page.goto(f"{live_url}/console/admin/accounts")
    _field(page, "代码").fill("5102")
    page.get_by_label("中文名称").fill("业务活动成本—物资转交")
    page.get_by_label("英文名称").fill("Program expenses - goods handed on")
    _field(page, "类型").select_option("expense")
    page.get_by_role("button", name="添加科目").click()
    assert "已添加科目 5102" in page.locator("[role=status]").first.inner_text()
    page.get_by_role("button", name="停用 5102").click()
    assert "科目 5102 已停用" in page.locator("[role=status]").first.inner_text()

    page.goto(f"{live_url}/console/admin/tokens")
    _field(page, "名称").fill("wechat-gateway")
    _field(page, "角色").select_option("officer")
    page.get_by_label("有效期（天）").fill("30")
    page.get_by_role("button", name="创建令牌").click()
    secret = page.locator("#secret").input_value()
    assert secret.startswith("hq_")
    assert page.locator("button[data-copy]").is_visible()  # the copy script ran under the CSP
    shot(page, "admin-token-secret-1280")
    assert tokens.authenticate(books_of(app).engine, secret) is not None
    page.goto(f"{live_url}/console/admin/tokens")
    assert secret not in page.content() and "wechat-gateway" in page.content()
    # The refused forms answered 422 (as they should), which Chromium logs; nothing else is.
    assert [e for e in watched.errors if "status of 422" not in e] == []


def test_every_admin_page_fits_both_widths_has_no_console_error_and_no_axe_violation(
    app: Flask,
    browser: Any,
    live_url: str,
    users: dict[str, str],
    seeded: Seeded,
) -> None:
    books = books_of(app)
    for code, kind, name, parent in (
        ("513327", "county", "炉霍县", ""),
        ("513327100", "town", "新都镇", "513327"),
        ("513327100201", "village", "卡娘村", "513327100"),
    ):
        places.add_place(books, by=SYSTEM, code=code, kind=kind, name=name, parent=parent)
    tokens.create_token(books.engine, role="auditor", name="nightly-export")
    tokens.create_token(books.engine, role="officer", name="old-gateway")
    tokens.revoke_token(books.engine, "old-gateway")
    pages = [
        ("administration", "/console/admin/"),
        ("fund-new", "/console/admin/funds/new"),
        ("project-new", f"/console/admin/projects/new?fund={seeded.general}"),
        ("places", "/console/admin/places"),
        ("accounts", "/console/admin/accounts"),
        ("tokens", "/console/admin/tokens"),
        ("funds", "/console/"),
        ("fund", f"/console/funds/{seeded.general}"),
    ]
    problems = check_pages(browser, live_url, pages, login=users["admin"], prefix="admin")
    assert problems == [], "\n".join(problems)
