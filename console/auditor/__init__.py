"""The auditors' pages, read only: the trial balance as of any day, the statements (HTML, with
their CSV and PDF), the journal exports, the audit bundle, checkpoints, and an entry's file.

Every figure and file comes from `usecases.queries`, the functions the API's routes serve, so a
download here is the API's download. A statement line leads to the journal entries behind it
(`queries.drill_down`), an entry to its postings, its reversal, its receipts and the audit
events around it. Roles as in the API: statements, the trial balance, checkpoints and entries
for every reader; journal exports and the bundle for auditors and admins.

Install with `init_app(app)` after `console.init_app` (it registers the `console_audit` blueprint).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, Response, abort, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console import reads
from console.auth import READERS, login_required
from console.lists import AUDITORS
from console.lists.filters import Filter, parse
from console.shell import make_blueprint
from console.state import books
from ledger.errors import LedgerError, NotFound
from usecases import queries

__all__ = ["bp", "init_app"]

bp = make_blueprint("console_audit", __name__, url_prefix="/console/audit")

FUND_FILTER = "fund"
_JOURNAL_ARGS = {
    "account": "account",
    "fund": "fund",
    "date_from": "from",
    "date_to": "to",
    "kind": "kind",
    "project": "project",
}


TITLES = {
    "trial-balance": _l("Trial balance"),
    "financial-position": _l("Statement of financial position"),
    "activities": _l("Statement of activities"),
    "cash-flows": _l("Statement of cash flows"),
    "pledges": _l("Register of pledges"),
    "disbursements": _l("Register of disbursements by project"),
    "scholarships": _l("Register of scholarships by cohort"),
}


def statement_title(kind: str) -> str:
    return str(TITLES.get(kind, kind))


bp.add_app_template_global(statement_title, "statement_title")


def init_app(app: Flask) -> None:
    """Register the auditors' pages on `app` (once `console.init_app` has run)."""
    app.register_blueprint(bp)


def _fund() -> Filter:
    choices = [(f.code, f"{f.name} ({f.code})") for f in reads.funds(books())]
    return Filter("fund", "fund", _l("Fund (all if empty)"), "choice", choices, max_length=40)


def _download(found: queries.Download) -> Response:
    headers = {
        "Content-Disposition": f'attachment; filename="{found.filename}"',
        "Cache-Control": "no-store",
    }
    if found.meta is not None:
        headers["X-Huiquan-Checkpoint"] = found.meta.header()
        headers["X-Huiquan-Journal-Size"] = str(found.meta.journal_size)
    return Response(
        found.chunks, mimetype=found.media_type, headers=headers, direct_passthrough=True
    )


@bp.get("/")
@login_required(*READERS)
def index() -> str:
    """What an auditor can read and download here."""
    return render_template(
        "console/auditor/index.html",
        kinds=queries.STATEMENT_KINDS,
        formats=list(queries.EXPORT_FORMATS),
        year=dt.datetime.now(dt.UTC).year,
        auditors=AUDITORS,
    )


@bp.get("/trial-balance")
@login_required(*READERS)
def trial_balance() -> tuple[str, int]:
    """Debit and credit per account in CNY as of a day; each account leads to its entries."""
    filters = [Filter("as_of", "as_of", _l("As of"), "date", max_length=10), _fund()]
    query = parse(filters)
    tb = None
    if not query.errors:
        wanted = {k: query.keywords[k] for k in ("as_of", "fund") if k in query.keywords}
        try:
            tb = queries.trial_balance(books(), **wanted)
        except LedgerError as refused:
            query.errors[refused.field or "fund"] = refused.message
    context = {"tb": tb, "query": query, "filters": filters}
    return render_template("console/auditor/trial_balance.html", **context), (
        400 if query.errors else 200
    )


def _statement_filters() -> list[Filter]:
    return [
        _fund(),
        Filter("from", "date_from", _l("From"), "date", max_length=10),
        Filter("to", "date_to", _l("To"), "date", max_length=10),
        Filter("as_of", "as_of", _l("As of"), "date", max_length=10),
    ]


