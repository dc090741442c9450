"""Donors: people and organisations, with their language and anonymity wishes."""

from __future__ import annotations

from typing import Any

from api.auth import READERS, WRITERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.resources.common import (
    books,
    decode_cursor,
    encode_cursor,
    idempotency_key,
    operation,
    read,
)
from api.schemas import DonorIn, DonorOut, DonorPage, PageQuery
from api.trail import audit_facts
from ledger.model import Donor
from ledger.storage.repository import SqlRepository
from usecases import reference

blp = Blueprint("donors", __name__, url_prefix="/api/v1", description="Donors.")


def present_donor(donor: Donor) -> dict[str, Any]:
    return {
        "id": donor.id,
        "name": donor.name,
        "kind": donor.kind.value,
        "language": donor.language,
        "anonymous": donor.anonymous,
        "region": donor.region,
    }


def _found(repo: SqlRepository, donor_id: str) -> Donor:
    donor = repo.get_donor(donor_id)
    if donor is None:
        raise ApiProblem("not_found", f"There is no donor {donor_id!r}.")
    return donor


def _page(repo: SqlRepository, query: dict[str, Any]) -> dict[str, Any]:
    limit = query["limit"]
    donors = repo.list_donors(decode_cursor("donors", query.get("cursor")), limit + 1)
    more = len(donors) > limit
    donors = donors[:limit]
    cursor = encode_cursor("donors", donors[-1].id) if more else None
    return {"items": [present_donor(d) for d in donors], "next_cursor": cursor}


@blp.route("/donors", methods=["POST"])
@operation(blp, roles=WRITERS, body=True, idempotent=True)
@blp.arguments(DonorIn())
@blp.response(201, DonorOut)
def create_donor(data: dict[str, Any]) -> dict[str, Any]:
    """Register a donor."""
    key = idempotency_key("donors")
    return present_donor(reference.register_donor(books(), key=key, audit=audit_facts(), **data))


@blp.route("/donors", methods=["GET"])
@operation(blp, roles=READERS, problems=("validation_error",))
@blp.arguments(PageQuery(), location="query", unknown="raise")
@blp.response(200, DonorPage)
def list_donors(query: dict[str, Any]) -> dict[str, Any]:
    """List donors by id, a page at a time."""
    return read(lambda repo: _page(repo, query))


@blp.route("/donors/<id>", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, DonorOut)
def get_donor(id: str) -> dict[str, Any]:
    """One donor."""
    return present_donor(read(lambda repo: _found(repo, id)))
