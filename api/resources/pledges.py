"""Pledges: unconditional ones are receivable income; conditional ones a memo record only."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.auth import WRITERS, actor
from api.resources.common import idempotency_key, key_day, operation, write
from api.schemas import PledgeIn, PledgeOut, iso, present_entry
from ledger import services
from ledger.money import format_minor
from ledger.storage.unit_of_work import UnitOfWork

blp = Blueprint("pledges", __name__, url_prefix="/api/v1", description="Pledges.")

PROBLEMS = ("unknown_donor", "unknown_fund", "period_closed")


def _pledge(uow: UnitOfWork, data: dict[str, Any], key: str | None) -> dict[str, Any]:
    args = {**data, "pledged_on": data["pledged_on"] or key_day(uow, key)}
    pledge, entry = services.record_pledge(uow, **args, maker=actor().name, key=key)
    return {
        "id": pledge.id,
        "donor_id": pledge.donor_id,
        "fund": pledge.fund,
        "amount": format_minor(pledge.amount_minor, pledge.currency),
        "currency": pledge.currency,
        "pledged_on": args["pledged_on"].isoformat(),
        "due_on": iso(pledge.due_on),
        "conditional": pledge.conditional,
        "memo": args["memo"],
        "entry": present_entry(entry) if entry else None,
    }


@blp.route("/pledges", methods=["POST"])
@operation(blp, roles=WRITERS, problems=PROBLEMS, body=True, idempotent=True)
@blp.arguments(PledgeIn())
@blp.response(201, PledgeOut)
def create_pledge(data: dict[str, Any]) -> dict[str, Any]:
    """Record a pledge.

    An unconditional pledge posts Dr 1122 pledges receivable / Cr 4101 contributions; a
    conditional one stays off the books (`entry` is null) until the condition is met. Pledges
    are in CNY.
    """
    key = idempotency_key("pledges")
    return write(
        lambda uow: _pledge(uow, data, key),
        aliases={"date": "pledged_on"},
        key=key,
        refs={"donor": [data["donor_id"]], "fund": [data["fund"]]},
    )
