"""Audit, export, statement, checkpoint, proof and transparency routes (one Flask blueprint).

Register with ``app.register_blueprint(make_blueprint())`` in `create_app`.

Invariants owned here:
- Roles (the `api.auth.roles` marker): audit events and journal exports are for `auditor` and
  `admin`; statements for every reader; checkpoints, proofs and the transparency page are
  public — publishing them is their point, and they carry no personal data.
- Exports stream: the response body is a generator over `audits.exports` that holds its own
  connection and reads the journal up to the size fixed when the request began; the named
  checkpoint is in the `X-Huiquan-Checkpoint` header (``origin size root`` or ``none``) and the
  size in `X-Huiquan-Journal-Size`, as well as inside the file (see `audits.exports`).
- Bad query parameters are 422 `validation_error` problems naming the field; unknown
  statements, entries or checkpoints are 404 `not_found`.
- The transparency page needs no JavaScript, loads nothing from elsewhere and is served with a
  strict Content-Security-Policy: its one inline stylesheet is allowed by hash, nothing else.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from markupsafe import Markup
from sqlalchemy import Engine

from api.auth import READERS, roles
from api.errors import ApiProblem
from audits.charts import bar_chart
from audits.exports import ExportFilter, csv_chunks, export_meta, jsonl_chunks, write_xlsx
from audits.report import render_pack_pdf
from audits.statements import KINDS, Params, statement_csv, statements_from_db
from audits.transparency import public_csv, public_figures
from ledger.tlog.proofs import (
    ProofError,
    consistency_between,
    inclusion_for_entry,
    latest_checkpoint,
    list_checkpoints,
)
from ledger.trail import EventFilter, list_events

__all__ = ["AUDITORS", "content_security_policy", "make_blueprint"]

AUDITORS = ("auditor", "admin")
_PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_TEMPLATES = Path(__file__).parent / "templates"


def _engine() -> Engine:
    engine: Engine = current_app.extensions["huiquan"].engine
    return engine


def _invalid(field: str, message: str) -> ApiProblem:
    return ApiProblem("validation_error", message, errors={field: [message]})


def _date(name: str) -> dt.date | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _invalid(name, "a date is YYYY-MM-DD") from None


def _int(name: str, default: int | None = None, *, low: int = 0, high: int = 2**63) -> int | None:
    value = request.args.get(name)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise _invalid(name, f"must be a whole number from {low} to {high}")
    return int(value)


def _code(name: str) -> str | None:
    value = request.args.get(name)
    if value is not None and not _CODE.match(value):
        raise _invalid(name, "must be a fund or project code")
    return value


def _export_filter() -> ExportFilter:
    period = request.args.get("period")
    if period is not None and not _PERIOD.match(period):
        raise _invalid("period", "a period is YYYY or YYYY-MM")
    return ExportFilter(period, _date("from"), _date("to"), _code("fund"), _code("project"))


def _checkpoint_headers(meta: Any, filename: str) -> dict[str, str]:
    return {
        "X-Huiquan-Checkpoint": meta.header(),
        "X-Huiquan-Journal-Size": str(meta.journal_size),
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
    }


def _streamed(chunks: Any, filters: ExportFilter, **kwargs: Any) -> tuple[Iterator[bytes], Any]:
    engine = _engine()
    with engine.connect() as conn:
        meta = export_meta(conn)

    def body() -> Iterator[bytes]:
        with engine.connect() as conn:
            yield from chunks(conn, filters, meta=meta, **kwargs)

    return body(), meta


# -- views -------------------------------------------------------------------------------------
@roles(*AUDITORS)
def audit_events() -> Any:
    """Audit events in sequence order; `after` is the cursor (the last sequence seen)."""
    limit = _int("limit", 100, low=1, high=1000) or 100
    after = _int("after")
    status = _int("status", None, high=999)
    filters = EventFilter(
        actor=request.args.get("actor") or None,
        role=request.args.get("role") or None,
        action=request.args.get("action") or None,
        target=request.args.get("target") or None,
        outcome=request.args.get("outcome") or None,
        status=status,
        request_id=request.args.get("request_id") or None,
        since=request.args.get("since") or None,
        until=request.args.get("until") or None,
    )
    with _engine().connect() as conn:
        events = list_events(conn, filters, after=after, limit=limit)
    return {
        "events": [e.to_dict() for e in events],
        "next": events[-1].sequence if len(events) == limit else None,
    }


@roles(*AUDITORS)
def export_journal(fmt: str) -> Response:
    """The auditor's journal export, streamed (csv, jsonl or xlsx)."""
    filters = _export_filter()
    stamp = "journal"
    flag = request.args.get("bom", "0")
    if flag not in ("0", "1", "true", "false"):
        raise _invalid("bom", "bom is 1/true or 0/false")
    if fmt == "csv":
        bom = flag in ("1", "true")
        body, meta = _streamed(csv_chunks, filters, bom=bom)
        mimetype = "text/csv; charset=utf-8"
    elif fmt == "jsonl":
        body, meta = _streamed(jsonl_chunks, filters)
        mimetype = "application/jsonl; charset=utf-8"
    else:
        engine = _engine()
        spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)
        with engine.connect() as conn:
            meta = write_xlsx(conn, spool, filters)
        spool.seek(0)

        def chunks() -> Iterator[bytes]:
            try:
                yield from iter(lambda: spool.read(1 << 16), b"")
            finally:
                spool.close()

        body = chunks()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    headers = _checkpoint_headers(meta, f"{stamp}.{fmt}")
    return Response(body, mimetype=mimetype, headers=headers, direct_passthrough=True)


