"""The auditor's journal export: every posting once, exact amounts, safe in a spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from audits.exports import (
    COLUMNS,
    ExportFilter,
    csv_chunks,
    iter_rows,
    jsonl_chunks,
    neutralise,
    rows_as_dicts,
    write_xlsx,
)
from ledger import services
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork
from ledger.tlog.keys import ensure_signing_key
from ledger.tlog.proofs import make_checkpoint


def _csv(conn, **kwargs) -> list[list[str]]:
    data = b"".join(csv_chunks(conn, **kwargs)).decode("utf-8")
    return list(csv.reader(io.StringIO(data, newline="")))


def test_every_posting_is_one_row_and_the_export_balances(engine, worked):
    with engine.connect() as conn:
        rows = rows_as_dicts(list(iter_rows(conn)))
        posted = conn.exec_driver_sql("SELECT COUNT(*) FROM postings").scalar_one()
    assert len(rows) == posted
    assert sum(Decimal(r["cny_value"]) for r in rows) == 0
    assert [(r["sequence"], r["line"]) for r in rows] == sorted(
        (r["sequence"], r["line"]) for r in rows
    )


def test_a_restricted_hkd_gift_keeps_its_original_amount_rate_and_cny_value(engine, worked):
    with engine.connect() as conn:
        rows = [r for r in rows_as_dicts(list(iter_rows(conn))) if r["entry_id"] == worked.hkd_gift]
    cash, income = rows
    assert (cash["account"], cash["debit"], cash["credit"], cash["currency"]) == (
        "1002-HKD",
        "10000.00",
        "",
        "HKD",
    )
    assert (cash["fx_rate"], cash["fx_source"], cash["cny_value"]) == (
        "0.92",
        "PBOC central parity",
        "9200.00",
    )
    assert (income["credit"], income["original_amount"], income["cny_value"]) == (
        "10000.00",
        "-10000.00",
        "-9200.00",
    )
    assert income["party"] == worked.hk_donor and income["restriction"] == "restricted"
    assert income["account_name_cn"] == "捐赠收入—限定性"
    assert income["account_name_us"] == "Contributions with donor restrictions"


def test_foreign_spending_shows_the_implied_carrying_rate(engine, worked):
    with engine.connect() as conn:
        rows = rows_as_dicts(list(iter_rows(conn)))
    spend = next(r for r in rows if r["account"] == "5101" and r["currency"] == "HKD")
    assert (spend["debit"], spend["fx_rate"], spend["fx_source"], spend["cny_value"]) == (
        "6000.00",
        "0.920000",
        "carrying rate",
        "5520.00",
    )
    assert spend["project"] == "CLINIC" and spend["functional_class"] == "program"


def test_a_reversal_and_its_original_point_at_each_other(engine, worked):
    with engine.connect() as conn:
        rows = rows_as_dicts(list(iter_rows(conn)))
    original = [r for r in rows if r["entry_id"] == worked.mistaken]
    reversal = [r for r in rows if r["entry_id"] == worked.reversal]
    assert {r["reversed_by"] for r in original} == {worked.reversal}
    assert {r["reverses"] for r in reversal} == {worked.mistaken}


def test_text_cells_that_look_like_formulas_are_neutralised_but_numbers_are_not(engine, worked):
    with engine.connect() as conn:
        table = _csv(conn)
    header, body = table[0], table[1:-1]
    memo, credit = header.index("memo"), header.index("original_amount")
    memos = {r[memo] for r in body if r[memo]}
    assert '\'=HYPERLINK("http://x") 设备' in memos
    assert "'-15000 手术设备" in memos
    assert any(r[credit].startswith("-") for r in body)
    assert neutralise("@SUM(A1)") == "'@SUM(A1)" and neutralise("\tx") == "'\tx"
    assert neutralise("炉霍") == "炉霍" and neutralise("") == ""


def test_the_csv_is_rfc4180_with_a_bom_option_and_a_rectangular_trailer(engine, worked):
    with engine.connect() as conn:
        raw = b"".join(csv_chunks(conn, bom=True))
        plain = b"".join(csv_chunks(conn, trailer=False))
    assert raw.startswith(b"\xef\xbb\xbfsequence,") and plain.startswith(b"sequence,")
    assert raw.count(b"\r\n") == raw.count(b"\n")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert {len(r) for r in table} == {len(COLUMNS)}
    assert table[-1][0] == "#checkpoint" and table[-1][1].startswith("journal_size=")
    assert len(list(csv.reader(io.StringIO(plain.decode(), newline="")))) == len(table) - 1


def test_every_export_names_the_checkpoint_it_was_taken_at(engine, worked, tmp_path):
    key = ensure_signing_key(tmp_path)
    with engine.begin() as conn:
        checkpoint = make_checkpoint(conn, key)
    with UnitOfWork(engine) as uow:  # one more entry after the checkpoint
        services.record_fee(
            uow, fund="GENERAL", amount=Money.parse("1", "CNY"), paid_on=dt.date(2026, 6, 2)
        )
        uow.commit()
    with engine.connect() as conn:
        trailer = _csv(conn)[-1]
        meta = json.loads(b"".join(jsonl_chunks(conn)).split(b"\n", 1)[0])
        buffer = io.BytesIO()
        write_xlsx(conn, buffer)
    root = checkpoint.to_dict()["root"]
    assert trailer[1:5] == [
        f"journal_size={checkpoint.size + 1}",
        "origin=huiquan-ledger",
        f"size={checkpoint.size}",
        f"root={root}",
    ]
    assert meta["journal_size"] == checkpoint.size + 1
    assert meta["checkpoint"]["size"] == checkpoint.size
    assert meta["checkpoint"]["signed"] == checkpoint.signed_text
    info = {r[0]: r[1] for r in load_workbook(buffer)["checkpoint"].iter_rows(values_only=True)}
    assert info["size"] == str(checkpoint.size) and info["root"] == root


def test_jsonl_rows_carry_amounts_as_strings_and_empty_amounts_as_null(engine, worked):
    with engine.connect() as conn:
        lines = b"".join(jsonl_chunks(conn)).decode().splitlines()
    rows = [json.loads(line) for line in lines[1:]]
    first = rows[0]
    assert list(first) == list(COLUMNS)
    assert first["debit"] == "50000.00" and first["credit"] is None and first["fx_rate"] is None
    assert isinstance(first["sequence"], int)


def test_xlsx_amounts_are_numbers_and_text_is_neutralised(engine, worked):
    buffer = io.BytesIO()
    with engine.connect() as conn:
        write_xlsx(conn, buffer, ExportFilter(fund="LUHUO"))
    sheet = load_workbook(buffer)["journal"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert list(header) == list(COLUMNS)
    cny = header.index("cny_value")
    assert all(isinstance(r[cny], int | float) for r in rows[1:])
    assert sum(Decimal(str(r[cny])) for r in rows[1:]) == 0
    memos = {r[header.index("memo")] for r in rows[1:]}
    assert "'-15000 手术设备" in memos
    assert {r[header.index("fund")] for r in rows[1:]} == {"LUHUO"}


@pytest.mark.parametrize(
    ("filters", "expected_funds", "balanced"),
    [
        (ExportFilter(fund="GENERAL"), {"GENERAL"}, True),
        (ExportFilter(period="2026-06"), {"GENERAL"}, True),
        (
            ExportFilter(date_from=dt.date(2026, 4, 12), date_to=dt.date(2026, 4, 13)),
            {"LUHUO"},
            True,
        ),
        (ExportFilter(project="CLINIC"), {"LUHUO"}, True),
        (ExportFilter(period="2025"), set(), True),
    ],
)
def test_filters_select_whole_balanced_sets(engine, worked, filters, expected_funds, balanced):
    with engine.connect() as conn:
        rows = rows_as_dicts(list(iter_rows(conn, filters, batch=7)))
    assert {r["fund"] for r in rows} == expected_funds
    assert (sum(Decimal(r["cny_value"]) for r in rows) == 0) is balanced


def test_the_project_filter_returns_every_line_of_the_entries_that_touch_it(engine, worked):
    with engine.connect() as conn:
        rows = rows_as_dicts(list(iter_rows(conn, ExportFilter(project="CLINIC"))))
    accounts = {r["account"] for r in rows}
    assert {"5101", "1002-CNY", "1002-HKD", "3101", "3102"} <= accounts
    assert len({r["entry_id"] for r in rows}) == 4


def test_a_receipt_serial_appears_on_its_entry_unless_voided(engine, worked):
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO receipts (serial, entry_id, donor_id, kind, issued_at, data) VALUES "
            f"('HQ-2026-000001', '{worked.hkd_gift}', '{worked.hk_donor}', 'gift', 't', '{{}}'),"
            f"('HQ-2026-000002', '{worked.hkd_gift}', '{worked.hk_donor}', 'gift', 't', '{{}}')"
        )
        conn.exec_driver_sql(
            "INSERT INTO receipt_voids (serial, reason, voided_at, voided_by) VALUES "
            "('HQ-2026-000001', 'wrong amount', 't', 'officer')"
        )
    with engine.connect() as conn:
        rows = rows_as_dicts(list(iter_rows(conn)))
    serials = {r["receipt_serial"] for r in rows if r["entry_id"] == worked.hkd_gift}
    assert serials == {"HQ-2026-000002"}
