"""The journal: entries by filter and cursor, one entry, and the reversal (the only correction)."""

from __future__ import annotations

from typing import Any

from flask import Response

from api.auth import READERS, WRITERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.resources.approvals import pending_response
from api.resources.common import (
    books,
    current_actor,
    decode_cursor,
    encode_cursor,
    idempotency_key,
    operation,
    read,
)
from api.schemas import (
    EntryOut,
    EntryPage,
    EntryQuery,
    PendingApprovalOut,
    ReversalIn,
    ReversalOut,
    present_entry,
)
from api.trail import audit_facts
from ledger.storage.repository import SqlRepository
from ledger.text import digits
from usecases import corrections
from usecases.gate import ApprovalRequest

blp = Blueprint("entries", __name__, url_prefix="/api/v1", description="The journal.")


def _after(cursor: str | None) -> int:
    value = decode_cursor("entries", cursor)
    if value is None:
        return 0
    if not digits(value):
        raise ApiProblem(
            "validation_error",
            "The cursor is not one this list handed out.",
            errors={"cursor": ["not a cursor of this list"]},
        )
    return int(value)


def _page(repo: SqlRepository, q: dict[str, Any]) -> dict[str, Any]:
    if q.get("donor") and q.get("beneficiary"):
        raise ApiProblem(
            "validation_error",
            "Filter by donor or by beneficiary, not both.",
            errors={"beneficiary": ["cannot be combined with donor"]},
        )
    limit = q["limit"]
    entries = repo.list_entries(
        after_sequence=_after(q.get("cursor")),
        limit=limit + 1,
        fund=q.get("fund"),
        project=q.get("project"),
        party=q.get("donor") or q.get("beneficiary"),
        kind=q.get("kind"),
        date_from=q.get("date_from"),
        date_to=q.get("date_to"),
    )
    page = entries[:limit]
    cursor = encode_cursor("entries", page[-1].sequence) if len(entries) > limit else None
    return {"items": [present_entry(e) for e in page], "next_cursor": cursor}


def _found(repo: SqlRepository, entry_id: str) -> dict[str, Any]:
    entry = repo.get_entry(entry_id)
    if entry is None:
        raise ApiProblem("not_found", f"There is no entry {entry_id!r}.")
    return present_entry(entry)


@blp.route("/entries", methods=["GET"])
@operation(blp, roles=READERS, problems=("validation_error",))
@blp.arguments(EntryQuery(), location="query", unknown="raise")
@blp.response(200, EntryPage)
def list_entries(query: dict[str, Any]) -> dict[str, Any]:
    """List journal entries in sequence order, filtered, a page at a time.

    `donor` and `beneficiary` select entries with a posting for that party; `from` and `to`
    bound the date the entry counts on.
    """
    return read(lambda repo: _page(repo, query))


@blp.route("/entries/<id>", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, EntryOut)
def get_entry(id: str) -> dict[str, Any]:
    """One journal entry with its postings, sequence number and chain hash."""
    return read(lambda repo: _found(repo, id))


@blp.route("/entries/<id>/reversal", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=(
        "not_found",
        "already_reversed",
        "insufficient_funds",
        "overpayment",
        "period_closed",
    ),
    body=True,
    idempotent=True,
)
@blp.arguments(ReversalIn())
@blp.response(201, ReversalOut)
@blp.alt_response(202, schema=PendingApprovalOut, description="requested: awaiting approval")
def reverse_entry(data: dict[str, Any], id: str) -> dict[str, Any] | Response:
    """Reverse an entry: post its mirror image, which points back at it.

    Once per entry; a reversal is not itself reversed. Refused if the reversal would overdraw
    cash that has been spent meanwhile. Then post the right entry. A reversal that needs
    approval (by default: of 10,000 or more, or of any disbursement) posts nothing: 202 with
    the approval request.
    """
    key = idempotency_key("reversals")
    entry = corrections.reverse_entry(
        books(), entry_id=id, by=current_actor(), key=key, audit=audit_facts(), **data
    )
    if isinstance(entry, ApprovalRequest):
        return pending_response(entry)
    return {"id": entry.id, "reverses": id, "reason": data["reason"], "entry": present_entry(entry)}