def _statement(kind: str) -> tuple[queries.StatementView | None, Any, list[Filter]]:
    filters = _statement_filters()
    query = parse(filters)
    if kind not in queries.STATEMENT_KINDS:
        abort(404)
    view = None
    if not query.errors:
        wanted = {k: v for k, v in query.keywords.items() if k not in ("limit", "cursor")}
        try:
            view = queries.statement(books(), kind, **wanted)
        except NotFound as missing:
            query.errors[missing.field or "fund"] = missing.message
        except LedgerError as refused:
            query.errors[refused.field or "from"] = refused.message
    return view, query, filters


@bp.get("/statements/<kind>")
@login_required(*READERS)
def statement(kind: str) -> tuple[str, int]:
    """One statement as a table; a line with entries behind it links to them."""
    view, query, filters = _statement(kind)
    links: list[str | None] = []
    if view is not None:
        links = [_journal_link(view, row) for row in view.statement.rows]
    downloads = {
        fmt: url_for("console_audit.statement_file", kind=kind, fmt=fmt, **query.link_args())
        for fmt in ("csv", "pdf")
    }
    return render_template(
        "console/auditor/statement.html",
        view=view,
        kind=kind,
        kinds=queries.STATEMENT_KINDS,
        links=links,
        query=query,
        filters=filters,
        downloads=downloads,
    ), (400 if query.errors else 200)


def _journal_link(view: queries.StatementView, row: dict[str, Any]) -> str | None:
    found = queries.drill_down(view, row)
    if found is None:
        return None
    return url_for("console_lists.journal", **{_JOURNAL_ARGS[k]: v for k, v in found.items()})


@bp.get("/statements/<kind>/download.<fmt>")
@login_required(*READERS)
def statement_file(kind: str, fmt: str) -> Response:
    """The statement's CSV or PDF, as the API serves it."""
    if fmt not in ("csv", "pdf"):
        abort(404)
    view, _, _ = _statement(kind)
    if view is None:
        abort(400)
    if fmt == "csv":
        body: Any = queries.statement_csv(view)
        mimetype = "text/csv; charset=utf-8"
    else:
        body, mimetype = queries.statement_pdf(view), "application/pdf"
    headers = {
        "Content-Disposition": f'attachment; filename="{view.filename}.{fmt}"',
        "X-Huiquan-Checkpoint": view.meta.header(),
        "X-Huiquan-Journal-Size": str(view.meta.journal_size),
    }
    return Response(body, mimetype=mimetype, headers=headers)


@bp.get("/exports/journal.<fmt>")
@login_required(*AUDITORS)
def journal_export(fmt: str) -> Response:
    """The journal, one row per posting (CSV, XLSX or JSONL), as the API exports it."""
    if fmt not in queries.EXPORT_FORMATS:
        abort(404)
    filters = [
        _fund(),
        Filter("from", "date_from", _l("From"), "date", max_length=10),
        Filter("to", "date_to", _l("To"), "date", max_length=10),
    ]
    query = parse(filters)
    if query.errors:
        abort(400)
    wanted = {k: v for k, v in query.keywords.items() if k not in ("limit", "cursor")}
    return _download(queries.journal_export(books(), fmt, **wanted))


@bp.get("/bundle")
@login_required(*AUDITORS)
def bundle() -> Response:
    """The audit bundle of a period (YYYY or YYYY-MM), as a zip; nothing is signed for it."""
    period = request.args.get("period", "")[:7]
    try:
        return _download(queries.audit_bundle(books(), period))
    except LedgerError:
        abort(400)


@bp.get("/checkpoints")
@login_required(*READERS)
def checkpoints() -> tuple[str, int]:
    """The signed checkpoints of the journal, smallest first."""
    query = parse([])
    page = None
    if not query.errors:
        try:
            page = queries.checkpoints(books(), **query.keywords)
        except LedgerError as refused:
            query.errors["cursor"] = refused.message
    return render_template("console/auditor/checkpoints.html", page=page, query=query), (
        400 if query.errors else 200
    )


@bp.get("/entries/<entry_id>")
@login_required(*READERS)
def entry(entry_id: str) -> str:
    """One entry: its postings, what reversed it or what it reverses, receipts, audit events."""
    found = queries.entry_file(books(), entry_id[:40])
    if found is None:
        abort(404)
    return render_template("console/auditor/entry.html", file=found)
