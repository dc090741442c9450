"""Accounting periods: once a month or year is closed, no entry may be dated inside it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, select

from api.auth import ADMIN, READERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.resources.common import books, current_actor, idempotency_key, operation
from api.schemas import PeriodList, PeriodOut
from api.trail import audit_facts
from ledger.storage.tables import closed_periods
from usecases import reference

blp = Blueprint("periods", __name__, url_prefix="/api/v1", description="Closing periods.")

_PERIOD = re.compile(r"^(19|2[0-9])[0-9]{2}(-(0[1-9]|1[0-2]))?$")


def _rows(conn: Connection, period: str | None = None) -> list[dict[str, Any]]:
    query = select(closed_periods).order_by(closed_periods.c.period)
    if period is not None:
        query = query.where(closed_periods.c.period == period)
    return [
        {"period": r.period, "closed_at": r.closed_at, "closed_by": r.closed_by}
        for r in conn.execute(query)
    ]


@blp.route("/periods", methods=["GET"])
@operation(blp, roles=READERS)
@blp.response(200, PeriodList)
def list_periods() -> dict[str, Any]:
    """The closed periods, oldest first."""
    with books().engine.connect() as conn:
        return {"items": _rows(conn)}


@blp.route("/periods/<period>/close", methods=["POST"])
@operation(blp, roles=ADMIN, problems=("already_exists", "validation_error"), idempotent=True)
@blp.response(201, PeriodOut)
def close_period(period: str) -> dict[str, Any]:
    """Close a month (`YYYY-MM`) or a year (`YYYY`) that has ended.

    No entry may be dated inside it afterwards; a reversal of an entry in it is dated today.
    """
    if not _PERIOD.match(period):
        raise ApiProblem(
            "validation_error",
            "A period is YYYY-MM or YYYY (1900-2999).",
            errors={"period": ["must be YYYY-MM or YYYY"]},
        )
    key = idempotency_key("periods")
    return reference.close_period(books(), period, by=current_actor(), key=key, audit=audit_facts())
