"""The approvals inbox: requests waiting for a checker, decided by approvers, withdrawn by makers.

Every decision is the approvals use case's (`usecases.approvals`): the maker never decides their
own request, an approver decides once, and the approval that completes a request posts it with
every rule checked again. A refusal is shown on the inbox in the person's language. Each
waiting request lists its documents (`usecases.evidence`, subject "approval_request") with
download links for the checker; its maker attaches them from the request's page
(`console.office.evidence`).
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from console.auth import APPROVERS, current_actor, current_user, login_required
from console.messages import message_for
from console.pages import bp
from console.shell import audit_facts
from console.state import books
from ledger.errors import LedgerError
from usecases import approvals, evidence

__all__ = ["inbox"]

OPERATIONS = {
    "disbursement": _l("Project payment"),
    "transfer": _l("Transfer"),
    "award": _l("Scholarship award"),
    "reversal": _l("Reversal"),
}
STATES = {
    "pending": _l("Waiting"),
    "posted": _l("Approved and posted"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
    "expired": _l("Expired"),
}


def _page(status: int = 200, **context: Any) -> tuple[str, int]:
    pending = approvals.list_requests(books(), state="pending")
    recent = [r for r in approvals.list_requests(books(), limit=50) if r.state != "pending"]
    return (
        render_template(
            "console/approvals.html",
            pending=pending,
            documents={
                r.id: evidence.attachments_of(books(), "approval_request", r.id) for r in pending
            },
            recent=recent[:20],
            operations=OPERATIONS,
            states=STATES,
            **context,
        ),
        status,
    )


@bp.get("/console/approvals")
@login_required()
def inbox() -> tuple[str, int]:
    """Requests waiting for a checker, and the latest decided ones."""
    return _page(done=request.args.get("done"))


@bp.post("/console/approvals/<request_id>/<decision>")
@login_required()
def decide(request_id: str, decision: str) -> Any:
    """Approve or reject (approvers), or withdraw (the maker) one request."""
    user = current_user()
    assert user is not None
    facts = audit_facts(f"approvals.{decision}", request_id)
    try:
        if decision == "approve" and user.can(*APPROVERS):
            approvals.approve(books(), request_id, by=current_actor(), audit=facts)
        elif decision == "reject" and user.can(*APPROVERS):
            reason = request.form.get("reason", "").strip()[:1000]
            if not reason:
                return _page(422, error=_l("Give the reason for rejecting."), failed=request_id)
            approvals.reject(books(), request_id, reason=reason, by=current_actor(), audit=facts)
        elif decision == "withdraw":
            approvals.withdraw(books(), request_id, by=current_actor(), audit=facts)
        else:
            return _page(403, error=_l("You may not do this"), failed=request_id)
    except LedgerError as err:
        return _page(422, error=message_for(err), failed=request_id)
    return _done(decision)


def _done(decision: str) -> Response:
    return redirect(url_for("console.inbox", done=decision))
