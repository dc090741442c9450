"""Scholarships: awards (an expense and a liability) and their payouts."""

from __future__ import annotations

from typing import Any

from flask import Response

from api.auth import WRITERS
from api.blueprint import Blueprint
from api.resources.approvals import pending_response
from api.resources.common import books, current_actor, idempotency_key, operation
from api.schemas import (
    AwardIn,
    AwardOut,
    PayoutIn,
    PayoutOut,
    PendingApprovalOut,
    present_entry,
)
from api.trail import audit_facts
from ledger.money import format_minor
from usecases import scholarships
from usecases.gate import ApprovalRequest
from usecases.scholarships import RecordedAward, RecordedPayout

blp = Blueprint(
    "scholarships", __name__, url_prefix="/api/v1", description="Scholarship awards and payouts."
)


def _present_award(recorded: RecordedAward, project: str | None) -> dict[str, Any]:
    award = recorded.award
    return {
        "id": award.id,
        "fund": award.fund,
        "beneficiary_id": award.beneficiary_id,
        "amount": format_minor(award.amount_minor, award.currency),
        "currency": award.currency,
        "term": award.term,
        "awarded_on": recorded.awarded_on.isoformat(),
        "project": project or None,
        "entry": present_entry(recorded.entry),
    }


def _present_payout(recorded: RecordedPayout, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": recorded.entry.id,
        "award_id": recorded.award.id,
        "amount": recorded.amount.to_decimal_string(),
        "currency": recorded.amount.currency,
        "paid_on": data["paid_on"].isoformat(),
        "entry": present_entry(recorded.entry),
    }


@blp.route("/scholarship-awards", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=(
        "unknown_fund",
        "unknown_beneficiary",
        "unknown_project",
        "insufficient_funds",
        "purpose_mismatch",
        "period_closed",
    ),
    body=True,
    idempotent=True,
)
@blp.arguments(AwardIn())
@blp.response(201, AwardOut)
@blp.alt_response(202, schema=PendingApprovalOut, description="requested: awaiting approval")
def create_award(data: dict[str, Any]) -> dict[str, Any] | Response:
    """Award a scholarship to a beneficiary (by pseudonym) for a term.

    An unconditional award is an expense and a liability: Dr 5101 / Cr 2209 grants payable, and
    for a restricted fund the release Dr 3102 / Cr 3101. When the fund's approval policy says
    so, nothing is posted: 202 with the approval request.
    """
    key = idempotency_key("scholarship-awards")
    recorded = scholarships.award_scholarship(
        books(), by=current_actor(), key=key, audit=audit_facts(), **data
    )
    if isinstance(recorded, ApprovalRequest):
        return pending_response(recorded)
    return _present_award(recorded, data["project"])


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
    recorded = scholarships.pay_scholarship(
        books(), by=current_actor(), key=key, audit=audit_facts(), **data
    )
    return _present_payout(recorded, data)
