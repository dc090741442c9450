"""Acknowledgment status in the registers (JSON, CSV, the bundle's re-derived statements) and in
the lists: a date and a count per payment, counts per project, cohort and term; never a name."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest

from audits.bundle import write_bundle_file
from audits.statements import Params, statement_csv, statements_from_db
from audits.verify import check_bundle
from ledger import services
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork
from ledger.tlog.keys import ensure_signing_key, trusted_vkeys
from tests.evidence.files import pdf
from usecases import evidence, queries
from usecases.books import Books
from usecases.unit import Actor

OFFICER = Actor("officer-1", ("officer",))
TODAY = dt.date.today()
COHORT = "锦炉助学 2026秋"


@pytest.fixture
def paid(ledger_books: Books, cash_gift: str) -> dict[str, list[str]]:
    """Three disbursements to project P (the third reversed) and two payouts of one award."""
    with UnitOfWork(ledger_books.engine) as uow:
        spent = [
            services.record_disbursement(
                uow, fund="F", project="P", amount=Money.parse(a, "CNY"), paid_on=TODAY
            ).id
            for a in ("100.00", "250.00", "40.00")
        ]
        services.reverse(uow, entry_id=spent[2], reason="paid twice")
        student = services.register_beneficiary(
            uow, cohort=COHORT, county="炉霍县", personal={"name": "卓玛"}, secret=b"k" * 32
        )
        award, _entry = services.award_scholarship(
            uow,
            fund="F",
            beneficiary_id=student.id,
            amount=Money.parse("300.00", "CNY"),
            term="2026秋",
            awarded_on=TODAY,
        )
        payouts = [
            services.pay_scholarship(
                uow, award_id=award.id, amount=Money.parse("150.00", "CNY"), paid_on=TODAY
            ).id
            for _ in range(2)
        ]
        uow.commit()
    for entry in (spent[1], payouts[0]):
        evidence.acknowledge(
            ledger_books,
            entry,
            acknowledged_on=TODAY,
            by=OFFICER,
            upload=evidence.Upload(io.BytesIO(pdf(f"% signed {entry}".encode())), "卓玛.pdf"),
        )
    return {"disbursements": spent, "payouts": payouts}


def _registers(books: Books):
    with books.engine.connect() as conn:
        statements, _ = statements_from_db(
            conn, Params.make(as_of=TODAY), ("disbursements", "scholarships")
        )
    return statements["disbursements"], statements["scholarships"]


def test_the_registers_show_each_payments_acknowledgment_and_the_counts_per_group(
    ledger_books: Books, paid: dict[str, list[str]]
) -> None:
    spending, scholarships = _registers(ledger_books)
    payments = [r for r in spending.rows if r["group"] == "payment"]
    assert [(r["amount"], r["acknowledged"], r["acknowledged_on"]) for r in payments] == [
        (10000, 0, ""),
        (25000, 1, TODAY.isoformat()),
        (4000, 0, ""),
        (-4000, 0, ""),  # the reversal of the third
    ]
    project = next(r for r in spending.rows if r["group"] == "project")
    total = next(r for r in spending.rows if r["group"] == "total")
    for row in (project, total):
        assert (row["payments"], row["acknowledged"], row["acknowledged_amount"]) == (2, 1, 25000)
    cohort = next(r for r in scholarships.rows if r["cohort"] == COHORT)
    assert (cohort["payouts"], cohort["acknowledged"], cohort["acknowledged_amount"]) == (
        2,
        1,
        15000,
    )
    csv_text = statement_csv(spending) + statement_csv(scholarships)
    assert "acknowledged_on" in csv_text and TODAY.isoformat() in csv_text
    assert "卓玛" not in csv_text and "卓玛" not in str(spending.to_dict())


def test_the_lists_show_acknowledgment_and_standing_documents(
    ledger_books: Books, paid: dict[str, list[str]]
) -> None:
    spent = {r.id: r for r in queries.disbursements(ledger_books).items}
    first, second, _third = paid["disbursements"]
    assert (spent[second].acknowledged_on, spent[second].documents) == (TODAY.isoformat(), 1)
    assert (spent[first].acknowledged_on, spent[first].documents) == (None, 0)
    doc = evidence.attach(
        ledger_books,
        subject_type="entry",
        subject_id=first,
        kind="bank_slip",
        upload=evidence.Upload(io.BytesIO(pdf(b"% slip")), "slip.pdf"),
        by=OFFICER,
    )
    evidence.supersede(ledger_books, doc.id, reason="wrong slip", by=OFFICER)  # withdrawn
    again = {r.id: r for r in queries.disbursements(ledger_books).items}
    assert again[first].documents == 0  # a superseded or withdrawn record no longer stands
    payouts = {r.id: r for r in queries.payouts(ledger_books).items}
    assert [payouts[p].acknowledged_on for p in paid["payouts"]] == [TODAY.isoformat(), None]


def test_the_bundle_rederives_the_registers_with_their_acknowledgments(
    ledger_books: Books, paid: dict[str, list[str]], tmp_path: Path
) -> None:
    path = tmp_path / "bundle.zip"
    write_bundle_file(
        ledger_books.engine,
        path,
        period=str(TODAY.year),
        key=ensure_signing_key(tmp_path),
        trusted=trusted_vkeys(tmp_path),
    )
    report = check_bundle(path, trusted_vkeys(tmp_path))
    assert report.ok, report.lines()
