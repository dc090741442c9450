"""Beneficiaries: personal data goes in sealed; only a pseudonym, cohort and county come out."""

from __future__ import annotations

from typing import Any

from api.auth import READERS, WRITERS
from api.blueprint import Blueprint
from api.resources.common import (
    books,
    decode_cursor,
    encode_cursor,
    idempotency_key,
    operation,
    read,
)
from api.schemas import BeneficiaryIn, BeneficiaryOut, BeneficiaryPage, PageQuery
from api.trail import audit_facts
from ledger.model import Beneficiary
from ledger.storage.repository import SqlRepository
from usecases import reference

blp = Blueprint(
    "beneficiaries",
    __name__,
    url_prefix="/api/v1",
    description="Scholarship beneficiaries, by pseudonym only.",
)


def present_beneficiary(b: Beneficiary) -> dict[str, Any]:
    return {"id": b.id, "cohort": b.cohort, "county": b.county}


def _page(repo: SqlRepository, query: dict[str, Any]) -> dict[str, Any]:
    # The repository lists every beneficiary; the page is cut here (hundreds, not millions).
    after = decode_cursor("beneficiaries", query.get("cursor")) or ""
    limit = query["limit"]
    rest = [b for b in repo.list_beneficiaries() if b.id > after]
    page = rest[:limit]
    cursor = encode_cursor("beneficiaries", page[-1].id) if len(rest) > limit else None
    return {"items": [present_beneficiary(b) for b in page], "next_cursor": cursor}


@blp.route("/beneficiaries", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("already_exists",), body=True, idempotent=True)
@blp.arguments(BeneficiaryIn())
@blp.response(201, BeneficiaryOut)
def create_beneficiary(data: dict[str, Any]) -> dict[str, Any]:
    """Register a beneficiary.

    The personal data is encrypted under a key of this person's own and never returned, not
    even to auditors; the answer is the pseudonym (a keyed HMAC of the identity number).
    """
    key = idempotency_key("beneficiaries")
    registered = reference.register_beneficiary(books(), key=key, audit=audit_facts(), **data)
    return present_beneficiary(registered)


@blp.route("/beneficiaries", methods=["GET"])
@operation(blp, roles=READERS, problems=("validation_error",))
@blp.arguments(PageQuery(), location="query", unknown="raise")
@blp.response(200, BeneficiaryPage)
def list_beneficiaries(query: dict[str, Any]) -> dict[str, Any]:
    """List beneficiaries (pseudonym, cohort, county), a page at a time."""
    return read(lambda repo: _page(repo, query))
