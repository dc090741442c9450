"""Pledges: unconditional ones are receivable income; conditional ones a memo record only."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from api.auth import WRITERS
from api.blueprint import Blueprint
from api.resources.common import books, current_actor, idempotency_key, operation, public_base
from api.schemas import PledgeIn, PledgeOut, ReceiptOut, iso, present_entry
from api.trail import audit_facts
from ledger.money import format_minor
from usecases import pledges
from usecases.pledges import RecordedPledge

blp = Blueprint("pledges", __name__, url_prefix="/api/v1", description="Pledges.")

PROBLEMS = ("unknown_donor", "unknown_fund", "period_closed")


class PledgeAcknowledgedOut(PledgeOut):
    acknowledgment = fields.Nested(
        ReceiptOut,
        required=True,
        allow_none=True,
        metadata={
            "description": "the pledge's acknowledgment (series HQP): its serial, page and PDF; "
            "a pledge gets an acknowledgment, never a receipt"
        },
    )


def _present(recorded: RecordedPledge, memo: str) -> dict[str, Any]:
    pledge, entry = recorded.pledge, recorded.entry
    return {
        "id": pledge.id,
        "donor_id": pledge.donor_id,
        "fund": pledge.fund,
        "amount": format_minor(pledge.amount_minor, pledge.currency),
        "currency": pledge.currency,
        "pledged_on": recorded.pledged_on.isoformat(),
        "due_on": iso(pledge.due_on),
        "conditional": pledge.conditional,
        "memo": memo,
        "entry": present_entry(entry) if entry else None,
        "acknowledgment": recorded.acknowledgment.urls(public_base())
        if recorded.acknowledgment
        else None,
    }


@blp.route("/pledges", methods=["POST"])
@operation(blp, roles=WRITERS, problems=PROBLEMS, body=True, idempotent=True)
@blp.arguments(PledgeIn())
@blp.response(201, PledgeAcknowledgedOut)
def create_pledge(data: dict[str, Any]) -> dict[str, Any]:
    """Record a pledge.

    An unconditional pledge posts Dr 1122 pledges receivable / Cr 4101 contributions; a
    conditional one stays off the books (`entry` is null) until the condition is met. Pledges
    are in CNY. Either way the donor gets an acknowledgment (`acknowledgment`: its own
    gapless series HQP-<year>-<n>, a page and a PDF), not a receipt.
    """
    key = idempotency_key("pledges")
    recorded = pledges.record_pledge(
        books(), by=current_actor(), key=key, audit=audit_facts(), **data
    )
    return _present(recorded, data["memo"])
