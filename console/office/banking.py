"""Bank statements at the console: import a camt.053 or CSV file for a fund's cash account,
read its reconciliation report, match a line to an entry by hand, record a bank fee a line
shows (the entry the books were missing), matched to it.

Everything is `usecases.reconciliation`'s: reading the file, the automatic matching, the
report's figures and the one-to-one matching rule. The same file imported again answers the
first import and records nothing.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from console import reads
from console.auth import READERS, WRITERS, current_actor, login_required
from console.forms import Field, Form
from console.messages import message_for
from console.office import UPLOAD_LIMITS, bp
from console.shell import audit_facts
from console.state import books
from ledger import limits
from ledger.bank_statements import StatementRejected, layout_from_json
from ledger.errors import LedgerError, NotFound
from ledger.money import EXPONENTS
from ledger.text import digits
from usecases import reconciliation

#: A statement file may be this large (the API's limit).
STATEMENT_LIMIT = 8 * 1024 * 1024


def _funds() -> list[tuple[str, str]]:
    return [(f.code, f"{f.name} ({f.code})") for f in reads.funds(books())]


def _accounts() -> list[tuple[str, str]]:
    ordered = sorted(EXPONENTS, key=lambda c: (c != "CNY", c))
    return [(f"1002-{c}", f"1002-{c} · {c}") for c in ordered]


IMPORT_FIELDS = (
    Field("fund", _l("Fund"), "choice", required=True, choices=_funds),
    Field(
        "account",
        _l("Cash account"),
        "choice",
        required=True,
        choices=_accounts,
        default="1002-CNY",
    ),
    Field(
        "layout",
        _l("CSV layout (JSON, only for a CSV in another layout)"),
        "textarea",
        max_length=10_000,
        help=_l('e.g. {"delimiter": ";", "date_format": "%d.%m.%Y"}; camt.053 needs none.'),
    ),
)
MATCH_FIELDS = (Field("entry_id", _l("Entry id"), required=True, max_length=limits.REF),)
FEE_FIELDS = (Field("memo", _l("Memo"), max_length=limits.NAME),)


HOW = {
    "reference": _l("by reference"),
    "date": _l("by amount and date"),
    "manual": _l("by hand"),
    "recorded": _l("recorded from the line"),
}


def match_how(how: str) -> str:
    return str(HOW.get(how, how))


bp.add_app_template_global(match_how, "match_how")


def _list_page(form: Form, status: int = 200, **context: Any) -> tuple[str, int]:
    return (
        render_template(
            "console/office/bank_statements.html",
            statements=reconciliation.statements(books()),
            form=form,
            **context,
        ),
        status,
    )


@bp.get("/bank-statements")
@login_required(*READERS)
def bank_statements() -> tuple[str, int]:
    """Every imported statement, and (for officers) the import form."""
    return _list_page(Form.blank(IMPORT_FIELDS, fund=request.args.get("fund")))


@bp.post("/bank-statements")
@login_required(*WRITERS)
def import_statement() -> Any:
    """Import a statement and go to its reconciliation report."""
    form = Form.posted(IMPORT_FIELDS, request.form)
    data = form.load()
    file = request.files.get("file")
    if file is None or not file.filename:
        return _list_page(form, 422, file_error=_l("Choose a statement file."))
    if data is None:
        return _list_page(form, 422)
    try:
        layout = layout_from_json(data.get("layout") or None)
        result = reconciliation.import_statement(
            books(),
            file.stream.read(STATEMENT_LIMIT + 1),
            fund=data["fund"],
            account=data["account"],
            layout=layout,
            by=current_actor(),
            audit=audit_facts("bank-statements"),
        )
    except StatementRejected as err:
        return _list_page(form, 422, file_error=message_for(err), problems=err.problems)
    except LedgerError as err:
        if err.field in ("fund", "account"):
            form.refused(err)
            return _list_page(form, 422)
        return _list_page(form, 422, file_error=err.message)
    target = url_for("console_office.bank_statement", statement_id=result.statement_id)
    return redirect(f"{target}?{'imported' if result.created else 'again'}=1", 303)


UPLOAD_LIMITS["console_office.import_statement"] = STATEMENT_LIMIT + 64 * 1024


def _report_page(statement_id: str, status: int = 200, **context: Any) -> tuple[str, int]:
    try:
        report = reconciliation.reconciliation_report(books(), statement_id[:40])
    except NotFound:
        abort(404)
    reconciled = report["difference"] == 0 and not report["unmatched_lines"]
    return (
        render_template(
            "console/office/bank_statement.html",
            report=report,
            st=report["statement"],
            reconciled=reconciled,
            imported=request.args.get("imported") == "1",
            again=request.args.get("again") == "1",
            match_form=context.pop("match_form", None) or Form.blank(MATCH_FIELDS),
            fee_form=context.pop("fee_form", None) or Form.blank(FEE_FIELDS),
            **context,
        ),
        status,
    )


@bp.get("/bank-statements/<statement_id>")
@login_required(*READERS)
def bank_statement(statement_id: str) -> tuple[str, int]:
    """The reconciliation report: balances, matched lines, what is open on either side."""
    return _report_page(statement_id)


def _line(line: str) -> int:
    if not digits(line) or len(line) > 9:
        abort(404)
    return int(line)


@bp.post("/bank-statements/<statement_id>/lines/<line>/match")
@login_required(*WRITERS)
def match_line(statement_id: str, line: str) -> Any:
    """Match an open line to an entry by hand."""
    number = _line(line)
    form = Form.posted(MATCH_FIELDS, request.form)
    data = form.load()
    if data is None:
        return _report_page(statement_id, 422, match_form=form, failed_line=number)
    key = form.key("bank-match")
    try:
        reconciliation.match_by_hand(
            books(),
            statement_id[:40],
            number,
            entry_id=data["entry_id"],
            by=current_actor(),
            audit=audit_facts("bank-match", key),
            key=key,
        )
    except LedgerError as err:
        form.add_error("entry_id", message_for(err))
        return _report_page(statement_id, 422, match_form=form, failed_line=number)
    return _done(statement_id, number)


@bp.post("/bank-statements/<statement_id>/lines/<line>/fee")
@login_required(*WRITERS)
def record_fee(statement_id: str, line: str) -> Any:
    """Record the bank fee a debit line shows (Dr 5301 / Cr 1002), matched to the line."""
    number = _line(line)
    form = Form.posted(FEE_FIELDS, request.form)
    data = form.load()
    if data is None:
        return _report_page(statement_id, 422, fee_form=form, failed_line=number)
    key = form.key("bank-fee")
    try:
        reconciliation.record_fee_from_line(
            books(),
            statement_id[:40],
            number,
            by=current_actor(),
            memo=data.get("memo") or "",
            audit=audit_facts("bank-fee", key),
            key=key,
        )
    except LedgerError as err:
        form.add_error("memo", message_for(err))
        return _report_page(statement_id, 422, fee_form=form, failed_line=number)
    return _done(statement_id, number)


def _done(statement_id: str, line: int) -> Response:
    target = url_for("console_office.bank_statement", statement_id=statement_id[:40])
    return redirect(f"{target}?matched={line}#line-{line}", 303)
