"""Documents people keep: issuer codes, the PDF/A receipt on one page, fiscal references."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from receipts.issuers import check_character, is_valid_credit_code, org_code_check
from receipts.numerals import to_chinese_capital
from receipts.proof import ATTACHMENT_NAME, extract_from_pdf
from tests.receipts.conftest import TODAY, Caller, path_of

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "receipts"


def test_a_credit_code_is_checked_with_the_gb_32100_check_character() -> None:
    assert is_valid_credit_code("91350100M000100Y43")  # the standard's worked example
    assert check_character("91350100M000100Y4") == "3"
    assert not is_valid_credit_code("91350100M000100Y44")
    assert not is_valid_credit_code("91350100M000100Y4")  # 17 characters
    assert not is_valid_credit_code("91350100M000100I43")  # I is not in the alphabet


def test_the_demo_issuers_have_valid_codes_that_no_real_organisation_can_hold() -> None:
    reference = json.loads(Path("cli/demo_data/issuers.json").read_text(encoding="utf-8"))
    for issuer in reference["issuers"]:
        code = issuer["registration_no"]
        assert issuer["demo"] is True and is_valid_credit_code(code), code
        # The embedded organisation code fails its own GB 11714 check: never a real one.
        assert org_code_check(code[8:16]) != code[16], code


def test_traditional_capitals_use_the_traditional_forms() -> None:
    assert (
        to_chinese_capital(1_234_567_800, traditional=True) == "壹仟貳佰參拾肆萬伍仟陸佰柒拾捌元整"
    )
    assert to_chinese_capital(10_000_000_000_000, traditional=True) == "壹仟億元整"
    assert to_chinese_capital(1_234_567_800) == "壹仟贰佰叁拾肆万伍仟陆佰柒拾捌元整"


def test_the_receipt_pdf_is_one_page_pdf_a_3b_with_the_proof_as_an_associated_file(
    gift: dict[str, Any], client: Any
) -> None:
    from pypdf import PdfReader

    pdf = client.get(path_of(gift["receipt"]["pdf_url"])).data
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    intents = root["/OutputIntents"]
    assert intents[0].get_object()["/S"] == "/GTS_PDFA1"
    # WeasyPrint 70 lists the one file spec twice in /AF (from the name tree and its scan).
    (number,) = {a.idnum for a in root["/AF"]}
    spec = reader.get_object(number)
    assert spec["/AFRelationship"] == "/Data" and spec["/F"] == ATTACHMENT_NAME
    assert json.loads(extract_from_pdf(pdf))["claims"]["serial"] == gift["receipt"]["serial"]
    fonts = [f.get_object() for page in reader.pages for f in page["/Resources"]["/Font"].values()]
    for font in fonts:
        descriptor = (
            font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            if "/DescendantFonts" in font
            else font["/FontDescriptor"]
        )
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font


def test_a_fiscal_reference_is_appended_once_and_shown_on_the_receipt(
    gift: dict[str, Any], officer: Caller, client: Any
) -> None:
    serial = gift["receipt"]["serial"]
    url = f"/api/v1/receipts/{serial}/fiscal-reference"
    body = {"code": "51010125", "number": "0001234567"}
    recorded = officer.created(url, body)
    assert recorded["code"] == "51010125" and recorded["number"] == "0001234567"
    page = client.get(path_of(gift["receipt"]["url"])).get_data(as_text=True)
    assert "51010125" in page and "0001234567" in page
    assert officer.post(url, json=body).status_code == 201  # a replay answers the same record
    again = officer.post(url, json={**body, "number": "0001234568"})
    assert again.status_code == 409


@pytest.mark.parametrize("code", ["", "x" * 61, "51 01"])
def test_a_malformed_fiscal_reference_is_refused(
    gift: dict[str, Any], officer: Caller, code: str
) -> None:
    url = f"/api/v1/receipts/{gift['receipt']['serial']}/fiscal-reference"
    assert officer.post(url, json={"code": code, "number": "1"}).status_code in (400, 422)


def _page_text(client: Any, url: str, lang: str = "zh-Hans") -> str:
    return str(client.get(path_of(url) + f"?lang={lang}").get_data(as_text=True))


def _pdf_text(pdf: bytes) -> tuple[int, str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "".join(page.extract_text() for page in reader.pages)


def _award_and_pay(officer: Caller, fund: str, beneficiary: str, amount: str, term: str) -> None:
    award = officer.created(
        "/api/v1/scholarship-awards",
        {
            "fund": fund,
            "beneficiary_id": beneficiary,
            "amount": amount,
            "currency": "CNY",
            "term": term,
        },
    )
    officer.created(
        "/api/v1/scholarship-payouts",
        {"award_id": award["id"], "amount": amount, "paid_on": TODAY.isoformat()},
    )


LONG_DONOR = (
    "中国民主促进会成都市锦江区基层委员会沙河街道惠泉路社区支部暨返乡创业青年联合会全体会员"
)
LONG_PURPOSE = (
    "资助甘孜州炉霍县、阿坝州壤塘县和凉山州昭觉县困境女童返校就读的助学金，以及寄宿制学校热水设施、"
    "冬季校服、学校图书角、乡村医生培训和村卫生室建设等教育与医疗帮扶项目，按项目进度分期拨付"
)


def test_the_longest_receipt_still_fits_one_a4_page_with_its_signature_and_qr_code(
    admin: Caller, officer: Caller, client: Any
) -> None:
    admin.created(
        "/api/v1/funds",
        {"code": "LONG", "name": "锦炉爱心助学基金", "restricted": True, "purpose": LONG_PURPOSE},
    )
    places = ["炉霍县", "壤塘县", "昭觉县", "简阳市", "色达县", "理塘县"]
    for n in range(10):
        admin.created(
            "/api/v1/projects",
            {
                "code": f"P{n}",
                "name": f"寄宿制学校热水设施与冬季校服第{n + 1}期",
                "fund": "LONG",
                "county": places[n % len(places)],
            },
        )
    donor = officer.created("/api/v1/donors", {"name": LONG_DONOR, "kind": "organisation"})
    gift = officer.created(
        "/api/v1/donations",
        {
            "donor_id": donor["id"],
            "fund": "LONG",
            "amount": "987654.32",
            "currency": "CNY",
            "received_on": TODAY.isoformat(),
        },
    )
    for n in range(10):
        officer.created(
            "/api/v1/disbursements",
            {
                "fund": "LONG",
                "project": f"P{n}",
                "amount": f"{1000 + n}.00",
                "currency": "CNY",
                "paid_on": TODAY.isoformat(),
            },
        )
    for n, term in enumerate(["2024秋", "2025春", "2025秋", "2026春"]):
        student = officer.created(
            "/api/v1/beneficiaries",
            {"cohort": f"锦炉助学 {term}", "county": places[n], "personal": {"name": "某某"}},
        )
        _award_and_pay(officer, "LONG", student["id"], "800.00", term)
    serial = gift["receipt"]["serial"]
    officer.created(f"/api/v1/receipts/{serial}/void", {"reason": "捐赠人名称有误，" * 6})
    for lang in ("zh-Hans", "zh-Hant", "en"):
        pdf = client.get(path_of(gift["receipt"]["pdf_url"]) + f"?lang={lang}").data
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"receipt.longest.{lang}.pdf").write_bytes(pdf)  # to look at
        pages, text = _pdf_text(pdf)
        assert pages == 1, lang
        # Everything a donor needs is on the page: the void notice, the last line of where
        # the gift went, the signatory and the verification link of the QR code.
        assert serial in text
        assert "作废" in text or "作廢" in text or "VOID" in text, lang
        assert "/verify?serial=" in text.replace("\n", ""), lang


def test_the_annual_receipt_shows_the_same_spending_as_the_gift_receipt_it_covers(
    officer: Caller, books: Any, client: Any
) -> None:
    from tests.receipts.conftest import give

    gift = give(officer, books, "5000.00")
    officer.created(
        "/api/v1/disbursements",
        {
            "fund": books.restricted,
            "project": books.project,
            "amount": "5000.00",
            "currency": "CNY",
            "paid_on": TODAY.isoformat(),
        },
    )
    annual = officer.created(f"/api/v1/donors/{books.donor}/annual-receipts/{TODAY.year}", None)
    gift_page = _page_text(client, gift["receipt"]["url"])
    annual_page = _page_text(client, annual["url"])
    for page in (gift_page, annual_page):
        assert "炉霍助学 · 炉霍县" in page and "¥5,000.00" in page
        assert "善款尚未拨付" not in page


def test_where_my_gift_went_folds_fees_and_counts_students_without_naming_them() -> None:
    import datetime as dt

    from receipts.allocation import Slice, fold

    day = dt.date(2024, 9, 9)
    slices = [
        Slice(day, "fee", "", "", 47_00, "CNY"),
        Slice(day, "scholarship", "2024秋", "甘孜州炉霍县", 2000_00, "CNY", beneficiary="B-1"),
        Slice(day, "scholarship", "2024秋", "甘孜州炉霍县", 2000_00, "CNY", beneficiary="B-2"),
        Slice(day, "project", "交纳村卫生室建设", "甘孜州炉霍县", 300_00, "CNY"),
        Slice(day + dt.timedelta(days=30), "fee", "", "", 31_00, "CNY"),
        Slice(day, "scholarship", "2024秋", "甘孜州炉霍县", 748_00, "CNY", beneficiary="B-3"),
        Slice(day, "scholarship", "2024秋", "甘孜州炉霍县", 100_00, "CNY", beneficiary="B-1"),
    ]
    lines = fold(slices)
    assert [(g.kind, g.amount_minor, g.count) for g in lines] == [
        ("scholarship", 4848_00, 3),
        ("project", 300_00, 0),
        ("fee", 78_00, 0),
    ]
    assert sum(g.amount_minor for g in lines) == sum(s.amount_minor for s in slices)
    assert lines[-1].first == day and lines[-1].last == day + dt.timedelta(days=30)


@pytest.mark.parametrize(
    ("lang", "expected", "absent"),
    [
        ("zh-Hans", "助学金 · 炉霍县 · 2024 秋 · 3 名学生", "Scholarship"),
        ("zh-Hant", "助學金 · 爐霍縣 · 2024 秋 · 3 名學生", "Scholarship"),
        ("en", "Scholarships · Luhuo County · Autumn 2024 · 3 students", "助学金"),
    ],
)
def test_a_scholarship_line_reads_in_the_receipts_language(
    lang: str, expected: str, absent: str
) -> None:
    import datetime as dt

    from receipts.i18n import BABEL_LOCALES, messages
    from receipts.model import AllocationLine
    from receipts.render import _where_line

    line = AllocationLine(
        dt.date(2024, 9, 9), "2024秋", "甘孜州炉霍县", 4748_00, "CNY", kind="scholarship", count=3
    )
    shown = _where_line(line, messages(lang), lang, BABEL_LOCALES[lang])  # type: ignore[arg-type]
    assert shown["what"] == expected and absent not in shown["what"]
    fee = AllocationLine(dt.date(2024, 1, 31), "", "", 252_00, "CNY", kind="fee")
    assert "bank fee" not in _where_line(fee, messages(lang), lang, BABEL_LOCALES[lang])["what"]


DEMO_CODE = "535100000000000108"  # the demo data's 四川省华成慈善基金会 (a made-up code)


def test_a_receipt_takes_the_issuer_of_its_fund_and_keeps_it_when_the_fund_moves(
    admin: Caller, officer: Caller, auditor: Caller, books: Any, client: Any
) -> None:
    from tests.receipts.conftest import give

    before = give(officer, books, "100.00")
    assert "本基金的开具机构尚未配置" in _page_text(client, before["receipt"]["url"])
    made = admin.created(
        "/api/v1/issuers",
        {"code": "HC", "name": "四川省华成慈善基金会", "registration_no": DEMO_CODE, "demo": True},
    )
    assert made == {
        "code": "HC",
        "name": "四川省华成慈善基金会",
        "registration_no": DEMO_CODE,
        "seal_text": "四川省华成慈善基金会",
        "demo": True,
        "funds": [],
    }
    listed = auditor.get("/api/v1/issuers").get_json()
    assert books.restricted in listed["unassigned_funds"]
    put = admin.client.put(
        f"/api/v1/funds/{books.restricted}/issuer", json={"issuer": "HC"}, headers=admin.headers()
    )
    assert put.status_code == 200 and put.get_json()["issuer"]["funds"] == [books.restricted]
    after = give(officer, books, "200.00")
    page = _page_text(client, after["receipt"]["url"])
    assert "四川省华成慈善基金会" in page and DEMO_CODE in page and "演示数据" in page
    assert "尚未配置" not in page
    # The earlier receipt was issued before the assignment: it keeps saying so.
    assert "本基金的开具机构尚未配置" in _page_text(client, before["receipt"]["url"])


def test_an_issuer_with_a_wrong_check_character_is_refused(admin: Caller, officer: Caller) -> None:
    body = {"code": "X", "name": "某基金会", "registration_no": DEMO_CODE[:-1] + "9"}
    assert admin.post("/api/v1/issuers", json=body).status_code == 422
    assert (
        officer.post("/api/v1/issuers", json={**body, "registration_no": DEMO_CODE}).status_code
        == 403
    )


def _pledge(officer: Caller, books: Any, amount: str, **fields: Any) -> dict[str, Any]:
    body = {
        "donor_id": books.donor,
        "fund": books.restricted,
        "amount": amount,
        "currency": "CNY",
        **fields,
    }
    return officer.created("/api/v1/pledges", body)


def test_a_pledge_gets_an_acknowledgment_of_its_own_gapless_series_not_a_receipt(
    officer: Caller, books: Any, client: Any
) -> None:
    first = _pledge(officer, books, "30000.00")
    second = _pledge(officer, books, "500.00", conditional=True)
    year = TODAY.year
    assert first["acknowledgment"]["serial"] == f"HQP-{year}-000001"
    assert second["acknowledgment"]["serial"] == f"HQP-{year}-000002"
    assert "receipt" not in first or first.get("receipt") is None
    page = client.get(path_of(first["acknowledgment"]["url"]) + "?lang=zh-Hant")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "認捐確認函" in html and "參萬元整" in html
    assert "不是捐贈收據" in html and f"HQP-{year}-000001" in html
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    pdf = client.get(path_of(first["acknowledgment"]["pdf_url"])).data
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "acknowledgment.zh-Hans.pdf").write_bytes(pdf)  # to look at
    pages, text = _pdf_text(pdf)
    assert pages == 1 and "认捐确认函" in text.replace(" ", "") and "叁万元整" in text
    # The receipts' own series is untouched: the next gift's receipt is still number one.
    from tests.receipts.conftest import give

    assert give(officer, books, "1.00")["receipt"]["serial"] == f"HQ-{year}-000001"


def test_a_replayed_pledge_shows_the_same_acknowledgment(officer: Caller, books: Any) -> None:
    body = {"donor_id": books.donor, "fund": books.restricted, "amount": "10.00", "currency": "CNY"}
    one = officer.post("/api/v1/pledges", body, key="pledge-ack-1").get_json()
    two = officer.post("/api/v1/pledges", body, key="pledge-ack-1").get_json()
    assert one["acknowledgment"] == two["acknowledgment"]
    assert one["acknowledgment"]["serial"].endswith("-000001")


def test_an_unknown_acknowledgment_link_is_the_same_404(client: Any) -> None:
    for name in ("A" * 32, "A" * 32 + ".pdf", "nope", "A" * 32 + ".json"):
        assert client.get(f"/r/p/{name}").status_code == 404


OTHER_CODE = "535100000000000209"  # a second made-up demo code (its GB 11714 check fails)


def test_a_donor_who_gave_to_funds_of_two_issuers_gets_one_annual_receipt_from_each(
    admin: Caller, officer: Caller, books: Any, client: Any
) -> None:
    from receipts.issuers import is_valid_credit_code
    from tests.receipts.conftest import give

    assert is_valid_credit_code(OTHER_CODE)
    for code, name, number, fund in (
        ("HC", "四川省华成慈善基金会", DEMO_CODE, books.restricted),
        ("JJ", "锦基金（演示）", OTHER_CODE, books.general),
    ):
        admin.created(
            "/api/v1/issuers",
            {"code": code, "name": name, "registration_no": number, "demo": True},
        )
        put = admin.client.put(
            f"/api/v1/funds/{fund}/issuer", json={"issuer": code}, headers=admin.headers()
        )
        assert put.status_code == 200
    restricted = [give(officer, books, "100.00"), give(officer, books, "250.00")]
    general = give(officer, books, "40.00", fund=books.general)
    url = f"/api/v1/donors/{books.donor}/annual-receipts/{TODAY.year}"
    annual = officer.created(url, None, key="annual-2-issuers")
    assert officer.created(url, None, key="annual-2-issuers") == annual  # a replay
    assert annual["issuer"] == "HC" and annual["total_cny"] == "350.00"
    assert annual["covers"] == [g["receipt"]["serial"] for g in restricted]
    [other] = annual["others"]
    assert other["issuer"] == "JJ" and other["total_cny"] == "40.00"
    assert other["covers"] == [general["receipt"]["serial"]]
    first, second = _page_text(client, annual["url"]), _page_text(client, other["url"])
    assert DEMO_CODE in first and OTHER_CODE not in first
    assert OTHER_CODE in second and DEMO_CODE not in second and "锦基金（演示）" in second
    # every issuer is covered now: asking again is refused
    again = officer.post(url, json=None)
    assert again.status_code == 409
