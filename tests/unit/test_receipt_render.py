"""Receipts render as HTML and PDF: content, escaping, safe fetching, determinism, goldens."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import importlib
import io
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from html import unescape as html_unescape
from pathlib import Path

import pytest
from pypdf import PdfReader

from receipts.i18n import MESSAGES
from receipts.model import AllocationLine, CoveredGift, ReceiptView
from receipts.render import (
    ResourceRefused,
    content_security_policy,
    html_to_pdf,
    make_fetcher,
    render_html,
    render_pdf,
    style_hash,
    templates_dir,
)


def _hex(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


CHECKPOINT = (
    "huiquan.example/ledger\n"
    "123457\n"
    "3q2+7wP1kXw9a0sY4gQeJm2cZ8pVhL7nR5tU1oB6dFA=\n"
    "\n"
    "— huiquan.example/ledger Az3gRw8mX2c0pL9vQ7yT1sN5bK4hJ6fD8eU3iO2aW1zC+vB7nM0qL5xR9tY4sP6k"
    "H2jG8fD3eA1wS7uI5oK0lZ==\n"
)


def a_receipt(**changes: object) -> ReceiptView:
    """A cash gift to the girls' school fund, issued to the donor herself, in Simplified Chinese."""
    view = ReceiptView(
        serial="HQ-2026-000123",
        status="issued",
        void_reason=None,
        replaces_serial=None,
        replaced_by_serial=None,
        issuer_name="成都市锦江区惠泉社区公益服务中心",
        issuer_registration_no="52510104MJTEST0001",
        issued_on=date(2026, 3, 6),
        received_on=date(2026, 3, 5),
        donor_name="王秀英",
        donor_is_anonymous=False,
        public_view=False,
        kind="cash",
        amount_minor=1_200_000,
        currency="CNY",
        cny_minor=1_200_000,
        fx_rate=None,
        fx_source=None,
        fx_date=None,
        fund_name="锦炉爱心助学基金",
        fund_purpose="资助甘孜州炉霍县困难家庭女童返校就读",
        in_kind_description=None,
        in_kind_quantity=None,
        valuation_basis=None,
        goods_or_services=None,
        signing_officer="李建华",
        fiscal_receipt_code=None,
        fiscal_receipt_number=None,
        verify_url="https://huiquan.example/r/HQ-2026-000123?k=Xq81vR",
        entry_hash=_hex("entry HQ-2026-000123"),
        leaf_index=123456,
        inclusion_proof=tuple(_hex(f"node {i}") for i in range(17)),
        checkpoint_text=CHECKPOINT,
        where_it_went=(
            AllocationLine(date(2026, 3, 20), "高中助学金 2026春", "炉霍县", 800_000, "CNY"),
            AllocationLine(date(2026, 4, 2), "交纳村卫生室耗材", "炉霍县", 400_000, "CNY"),
        ),
        covered_gifts=(),
        language="zh-Hans",
    )
    return dataclasses.replace(view, **changes)  # type: ignore[arg-type]


