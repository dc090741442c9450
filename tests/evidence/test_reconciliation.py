"""Bank reconciliation: a camt.053 sample reconciled to zero, CSV layouts, re-imports, matching."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from pycamt.parser import Camt053Parser
from sqlalchemy import func, select

from ledger import services
from ledger.bank_statements import StatementRejected, read_camt053, read_csv
from ledger.money import Money
from ledger.reconcile import BookPosting, Line, match_lines
from ledger.storage.tables import bank_matches, journal_entries
from ledger.storage.unit_of_work import UnitOfWork
from usecases import reconciliation
from usecases.books import Books
from usecases.unit import Actor

SAMPLE = Path(__file__).parent / "data" / "camt053_sample.xml"
OFFICER = Actor("officer-1", ("officer",))


def test_our_camt_reader_agrees_with_an_independent_parser() -> None:
    ours = read_camt053(SAMPLE.read_bytes())
    theirs = Camt053Parser.from_file(str(SAMPLE))
    info = theirs.get_statement_info()[0]
    assert (ours.opening, ours.closing) == (
        int(Decimal(info["OpeningBalance"]) * 100),
        int(Decimal(info["ClosingBalance"]) * 100),
    )
    signed = [
        int(Decimal(t["Amount"]) * 100) * (1 if t["CreditDebitIndicator"] == "CRDT" else -1)
        for t in theirs.get_transactions()
    ]
    assert [line.amount for line in ours.lines] == signed == [100000, -30000, -500]
    assert [line.booked_on.isoformat() for line in ours.lines] == [
        t["BookingDate"] for t in theirs.get_transactions()
    ]
    assert ours.lines[0].counterparty == "成都某医疗器械公司"


def test_a_camt_file_with_a_doctype_is_refused() -> None:
    data = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Document/>'
    with pytest.raises(StatementRejected, match="DOCTYPE"):
        read_camt053(data)


def test_a_csv_with_a_bom_and_gbk_counterparty_names_reads_right() -> None:
    header = "交易日期,金额,借贷,对方户名,摘要,余额\r\n".encode()
    rows = [
        "2026-11-02,1000.00,贷,".encode()
        + "成都某医疗器械公司".encode("gbk")
        + b",HQ-DON-0001,1000.00\r\n",
        "2026-11-06,300.00,借,".encode() + "炉霍县人民医院".encode("gbk") + b",,700.00\r\n",
    ]
    layout = {
        "columns": {
            "date": "交易日期",
            "amount": "金额",
            "direction": "借贷",
            "counterparty": "对方户名",
            "reference": "摘要",
            "balance": "余额",
        }
    }
    statement = read_csv(b"\xef\xbb\xbf" + header + b"".join(rows), layout)
    assert [(x.amount, x.counterparty) for x in statement.lines] == [
        (100000, "成都某医疗器械公司"),
        (-30000, "炉霍县人民医院"),
    ]
    assert (statement.opening, statement.closing) == (0, 70000)


def test_a_csv_reports_every_bad_line_with_its_number() -> None:
    data = b"date,amount,direction\n2026-11-02,12.345,C\nnot-a-date,5.00,X\n"
    with pytest.raises(StatementRejected) as caught:
        read_csv(data)
    assert [p.split(":")[0] for p in caught.value.problems] == ["line 2", "line 3", "line 3"]


def _november_books(books: Books, donor: str) -> str:
    with UnitOfWork(books.engine) as uow:
        services.record_donation(
            uow,
            donor_id=donor,
            fund="F",
            amount=Money.parse("1000.00", "CNY"),
            received_on=dt.date(2026, 11, 2),
            memo="HQ-DON-0001",
        )
        paid = services.record_disbursement(
            uow,
            fund="F",
            project="P",
            amount=Money.parse("300.00", "CNY"),
            paid_on=dt.date(2026, 11, 5),
        )
        uow.commit()
    return paid.id


def _entries(books: Books) -> int:
    with books.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(journal_entries)) or 0)


def test_the_sample_reconciles_to_zero_once_the_unmatched_fee_line_is_recorded(
    ledger_books: Books, donor: str
) -> None:
    paid = _november_books(ledger_books, donor)
    imported = reconciliation.import_statement(
        ledger_books, SAMPLE.read_bytes(), fund="F", account="1002-CNY", by=OFFICER
    )
    assert (imported.created, imported.lines, imported.matched) == (True, 3, 2)
    report = reconciliation.reconciliation_report(ledger_books, imported.statement_id)
    assert [(m["line"], m["match"]["how"]) for m in report["matched"]] == [
        (1, "reference"),
        (2, "date"),
    ]
    assert report["matched"][1]["match"]["entry_id"] == paid
    assert [line["line"] for line in report["unmatched_lines"]] == [3]
    assert (report["books_balance"], report["difference"]) == (70000, -500)

    reconciliation.record_fee_from_line(ledger_books, imported.statement_id, 3, by=OFFICER)
    report = reconciliation.reconciliation_report(ledger_books, imported.statement_id)
    assert report["unmatched_lines"] == [] and report["unmatched_postings"] == []
    assert (report["books_balance"], report["difference"]) == (69500, 0)
    assert report["matched"][2]["match"]["how"] == "recorded"


def test_importing_the_same_statement_again_records_and_posts_nothing(
    ledger_books: Books, donor: str
) -> None:
    _november_books(ledger_books, donor)
    first = reconciliation.import_statement(
        ledger_books, SAMPLE.read_bytes(), fund="F", account="1002-CNY", by=OFFICER
    )
    reconciliation.record_fee_from_line(ledger_books, first.statement_id, 3, by=OFFICER)
    entries = _entries(ledger_books)
    again = reconciliation.import_statement(
        ledger_books, SAMPLE.read_bytes(), fund="F", account="1002-CNY", by=OFFICER
    )
    assert (again.statement_id, again.created) == (first.statement_id, False)
    assert _entries(ledger_books) == entries
    assert len(reconciliation.statements(ledger_books)) == 1
    with ledger_books.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(bank_matches)) == 3


def test_a_line_is_matched_by_hand_to_an_entry_and_never_twice(
    ledger_books: Books, donor: str
) -> None:
    with UnitOfWork(ledger_books.engine) as uow:  # the gift arrived weeks before the bank says
        gift = services.record_donation(
            uow,
            donor_id=donor,
            fund="F",
            amount=Money.parse("1000.00", "CNY"),
            received_on=dt.date(2026, 10, 1),
        )
        uow.commit()
    imported = reconciliation.import_statement(
        ledger_books, SAMPLE.read_bytes(), fund="F", account="1002-CNY", by=OFFICER
    )
    assert imported.matched == 0
    match = reconciliation.match_by_hand(
        ledger_books, imported.statement_id, 1, entry_id=gift.id, by=OFFICER
    )
    assert (match["entry_id"], match["how"]) == (gift.id, "manual")
    from ledger.errors import AlreadyExists, InvalidEntry

    with pytest.raises(AlreadyExists):
        reconciliation.match_by_hand(
            ledger_books, imported.statement_id, 1, entry_id=gift.id, by=OFFICER
        )
    with pytest.raises(InvalidEntry):  # line 2 is -300.00: the gift has no such posting
        reconciliation.match_by_hand(
            ledger_books, imported.statement_id, 2, entry_id=gift.id, by=OFFICER
        )


def test_matching_is_one_to_one_reference_first_then_the_nearest_date() -> None:
    day = dt.date(2026, 11, 10)
    postings = [
        BookPosting(1, 1, "E1", day, 500, "HQ-7"),
        BookPosting(2, 1, "E2", day - dt.timedelta(days=2), 500),
        BookPosting(3, 1, "E3", day + dt.timedelta(days=1), 500),
    ]
    lines = [
        Line(1, day, 500),  # nearest unmatched by date: E3 (E1 is taken by line 2's reference)
        Line(2, day + dt.timedelta(days=9), 500, "transfer HQ-7"),
        Line(3, day, 500),
        Line(4, day, 500),  # nothing left
    ]
    found = {m.line: (m.posting.entry_id, m.how) for m in match_lines(lines, postings)}
    assert found == {1: ("E3", "date"), 2: ("E1", "reference"), 3: ("E2", "date")}
