"""What donors see: receipts rendered to PNG and compared with reviewed reference images.

The references live in `tests/golden/receipts/png/` and were looked at before they were
committed. A render may drift by a few anti-aliased pixels (font hinting, zlib), so a page
passes when at most `TOLERANCE` of its pixels differ by more than `THRESHOLD` in any channel.
Regenerate after a reviewed change with `UPDATE_GOLDEN=1` (and look at every image).
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from receipts.model import AcknowledgmentView, AllocationLine
from receipts.render import render_acknowledgment_pdf, render_pdf
from tests.unit.test_receipt_render import a_foreign_gift, a_receipt, an_annual_receipt

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="needs poppler-utils")

REFERENCES = Path(__file__).resolve().parents[1] / "golden" / "receipts" / "png"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "receipts"
DPI = 50
THRESHOLD = 48  # a channel difference a reader could notice
TOLERANCE = 0.00003  # of the page's pixels (~7): one changed digit moves ~0.01%

WHERE = (
    AllocationLine(
        date(2024, 9, 9),
        "2024秋",
        "甘孜州炉霍县",
        474_800,
        "CNY",
        kind="scholarship",
        last_date=date(2024, 9, 11),
        count=3,
    ),
    AllocationLine(date(2024, 10, 8), "交纳村卫生室建设", "甘孜州炉霍县", 200_000, "CNY"),
    AllocationLine(
        date(2024, 1, 31), "", "", 25_200, "CNY", kind="fee", last_date=date(2024, 8, 31)
    ),
)
DEMO = {
    "issuer_name": "四川省华成慈善基金会",
    "issuer_registration_no": "535100000000000108",
    "issuer_seal_text": "四川省华成慈善基金会",
    "issuer_demo": True,
}


def gift_zh_hans() -> bytes:
    return render_pdf(dataclasses.replace(a_receipt(where_it_went=WHERE), **DEMO))


def foreign_zh_hant() -> bytes:
    return render_pdf(dataclasses.replace(a_foreign_gift(where_it_went=WHERE), **DEMO))


def gift_en_unconfigured() -> bytes:
    view = a_receipt(
        where_it_went=WHERE,
        language="en",
        signing_officer="Alexandra Konstantinou-Featherstonehaugh",
    )
    return render_pdf(dataclasses.replace(view, issuer_registration_no="", issuer_configured=False))


def void_zh_hans() -> bytes:
    view = a_receipt(
        status="void",
        void_reason="捐赠人名称录入错误",
        replaced_by_serial="HQ-2026-000130",
        where_it_went=WHERE,
    )
    return render_pdf(dataclasses.replace(view, **DEMO))


def annual_zh_hans() -> bytes:
    return render_pdf(dataclasses.replace(an_annual_receipt(where_it_went=WHERE), **DEMO))


def acknowledgment_zh_hant() -> bytes:
    return render_acknowledgment_pdf(
        AcknowledgmentView(
            serial="HQP-2026-000001",
            issued_on=date(2026, 3, 6),
            pledged_on=date(2026, 3, 6),
            due_on=date(2026, 12, 31),
            donor_name="陳美玲",
            amount_minor=3_000_000,
            currency="CNY",
            fund_name="锦炉爱心助学基金",
            fund_purpose="资助甘孜州炉霍县困难家庭女童返校就读",
            conditional=False,
            signing_officer="李建华",
            language="zh-Hant",
            issuer_configured=True,
            **DEMO,
        )
    )


CASES: dict[str, Callable[[], bytes]] = {
    "gift.zh-Hans": gift_zh_hans,
    "foreign.zh-Hant": foreign_zh_hant,
    "gift.en.unconfigured": gift_en_unconfigured,
    "void.zh-Hans": void_zh_hans,
    "annual.zh-Hans": annual_zh_hans,
    "acknowledgment.zh-Hant": acknowledgment_zh_hant,
}


def _png(pdf: bytes, tmp: Path, name: str) -> bytes:
    source = tmp / f"{name}.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(DPI), "-singlefile", str(source), str(tmp / name)],
        check=True,
    )
    return (tmp / f"{name}.png").read_bytes()


def _differing_share(one: bytes, two: bytes) -> float:
    from PIL import Image, ImageChops

    with Image.open(io.BytesIO(one)) as a, Image.open(io.BytesIO(two)) as b:
        if a.size != b.size:
            return 1.0
        diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
        worst = diff.point(lambda v: 255 if v > THRESHOLD else 0).convert("L")
        histogram = worst.histogram()
        return 1 - histogram[0] / (a.size[0] * a.size[1])


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_page_looks_like_its_reviewed_reference_image(name: str, tmp_path: Path) -> None:
    pdf = CASES[name]()
    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1, name
    png = _png(pdf, tmp_path, name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"look.{name}.png").write_bytes(png)
    reference = REFERENCES / f"{name}.png"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        REFERENCES.mkdir(parents=True, exist_ok=True)
        reference.write_bytes(png)
    assert reference.exists(), f"run with UPDATE_GOLDEN=1 to create {reference}, then look at it"
    share = _differing_share(png, reference.read_bytes())
    assert share <= TOLERANCE, f"{name}: {share:.2%} of pixels differ (see {ARTIFACTS})"


def test_a_changed_page_is_caught_by_the_comparison(tmp_path: Path) -> None:
    reference = _png(gift_zh_hans(), tmp_path, "a")
    changed = render_pdf(
        dataclasses.replace(a_receipt(where_it_went=WHERE, amount_minor=1_300_000), **DEMO)
    )
    assert _differing_share(_png(changed, tmp_path, "b"), reference) > TOLERANCE


def test_an_annual_receipt_of_a_monthly_donor_with_many_lines_still_fits_one_page() -> None:
    from pypdf import PdfReader

    from receipts.model import CoveredGift

    months = tuple(
        CoveredGift(f"HQ-2025-{n:06d}", date(2025, n, 1), 100_000, "CNY") for n in range(1, 13)
    )
    lines = tuple(
        AllocationLine(
            date(2025, n, 20), f"第{n}期寄宿制学校热水设施", "甘孜州炉霍县", 90_000, "CNY"
        )
        for n in range(1, 13)
    )
    view = an_annual_receipt(
        covered_gifts=months, where_it_went=lines, amount_minor=1_200_000, cny_minor=1_200_000
    )
    for lang in ("zh-Hans", "zh-Hant", "en"):
        pdf = render_pdf(view, language=lang)
        reader = PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) == 1, lang
        text = reader.pages[0].extract_text()
        # Folded, not lost: the first gift is listed and the rest are counted.
        assert "HQ-2025-000001" in text, lang
        assert any(word in text for word in ("其余", "其餘", "more gifts")), lang
