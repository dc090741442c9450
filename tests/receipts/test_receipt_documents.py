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
from tests.receipts.conftest import Caller, path_of


def test_a_credit_code_is_checked_with_the_gb_32100_check_character() -> None:
    assert is_valid_credit_code("91350100M000100Y43")  # the standard's worked example
    assert check_character("91350100M000100Y4") == "3"
    assert not is_valid_credit_code("91350100M000100Y44")
    assert not is_valid_credit_code("91350100M000100Y4")  # 17 characters
    assert not is_valid_credit_code("91350100M000100I43")  # I is not in the alphabet


def test_the_demo_issuers_have_valid_codes_that_no_real_organisation_can_hold() -> None:
    reference = json.loads(Path("cli/demo_data/reference.json").read_text(encoding="utf-8"))
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
    (spec,) = [a.get_object() for a in root["/AF"]]
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
    again = officer.post(url, json=body)
    assert again.status_code == 409


@pytest.mark.parametrize("code", ["", "x" * 61, "51 01"])
def test_a_malformed_fiscal_reference_is_refused(
    gift: dict[str, Any], officer: Caller, code: str
) -> None:
    url = f"/api/v1/receipts/{gift['receipt']['serial']}/fiscal-reference"
    assert officer.post(url, json={"code": code, "number": "1"}).status_code in (400, 422)
