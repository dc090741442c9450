"""Maker-checker: approval requests (listed, approved, rejected, withdrawn) and fund policies.

An operation that its fund's policy says needs approval (`POST /disbursements`,
`/scholarship-awards`, `/entries/{id}/reversal`) answers 202 `{"status": "pending_approval",
"request": {...}}` and posts nothing. An approver other than the maker approves it here; the
approval that completes it posts it with every rule checked again, and answers the request with
its `entry_id`. A maker deciding their own request, with any of their tokens, is 403
`self_approval` (a matter of who may, like `forbidden`, rather than of the request's state,
which is 409 `request_closed` / `request_expired`). Refused approvals change nothing: the
request stays pending.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, jsonify

from api.auth import ADMIN, READERS
from api.blueprint import Blueprint
from api.resources.common import books, current_actor, operation
from api.resources.evidence import request_evidence
from api.schemas import (
    ApprovalQuery,
    ApprovalRequestList,
    ApprovalRequestOut,
    PolicyIn,
    PolicyOut,
    RejectIn,
)
from api.trail import audit_facts
from ledger.approvals import Policy, policy_json
from ledger.money import Money
from usecases import approvals
from usecases.gate import ApprovalRequest

blp = Blueprint("approvals", __name__, url_prefix="/api/v1", description="Maker-checker approvals.")

APPROVERS = ("approver",)
DECISION_PROBLEMS = (
    "not_found",
    "self_approval",
    "not_an_approver",
    "request_closed",
    "request_expired",
)


def _plain(value: Any) -> Any:
    if isinstance(value, Money):
        return value.to_decimal_string()
    return value.isoformat() if isinstance(value, dt.date) else value


def present_request(request: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "operation": request.operation,
        "fund": request.fund,
        "amount": request.amount.to_decimal_string(),
        "currency": request.amount.currency,
        "maker": request.maker,
        "requested_at": request.requested_at,
        "expires_at": request.expires_at,
        "status": request.state,
        "approvals_needed": request.approvals_needed,
        "checkers": list(request.checkers),
        "entry_id": request.entry_id,
        "reason": request.reason,
        "details": {k: _plain(v) for k, v in request.details.items()},
    }


def pending_response(request: ApprovalRequest) -> Response:
    """The 202 answer of an operation that became an approval request."""
    response = jsonify({"status": "pending_approval", "request": present_request(request)})
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/approval-requests/{request.id}"
    return response


def present_policy(fund: str, policy: Policy) -> dict[str, Any]:
    return {"fund": fund, **policy_json(policy)}


@blp.route("/approval-requests", methods=["GET"])
@operation(blp, roles=READERS, problems=("validation_error",))
@blp.arguments(ApprovalQuery(), location="query", unknown="raise")
@blp.response(200, ApprovalRequestList)
def list_requests(query: dict[str, Any]) -> dict[str, Any]:
    """Approval requests, newest first (`status=pending`: those awaiting a decision)."""
    found = approvals.list_requests(books(), state=query.get("status"), fund=query.get("fund"))
    return {"items": [present_request(r) for r in found]}


@blp.route("/approval-requests/<id>", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, ApprovalRequestOut)
def get_request(id: str) -> dict[str, Any]:
    """One approval request, with its checkers so far and its documents (`evidence`)."""
    request = approvals.get_request(books(), id)
    return {**present_request(request), "evidence": request_evidence(id)}


@blp.route("/approval-requests/<id>/approve", methods=["POST"])
@operation(
    blp,
    roles=APPROVERS,
    problems=(*DECISION_PROBLEMS, "insufficient_funds", "overpayment", "period_closed"),
)
@blp.response(200, ApprovalRequestOut)
def approve(id: str) -> dict[str, Any]:
    """Approve a request; the approval that completes it posts the operation (`entry_id`).

    Every rule is checked again: an operation that no longer fits is refused with its usual
    code (e.g. `insufficient_funds`) and the request stays pending.
    """
    return present_request(approvals.approve(books(), id, by=current_actor(), audit=audit_facts()))


@blp.route("/approval-requests/<id>/reject", methods=["POST"])
@operation(blp, roles=APPROVERS, problems=DECISION_PROBLEMS, body=True, idempotent=True)
@blp.arguments(RejectIn())
@blp.response(200, ApprovalRequestOut)
def reject(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Reject a request, with a reason; it is never posted.

    Rejecting again what one rejected with the same reason answers the request again (so a
    retry is safe, with or without an `Idempotency-Key`).
    """
    return present_request(
        approvals.reject(books(), id, by=current_actor(), audit=audit_facts(), **data)
    )


@blp.route("/approval-requests/<id>/withdraw", methods=["POST"])
@operation(blp, roles=("admin", "officer"), problems=DECISION_PROBLEMS)
@blp.response(200, ApprovalRequestOut)
def withdraw(id: str) -> dict[str, Any]:
    """The maker withdraws their pending request (with any of their tokens)."""
    return present_request(approvals.withdraw(books(), id, by=current_actor(), audit=audit_facts()))


@blp.route("/funds/<code>/approval-policy", methods=["GET"])
@operation(blp, roles=READERS, problems=("unknown_fund",))
@blp.response(200, PolicyOut)
def get_policy(code: str) -> dict[str, Any]:
    """The approval policy that governs a fund (`*`: the books' default)."""
    return present_policy(code, approvals.fund_policy(books(), code))


@blp.route("/funds/<code>/approval-policy", methods=["PUT"])
@operation(blp, roles=ADMIN, problems=("unknown_fund",), body=True, idempotent=True)
@blp.arguments(PolicyIn())
@blp.response(200, PolicyOut)
def set_policy(data: dict[str, Any], code: str) -> dict[str, Any]:
    """Set a fund's approval policy (`*`: the books' default); fields left out keep the
    default. Each change is a new version and an audit event (setting the same policy again
    adds a version too: PUT is idempotent in its effect on what governs the fund)."""
    policy = approvals.set_policy(books(), code, data, by=current_actor(), audit=audit_facts())
    return present_policy(code, policy)
