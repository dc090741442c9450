"""The officer's pages in a real browser (Debian's chromium through Playwright): registering a
beneficiary and awarding them a scholarship without the API, a payment's acknowledgment with
its file, a document superseded and goods handed over, worked through their forms in Chinese;
then every such page at 390 px and 1280 px with no horizontal overflow, no console error and no
axe-core violation. Screenshots go to `artifacts/screenshots/officer-*.png`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from tests.console.browser import NEEDS_BROWSER, Watched, check_pages, shot, sign_in
from tests.console.conftest import (
    TODAY,
    Seeded,
    attach,
    books_of,
    disburse,
    donate,
    in_kind,
)
from usecases import delivery, evidence, handover, queries
from usecases.unit import SYSTEM

pytestmark = NEEDS_BROWSER

SIGNED = b"%PDF-1.4\n% signed\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_an_officer_registers_a_beneficiary_and_awards_a_scholarship_in_the_browser(
    app: Flask,
    live_url: str,
    watched: Watched,
    users: dict[str, str],
    seeded: Seeded,
    tmp_path: Path,
) -> None:
    donate(app, seeded)
    page = watched.page
    sign_in(page, live_url, users["officer"])
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
    shot(page, "officer-beneficiary-refused-1280")
    page.get_by_label("批次").fill("高中助学金 2026秋")
    page.get_by_role("button", name="登记", exact=True).click()
    status = page.locator("[role=status]").first.inner_text()
    assert "已登记为 B-" in status and "格桑拉姆" not in page.content()
    shot(page, "officer-beneficiary-registered-1280")
    page.locator("[role=status] a.button").click()
    pseudonym = page.get_by_label("受助人（化名）").input_value()
    assert pseudonym.startswith("B-")
    page.get_by_label("基金").select_option(seeded.restricted)
    page.get_by_label("金额").fill("1500.00")
    page.get_by_label("学期").fill("2026秋")
    page.get_by_role("button", name="登记", exact=True).click()
    assert page.get_by_role("status").inner_text() == "已登记。"
    [award] = queries.awards(books_of(app)).items
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
    donate(app, seeded)
    paid = disburse(app, seeded)
    goods = in_kind(app, seeded)
    signed = tmp_path / "签收单.pdf"
    signed.write_bytes(SIGNED)
    page = watched.page
    sign_in(page, live_url, users["officer"])

    page.goto(f"{live_url}/console/audit/entries/{paid}")
    page.get_by_role("link", name="接收方签收").click()
    page.get_by_label("新文件").set_input_files(str(signed))
    page.get_by_label("备注").fill("学校盖章")
    page.get_by_role("button", name="登记签收").click()
    assert "签收已登记" in page.locator("[role=status]").first.inner_text()
    shot(page, "officer-acknowledged-1280")
    assert evidence.acknowledgment_status(books_of(app), paid) is not None

    page.get_by_role("link", name="替换").first.click()
    page.get_by_label("错误原因").fill("扫描不清")
    page.get_by_label("替换文件").set_input_files(str(signed))
    page.get_by_role("button", name="替换", exact=True).click()
    assert "文件已替换" in page.locator("[role=status]").first.inner_text()
    old, new = evidence.attachments_of(books_of(app), "entry", paid)
    assert old.superseded_by == new.record.id and new.record.reason == "扫描不清"

    page.goto(f"{live_url}/console/lists/in-kind")
    page.get_by_role("link", name="移交", exact=True).first.click()
    page.get_by_label("移交数量").fill("11")
    page.get_by_label("接收方").fill("炉霍县人民医院")
    page.get_by_role("button", name="移交", exact=True).click()
    assert page.locator("#e-quantity").is_visible()
    shot(page, "officer-handover-refused-1280")
    page.get_by_label("移交数量").fill("4")
    page.get_by_label("项目").select_option(seeded.project)
    page.get_by_role("button", name="移交", exact=True).click()
    assert "已移交：4 交给 炉霍县人民医院" in page.locator("[role=status]").first.inner_text()
    [made] = handover.handovers_of(books_of(app), goods)
    assert made["value_minor"] == 4000000 and made["project"] == seeded.project

    page.goto(f"{live_url}/console/donors/{seeded.donor}")
    page.get_by_role("link", name="收据邮箱").click()
    page.get_by_label("接收收据的电子邮件地址").fill("finance@chengdu-firm.example.cn")
    page.get_by_role("button", name="保存地址").click()
    assert "finance@chengdu-firm.example.cn" in page.locator("[role=status]").inner_text()
    assert delivery.donor_email(books_of(app), seeded.donor) == "finance@chengdu-firm.example.cn"
    assert [e for e in watched.errors if "status of 422" not in e] == []


def test_every_officer_page_fits_both_widths_has_no_console_error_and_no_axe_violation(
    app: Flask,
    browser: Any,
    live_url: str,
    users: dict[str, str],
    seeded: Seeded,
) -> None:
    books = books_of(app)
    donate(app, seeded)
    paid = disburse(app, seeded)
    goods = in_kind(app, seeded)
    doc = attach(app, paid, "invoice", "发票-2026-11.pdf", SIGNED)
    attach(app, goods, "acknowledgment", "交接单.pdf", SIGNED)
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
    problems = check_pages(browser, live_url, pages, login=users["officer"], prefix="officer")
    assert problems == [], "\n".join(problems)
