"""Erasure of personal contact details kept outside the books (decision 0017).

Every view calls `usecases.erasure`, as the console does. A need's or a sign-up's contact is
erased by the community's staff (`officer`, `moderator`, `admin`); a donor's email addresses
by those who record them (`officer`, `admin`). The rows are deleted for good; the answer and
the audit event say what was erased, when, by whom and why, never the content. Erasing again
answers the latest erasure and writes nothing; with `Idempotency-Key`, a replay answers the
first call's.
"""

from __future__ import annotations

from typing import Any

from api.blueprint import Blueprint
from api.erasure_schemas import ErasureIn, ErasureOut, present_erasure
from api.resources.common import books, current_actor, idempotency_key, operation
from api.trail import audit_facts
from usecases import erasure

blp = Blueprint(
    "erasure",
    __name__,
    url_prefix="/api/v1",
    description="Erasing contact details for good (个人信息删除): a need's, a sign-up's, a "
    "donor's email addresses.",
)

_PROBLEMS = ("not_found",)


@blp.route("/needs/<id>/contact/erase", methods=["POST"])
@operation(blp, roles=erasure.CONTACT_ERASERS, problems=_PROBLEMS, body=True, idempotent=True)
@blp.arguments(ErasureIn())
@blp.response(200, ErasureOut)
def erase_need_contact(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Erase the contact the need's poster left. Declining a need erases it already."""
    done = erasure.erase_need_contact(
        books(),
        id,
        by=current_actor(),
        key=idempotency_key("needs-contact-erase"),
        audit=audit_facts(),
        **data,
    )
    return present_erasure(done)


@blp.route("/signups/<id>/contact/erase", methods=["POST"])
@operation(blp, roles=erasure.CONTACT_ERASERS, problems=_PROBLEMS, body=True, idempotent=True)
@blp.arguments(ErasureIn())
@blp.response(200, ErasureOut)
def erase_signup_contact(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Erase a sign-up's name and contact; the sign-up, its number and attendance stay."""
    done = erasure.erase_signup_contact(
        books(),
        id,
        by=current_actor(),
        key=idempotency_key("signups-contact-erase"),
        audit=audit_facts(),
        **data,
    )
    return present_erasure(done)


@blp.route("/donors/<id>/email/erase", methods=["POST"])
@operation(blp, roles=erasure.EMAIL_ERASERS, problems=_PROBLEMS, body=True, idempotent=True)
@blp.arguments(ErasureIn())
@blp.response(200, ErasureOut)
def erase_donor_email(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Erase every email address the donor gave: their rows, and the recipient of their email
    messages (what was still to be sent is dead-lettered). Receipts are no longer emailed
    until an address is recorded again (`PUT /donors/{id}/email`)."""
    done = erasure.erase_donor_email(
        books(),
        id,
        by=current_actor(),
        key=idempotency_key("donors-email-erase"),
        audit=audit_facts(),
        **data,
    )
    return present_erasure(done)
