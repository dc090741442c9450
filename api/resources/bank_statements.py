"""Bank statements over HTTP: import (camt.053 or CSV), reconciliation report, manual matches.

The import is `multipart/form-data` (`file`, `fund`, `account`, optional `layout`: the CSV
layout as JSON); importing the same file again answers the first import (200, not 201) and
records nothing. Matching and the report are `usecases.reconciliation`'s.
"""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import RAISE, Schema, fields, validate

from api.auth import READERS, WRITERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.resources.common import books, current_actor, idempotency_key, operation
from api.schemas import Memo, Text
from api.trail import audit_facts
from ledger.bank_statements import layout_from_json
from ledger.money import format_minor
from ledger.text import digits
from usecases import reconciliation

blp = Blueprint(
    "bank_statements", __name__, url_prefix="/api/v1", description="Bank reconciliation."
)

#: A statement file may be this large (a year of lines of a busy account is far less).
STATEMENT_LIMIT = 8 * 1024 * 1024


@blp.url_value_preprocessor
def _statement_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if endpoint == "bank_statements.import_statement":
        request.max_content_length = STATEMENT_LIMIT


class BankImportOut(Schema):
    id = fields.String(required=True)
    created = fields.Boolean(required=True)
    lines = fields.Integer(required=True)
    matched = fields.Integer(required=True)
    report = fields.String(required=True)


class BankStatementOut(Schema):
    id = fields.String(required=True)
    fund = fields.String(required=True)
    account = fields.String(required=True)
    format = fields.String(required=True)
    sha256 = fields.String(required=True)
    statement_ref = fields.String(required=True)
    currency = fields.String(required=True)
    from_date = fields.String(required=True)
    to_date = fields.String(required=True)
    opening_minor = fields.Integer(allow_none=True, required=True)
    closing_minor = fields.Integer(allow_none=True, required=True)
    lines = fields.Integer(required=True)
    imported_by = fields.String(required=True)
    imported_at = fields.String(required=True)


class BankStatementList(Schema):
    items = fields.List(fields.Nested(BankStatementOut), required=True)


class BankMatchOut(Schema):
    statement_id = fields.String(required=True)
    line = fields.Integer(required=True)
    posting_sequence = fields.Integer(required=True)
    posting_line = fields.Integer(required=True)
    entry_id = fields.String(required=True)
    how = fields.String(
        required=True, metadata={"enum": ["reference", "date", "manual", "recorded"]}
    )
    matched_by = fields.String(required=True)
    matched_at = fields.String(required=True)


class ReconciliationOut(Schema):
    statement = fields.Nested(BankStatementOut, required=True)
    opening = fields.String(allow_none=True, required=True)
    closing = fields.String(allow_none=True, required=True)
    books_balance = fields.String(required=True)
    difference = fields.Integer(
        allow_none=True, required=True, metadata={"description": "minor units"}
    )
    difference_amount = fields.String(allow_none=True, required=True)
    reconciled = fields.Boolean(required=True)
    matched = fields.List(fields.Dict(), required=True)
    unmatched_lines = fields.List(fields.Dict(), required=True)
    unmatched_postings = fields.List(fields.Dict(), required=True)


class BankMatchIn(Schema):
    entry_id = Text(required=True, validate=validate.Length(min=1, max=40))


class BankFeeIn(Schema):
    memo = Text(load_default="", validate=validate.Length(max=200))


class StatementForm(Schema):
    """The text fields of a statement upload, judged by the JSON fields' rule (`Text`)."""

    class Meta:
        unknown = RAISE

    fund = Text(required=True, validate=validate.Length(min=1, max=40))
    account = Text(required=True, validate=validate.Length(min=1, max=20))
    layout = Memo(load_default="", validate=validate.Length(max=10_000))


