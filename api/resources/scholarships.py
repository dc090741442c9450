"""Scholarships: awards (an expense and a liability) and their payouts."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.auth import WRITERS, actor
from api.resources.common import idempotency_key, key_day, operation, write
from api.schemas import AwardIn, AwardOut, PayoutIn, PayoutOut, present_entry
from ledger import services
from ledger.errors import NotFound
from ledger.money import Money, format_minor
from ledger.storage.unit_of_work import UnitOfWork

blp = Blueprint(
    "scholarships", __name__, url_prefix="/api/v1", description="Scholarship awards and payouts."
)


def _award(uow: UnitOfWork, data: dict[str, Any], key: str | None) -> dict[str, Any]:
    args = {**data, "awarded_on": data["awarded_on"] or key_day(uow, key)}
    award, entry = services.award_scholarship(uow, **args, maker=actor().name, key=key)
    return {
        "id": award.id,
        "fund": award.fund,
        "beneficiary_id": award.beneficiary_id,
        "amount": format_minor(award.amount_minor, award.currency),
        "currency": award.currency,
        "term": award.term,
        "awarded_on": args["awarded_on"].isoformat(),
        "project": args["project"] or None,
        "entry": present_entry(entry),
    }


def _payout(uow: UnitOfWork, data: dict[str, Any], key: str | None) -> dict[str, Any]:
    award = uow.repo.get_award(data["award_id"])
    if award is None:
        raise NotFound(f"no award {data['award_id']!r}", field="award_id")
    amount = Money.parse(data["amount"], data["currency"] or award.currency)
    entry = services.pay_scholarship(
        uow,
        award_id=award.id,
        amount=amount,
        paid_on=data["paid_on"],
        maker=actor().name,
        key=key,
    )
    return {
        "id": entry.id,
        "award_id": award.id,
        "amount": amount.to_decimal_string(),
        "currency": amount.currency,
        "paid_on": data["paid_on"].isoformat(),
        "entry": present_entry(entry),
    }


@blp.route("/scholarship-awards", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("unknown_fund", "unknown_beneficiary", "unknown_project", "period_closed"),
    body=True,
    idempotent=True,
)
@blp.arguments(AwardIn())
@blp.response(201, AwardOut)
def create_award(data: dict[str, Any]) -> dict[str, Any]:
    """Award a scholarship to a beneficiary (by pseudonym) for a term.

    An unconditional award is an expense and a liability: Dr 5101 / Cr 2209 grants payable, and
    for a restricted fund the release Dr 3102 / Cr 3101.
    """
    key = idempotency_key("scholarship-awards")
    return write(lambda uow: _award(uow, data, key), aliases={"date": "awarded_on"}, key=key)


@blp.route("/scholarship-payouts", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("unknown_award", "overpayment", "insufficient_funds", "period_closed"),
    body=True,
    idempotent=True,
)
@blp.arguments(PayoutIn())
@blp.response(201, PayoutOut)
def create_payout(data: dict[str, Any]) -> dict[str, Any]:
    """Pay (part of) an award: Dr 2209 grants payable / Cr 1002-<currency> cash.

    Never beyond the award's unpaid balance (`overpayment`), never beyond the fund's cash.
    """
    key = idempotency_key("scholarship-payouts")
    return write(lambda uow: _payout(uow, data, key), aliases={"date": "paid_on"}, key=key)