def a_foreign_gift(**changes: object) -> ReceiptView:
    """US$1,000 from an overseas donor, converted at the day's rate."""
    base = a_receipt(
        serial="HQ-2026-000124",
        donor_name="陳志明",
        kind="foreign",
        amount_minor=100_000,
        currency="USD",
        cny_minor=712_340,
        fx_rate="7.1234",
        fx_source="中国人民银行人民币汇率中间价",
        fx_date=date(2026, 3, 5),
        language="zh-Hant",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def an_in_kind_gift(**changes: object) -> ReceiptView:
    """Surgical equipment for the Luhuo county hospital, valued from the supplier's invoice."""
    base = a_receipt(
        serial="HQ-2026-000125",
        donor_name="Chengdu Kangning Medical Equipment Co., Ltd.",
        kind="in_kind",
        amount_minor=105_000_000,
        cny_minor=105_000_000,
        fund_name="炉霍医疗援助专项",
        fund_purpose="炉霍县人民医院外科设备",
        in_kind_description="腹腔镜手术系统及配套器械",
        in_kind_quantity="1 套",
        valuation_basis="供应商发票（No. 51012026000188），含税价",
        fiscal_receipt_code="51060126",
        fiscal_receipt_number="0001234567",
        where_it_went=(),
        language="en",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def an_annual_receipt(**changes: object) -> ReceiptView:
    base = a_receipt(
        serial="HQ-2026-A00007",
        kind="annual",
        amount_minor=360_000,
        cny_minor=360_000,
        received_on=date(2025, 12, 31),
        issued_on=date(2026, 1, 15),
        covered_gifts=(
            CoveredGift("HQ-2025-000311", date(2025, 3, 1), 120_000, "CNY"),
            CoveredGift("HQ-2025-000502", date(2025, 6, 1), 120_000, "CNY"),
            CoveredGift("HQ-2025-000877", date(2025, 9, 1), 120_000, "CNY"),
        ),
        where_it_went=(
            AllocationLine(date(2025, 9, 1), "高中助学金 2025秋", "炉霍县", 240_000, "CNY"),
            AllocationLine(date(2025, 12, 10), "交纳村卫生室耗材", "炉霍县", 120_000, "CNY"),
        ),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


# --- helpers ---------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "receipts"
ARTIFACTS = ROOT / "artifacts" / "receipts"
HOSTILE_NAME = '<img src="file:///etc/passwd"><script>alert(1)</script>'
LINKS = {
    "zh-Hans": "/r/HQ-2026-000123?k=Xq81vR&lang=zh-Hans",
    "zh-Hant": "/r/HQ-2026-000123?k=Xq81vR&lang=zh-Hant",
    "en": "/r/HQ-2026-000123?k=Xq81vR&lang=en",
}
PDF_URL = "/r/HQ-2026-000123.pdf?k=Xq81vR"

needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdftoppm") is None,
    reason="poppler-utils (pdftotext, pdftoppm) not installed",
)


def pdf_text(pdf: bytes, tmp_path: Path, name: str = "receipt") -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
    )
    return result.stdout.decode("utf-8")


def page_count(pdf: bytes) -> int:
    return len(PdfReader(io.BytesIO(pdf)).pages)


def squeeze(text: str) -> str:
    """pdftotext lays text out with spaces; compare without any whitespace."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def cash_pdf() -> bytes:
    return render_pdf(a_receipt())


GOLDEN_CASES = {
    "zh-Hans": a_receipt,
    "zh-Hant": a_foreign_gift,
    "en": an_in_kind_gift,
}


# --- golden HTML -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", sorted(GOLDEN_CASES))
def test_receipt_html_matches_its_golden_file_byte_for_byte(language: str) -> None:
    html = render_html(GOLDEN_CASES[language](), pdf_url=PDF_URL, language_links=LINKS)
    golden = GOLDEN / f"receipt.{language}.html"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(html.encode("utf-8"))
    assert golden.exists(), f"run with UPDATE_GOLDEN=1 to create {golden}"
    assert html.encode("utf-8") == golden.read_bytes()


def test_the_same_view_renders_the_same_html_twice() -> None:
    view = a_foreign_gift()
    assert render_html(view) == render_html(view)


# --- content ---------------------------------------------------------------------------------


def test_a_cash_receipt_states_everything_the_domain_rules_ask_for() -> None:
    html = render_html(a_receipt())
    for expected in [
        "成都市锦江区惠泉社区公益服务中心",
        "52510104MJTEST0001",
        "HQ-2026-000123",
        "2026年3月5日",  # received
        "2026年3月6日",  # issued
        "王秀英",
        "¥12,000.00",
        "人民币（大写）",
        "壹万贰仟元整",
        "CNY · 人民币",
        "锦炉爱心助学基金",
        "资助甘孜州炉霍县困难家庭女童返校就读",
        "捐赠人未因本次捐赠获得任何商品或服务。",
        "由财政部门电子票据平台另行开具",
        "李建华",
        a_receipt().entry_hash,
        "123456",
        "善款去向",
        "高中助学金 2026春",
        "¥8,000.00",
    ]:
        assert expected in html, expected
    # The page carries a compact proof; the inclusion path lives in the embedded proof JSON.
    assert "huiquan.example/ledger" in html and ">123457<" in html
    assert not any(node in html for node in a_receipt().inclusion_proof)


def test_the_qr_code_is_inline_svg_and_the_verify_link_is_shown() -> None:
    html = render_html(a_receipt())
    assert '<svg viewBox="0 0' in html
    assert 'href="https://huiquan.example/r/HQ-2026-000123?k=Xq81vR"' in html


def test_fiscal_receipt_code_and_number_are_shown_when_the_bureau_has_issued_them() -> None:
    html = render_html(a_receipt(fiscal_receipt_code="51060126", fiscal_receipt_number="0001"))
    assert "票据代码" in html and "51060126" in html
    assert "票据号码" in html and "0001" in html
    assert "另行开具" not in html


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("zh-Hans", "由财政部门电子票据平台另行开具"),
        ("zh-Hant", "由財政部門電子票據平台另行開具"),
        ("en", "issued separately through the finance bureau's e-receipt platform"),
    ],
)
def test_without_a_fiscal_receipt_the_page_says_the_bureau_issues_it_separately(
    language: str, sentence: str
) -> None:
    assert sentence in html_unescape(render_html(a_receipt(), language=language))


def test_goods_or_services_received_in_return_are_stated() -> None:
    html = render_html(a_receipt(goods_or_services="纪念证书一份（无市场价值）"))
    assert "捐赠人因本次捐赠获得：纪念证书一份（无市场价值）" in html
    assert "未因本次捐赠获得任何商品或服务" not in html


def test_a_foreign_gift_shows_the_original_amount_rate_source_date_and_cny_value() -> None:
    html = render_html(a_foreign_gift())
    for expected in [
        "US$1,000.00",
        "1 USD = 7.1234 CNY",
        "中国人民银行人民币汇率中间价",
        "2026年3月5日",
        "CN¥7,123.40",
        "人民幣（大寫）",
        "柒仟壹佰貳拾參元肆角",  # the capitals are of the CNY value
        "USD · 美元",
    ]:
        assert expected in html, expected


def test_an_in_kind_gift_shows_description_valuation_basis_and_no_promise_of_value() -> None:
    html = html_unescape(render_html(an_in_kind_gift()))
    for expected in [
        "Recorded value",
        "CN¥1,050,000.00",
        "壹佰零伍万元整",
        "腹腔镜手术系统及配套器械",
        "1 套",
        "供应商发票（No. 51012026000188），含税价",
        "We do not vouch for the value of the goods, and this receipt is not a promise of value.",
        "Tax receipt code",
        "51060126",
    ]:
        assert expected in html, expected
    chinese = render_html(an_in_kind_gift(), language="zh-Hans")
    assert "本机构不对物品价值作出保证，本收据亦不构成对价值的承诺" in chinese


def test_an_annual_receipt_lists_the_gifts_it_covers() -> None:
    html = render_html(an_annual_receipt())
    assert "年度捐赠汇总收据" in html
    for serial in ("HQ-2025-000311", "HQ-2025-000502", "HQ-2025-000877"):
        assert serial in html
    assert "不得重复计算" in html
    assert "¥3,600.00" in html


def test_with_nothing_spent_yet_the_page_says_so() -> None:
    assert "善款尚未拨付" in render_html(a_receipt(where_it_went=()))


# --- anonymity -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "anonymous"),
    [("zh-Hans", "匿名捐赠人"), ("zh-Hant", "匿名捐贈人"), ("en", "Anonymous donor")],
)
def test_a_public_view_of_an_anonymous_gift_hides_the_donor(language: str, anonymous: str) -> None:
    view = a_receipt(donor_is_anonymous=True, public_view=True)
    html = render_html(view, language=language)
    assert anonymous in html
    assert "王秀英" not in html


def test_the_donors_own_link_names_an_anonymous_donor_and_explains_the_public_page() -> None:
    html = render_html(a_receipt(donor_is_anonymous=True, public_view=False))
    assert "王秀英" in html
    assert "匿名捐赠人" not in html
    assert "公开页面不显示您的姓名" in html


def test_a_public_view_of_a_named_gift_shows_the_name() -> None:
    html = render_html(a_receipt(donor_is_anonymous=False, public_view=True))
    assert "王秀英" in html
    assert "匿名" not in html


# --- void and replacement --------------------------------------------------------------------


def test_a_void_receipt_carries_a_void_watermark_banner_reason_and_its_replacement() -> None:
    view = a_receipt(status="void", void_reason="金额录入错误", replaced_by_serial="HQ-2026-000130")
    html = render_html(view)
    # A Chinese page says 作废 in Chinese only (no English on a Chinese page).
    assert '<div class="watermark" aria-hidden="true">作废</div>' in html and "VOID" not in html
    assert "本收据已作废，不再作为捐赠凭证。" in html
    assert "作废原因：金额录入错误" in html
    assert "已由收据 HQ-2026-000130 取代。" in html
    english = render_html(view, language="en")
    assert "This receipt has been voided and no longer acknowledges a gift." in english
    assert "It is replaced by receipt HQ-2026-000130." in english


def test_an_issued_receipt_has_no_void_marks() -> None:
    html = render_html(a_receipt())
    assert "watermark" not in html.split("</head>")[1]
    assert "作废" not in html


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        ("zh-Hans", "本收据取代并注销收据 HQ-2026-000099。"),
        ("zh-Hant", "本收據取代並註銷收據 HQ-2026-000099。"),
        ("en", "This receipt cancels and replaces receipt HQ-2026-000099."),
    ],
)
def test_a_replacement_says_which_receipt_it_cancels_and_replaces(
    language: str, sentence: str
) -> None:
    html = render_html(a_receipt(replaces_serial="HQ-2026-000099"), language=language)
    assert sentence in html


# --- escaping, links and the content security policy -----------------------------------------


def test_a_hostile_donor_name_is_escaped_as_text_in_the_html() -> None:
    html = render_html(a_receipt(donor_name=HOSTILE_NAME, fund_purpose="<b>x</b>"))
    assert (
        "&lt;img src=&#34;file:///etc/passwd&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    )
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


def test_the_page_has_no_scripts_no_style_attributes_and_no_external_resources() -> None:
    html = render_html(a_receipt(), pdf_url=PDF_URL, language_links=LINKS)
    css = re.search(r"<style>(.*?)</style>", html, re.S)
    assert css is not None
    markup = html.replace(css.group(0), "")
    assert "<script" not in markup
    assert " style=" not in markup
    assert " src=" not in markup
    assert "<link" not in markup
    for forbidden in ("url(", "@import", "@font-face", "http"):
        assert forbidden not in css.group(1), forbidden


def test_the_inline_stylesheet_is_allowed_by_hash_in_the_csp() -> None:
    html = render_html(a_receipt())
    css = re.search(r"<style>(.*?)</style>", html, re.S)
    assert css is not None
    digest = base64.b64encode(hashlib.sha256(css.group(1).encode("utf-8")).digest()).decode()
    assert style_hash() == f"'sha256-{digest}'"
    policy = content_security_policy()
    assert f"style-src 'sha256-{digest}'" in policy
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html)
    assert meta is not None
    assert html_unescape(meta.group(1)) in policy


def test_the_html_has_a_language_switcher_and_pdf_link_only_when_given() -> None:
    html = render_html(a_receipt(), pdf_url=PDF_URL, language_links=LINKS)
    assert 'href="/r/HQ-2026-000123.pdf?k=Xq81vR"' in html
    assert "下载 PDF" in html
    assert '<span aria-current="page" lang="zh-Hans">简体中文</span>' in html
    assert 'hreflang="zh-Hant"' in html and "繁體中文" in html
    assert 'href="/r/HQ-2026-000123?k=Xq81vR&amp;lang=en"' in html
    plain = render_html(a_receipt())
    assert "toolbar" not in plain.split("</head>")[1]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,<p>x</p>",
        "//evil.example/x",
        "\\\\evil.example/x",
        "vbscript:x",
        "\x01javascript:alert(1)",
        "/\\evil.example/x",
        "java\nscript:alert(1)",
    ],
)
def test_unsafe_links_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        render_html(a_receipt(), pdf_url=url)
    with pytest.raises(ValueError):
        render_html(a_receipt(), language_links={"en": url})
    with pytest.raises(ValueError):
        render_html(a_receipt(verify_url=url))


def test_the_verify_url_must_be_absolute_because_the_qr_code_leaves_the_page() -> None:
    with pytest.raises(ValueError):
        render_html(a_receipt(verify_url="/r/HQ-2026-000123"))


def test_unknown_languages_are_refused() -> None:
    with pytest.raises(ValueError):
        render_html(a_receipt(), language="fr")
    with pytest.raises(ValueError):
        render_html(a_receipt(), language_links={"fr": "/r/x?lang=fr"})


def test_importing_the_receipts_package_loads_no_pdf_engine_and_reads_no_file() -> None:
    code = (
        "import sys, receipts.render, receipts.model, receipts.numerals, receipts.i18n\n"
        "assert 'weasyprint' not in sys.modules, 'weasyprint imported'\n"
        "assert receipts.render._environment.cache_info().currsize == 0\n"
        "assert receipts.render._stylesheet.cache_info().currsize == 0\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --- the PDF fetcher -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/logo.png",
        "https://fonts.example.com/noto.woff2",
        "ftp://example.com/x",
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "file://localhost/etc/passwd",
        "file://evil.example" + str(templates_dir() / "receipt.css"),
        "file://" + str(templates_dir()) + "/../model.py",
        "file://" + str(templates_dir()) + "/%2e%2e/model.py",
        "file://" + str(templates_dir()) + "/missing.css",
        "receipt.css",
        "//example.com/x.css",
    ],
)
def test_the_pdf_fetcher_refuses_anything_outside_the_templates_folder(url: str) -> None:
    fetcher = make_fetcher()
    with pytest.raises(ResourceRefused):
        fetcher(url)
    assert fetcher.refused == [url]


def test_the_pdf_fetcher_serves_template_files_and_data_uris() -> None:
    fetcher = make_fetcher()
    css = fetcher("file://" + str(templates_dir() / "receipt.css"))
    assert css.content_type == "text/css"
    assert b"@page" in css.read()
    data = fetcher("data:text/plain;base64,aGk=")
    assert data.read() == b"hi"


def test_the_pdf_fetcher_does_not_follow_a_symlink_out_of_its_folder(tmp_path: Path) -> None:
    root = tmp_path / "templates"
    root.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (root / "link.css").symlink_to(secret)
    with pytest.raises(ResourceRefused):
        make_fetcher(root)("file://" + str(root / "link.css"))


@pytest.mark.parametrize(
    "html",
    [
        '<img src="file:///etc/passwd">',
        '<link rel="stylesheet" href="http://127.0.0.1:9/x.css"><p>x</p>',
        '<style>@import url("https://example.com/a.css");</style><p>x</p>',
        '<p style="background: url(file:///etc/hostname)">x</p>',
        '<img src="../model.py">',
        '<svg width="9" height="9"><image href="file:///etc/passwd" width="9" height="9"/></svg>',
    ],
)
def test_injected_markup_cannot_make_the_pdf_renderer_fetch_anything(html: str) -> None:
    with pytest.raises(ResourceRefused):
        html_to_pdf(html)


# --- the PDF ---------------------------------------------------------------------------------


def test_the_pdf_is_byte_identical_across_renders(cash_pdf: bytes) -> None:
    assert cash_pdf.startswith(b"%PDF-")
    assert render_pdf(a_receipt()) == cash_pdf


def test_the_pdf_is_byte_identical_across_processes(cash_pdf: bytes) -> None:
    code = (
        "import hashlib, sys\n"
        "from tests.unit.test_receipt_render import a_receipt\n"
        "from receipts.render import render_pdf\n"
        "sys.stdout.write(hashlib.sha256(render_pdf(a_receipt())).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            check=True,
            capture_output=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.decode()
        for seed in ("1", "2")
    }
    assert digests == {hashlib.sha256(cash_pdf).hexdigest()}


def test_the_pdf_is_dated_by_the_issue_date_not_the_clock(cash_pdf: bytes) -> None:
    info = PdfReader(io.BytesIO(cash_pdf)).metadata
    assert info is not None
    assert info["/CreationDate"] == "D:20260306"
    assert info["/ModDate"] == "D:20260306"
    assert info["/Title"] == "捐赠收据 HQ-2026-000123"


@needs_poppler
def test_the_pdf_text_has_the_chinese_donor_serial_and_capitals(
    cash_pdf: bytes, tmp_path: Path
) -> None:
    text = squeeze(pdf_text(cash_pdf, tmp_path))
    for expected in ["王秀英", "HQ-2026-000123", "壹万贰仟元整", "人民币（大写）", "¥12,000.00"]:
        assert expected in text, expected
    assert "下载PDF" not in text and "简体中文" not in text  # no web chrome in the PDF


@needs_poppler
def test_a_hostile_donor_name_is_printed_as_text_in_the_pdf(tmp_path: Path) -> None:
    pdf = render_pdf(a_receipt(donor_name=HOSTILE_NAME))  # a live <img> would be refused
    assert squeeze(HOSTILE_NAME) in squeeze(pdf_text(pdf, tmp_path))


@needs_poppler
def test_a_void_pdf_says_void_and_why(tmp_path: Path) -> None:
    view = a_receipt(status="void", void_reason="金额录入错误", replaced_by_serial="HQ-2026-000130")
    text = squeeze(pdf_text(render_pdf(view), tmp_path))
    assert "作废本收据已作废" in text and "VOID" not in text
    assert "作废原因：金额录入错误" in text
    assert "HQ-2026-000130" in text


@needs_poppler
@pytest.mark.parametrize(
    ("name", "view"),
    [
        ("zh-Hans", a_receipt()),
        ("zh-Hant", a_foreign_gift()),
        ("en", an_in_kind_gift()),
        ("void", a_receipt(status="void", void_reason="金额录入错误", language="en")),
    ],
)
def test_a_normal_receipt_fits_one_a4_page_and_is_written_as_png(
    name: str, view: ReceiptView, tmp_path: Path
) -> None:
    pdf = render_pdf(view)
    assert page_count(pdf) == 1
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    width_mm, height_mm = (float(v) * 25.4 / 72 for v in page.mediabox.upper_right)
    assert (round(width_mm), round(height_mm)) == (210, 297)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    source = tmp_path / f"receipt.{name}.pdf"
    source.write_bytes(pdf)
    (ARTIFACTS / f"receipt.{name}.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-singlefile",
            str(source),
            str(ARTIFACTS / f"receipt.{name}"),
        ],
        check=True,
    )
    assert (ARTIFACTS / f"receipt.{name}.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "module", ["receipts.model", "receipts.numerals", "receipts.i18n", "receipts.render"]
)
def test_every_name_the_receipt_modules_export_exists(module: str) -> None:
    imported = importlib.import_module(module)
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.{name}"


def test_every_message_exists_in_all_three_languages_with_the_same_placeholders() -> None:
    keys = {language: set(catalogue) for language, catalogue in MESSAGES.items()}
    assert keys["zh-Hans"] == keys["zh-Hant"] == keys["en"]
    for key in keys["en"]:
        fields = {
            language: set(re.findall(r"\{(\w+)\}", MESSAGES[language][key]))
            for language in MESSAGES
        }
        assert fields["zh-Hans"] == fields["zh-Hant"] == fields["en"], key