def _statement_form() -> dict[str, Any]:
    errors: dict[str, Any] = StatementForm().validate(dict(request.form.items()))
    if errors:
        raise ApiProblem("validation_error", "Invalid upload fields.", errors=errors)
    return dict(StatementForm().load(dict(request.form.items())))


@blp.route("/bank-statements", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("unknown_fund",), body=True, idempotent=True)
@blp.response(201, BankImportOut)
@blp.alt_response(200, schema=BankImportOut, description="The same file was imported before.")
def import_statement() -> Any:
    """Import a bank statement for a fund's cash account (camt.053 XML or CSV) and match it.

    Idempotent by content: the same file for the same fund and account answers the first
    import (200) and records nothing, with or without an `Idempotency-Key`.
    """
    file = request.files.get("file")
    if file is None:
        raise ApiProblem("validation_error", "`file` is required.", errors={"file": ["required"]})
    form = _statement_form()
    data = file.stream.read(STATEMENT_LIMIT + 1)
    layout = layout_from_json(form["layout"] or None)
    result = reconciliation.import_statement(
        books(),
        data,
        fund=form["fund"],
        account=form["account"],
        layout=layout,
        by=current_actor(),
        audit=audit_facts(),
    )
    body = {
        "id": result.statement_id,
        "created": result.created,
        "lines": result.lines,
        "matched": result.matched,
        "report": f"/api/v1/bank-statements/{result.statement_id}",
    }
    return body, (201 if result.created else 200)


import_statement.accepts_form = True  # type: ignore[attr-defined]


@blp.route("/bank-statements", methods=["GET"])
@operation(blp, roles=READERS)
@blp.response(200, BankStatementList)
def list_statements() -> Any:
    """Every imported statement."""
    return {"items": reconciliation.statements(books())}


def _amount(minor: int | None, currency: str) -> str | None:
    return None if minor is None else format_minor(minor, currency)


@blp.route("/bank-statements/<statement_id>", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, ReconciliationOut)
def statement_report(statement_id: str) -> Any:
    """The reconciliation report: balances, matched, unmatched on either side, difference."""
    report = reconciliation.reconciliation_report(books(), statement_id)
    cur = report["statement"]["currency"]
    return {
        **report,
        "opening": _amount(report["statement"]["opening_minor"], cur),
        "closing": _amount(report["statement"]["closing_minor"], cur),
        "books_balance": _amount(report["books_balance"], cur),
        "difference_amount": _amount(report["difference"], cur),
        "reconciled": report["difference"] == 0 and not report["unmatched_lines"],
    }


def _line(line: str) -> int:
    if not digits(line) or len(line) > 9:
        raise ApiProblem("not_found", "No such line.")
    return int(line)


@blp.route("/bank-statements/<statement_id>/lines/<line>/match", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("not_found", "already_exists"), body=True, idempotent=True)
@blp.arguments(BankMatchIn())
@blp.response(201, BankMatchOut)
def match_line(data: dict[str, Any], statement_id: str, line: str) -> Any:
    """Match an unmatched line to an entry by hand."""
    match = reconciliation.match_by_hand(
        books(),
        statement_id,
        _line(line),
        entry_id=data["entry_id"],
        by=current_actor(),
        audit=audit_facts(),
        key=idempotency_key("bank-match"),
    )
    return match


@blp.route("/bank-statements/<statement_id>/lines/<line>/fee", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("not_found", "already_exists", "insufficient_funds"),
    body=True,
    idempotent=True,
)
@blp.arguments(BankFeeIn())
@blp.response(201, BankMatchOut)
def record_fee(data: dict[str, Any], statement_id: str, line: str) -> Any:
    """Record the bank fee a debit line shows (Dr 5301 / Cr 1002), matched to the line."""
    match = reconciliation.record_fee_from_line(
        books(),
        statement_id,
        _line(line),
        by=current_actor(),
        memo=data["memo"],
        audit=audit_facts(),
        key=idempotency_key("bank-fee"),
    )
    return match
