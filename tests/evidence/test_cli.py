"""`huiquan reconcile` and `huiquan evidence`: the report, the exit status, re-imports, verify."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine

from ledger import services
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork
from tests.evidence.files import pdf
from tests.integration.test_cli_support import huiquan

SAMPLE = Path(__file__).parent / "data" / "camt053_sample.xml"


def _books(engine: Engine) -> str:
    with UnitOfWork(engine) as uow:
        services.open_fund(uow, code="F", name="Fund", restricted=False)
        donor = services.register_donor(uow, name="Donor")
        gift = services.record_donation(
            uow,
            donor_id=donor.id,
            fund="F",
            amount=Money.parse("1000.00", "CNY"),
            received_on=dt.date(2026, 11, 2),
            memo="HQ-DON-0001",
        )
        uow.commit()
    return gift.id


def test_reconcile_prints_the_report_and_fails_while_lines_are_unmatched(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    _books(engine)
    home = tmp_path / "home"
    first = huiquan(database_url, home, "reconcile", str(SAMPLE), "--fund", "F", "--no-progress")
    assert first.exit_code == 1
    assert "closing balance (bank)" in first.output and "695.00" in first.output
    assert "unmatched line 3: 2026-11-30 -5.00" in first.output
    again = huiquan(database_url, home, "reconcile", str(SAMPLE), "--fund", "F", "--no-progress")
    assert "(already imported)" in again.output


def test_evidence_attach_then_verify(database_url: str, engine: Engine, tmp_path: Path) -> None:
    gift = _books(engine)
    home = tmp_path / "home"
    document = tmp_path / "invoice.pdf"
    document.write_bytes(pdf(b"% invoice"))
    attached = huiquan(
        database_url, home, "evidence", "attach", gift, str(document), "--kind", "invoice"
    )
    assert attached.exit_code == 0, attached.output
    verified = huiquan(database_url, home, "evidence", "verify")
    assert verified.exit_code == 0 and "chain intact" in verified.output
    listed = huiquan(database_url, home, "evidence", "list", gift)
    assert "invoice.pdf" in listed.output
