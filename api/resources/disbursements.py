"""Disbursements: money paid from a fund to one of its projects."""

from __future__ import annotations

from typing import Any

from flask import Response

from api.auth import WRITERS
from api.blueprint import Blueprint
from api.resources.approvals import pending_response
from api.resources.common import books, current_actor, idempotency_key, operation
from api.schemas import DisbursementIn, DisbursementOut, PendingApprovalOut, present_entry
from api.trail import audit_facts
from ledger.entries import PostedEntry
from ledger.money import Money
from usecases import spending
from usecases.gate import ApprovalRequest

blp = Blueprint("disbursements", __name__, url_prefix="/api/v1", description="Disbursements.")


def _present(data: dict[str, Any], entry: PostedEntry) -> dict[str, Any]:
    amount: Money = data["amount"]
    return {
        "id": entry.id,
        "fund": data["fund"],
        "project": data["project"],
        "amount": amount.to_decimal_string(),
        "currency": amount.currency,
        "paid_on": data["paid_on"].isoformat(),
        "memo": data["memo"],
        "functional_class": data["functional_class"],
        "payee": entry.data.get("payee"),
        "bank_reference": entry.data.get("bank_reference", ""),
        "entry": present_entry(entry),
    }


@blp.route("/disbursements", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=(
        "unknown_fund",
        "unknown_project",
        "unknown_beneficiary",
        "insufficient_funds",
        "over_budget",
        "purpose_mismatch",
        "period_closed",
    ),
    body=True,
    idempotent=True,
)
@blp.arguments(DisbursementIn())
@blp.response(201, DisbursementOut)
@blp.alt_response(202, schema=PendingApprovalOut, description="requested: awaiting approval")
def create_disbursement(data: dict[str, Any]) -> dict[str, Any] | Response:
    """Pay money from a fund to one of its projects.

    Dr 5101 program expense (project) / Cr 1002-<currency> cash, and for a restricted fund the
    release Dr 3102 / Cr 3101. Refused with `insufficient_funds` if the fund's cash in that
    currency would go below zero; concurrent disbursements are serialised, so none overdraws.
    Beyond the project's remaining budget: `over_budget`, unless asked with
    `over_budget_reason` (then always a request an approver must approve); outside the fund's
    purposes: `purpose_mismatch`. `payee` names who was paid (an organisation by name and
    统一社会信用代码, or a person by pseudonym only) with the `bank_reference`.
    When the fund's approval policy says so, nothing is posted: 202 with the approval request.
    """
    key = idempotency_key("disbursements")
    entry = spending.record_disbursement(
        books(), by=current_actor(), key=key, audit=audit_facts(), **data
    )
    if isinstance(entry, ApprovalRequest):
        return pending_response(entry)
    return _present(data, entry)
