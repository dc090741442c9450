"""Honorary village chiefs (荣誉村长): appointments and their annual summaries (PDF)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response

from api.auth import READERS, WRITERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.programme_schemas import ChiefIn, ChiefList, ChiefOut, ChiefQuery
from api.resources.common import books, current_actor, idempotency_key, operation
from api.trail import audit_facts
from ledger.text import digits
from usecases import chiefs

blp = Blueprint(
    "chiefs", __name__, url_prefix="/api/v1", description="Honorary village chiefs (荣誉村长)."
)


@blp.route("/chiefs", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("not_found", "already_exists", "unknown_donor"),
    body=True,
    idempotent=True,
)
@blp.arguments(ChiefIn())
@blp.response(201, ChiefOut)
def appoint_chief(data: dict[str, Any]) -> dict[str, Any]:
    """Appoint a donor (a person or a firm) honorary chief of a village for a term, with a
    citation; `shown` is how they chose to appear on the village's public page."""
    key = idempotency_key("chiefs")
    chief = chiefs.appoint_chief(books(), by=current_actor(), key=key, audit=audit_facts(), **data)
    return asdict(chief)


@blp.route("/chiefs", methods=["GET"])
@operation(blp, roles=READERS, problems=("validation_error",))
@blp.arguments(ChiefQuery(), location="query", unknown="raise")
@blp.response(200, ChiefList)
def list_chiefs(query: dict[str, Any]) -> dict[str, Any]:
    """Every appointment, or one village's, by start date."""
    return {"items": [asdict(c) for c in chiefs.list_chiefs(books(), village=query.get("village"))]}


@blp.route("/chiefs/<chief_id>/summary/<year>", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, description="The summary (application/pdf).")
def chief_summary(chief_id: str, year: str) -> Response:
    """The chief's annual summary of their village for `year`: an A4 PDF like the receipts."""
    if not (digits(year) and len(year) == 4):
        raise ApiProblem("not_found", "The year is written with four digits, e.g. 2026.")
    pdf = chiefs.chief_summary_pdf(books(), chief_id, int(year))
    name = f"chief-summary-{year}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
