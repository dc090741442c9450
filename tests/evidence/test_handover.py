"""In-kind handovers: the surgical equipment passed to 炉霍县人民医院, never beyond what came."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from audits.statements import Params, statements_from_db
from ledger import services
from ledger.errors import BeyondReceived, InvalidEntry
from ledger.money import Money
from ledger.storage.tables import journal_entries
from ledger.storage.unit_of_work import UnitOfWork
from tests.evidence.files import pdf
from usecases import evidence, handover
from usecases.books import Books
from usecases.depreciation import run_depreciation
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
    details: dict[str, object] = {"handed_over_on": dt.date.today(), "project": "P", **more}
    return handover.hand_over(
        books, gift, by=OFFICER, quantity=quantity, recipient=HOSPITAL, **details
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


# -- fixed assets: at carrying value, the accumulated depreciation cleared ---------------------
@pytest.fixture
def depreciated(ledger_books: Books, donor: str) -> str:
    """Surgical equipment of 1,186,000.00 CNY received 2026-06-18 into fund F, depreciated
    (60 months, straight line) for July and August: 2 x 19,766.67 (rounded by largest
    remainder)."""
    with UnitOfWork(ledger_books.engine) as uow:
        gift = services.record_in_kind_donation(
            uow,
            donor_id=donor,
            fund="F",
            description="腹腔镜手术系统",
            quantity="2 套",
            fair_value=Money.parse("1186000.00", "CNY"),
            valuation_basis="评估报告",
            received_on=dt.date(2026, 6, 18),
            asset="equipment",
        )
        uow.commit()
    run_depreciation(ledger_books, through="2026-08", by=OFFICER)
    return gift.id


def _value(books: Books, gift: str):
    with UnitOfWork(books.engine) as uow:
        return services.carrying_value(uow, gift)


def _position(books: Books, on: dt.date) -> dict[str, int]:
    with books.engine.connect() as conn:
        statements, _ = statements_from_db(
            conn, Params.make(fund="F", as_of=on), ("financial-position",)
        )
    position = statements["financial-position"]
    assert position.checks == (), position.checks
    return {r["line"]: r.get("closing") for r in position.rows}


def test_depreciated_equipment_leaves_at_carrying_value_and_01_still_ties(
    ledger_books: Books, depreciated: str
) -> None:
    before = _value(ledger_books, depreciated)
    assert before.accumulated == 2 * 1976667 and before.handed_over == 0
    entry = give(ledger_books, depreciated, "2", handed_over_on=dt.date(2026, 9, 3), project="P")
    lines = {(p.account, p.ref): p.amount for p in entry.postings}
    assert lines == {
        ("5101", ""): before.carrying,  # the expense is the carrying value, not the cost
        ("1502", depreciated): before.accumulated,  # the depreciation of the part, cleared
        ("1501", depreciated): -118600000,  # the asset leaves at cost
        ("3102", ""): before.carrying,  # fund F is restricted: released for the expense
        ("3101", ""): -before.carrying,
    }
    assert entry.data["cny_minor"] == before.carrying == 118600000 - 2 * 1976667
    assert balance(ledger_books, "1501", depreciated) == 0
    assert balance(ledger_books, "1502", depreciated) == 0
    after = _value(ledger_books, depreciated)
    assert after.carrying == 0
    position = _position(ledger_books, dt.date(2026, 9, 30))
    assert position["fixed_cost"] == position["accumulated_depreciation"] == 0
    assert position["fixed_net"] == 0
    assert position["total_assets"] == position["total_liabilities_and_net_assets"]
    assert [h["value_minor"] for h in handover.handovers_of(ledger_books, depreciated)] == [
        before.carrying
    ]
    assert run_depreciation(ledger_books, through="2026-11", by=OFFICER).posted == []


def test_half_of_the_depreciated_equipment_takes_half_of_cost_and_depreciation(
    ledger_books: Books, depreciated: str
) -> None:
    before = _value(ledger_books, depreciated)
    entry = give(ledger_books, depreciated, "1", handed_over_on=dt.date(2026, 9, 3))
    half_cost, half_depreciation = 118600000 // 2, before.accumulated // 2
    assert entry.data["cny_minor"] == half_cost - half_depreciation
    assert entry.data["cost_minor"] == half_cost
    assert entry.data["accumulated_depreciation_minor"] == half_depreciation
    assert balance(ledger_books, "1501", depreciated) == half_cost
    assert balance(ledger_books, "1502", depreciated) == -half_depreciation
    assert _value(ledger_books, depreciated).carrying == before.carrying - entry.data["cny_minor"]
    position = _position(ledger_books, dt.date(2026, 9, 30))
    assert position["fixed_net"] == half_cost - half_depreciation
    assert position["total_assets"] == position["total_liabilities_and_net_assets"]
    last = give(ledger_books, depreciated, "1", handed_over_on=dt.date(2026, 9, 4))
    assert entry.data["cny_minor"] + last.data["cny_minor"] == before.carrying
    assert balance(ledger_books, "1501", depreciated) == 0
    assert balance(ledger_books, "1502", depreciated) == 0
    with pytest.raises(BeyondReceived):
        give(ledger_books, depreciated, "1", handed_over_on=dt.date(2026, 9, 5))


def test_a_value_above_the_carrying_value_left_is_refused(
    ledger_books: Books, depreciated: str
) -> None:
    left = _value(ledger_books, depreciated).carrying
    before = entries(ledger_books)
    with pytest.raises(BeyondReceived, match="carrying value"):
        give(
            ledger_books,
            depreciated,
            "1",
            handed_over_on=dt.date(2026, 9, 3),
            value=Money(left + 1, "CNY"),
        )
    assert entries(ledger_books) == before


def test_a_handover_dated_inside_a_depreciated_month_is_refused(
    ledger_books: Books, depreciated: str
) -> None:
    before = entries(ledger_books)
    with pytest.raises(InvalidEntry, match="depreciated through 2026-08"):
        give(ledger_books, depreciated, "2", handed_over_on=dt.date(2026, 8, 20))
    assert entries(ledger_books) == before
