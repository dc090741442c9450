"""The forms' 编制单位: the fund's issuer, else the books' configured issuer, else the platform."""

from __future__ import annotations

from pathlib import Path

from audits.opendata import PLACEHOLDER_ORG_REF
from usecases.books import open_books
from usecases.issuers import add_issuer, assign_issuer
from usecases.statements import preparer
from usecases.unit import SYSTEM

DEMO_USCC = "91510104MA62N8Q0XU"  # made up, valid check character


def test_a_funds_statements_are_prepared_by_its_issuer_marked_demo(engine, worked, tmp_path: Path):
    books = open_books(engine, tmp_path, writer_gate=False)
    platform = preparer(books)
    assert preparer(books, "LUHUO") == platform  # no issuer assigned yet
    assert platform.org_ref == PLACEHOLDER_ORG_REF and not platform.identified
    add_issuer(
        books,
        code="HUACHENG",
        name="四川省华成慈善基金会",
        registration_no=DEMO_USCC,
        demo=True,
        by=SYSTEM,
    )
    assign_issuer(books, "LUHUO", "HUACHENG", by=SYSTEM)
    luhuo = preparer(books, "LUHUO")
    assert luhuo.name == "四川省华成慈善基金会（演示 demo）"
    assert luhuo.org_ref == f"CN-USCC-{DEMO_USCC}"
    assert preparer(books, "GENERAL") == platform
