"""Issuers: the legal entities that hold funds and issue their receipts, and which holds which."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from api.auth import ADMIN, READERS
from api.blueprint import Blueprint
from api.resources.common import books, current_actor, operation
from api.schemas import StrictBoolean, Text, not_blank
from api.trail import audit_facts
from receipts.issuers import IssuerRecord
from usecases import issuers

blp = Blueprint(
    "issuers", __name__, url_prefix="/api/v1", description="Issuers of receipts and their funds."
)


class IssuerIn(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9][A-Z0-9-]{0,39}$"))
    name = Text(required=True, validate=[validate.Length(min=1, max=200), not_blank])
    registration_no = fields.String(
        required=True,
        validate=validate.Length(equal=18),
        metadata={"description": "统一社会信用代码: 18 characters, GB 32100-2015 check character"},
    )
    seal_text = Text(load_default=None, validate=validate.Length(max=200))
    demo = StrictBoolean(load_default=False)


class IssuerOut(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    registration_no = fields.String(required=True)
    seal_text = fields.String(required=True)
    demo = fields.Boolean(required=True)
    funds = fields.List(fields.String(), required=True)


class IssuerList(Schema):
    items = fields.List(fields.Nested(IssuerOut), required=True)
    unassigned_funds = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "open funds whose receipts say their issuer is not configured"},
    )


class AssignIn(Schema):
    issuer = fields.String(required=True, validate=validate.Length(min=1, max=40))


class AssignOut(Schema):
    fund = fields.String(required=True)
    issuer = fields.Nested(IssuerOut, required=True)


def _present(record: IssuerRecord, funds: list[str]) -> dict[str, Any]:
    return {
        "code": record.code,
        "name": record.name,
        "registration_no": record.registration_no,
        "seal_text": record.seal_text,
        "demo": record.demo,
        "funds": funds,
    }


@blp.route("/issuers", methods=["POST"])
@operation(blp, roles=ADMIN, problems=("already_exists",), body=True, idempotent=True)
@blp.arguments(IssuerIn())
@blp.response(201, IssuerOut)
def create_issuer(data: dict[str, Any]) -> dict[str, Any]:
    """Register an issuer; its 统一社会信用代码 must pass the GB 32100-2015 check (else 422).

    The same issuer again (a replay) answers it; another with its code or credit code is 409.
    """
    record = issuers.add_issuer(books(), by=current_actor(), audit=audit_facts(), **data)
    return _present(record, [])


@blp.route("/issuers", methods=["GET"])
@operation(blp, roles=READERS)
@blp.response(200, IssuerList)
def list_issuers() -> dict[str, Any]:
    """Every issuer with the funds it holds now, and the open funds that have none."""
    engine = books().engine
    return {
        "items": [_present(r, funds) for r, funds in issuers.list_issuers(engine)],
        "unassigned_funds": issuers.unassigned_funds(engine),
    }


@blp.route("/funds/<code>/issuer", methods=["PUT"])
@operation(blp, roles=ADMIN, problems=("not_found",), body=True)
@blp.arguments(AssignIn())
@blp.response(200, AssignOut)
def assign_issuer(data: dict[str, Any], code: str) -> dict[str, Any]:
    """Assign the fund to an issuer. Receipts issued from now on take it; earlier ones keep
    theirs (the assignment is an appended record)."""
    record = issuers.assign_issuer(
        books(), code, data["issuer"], by=current_actor(), audit=audit_facts()
    )
    funds = [
        f for r, fs in issuers.list_issuers(books().engine) if r.code == record.code for f in fs
    ]
    return {"fund": code, "issuer": _present(record, funds)}
