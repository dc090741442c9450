"""Goods received in kind, passed on to a project or recipient: the in-kind handover.

(Kept beside `ledger.services` until its restructuring lands; then it moves in as
`services.hand_over_in_kind`.)

Invariants owned here:
- A handover posts one entry against one in-kind gift (`gift_entry_id`, an `in_kind` entry not
  reversed): Dr 5101 (project, program) / Cr 1201 inventory or 1501 equipment, at carrying value,
  and for a restricted fund the restriction is released (Dr 3102 / Cr 3101). Goods the donor
  passed through to a named recipient leave the agency accounts: Dr 2601 / Cr 1701.
- Never more than was received: per gift, the quantities handed over never exceed the gift's
  quantity (when it starts with a number) and the values never exceed its value. The last
  handover of the whole quantity takes the whole remaining value, so the parts sum to the gift.
- Without an explicit value, a part is valued pro rata (half up) of the gift's value.
- The recipient is an organisation's name (炉霍县人民医院) or a beneficiary's pseudonym: never a
  person's name. The evidence ids (attachments) are kept in the entry's data.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from ledger import idempotency
from ledger.entries import EntryKind, FunctionalClass, JournalEntry, PostedEntry, Posting
from ledger.errors import InvalidEntry, NotFound, Overpayment, PeriodClosed, UnknownProject
from ledger.money import Money
from ledger.storage.evidence_store import add_handover, handovers_of
from ledger.storage.unit_of_work import UnitOfWork

__all__ = ["BeyondReceived", "gift_quantity", "hand_over_in_kind", "handed_over"]

_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(.*)$")
EXPENSE, RELEASE_FROM, RELEASE_TO = "5101", "3102", "3101"
AGENCY_ASSETS, AGENCY_LIABILITY = "1701", "2601"


class BeyondReceived(Overpayment):
    """Raised when a handover would pass on more goods, or more value, than the gift brought."""

    code = "beyond_received"


def gift_quantity(text: str) -> tuple[Decimal, str] | None:
    """The number and unit a gift's quantity starts with ("12 台" -> (12, "台")), or None."""
    match = _QUANTITY.match(text or "")
    return None if match is None else (Decimal(match.group(1)), match.group(2).strip())


