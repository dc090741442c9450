"""In-kind handovers: the surgical equipment passed to 炉霍县人民医院, never beyond what came."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from ledger import services
from ledger.errors import BeyondReceived, InvalidEntry
from ledger.money import Money
from ledger.storage.tables import journal_entries
from ledger.storage.unit_of_work import UnitOfWork
from tests.evidence.files import pdf
from usecases import evidence, handover
from usecases.books import Books
from usecases.unit import Actor

OFFICER = Actor("officer-1", ("officer",))
HOSPITAL = "炉霍县人民医院"


@pytest.fixture
def equipment(ledger_books: Books, donor: str) -> str:
    """Ten ventilators worth 1,000,000.00 CNY, received into fund F as equipment."""
    with UnitOfWork(ledger_books.engine) as uow:
        gift = services.record_in_kind_donation(
            uow,
            donor_id=donor,
            fund="F",
            description="呼吸机",
            quantity="10 台",
            fair_value=Money.parse("1000000.00", "CNY"),
            valuation_basis="发票",
            received_on=dt.date.today(),
            asset="equipment",
        )
        uow.commit()
    return gift.id


def balance(books: Books, account: str, gift: str) -> int:
    """The fund's balance of `account`: the gift's debit (no ref) and its handovers (ref=gift)."""
    with UnitOfWork(books.engine) as uow:
        return sum(uow.balance((account, "F", "CNY", "", ref))[0] for ref in ("", gift))


def entries(books: Books) -> int:
    with books.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(journal_entries)) or 0)


def give(books: Books, gift: str, quantity: str, **more: object):
    return handover.hand_over(
        books,
        gift,
        by=OFFICER,
        quantity=quantity,
        recipient=HOSPITAL,
        handed_over_on=dt.date.today(),
        project="P",
        **more,
    )


def test_a_handover_expenses_the_goods_at_carrying_value_pro_rata(
    ledger_books: Books, equipment: str
) -> None:
    entry = give(ledger_books, equipment, "4")
    lines = {(p.account, p.amount, p.project) for p in entry.postings}
    assert lines == {
        ("5101", 40000000, "P"),
        ("1501", -40000000, ""),
        ("3102", 40000000, ""),
        ("3101", -40000000, ""),  # fund F is restricted: released
    }
    assert entry.data["recipient"] == HOSPITAL and entry.data["gift_entry_id"] == equipment
    assert balance(ledger_books, "1501", equipment) == 60000000


def test_handing_over_more_than_was_received_is_refused_and_changes_nothing(
    ledger_books: Books, equipment: str
) -> None:
    give(ledger_books, equipment, "4")
    before = entries(ledger_books)
    with pytest.raises(BeyondReceived, match="beyond what was received"):
        give(ledger_books, equipment, "7")
    with pytest.raises(BeyondReceived):
        give(ledger_books, equipment, "1", value=Money.parse("600000.01", "CNY"))
    assert entries(ledger_books) == before
    assert balance(ledger_books, "1501", equipment) == 60000000


def test_the_last_handover_takes_the_whole_remaining_value(
    ledger_books: Books, equipment: str
) -> None:
    give(ledger_books, equipment, "3")  # 300,000.00
    give(ledger_books, equipment, "3")
    last = give(ledger_books, equipment, "4")
    assert last.data["cny_minor"] == 40000000
    assert balance(ledger_books, "1501", equipment) == 0
    assert (
        sum(int(h["value_minor"]) for h in handover.handovers_of(ledger_books, equipment))
        == 100000000
    )


def test_handover_evidence_must_be_an_attachment_of_the_gift(
    ledger_books: Books, equipment: str, cash_gift: str
) -> None:
    note = evidence.attach(
        ledger_books,
        subject_type="entry",
        subject_id=equipment,
        kind="acknowledgment",
        upload=evidence.Upload(io.BytesIO(pdf(b"% signed delivery note")), "交接单.pdf"),
        by=OFFICER,
    )
    other = evidence.attach(
        ledger_books,
        subject_type="entry",
        subject_id=cash_gift,
        kind="invoice",
        upload=evidence.Upload(io.BytesIO(pdf(b"% other")), "x.pdf"),
        by=OFFICER,
    )
    entry = give(ledger_books, equipment, "10", evidence=[note.id])
    assert entry.data["evidence"] == [note.id]
    with pytest.raises(InvalidEntry, match="not an attachment of the gift"):
        give(ledger_books, equipment, "1", evidence=[other.id])


def test_a_cash_entry_is_not_an_in_kind_gift(ledger_books: Books, cash_gift: str) -> None:
    from ledger.errors import NotFound

    with pytest.raises(NotFound):
        give(ledger_books, cash_gift, "1")
