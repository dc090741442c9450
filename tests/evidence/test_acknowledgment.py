"""Acknowledgments: a payment marked acknowledged by its recipient, shares per project in counts."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from ledger import services
from ledger.errors import AlreadyExists, InvalidEntry
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork
from tests.evidence.files import pdf
from usecases import evidence
from usecases.books import Books
from usecases.unit import Actor

OFFICER = Actor("officer-1", ("officer",))


@pytest.fixture
def payments(ledger_books: Books, cash_gift: str) -> list[str]:
    with UnitOfWork(ledger_books.engine) as uow:
        paid = [
            services.record_disbursement(
                uow, fund="F", project="P", amount=Money.parse(a, "CNY"), paid_on=dt.date.today()
            ).id
            for a in ("100.00", "250.00")
        ]
        uow.commit()
    return paid


def test_a_disbursement_acknowledged_with_its_signed_receipt_counts_in_the_share(
    ledger_books: Books, payments: list[str]
) -> None:
    ack = evidence.acknowledge(
        ledger_books,
        payments[1],
        acknowledged_on=dt.date.today(),
        by=OFFICER,
        upload=evidence.Upload(io.BytesIO(pdf(b"% signed")), "回执.pdf"),
    )
    listed = evidence.attachments_of(ledger_books, "entry", payments[1])
    assert [x.record.kind for x in listed] == ["acknowledgment"]
    assert ack["attachment_id"] == listed[0].record.id
    assert evidence.acknowledgment_shares(ledger_books)["projects"] == {
        "P": {"paid": 2, "acknowledged": 1, "paid_minor": 35000, "acknowledged_minor": 25000}
    }
    with pytest.raises(AlreadyExists):
        evidence.acknowledge(
            ledger_books,
            payments[1],
            acknowledged_on=dt.date.today(),
            by=OFFICER,
            attachment_id=ack["attachment_id"],
        )


def test_a_gift_is_not_acknowledged_and_an_invoice_is_not_an_acknowledgment(
    ledger_books: Books, payments: list[str], cash_gift: str
) -> None:
    invoice = evidence.attach(
        ledger_books,
        subject_type="entry",
        subject_id=payments[0],
        kind="invoice",
        upload=evidence.Upload(io.BytesIO(pdf()), "i.pdf"),
        by=OFFICER,
    )
    with pytest.raises(InvalidEntry, match="acknowledgment attached to this entry"):
        evidence.acknowledge(
            ledger_books,
            payments[0],
            acknowledged_on=dt.date.today(),
            by=OFFICER,
            attachment_id=invoice.id,
        )
    with pytest.raises(InvalidEntry, match="disbursement or payout"):
        evidence.acknowledge(
            ledger_books,
            cash_gift,
            acknowledged_on=dt.date.today(),
            by=OFFICER,
            upload=evidence.Upload(io.BytesIO(pdf()), "a.pdf"),
        )
    assert evidence.acknowledgment_shares(ledger_books)["projects"]["P"]["acknowledged"] == 0
