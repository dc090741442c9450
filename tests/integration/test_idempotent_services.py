"""Every ledger operation is idempotent the same way (the prologue `services._idempotent`).

A client key with the same request returns the first result and posts nothing again; the same key
with other content is refused with `IdempotencyConflict` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ledger import services
from ledger.entries import Posting
from ledger.errors import IdempotencyConflict
from tests.builders import DAY, Books, cny


@pytest.fixture
def books(engine: Any) -> Books:
    b = Books(engine)
    b.fund("LUHUO")
    b.fund("JIN", restricted=False)
    b.project("CLINIC")
    b.donor(donor_id="D-1")
    b.donate("5000", donor="D-1")
    b.donate("5000", donor="D-1", fund="JIN")
    return b


def _award(books: Books) -> str:
    award, _entry = books.run(
        services.award_scholarship,
        fund="LUHUO",
        beneficiary_id=books.beneficiary(),
        amount=cny("800"),
        term="2026春",
        awarded_on=DAY,
    )
    return str(award.id)


# Each case: the operation, its arguments given the books, and the one argument changed.
CASES: dict[str, tuple[Callable[..., Any], Callable[[Books], dict[str, Any]], dict[str, Any]]] = {
    "donation": (
        services.record_donation,
        lambda b: {"donor_id": "D-1", "fund": "LUHUO", "amount": cny("10"), "received_on": DAY},
        {"amount": cny("11")},
    ),
    "pledge": (
        services.record_pledge,
        lambda b: {"donor_id": "D-1", "fund": "LUHUO", "amount": cny("10"), "pledged_on": DAY},
        {"memo": "other"},
    ),
    "conditional pledge": (
        services.record_pledge,
        lambda b: {
            "donor_id": "D-1",
            "fund": "LUHUO",
            "amount": cny("10"),
            "pledged_on": DAY,
            "conditional": True,
        },
        {"conditional": False},
    ),
    "in kind": (
        services.record_in_kind_donation,
        lambda b: {
            "donor_id": "D-1",
            "fund": "LUHUO",
            "description": "手术器械",
            "quantity": "1",
            "fair_value": cny("1000"),
            "valuation_basis": "invoice",
            "received_on": DAY,
        },
        {"asset": "equipment"},
    ),
    "disbursement": (
        services.record_disbursement,
        lambda b: {"fund": "LUHUO", "project": "CLINIC", "amount": cny("10"), "paid_on": DAY},
        {"memo": "other"},
    ),
    "award": (
        services.award_scholarship,
        lambda b: {
            "fund": "LUHUO",
            "beneficiary_id": b.beneficiary(),
            "amount": cny("10"),
            "term": "2026秋",
            "awarded_on": DAY,
        },
        {"term": "2027春"},
    ),
    "payout": (
        services.pay_scholarship,
        lambda b: {"award_id": _award(b), "amount": cny("10"), "paid_on": DAY},
        {"amount": cny("20")},
    ),
    "fee": (
        services.record_fee,
        lambda b: {"fund": "LUHUO", "amount": cny("1.5"), "paid_on": DAY},
        {"memo": "other"},
    ),
    "transfer": (
        services.transfer_between_funds,
        lambda b: {
            "from_fund": "LUHUO",
            "to_fund": "JIN",
            "amount": cny("10"),
            "on": DAY,
            "reason": "再分配",
        },
        {"reason": "other"},
    ),
    "reversal": (
        services.reverse,
        lambda b: {"entry_id": b.donate("3", donor="D-1").id, "reason": "wrong donor"},
        {"reason": "wrong fund"},
    ),
    "general": (
        services.post_general_entry,
        lambda b: {
            "postings": [
                Posting("5201", "JIN", 100, "CNY", 100),
                Posting("1002-CNY", "JIN", -100, "CNY", -100),
            ],
            "occurred_on": DAY,
            "memo": "调整",
        },
        {"memo": "other"},
    ),
}


def _ids(result: Any) -> tuple[Any, ...]:
    """What identifies a result: the entry's id, or the pledge's or award's and its entry's."""
    if isinstance(result, tuple):
        made, entry = result
        return made.id, entry.id if entry is not None else None
    return (result.id,)


def _journal_size(books: Books) -> int:
    return int(books.run(lambda uow: uow.sequence))


@pytest.mark.parametrize("case", list(CASES))
def test_every_operation_replays_the_same_key_and_refuses_it_with_other_content(
    books: Books, case: str
) -> None:
    operation, arguments, changed = CASES[case]
    kwargs = arguments(books)
    first = books.run(operation, **kwargs, key=f"k-{case}")
    size = _journal_size(books)
    again = books.run(operation, **kwargs, key=f"k-{case}")
    assert _ids(again) == _ids(first)
    assert _journal_size(books) == size  # the replay posted nothing
    with pytest.raises(IdempotencyConflict):
        books.run(operation, **{**kwargs, **changed}, key=f"k-{case}")
    assert _journal_size(books) == size
    other = books.run(operation, **{**arguments(books), **changed}, key=f"k-{case}-2")
    assert _ids(other) != _ids(first)
