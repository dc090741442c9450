"""The receipt use cases without the web: what the CLI and the importer call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flask import Flask

from ledger import services
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork
from tests.receipts.conftest import BASE, TODAY, Books, Caller
from usecases import receipts
from usecases.books import Books as TheBooks

ROOT = Path(__file__).parents[2]


def serial(n: int) -> str:
    return f"HQ-{TODAY.year}-{n:06d}"


def _the_books(app: Flask) -> TheBooks:
    books: TheBooks = app.extensions["huiquan"].books
    return books


def _gift_without_receipt(app: Flask, books: Books, amount: str) -> str:
    with UnitOfWork(_the_books(app).engine) as uow:
        entry = services.record_donation(
            uow,
            donor_id=books.donor,
            fund=books.restricted,
            amount=Money.parse(amount, "CNY"),
            received_on=TODAY,
            maker="demo",
        )
        uow.commit()
    return entry.id


def test_the_receipts_of_standing_gifts_are_issued_once_and_reversed_gifts_get_none(
    app: Flask, books: Books, officer: Caller
) -> None:
    _gift_without_receipt(app, books, "100.00")
    reversed_gift = _gift_without_receipt(app, books, "50.00")
    with UnitOfWork(_the_books(app).engine) as uow:
        services.reverse(uow, entry_id=reversed_gift, reason="重复", maker="demo")
        uow.commit()
    issued = receipts.issue_receipts_of_standing_gifts(_the_books(app))
    assert [link.serial for link in issued] == [serial(1)]
    again = receipts.issue_receipts_of_standing_gifts(_the_books(app))
    assert again == issued  # the same receipt and the same link, never a second serial
    urls = issued[0].urls(BASE)
    assert urls["pdf_url"] == f"{urls['url']}.pdf" and urls["url"].startswith(f"{BASE}/r/")


def test_the_use_cases_import_no_web_framework() -> None:
    code = (
        "import sys, usecases.gifts, usecases.receipts, usecases.reference, "
        "usecases.corrections, usecases.spending, usecases.scholarships, usecases.pledges; "
        "print(sorted(m for m in ('flask', 'werkzeug', 'marshmallow', 'api') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
