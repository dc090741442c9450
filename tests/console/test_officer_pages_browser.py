"""The officer's pages in a real browser (Debian's chromium through Playwright): registering a
beneficiary and awarding them a scholarship without the API, a payment's acknowledgment with
its file, a document superseded and goods handed over, worked through their forms in Chinese;
then every such page at 390 px and 1280 px with no horizontal overflow, no console error and no
axe-core violation. Screenshots go to `artifacts/screenshots/officer-*.png`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from ledger.money import Money
from tests.console.conftest import TODAY, Seeded
from tests.console.test_console_browser import (
    CHROMIUM,
    SHOTS,
    WIDTHS,
    Watched,
    _axe,
    _serve,
    _sign_in,
    browser,  # noqa: F401 - the module-scoped browser fixture
)
from usecases import delivery, evidence, gifts, handover, queries, spending
from usecases.unit import SYSTEM

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]

SIGNED = b"%PDF-1.4\n% signed\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    server, url = _serve(app)
    try:
        yield url
    finally:
        server.shutdown()


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    try:
        yield Watched(context)
    finally:
        context.close()


def _books(app: Flask) -> Any:
    return app.extensions["huiquan"].books


def _cash(app: Flask, seeded: Seeded) -> Any:
    return gifts.record_donation(
        _books(app),
        by=SYSTEM,
        donor_id=seeded.donor,
        fund=seeded.restricted,
        amount=Money.parse("20000.00", "CNY"),
        received_on=TODAY,
    )


def _goods(app: Flask, seeded: Seeded) -> str:
    gift = gifts.record_in_kind(
        _books(app),
        by=SYSTEM,
        donor_id=seeded.donor,
        fund=seeded.restricted,
        description="呼吸机",
        quantity="10 台",
        fair_value=Money.parse("100000.00", "CNY"),
        valuation_basis="发票",
        received_on=TODAY,
        asset="inventory",
        evidence="",
        pass_through_to=None,
        memo="",
    )
    return str(gift.entry.id)


def _pay(app: Flask, seeded: Seeded) -> str:
    paid = spending.record_disbursement(
        _books(app),
        by=SYSTEM,
        fund=seeded.restricted,
        project=seeded.project,
        amount=Money.parse("3000.00", "CNY"),
        paid_on=TODAY,
        memo="冬季校服",
    )
    return str(paid.id)


def test_an_officer_registers_a_beneficiary_and_awards_a_scholarship_in_the_browser(
    app: Flask,
    live_url: str,
    watched: Watched,
    users: dict[str, str],
    seeded: Seeded,
    tmp_path: Path,
) -> None:
    _cash(app, seeded)
    page = watched.page
    SHOTS.mkdir(parents=True, exist_ok=True)
    _sign_in(page, live_url, users["officer"])
    page.wait_for_url(f"{live_url}/console/")
    page.goto(f"{live_url}/console/awards/new")
    page.get_by_role("link", name="登记受助人").click()
    page.get_by_label("批次").fill("高中助学金 2026秋")
    page.get_by_label("县").fill("炉霍县")
    page.get_by_label("姓名").fill("格桑拉姆")
    page.get_by_label("出生日期").fill("2010-03-15")
    page.get_by_label("批次").fill("")
    page.get_by_role("button", name="登记", exact=True).click()
    assert page.locator("#e-cohort").is_visible()  # refused beside the field, the rest kept
    assert page.get_by_label("姓名").input_value() == "格桑拉姆"
    page.screenshot(path=str(SHOTS / "officer-beneficiary-refused-1280.png"), full_page=True)
    page.get_by_label("批次").fill("高中助学金 2026秋")
    page.get_by_role("button", name="登记", exact=True).click()
    status = page.locator("[role=status]").first.inner_text()
    assert "已登记为 B-" in status and "格桑拉姆" not in page.content()
    page.screenshot(path=str(SHOTS / "officer-beneficiary-registered-1280.png"), full_page=True)
    page.locator("[role=status] a.button").click()
    pseudonym = page.get_by_label("受助人（化名）").input_value()
    assert pseudonym.startswith("B-")
    page.get_by_label("基金").select_option(seeded.restricted)
    page.get_by_label("金额").fill("1500.00")
    page.get_by_label("学期").fill("2026秋")
    page.get_by_role("button", name="登记", exact=True).click()
    assert page.get_by_role("status").inner_text() == "已登记。"
    [award] = queries.awards(_books(app)).items
    assert award.beneficiary_id == pseudonym and award.amount_minor == 150000
    # The refused form answered 422 (as it should), which Chromium logs; nothing else is.
    assert [e for e in watched.errors if "status of 422" not in e] == []


def test_an_officer_acknowledges_a_payment_supersedes_a_document_and_hands_goods_over(
    app: Flask,
    live_url: str,
    watched: Watched,
    users: dict[str, str],
    seeded: Seeded,
    tmp_path: Path,
) -> None:
    _cash(app, seeded)
    paid = _pay(app, seeded)
    goods = _goods(app, seeded)
    signed = tmp_path / "签收单.pdf"
    signed.write_bytes(SIGNED)
    page = watched.page
    SHOTS.mkdir(parents=True, exist_ok=True)
    _sign_in(page, live_url, users["officer"])
    page.wait_for_url(f"{live_url}/console/")

    page.goto(f"{live_url}/console/audit/entries/{paid}")
    page.get_by_role("link", name="接收方签收").click()
    page.get_by_label("新文件").set_input_files(str(signed))
    page.get_by_label("备注").fill("学校盖章")
    page.get_by_role("button", name="登记签收").click()
    assert "签收已登记" in page.locator("[role=status]").first.inner_text()
    page.screenshot(path=str(SHOTS / "officer-acknowledged-1280.png"), full_page=True)
    assert evidence.acknowledgment_status(_books(app), paid) is not None

    page.get_by_role("link", name="替换").first.click()
    page.get_by_label("错误原因").fill("扫描不清")
    page.get_by_label("替换文件").set_input_files(str(signed))
    page.get_by_role("button", name="替换", exact=True).click()
    assert "文件已替换" in page.locator("[role=status]").first.inner_text()
    old, new = evidence.attachments_of(_books(app), "entry", paid)
    assert old.superseded_by == new.record.id and new.record.reason == "扫描不清"

    page.goto(f"{live_url}/console/lists/in-kind")
    page.get_by_role("link", name="移交", exact=True).first.click()
    page.get_by_label("移交数量").fill("11")
    page.get_by_label("接收方").fill("炉霍县人民医院")
    page.get_by_role("button", name="移交", exact=True).click()
    assert page.locator("#e-quantity").is_visible()
    page.screenshot(path=str(SHOTS / "officer-handover-refused-1280.png"), full_page=True)
    page.get_by_label("移交数量").fill("4")
    page.get_by_label("项目").select_option(seeded.project)
    page.get_by_role("button", name="移交", exact=True).click()
    assert "已移交：4 交给 炉霍县人民医院" in page.locator("[role=status]").first.inner_text()
    [made] = handover.handovers_of(_books(app), goods)
    assert made["value_minor"] == 4000000 and made["project"] == seeded.project

    page.goto(f"{live_url}/console/donors/{seeded.donor}")
    page.get_by_role("link", name="收据邮箱").click()
    page.get_by_label("接收收据的电子邮件地址").fill("finance@chengdu-firm.example.cn")
    page.get_by_role("button", name="保存地址").click()
    assert "finance@chengdu-firm.example.cn" in page.locator("[role=status]").inner_text()
    assert delivery.donor_email(_books(app), seeded.donor) == "finance@chengdu-firm.example.cn"
    assert [e for e in watched.errors if "status of 422" not in e] == []


def test_every_officer_page_fits_both_widths_has_no_console_error_and_no_axe_violation(
    app: Flask,
    browser: Any,  # noqa: F811 - the fixture imported above
    live_url: str,
    users: dict[str, str],
    seeded: Seeded,
) -> None:
    books = _books(app)
    _cash(app, seeded)
    paid = _pay(app, seeded)
    goods = _goods(app, seeded)
    doc = evidence.attach(
        books,
        subject_type="entry",
        subject_id=paid,
        kind="invoice",
        upload=evidence.Upload(io.BytesIO(SIGNED), "发票-2026-11.pdf"),
        by=SYSTEM,
    )
    evidence.attach(
        books,
        subject_type="entry",
        subject_id=goods,
        kind="acknowledgment",
        upload=evidence.Upload(io.BytesIO(SIGNED), "交接单.pdf"),
        by=SYSTEM,
    )
    handover.hand_over(
        books,
        goods,
        by=SYSTEM,
        quantity="2",
        recipient="炉霍县人民医院",
        handed_over_on=TODAY,
        project=seeded.project,
    )
    delivery.record_donor_email(books, seeded.donor, "finance@chengdu-firm.example.cn", by=SYSTEM)
    SHOTS.mkdir(parents=True, exist_ok=True)
    pages = [
        ("beneficiaries", f"/console/beneficiaries?registered={seeded.beneficiary}"),
        ("beneficiary-new", "/console/beneficiaries/new"),
        ("award", f"/console/awards/new?beneficiary_id={seeded.beneficiary}"),
        ("donor-email", f"/console/donors/{seeded.donor}/email"),
        ("donor", f"/console/donors/{seeded.donor}"),
        ("acknowledgment", f"/console/entries/{paid}/acknowledgment"),
        ("evidence", f"/console/entries/{paid}/evidence"),
        ("supersede", f"/console/evidence/{doc.id}/supersede"),
        ("handover", f"/console/in-kind/{goods}/handovers"),
        ("in-kind", "/console/lists/in-kind"),
        ("disbursements", "/console/lists/disbursements"),
        ("entry", f"/console/audit/entries/{paid}"),
    ]
    problems: list[str] = []
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
        watched = Watched(context)
        page = watched.page
        try:
            _sign_in(page, live_url, users["officer"])
            page.wait_for_url(f"{live_url}/console/")
            for name, path in pages:
                page.goto(f"{live_url}{path}")
                page.wait_for_load_state("networkidle")
                overflow = page.evaluate(
                    "document.documentElement.scrollWidth - document.documentElement.clientWidth"
                )
                if overflow > 0:
                    problems.append(f"{name}@{width}: {overflow}px of horizontal overflow")
                for violation in _axe(page):
                    problems.append(f"{name}@{width}: axe {violation}")
                page.screenshot(path=str(SHOTS / f"officer-{name}-{width}.png"), full_page=True)
            problems += [f"@{width}: console: {e}" for e in watched.errors]
        finally:
            context.close()
    assert problems == [], "\n".join(problems)
