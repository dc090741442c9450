"""Schemas of erasure (`api.resources.erasure`) and their presenter.

An erasure's answer says what was erased, when, by whom and why, never the erased content.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from usecases import erasure

__all__ = ["ErasureIn", "ErasureOut", "present_erasure"]

_REASONS = ", ".join(f"`{r}`" for r in erasure.REASONS)


class ErasureIn(Schema):
    reason = fields.String(
        required=True,
        validate=validate.OneOf(erasure.REASONS),
        metadata={
            "description": "why (a code, never free text: the audit trail keeps it for good): "
            f"{_REASONS}: the person asked, withdrew consent, the purpose was achieved or is "
            "no longer needed, the retention period ran out"
        },
    )


class ErasureOut(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(erasure.KINDS),
        metadata={"description": "`need_contact`, `signup_contact` or `donor_email`"},
    )
    subject = fields.String(
        required=True, metadata={"description": "the need's, sign-up's or donor's id"}
    )
    erased = fields.Boolean(
        required=True,
        metadata={
            "description": "false only when nothing was ever held to erase (the fields below "
            "are then null)"
        },
    )
    erasure_id = fields.String(required=True, allow_none=True)
    reason = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": f"{_REASONS}, or `need_declined` (declining erased it)"},
    )
    erased_at = fields.String(required=True, allow_none=True)
    erased_by = fields.String(required=True, allow_none=True)
    rows = fields.Integer(
        required=True, metadata={"description": "contact rows deleted (a donor: one per address)"}
    )
    messages = fields.Integer(
        required=True,
        metadata={"description": "email messages whose recipient was blanked (a donor only)"},
    )


def present_erasure(e: erasure.Erasure) -> dict[str, Any]:
    return {
        "kind": e.kind,
        "subject": e.subject,
        "erased": e.id is not None,
        "erasure_id": e.id,
        "reason": e.reason,
        "erased_at": e.at,
        "erased_by": e.by,
        "rows": e.rows,
        "messages": e.messages,
    }
