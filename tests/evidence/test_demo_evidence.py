"""The demo's evidence trail: every payment has its document, the surgical equipment is handed
over and shows on its donor's receipt, and the demo bank statement reconciles to zero with its one
deliberate unmatched line recorded (and explained) from the statement."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from sqlalchemy import text

from api import create_app
from cli.demo_evidence import HOSPITAL, STATEMENT, statement_xml
from cli.demo_pdf import pdf, png
from ledger.evidence import Inspector
from ledger.storage.unit_of_work import UnitOfWork
from tests.integration.test_cli_support import huiquan
from usecases.books import open_books
from usecases.receipts import link_of


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def _rows(engine, sql: str) -> list:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)).all())


def test_the_demo_documents_every_payment_hands_the_goods_over_and_reconciles(
    database_url, home, engine
):
    shipped = (files("cli") / "demo_data" / STATEMENT[0]).read_bytes()
    result = huiquan(database_url, home, "demo")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("evidence: "))
    assert "4 handovers of goods" in line and "difference 0.00" in line

    undocumented = _rows(
        engine,
        "SELECT e.id FROM journal_entries e WHERE e.kind IN ('disbursement', "
        "'scholarship_payout') AND NOT EXISTS (SELECT 1 FROM evidence_attachments a "
        "WHERE a.subject_id = e.id)",
    )
    assert undocumented == []
    handovers = _rows(
        engine,
        "SELECT h.entry_id, h.recipient, h.value_minor, (SELECT COUNT(*) FROM "
        "evidence_attachments a WHERE a.subject_id = h.entry_id) FROM in_kind_handovers h",
    )
    assert len(handovers) == 4 and all(docs == 2 for *_x, docs in handovers)
    assert sum(1 for _e, who, _v, _d in handovers if who == HOSPITAL) == 2
    acknowledged, payments = _rows(
        engine,
        "SELECT (SELECT COUNT(*) FROM acknowledgments), (SELECT COUNT(*) FROM journal_entries "
        "WHERE kind IN ('disbursement', 'scholarship_payout'))",
    )[0]
    assert payments * 0.6 < acknowledged < payments  # most, not all: the shares are real
    # the equipment left at carrying value: nothing of it stays on the balance sheet
    fixed = _rows(
        engine,
        "SELECT account, SUM(amount) FROM postings WHERE account IN ('1501', '1502') "
        "GROUP BY account",
    )
    assert {account: int(total) for account, total in fixed} == {"1501": 0, "1502": 0}

    # the bank statement: every line matched, one of them recorded from the statement
    [(statement_id,)] = _rows(engine, "SELECT id FROM bank_statements")
    how = [
        r[0]
        for r in _rows(
            engine, f"SELECT how FROM bank_matches WHERE statement_id = '{statement_id}'"
        )
    ]
    assert how.count("recorded") == 1 and len(how) == shipped.count(b"<Ntry>")
    [(memo, fee_sequence)] = _rows(
        engine,
        "SELECT memo, sequence FROM journal_entries WHERE kind = 'fee' "
        "AND memo LIKE '%recorded from%'",
    )
    assert "短信" in memo  # the deliberate unmatched line, explained

    verified = huiquan(database_url, home, "verify", "--no-progress")
    assert verified.exit_code == 0, verified.output
    assert "findings: none" in verified.stdout
    checked = huiquan(database_url, home, "evidence", "verify")
    assert checked.exit_code == 0, checked.output

    # the donor of the equipment sees where it went on the receipt
    gift_serial = _rows(
        engine,
        "SELECT r.serial FROM receipts r JOIN journal_entries e ON e.id = r.entry_id "
        "WHERE e.kind = 'in_kind' AND e.data LIKE '%腹腔镜%'",
    )[0][0]
    books = open_books(engine, home, group_commit_max=1)
    with UnitOfWork(engine) as uow:
        token = link_of(uow, books, gift_serial).token
        uow.commit()
    app = create_app({"DATABASE_URL": database_url, "HUIQUAN_HOME": str(home), "TESTING": True})
    try:
        page = app.test_client().get(f"/r/{token}").get_data(as_text=True)
    finally:
        app.extensions["huiquan"].engine.dispose()
    assert HOSPITAL in page and "腹腔镜手术系统及配套手术器械" in page

    # the shipped statement is what the generator writes from these books (before the fee)
    assert statement_xml(engine, upto=fee_sequence - 1) == shipped


def test_demo_documents_are_valid_files_the_evidence_rules_accept() -> None:
    for body, media in (
        (pdf("Slip", ["Fund: F", "Amount: CNY 1.00 (a)"]), "application/pdf"),
        (png(3), "image/png"),
    ):
        inspector = Inspector()
        inspector.feed(body)
        assert inspector.finish() == media
    assert pdf("A", ["b"]) == pdf("A", ["b"])  # deterministic
    body = pdf("A", ["b"])
    xref = int(body.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert body[xref:].startswith(b"xref\n")  # the cross-reference table is where it says
