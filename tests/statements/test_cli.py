"""`huiquan depreciate`, `huiquan export iati|grants` and the statement PDF, from the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from lxml import etree

from audits.opendata import GRANTS_HEADER
from ledger import services
from ledger.accounts import ACCUMULATED_DEPRECIATION
from tests.builders import Books, cny
from tests.integration.test_cli_support import huiquan


def _equipment(engine) -> str:
    b = Books(engine)
    b.fund("LUHUO")
    b.project("CLINIC")
    donor = b.donor("某医疗器械公司", kind="organisation")
    b.donate("1000", donor=donor)
    return b.run(
        services.record_in_kind_donation,
        donor_id=donor,
        fund="LUHUO",
        description="手术设备一批",
        quantity="1 批",
        fair_value=cny("2166000"),
        valuation_basis="invoice",
        received_on=dt.date(2026, 6, 18),
        asset="equipment",
    ).id


def _accumulated(engine) -> int:
    with engine.connect() as conn:
        return -sum(
            conn.exec_driver_sql(
                "SELECT amount FROM postings WHERE account = ?"
                if engine.dialect.name == "sqlite"
                else "SELECT amount FROM postings WHERE account = %s",
                (ACCUMULATED_DEPRECIATION,),
            ).scalars()
        )


def test_depreciate_posts_every_month_due_once(engine, database_url, tmp_path: Path):
    _equipment(engine)
    first = huiquan(database_url, tmp_path, "depreciate", "--through", "2026-11")
    assert first.exit_code == 0, first.output
    assert "5 month(s) posted over 1 asset(s), CNY 180,500.00" in first.stdout
    again = huiquan(database_url, tmp_path, "depreciate", "--through", "2026-11")
    assert again.exit_code == 0 and "0 month(s) posted" in again.stdout
    assert _accumulated(engine) == 5 * 3_610_000
    bad = huiquan(database_url, tmp_path, "depreciate", "--through", "2026-13")
    assert bad.exit_code == 2


def test_export_iati_and_grants_write_open_data(engine, database_url, tmp_path: Path):
    _equipment(engine)
    xml, grants = tmp_path / "iati.xml", tmp_path / "grants.csv"
    done = huiquan(database_url, tmp_path, "export", "iati", "-o", str(xml))
    assert done.exit_code == 0, done.output
    assert "placeholder" in done.stderr
    assert etree.parse(str(xml)).getroot().get("version") == "2.03"
    done = huiquan(database_url, tmp_path, "export", "grants", "-o", str(grants))
    assert done.exit_code == 0, done.output
    header = next(csv.reader(io.StringIO(grants.read_text(encoding="utf-8"))))
    assert header == GRANTS_HEADER


def test_the_statement_pdf_names_the_preparer(engine, database_url, tmp_path: Path):
    _equipment(engine)
    pdf = tmp_path / "position.pdf"
    done = huiquan(
        database_url, tmp_path, "statement", "financial-position", "--format", "pdf", "-o", str(pdf)
    )
    assert done.exit_code == 0, done.output
    assert pdf.read_bytes().startswith(b"%PDF")