def _quantity(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(0)
    if not value.is_finite() or value <= 0 or len(text) > 40:
        raise InvalidEntry("quantity must be a positive decimal number", field="quantity")
    return value


def handed_over(uow: UnitOfWork, gift_entry_id: str) -> tuple[Decimal, int]:
    """The quantity and the value (CNY minor units) handed over so far from one gift."""
    rows = handovers_of(uow.connection, gift_entry_id)
    return sum((Decimal(r["quantity"]) for r in rows), Decimal(0)), sum(
        int(r["value_minor"]) for r in rows
    )


def _gift(uow: UnitOfWork, gift_entry_id: str) -> tuple[PostedEntry, Posting]:
    gift = uow.entry(gift_entry_id)
    if gift is None or gift.kind != EntryKind.IN_KIND:
        raise NotFound(f"no in-kind gift {gift_entry_id!r}")
    if uow.repo.reversal_of(gift_entry_id) is not None:
        raise InvalidEntry(f"in-kind gift {gift_entry_id} was reversed", field="gift")
    return gift, next(p for p in gift.postings if p.amount > 0)


def hand_over_in_kind(
    uow: UnitOfWork,
    *,
    gift_entry_id: str,
    quantity: str,
    recipient: str,
    handed_over_on: dt.date,
    project: str = "",
    value: Money | None = None,
    evidence: Sequence[str] = (),
    memo: str = "",
    maker: str = "system",
    key: str | None = None,
) -> PostedEntry:
    """Pass (part of) an in-kind gift on to a project or recipient, at carrying value.

    Raises:
        NotFound: no such in-kind gift. BeyondReceived: more than was received.
        UnknownProject, InvalidEntry, PeriodClosed, IdempotencyConflict.
    """
    payload = {
        "gift_entry_id": gift_entry_id,
        "quantity": quantity,
        "recipient": recipient,
        "handed_over_on": handed_over_on,
        "project": project,
        "value": value,
        "evidence": list(evidence),
        "memo": memo,
    }
    record, replay = idempotency.lookup(uow, key, "in_kind_handover", payload)
    if replay is not None:
        posted = uow.entry(replay.entry_id) if replay.entry_id else None
        if posted is None:
            raise NotFound("the entry recorded for this idempotency key is missing")
        return posted
    gift, asset = _gift(uow, gift_entry_id)
    if not recipient.strip() or len(recipient) > 200:
        raise InvalidEntry("recipient must be 1-200 characters", field="recipient")
    minor = _value(uow, gift, asset, _quantity(quantity), value)
    postings = _postings(uow, asset, project, minor)
    if handed_over_on.isoformat()[:7] in uow.closed_periods():
        raise PeriodClosed(f"period {handed_over_on.isoformat()[:7]} is closed", field="date")
    data = {
        "operation": "in_kind_handover",
        "gift_entry_id": gift_entry_id,
        "quantity": quantity,
        "unit": (gift_quantity(str(gift.data.get("quantity", ""))) or (0, ""))[1],
        "recipient": recipient.strip(),
        "description": str(gift.data.get("description", "")),
        "evidence": list(evidence),
        "cny_minor": minor,
    }
    entry = JournalEntry(
        EntryKind.GENERAL, handed_over_on, postings, memo=memo, maker=maker, data=data
    )
    idem = None if record is None else {**record, "object_id": gift_entry_id}
    posted = uow.post(entry, idempotency=idem)
    add_handover(
        uow.connection,
        {
            "entry_id": posted.id,
            "gift_entry_id": gift_entry_id,
            "quantity": quantity,
            "value_minor": minor,
            "recipient": recipient.strip(),
            "project": project,
            "handed_over_on": handed_over_on.isoformat(),
            "created_at": uow.now(),
        },
    )
    return posted


def _value(
    uow: UnitOfWork, gift: PostedEntry, asset: Posting, quantity: Decimal, value: Money | None
) -> int:
    done_quantity, done_value = handed_over(uow, gift.id)
    received = gift_quantity(str(gift.data.get("quantity", "")))
    remaining_value = asset.amount - done_value
    if received is not None and done_quantity + quantity > received[0]:
        raise BeyondReceived(
            f"gift {gift.id} brought {received[0]}; {done_quantity} handed over already, "
            f"{quantity} more would be beyond what was received",
            field="quantity",
        )
    if value is not None:
        if value.currency != "CNY":
            raise InvalidEntry("a handover is valued in CNY", field="value")
        minor = value.minor
    elif received is not None and done_quantity + quantity == received[0]:
        minor = remaining_value
    elif received is not None and received[0] > 0:
        minor = int(
            Fraction(asset.amount) * Fraction(quantity) / Fraction(received[0]) + Fraction(1, 2)
        )
    else:
        raise InvalidEntry(
            "give the value handed over: the gift's quantity is not a number", field="value"
        )
    if minor <= 0 or minor > remaining_value:
        raise BeyondReceived(
            f"gift {gift.id} has {remaining_value} (minor units) of value left to hand over",
            field="value",
        )
    return minor


def _postings(uow: UnitOfWork, asset: Posting, project: str, minor: int) -> tuple[Posting, ...]:
    fund = asset.fund
    if asset.account == AGENCY_ASSETS:
        return (
            Posting(AGENCY_LIABILITY, fund, minor, "CNY", minor),
            Posting(AGENCY_ASSETS, fund, -minor, "CNY", -minor),
        )
    the_project = uow.repo.get_project(project) if project else None
    if the_project is None or the_project.fund != fund:
        raise UnknownProject(f"no project {project!r} of fund {fund}", field="project")
    the_fund = uow.repo.get_fund(fund)
    lines = [
        Posting(
            EXPENSE,
            fund,
            minor,
            "CNY",
            minor,
            project=project,
            functional_class=FunctionalClass.PROGRAM.value,
        ),
        Posting(asset.account, fund, -minor, "CNY", -minor),
    ]
    if the_fund is not None and the_fund.restricted:
        lines += [
            Posting(RELEASE_FROM, fund, minor, "CNY", minor),
            Posting(RELEASE_TO, fund, -minor, "CNY", -minor),
        ]
    return tuple(lines)


def new_id() -> str:
    return f"H-{uuid.uuid4().hex[:16]}"