@roles(*READERS)
def statement(kind: str) -> Any:
    """One statement as JSON, CSV or a PDF pack page, for a fund or consolidated."""
    if kind not in KINDS:
        raise ApiProblem("not_found", f"no statement {kind!r}; try one of {', '.join(KINDS)}")
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv", "pdf"):
        raise _invalid("format", "format is json, csv or pdf")
    try:
        params = Params.make(
            fund=_code("fund"), date_from=_date("from"), date_to=_date("to"), as_of=_date("as_of")
        )
    except ValueError as bad:
        raise _invalid("from", str(bad)) from None
    with _engine().connect() as conn:
        if params.fund and params.fund not in {
            f for (f,) in conn.exec_driver_sql("SELECT code FROM funds")
        }:
            raise ApiProblem("unknown_fund", f"no fund {params.fund!r}")
        meta = export_meta(conn)
        statements, fold = statements_from_db(conn, params, upto=meta.journal_size)
    one = statements[kind]
    headers = {
        "X-Huiquan-Checkpoint": meta.header(),
        "X-Huiquan-Journal-Size": str(meta.journal_size),
    }
    name = f"{kind}-{params.fund or 'consolidated'}-{params.date_to.isoformat()}"
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return Response(statement_csv(one), mimetype="text/csv; charset=utf-8", headers=headers)
    if fmt == "pdf":
        checkpoint = meta.checkpoint.to_dict() if meta.checkpoint else None
        pdf = render_pack_pdf(
            {kind: one}, fold, checkpoint=checkpoint, charts=kind in ("activities", "disbursements")
        )
        headers["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return Response(pdf, mimetype="application/pdf", headers=headers)
    body = one.to_dict()
    body["checkpoint"] = meta.to_dict()["checkpoint"]
    body["journal_size"] = meta.journal_size
    response = current_app.json.response(body)
    response.headers.update(headers)
    return response


def checkpoints() -> Any:
    """Signed checkpoints, smallest first; `after` is the cursor (a size)."""
    limit = _int("limit", 100, low=1, high=1000) or 100
    with _engine().connect() as conn:
        found = list_checkpoints(conn, after=_int("after"), limit=limit)
    return {
        "checkpoints": [c.to_dict() for c in found],
        "next": found[-1].size if len(found) == limit else None,
    }


def checkpoint_latest() -> Any:
    """The newest signed checkpoint (also as plain text with Accept: text/plain)."""
    with _engine().connect() as conn:
        latest = latest_checkpoint(conn)
    if latest is None:
        raise ApiProblem("not_found", "no checkpoint has been made yet")
    if request.accept_mimetypes.best == "text/plain":
        return Response(latest.signed_text, mimetype="text/plain; charset=utf-8")
    return latest.to_dict()


def consistency_proof() -> Any:
    """A consistency proof between two sizes (usually two checkpoints)."""
    old, new = _int("from"), _int("to")
    if old is None or new is None:
        raise _invalid("from" if old is None else "to", "from and to are both required")
    with _engine().connect() as conn:
        try:
            return consistency_between(conn, old, new)
        except ProofError as bad:
            raise _invalid("to", str(bad)) from None


def inclusion_proof(entry_id: str) -> Any:
    """An inclusion proof of one entry in a checkpoint (`size`, default the newest)."""
    with _engine().connect() as conn:
        try:
            return inclusion_for_entry(conn, entry_id, _int("size"))
        except ProofError as bad:
            raise ApiProblem("not_found", str(bad)) from None


@cache
def _transparency_css() -> str:
    return (_TEMPLATES / "transparency.css").read_text(encoding="utf-8")


def content_security_policy() -> str:
    """The transparency page's CSP: nothing but its own inline stylesheet (by hash)."""
    digest = base64.b64encode(hashlib.sha256(_transparency_css().encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


def transparency() -> Response:
    """The public page: where the money went, without who the children are."""
    with _engine().connect() as conn:
        figures = public_figures(conn, as_of=_date("as_of"))
    fold = figures.fold
    charts = []
    if fold is not None:
        by_project = {
            f"{p['project']} {p['name']}": int(p["amount"].replace(".", ""))
            for p in figures.projects
        }
        by_county = {
            c["county"] or "—": int(c["amount"].replace(".", "")) for c in figures.counties
        }
        charts = [
            bar_chart("按项目支出 Spending by project", by_project),
            bar_chart("按县（市）支出 Spending by county", by_county),
        ]
    html = render_template(
        "transparency.html",
        figures=figures.to_dict(),
        charts=charts,
        css=Markup(_transparency_css()),  # noqa: S704 - our own stylesheet
    )
    return Response(
        html,
        mimetype="text/html",
        headers={
            "Content-Security-Policy": content_security_policy(),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "public, max-age=300",
        },
    )


def transparency_csv() -> Response:
    """The public page's figures as CSV."""
    with _engine().connect() as conn:
        figures = public_figures(conn, as_of=_date("as_of"))
    return Response(
        public_csv(figures),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="transparency.csv"'},
    )


def make_blueprint() -> Blueprint:
    """The blueprint of every audit route (see the module docstring)."""
    bp = Blueprint("audits", __name__, template_folder="templates")
    v1 = "/api/v1"
    bp.add_url_rule(f"{v1}/audit/events", view_func=audit_events, methods=["GET"])
    for fmt in ("csv", "jsonl", "xlsx"):
        bp.add_url_rule(
            f"{v1}/exports/journal.{fmt}",
            endpoint=f"export_journal_{fmt}",
            view_func=export_journal,
            defaults={"fmt": fmt},
            methods=["GET"],
        )
    bp.add_url_rule(f"{v1}/statements/<kind>", view_func=statement, methods=["GET"])
    bp.add_url_rule(f"{v1}/checkpoints", view_func=checkpoints, methods=["GET"])
    bp.add_url_rule(f"{v1}/checkpoints/latest", view_func=checkpoint_latest, methods=["GET"])
    bp.add_url_rule(f"{v1}/proofs/consistency", view_func=consistency_proof, methods=["GET"])
    bp.add_url_rule(f"{v1}/proofs/inclusion/<entry_id>", view_func=inclusion_proof, methods=["GET"])
    bp.add_url_rule("/transparency", view_func=transparency, methods=["GET"])
    bp.add_url_rule("/transparency.csv", view_func=transparency_csv, methods=["GET"])
    bp.before_request(_refuse_unknown_parameters)
    return bp


def _refuse_unknown_parameters() -> None:
    """Unknown query parameters are refused (422), as on every other operation of the API."""
    rule = request.url_rule.rule if request.url_rule is not None else ""
    path = rule.replace("<", "{").replace(">", "}")
    allowed = _QUERY_NAMES().get(path)
    if allowed is None:
        return
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise ApiProblem(
            "validation_error",
            "Unknown query parameter(s).",
            errors={name[:64]: ["unknown parameter"] for name in unknown[:20]},
        )


@cache
def _QUERY_NAMES() -> dict[str, set[str]]:
    return {
        path: {p["name"] for p in parameters if p["in"] == "query"}
        for _method, path, _roles, _summary, parameters, _media in _ROUTES
    }


def _param(name: str, where: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


_FILTERS = [
    _param("period", "query", "A month (YYYY-MM) or a year (YYYY)."),
    _param("from", "query", "First effective date (YYYY-MM-DD).", type="string", format="date"),
    _param("to", "query", "Last effective date (YYYY-MM-DD).", type="string", format="date"),
    _param("fund", "query", "Only this fund's postings."),
    _param("project", "query", "Only entries touching this project."),
]

_STATEMENT_KINDS = [
    "trial-balance",
    "financial-position",
    "activities",
    "cash-flows",
    "pledges",
    "disbursements",
    "scholarships",
]

# (method, path, roles or None for public, summary, parameters, media types of a 200)
_ROUTES: list[tuple[str, str, tuple[str, ...] | None, str, list[dict[str, Any]], list[str]]] = [
    (
        "get",
        "/api/v1/audit/events",
        ("admin", "auditor"),
        "Audit events (who did what, refused attempts too), in sequence order; `after` is the "
        "cursor.",
        [
            _param("after", "query", "Last sequence seen.", type="integer", minimum=0),
            _param("limit", "query", "Page size (1-1000).", type="integer", minimum=1),
            _param("actor", "query", "Only this token name."),
            _param("status", "query", "Only this HTTP status.", type="integer"),
        ],
        ["application/json"],
    ),
    *[
        (
            "get",
            f"/api/v1/exports/journal.{fmt}",
            ("admin", "auditor"),
            f"The journal, one row per posting ({fmt.upper()}), streamed; names the checkpoint "
            "it was taken at (header X-Huiquan-Checkpoint and inside the file).",
            [
                *_FILTERS,
                _param(
                    "bom",
                    "query",
                    "CSV only: add a UTF-8 BOM for Excel.",
                    type="string",
                    enum=["0", "1", "true", "false"],
                ),
            ],
            [media],
        )
        for fmt, media in (
            ("csv", "text/csv"),
            ("jsonl", "application/jsonl"),
            ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )
    ],
    (
        "get",
        "/api/v1/statements/{kind}",
        READERS,
        "A statement per fund or consolidated: trial balance, 资产负债表 (会民非01), 业务活动表 "
        "(会民非02), 现金流量表 (会民非03), or the pledge, disbursement and scholarship registers.",
        [
            _param("kind", "path", "Which statement.", type="string", enum=_STATEMENT_KINDS),
            _param("fund", "query", "One fund; default consolidated."),
            _param("from", "query", "Period start (YYYY-MM-DD).", type="string", format="date"),
            _param("to", "query", "Period end (YYYY-MM-DD).", type="string", format="date"),
            _param("as_of", "query", "Balances as of (YYYY-MM-DD).", type="string", format="date"),
            _param(
                "format", "query", "json, csv or pdf.", type="string", enum=["json", "csv", "pdf"]
            ),
        ],
        ["application/json", "text/csv", "application/pdf"],
    ),
    (
        "get",
        "/api/v1/checkpoints",
        None,
        "Every signed checkpoint (C2SP tlog-checkpoint).",
        [],
        ["application/json"],
    ),
    (
        "get",
        "/api/v1/checkpoints/latest",
        None,
        "The latest signed checkpoint.",
        [],
        ["application/json"],
    ),
    (
        "get",
        "/api/v1/proofs/consistency",
        None,
        "RFC 6962 consistency proof between two checkpointed tree sizes.",
        [
            _param("from", "query", "Older tree size.", type="integer", minimum=0),
            _param("to", "query", "Newer tree size.", type="integer", minimum=0),
        ],
        ["application/json"],
    ),
    (
        "get",
        "/api/v1/proofs/inclusion/{entry_id}",
        None,
        "RFC 6962 inclusion proof of one entry against the latest checkpoint covering it.",
        [
            _param(
                "entry_id",
                "path",
                "The entry's id (a UUID).",
                type="string",
                pattern="^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
            )
        ],
        ["application/json"],
    ),
]


def _problem(description: str) -> dict[str, Any]:
    schema = {"$ref": "#/components/schemas/ProblemOut"}
    return {"description": description, "content": {"application/problem+json": {"schema": schema}}}


def document(spec: Any) -> None:
    """Describe this blueprint's API routes in the OpenAPI document (they are plain views)."""
    spec.tag(
        {
            "name": "Audits",
            "description": "Audit trail, journal exports, statements, signed checkpoints and "
            "proofs. Checkpoints and proofs are public.",
        }
    )
    for method, path, allowed, summary, parameters, media in _ROUTES:
        operation: dict[str, Any] = {
            "tags": ["Audits"],
            "summary": summary.split(";")[0][:120],
            "description": summary,
            "parameters": parameters,
            "security": [{"bearerAuth": []}] if allowed else [],
            "x-roles": list(allowed or ()),
            "responses": {
                "200": {
                    "description": "OK",
                    "content": {m: {"schema": {}} for m in media},
                },
                "default": {"$ref": "#/components/responses/DEFAULT_ERROR"},
                **{
                    code: _problem(text)
                    for code, text in (
                        ("404", "`not_found`: no such statement, entry or checkpoint"),
                        ("422", "`validation_error`: a query parameter is malformed"),
                        ("401", "`unauthorized`: Authentication required"),
                        ("403", "`forbidden`: Not allowed for this role"),
                    )
                    if allowed or code not in ("401", "403")
                },
            },
        }
        # apispec's Flask plugin resolves `spec.path()` through a view; these paths are known.
        spec._paths.setdefault(path, {})[method] = operation
