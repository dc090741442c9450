"""Text already in the books never breaks an export (issue #13, "Trust", failure 1).

The rows here are written straight through the ledger's services, past every entrance that now
refuses control characters: the state a database holds when such a row got in before the rule
(or by hand). Every format must still come out, with the character shown as a visible escape,
and text a spreadsheet would run as a formula neutralised, line breaks in front or not.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine

from audits.exports import csv_chunks, jsonl_chunks, neutralise, write_xlsx
from audits.opendata import grants_csv, iati_xml, required_problems
from audits.statements import KINDS, Params, statement_csv, statements_from_db
from ledger import services
from tests.api import conftest as api_fixtures
from tests.builders import DAY, Books
from tests.integration.test_cli_support import huiquan

globals().update(
    {name: getattr(api_fixtures, name) for name in "app_config app client tokens".split()}
    | {"auditor": api_fixtures.auditor}
)

ESC = "esc\x1bhere"
FORMULA = '\n=HYPERLINK("http://evil.example","click")'
RAW_CONTROLS = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)]


@pytest.fixture
def dirty(engine: Engine) -> Engine:
    """Books holding a memo with ESC, a memo that is a formula after a line break, and a project
    whose name carries a BEL and starts a formula."""
    books = Books(engine)
    books.fund("LUHUO")
    books.run(
        services.open_project,
        code="CLINIC",
        name="=1+1 交纳\x07村卫生室",
        fund="LUHUO",
        county="炉霍县\x1b",
    )
    donor = books.donor("王\x1b秀英")
    books.donate("1000.00", donor=donor, memo=ESC)
    books.disburse("100.00", memo=FORMULA)
    return engine


def _no_raw_controls(text: str) -> None:
    assert not any(c in text for c in RAW_CONTROLS), repr(text)


def test_the_formula_guard_sees_through_leading_whitespace_and_line_breaks() -> None:
    for value in ("\n=HYPERLINK(1)", " \r\n+1", "\u3000@SUM(A1)", "\t-2", "\r=1"):
        assert neutralise(value).startswith("'")
    for value in ("memo", "\nplain", "", "12.50"):
        assert neutralise(value) == value


def test_the_csv_export_escapes_and_neutralises(dirty: Engine) -> None:
    with dirty.connect() as conn:
        text = b"".join(csv_chunks(conn)).decode("utf-8")
    _no_raw_controls(text)
    rows = list(csv.reader(io.StringIO(text)))
    memos = [row[rows[0].index("memo")] for row in rows[1:-1]]
    assert "esc\\u001bhere" in memos
    assert "'" + FORMULA in memos


def test_the_jsonl_export_escapes(dirty: Engine) -> None:
    with dirty.connect() as conn:
        lines = b"".join(jsonl_chunks(conn)).decode("utf-8").splitlines()
    memos = {json.loads(line).get("memo") for line in lines[1:]}
    assert "esc\\u001bhere" in memos and FORMULA in memos


def test_the_xlsx_export_is_written_escaped_and_neutralised(dirty: Engine) -> None:
    out = io.BytesIO()
    with dirty.connect() as conn:
        write_xlsx(conn, out)
    sheet = load_workbook(io.BytesIO(out.getvalue()), read_only=True)["journal"]
    rows = list(sheet.iter_rows(values_only=True))
    memos = {row[rows[0].index("memo")] for row in rows[1:]}
    assert "esc\\u001bhere" in memos
    assert "'" + FORMULA in memos


def test_the_iati_xml_is_well_formed_and_shows_the_character(dirty: Engine) -> None:
    with dirty.connect() as conn:
        xml = iati_xml(conn, as_of=DAY)
    assert required_problems(xml) == []
    titles = [n.text for n in ET.fromstring(xml).iter("narrative")]
    assert "=1+1 交纳\\u0007村卫生室" in titles


def test_the_grants_csv_escapes_and_neutralises(dirty: Engine) -> None:
    with dirty.connect() as conn:
        text = grants_csv(conn, as_of=DAY)
    _no_raw_controls(text)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and rows[0]["Title"] == "'=1+1 交纳\\u0007村卫生室"
    assert rows[0]["Amount Awarded"] == "100.00"


def test_every_statement_csv_comes_out_without_a_raw_control(dirty: Engine) -> None:
    with dirty.connect() as conn:
        statements, _ = statements_from_db(conn, Params.make(as_of=DAY, today=DAY))
    assert set(statements) == set(KINDS)
    for statement in statements.values():
        _no_raw_controls(statement_csv(statement))


def test_the_api_exports_every_format(dirty: Engine, auditor: api_fixtures.Caller) -> None:
    for fmt in ("csv", "jsonl", "xlsx"):
        response = auditor.get(f"/api/v1/exports/journal.{fmt}")
        assert response.status_code == 200, (fmt, response.get_data(as_text=True)[:300])


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xlsx"])
def test_the_cli_exports_every_format(
    dirty: Engine, database_url: str, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / f"journal.{fmt}"
    result = huiquan(
        database_url, tmp_path / "home", "export", "journal", "--format", fmt, "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 0
