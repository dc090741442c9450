"""Audit, export, statement, checkpoint, proof and transparency routes.

`blp` (flask-smorest) holds the API routes under ``/api/v1``, their query arguments and answers
described by the marshmallow schemas below, so the OpenAPI document comes from them; `pages` (plain
Flask) holds the public transparency page and its CSV, which are not API operations. `register`
puts both on the app and in the document.

Invariants owned here:
- Roles (the `api.auth.roles` marker): audit events and journal exports are for `auditor` and
  `admin`; statements for every reader; checkpoints, proofs and the transparency page are
  public — publishing them is their point, and they carry no personal data.
- Exports stream: the response body is a generator over `audits.exports` that holds its own
  connection and reads the journal up to the size fixed when the request began; the named
  checkpoint is in the `X-Huiquan-Checkpoint` header (``origin size root`` or ``none``) and the
  size in `X-Huiquan-Journal-Size`, as well as inside the file (see `audits.exports`).
- Query parameters are loaded by the schemas: a malformed or unknown one is a 422
  `validation_error` problem naming the field; unknown statements, entries or checkpoints are
  404 `not_found`.
- The statement kinds are `audits.statements.KINDS`, the one list.
- The transparency page needs no JavaScript, loads nothing from elsewhere and is served with a
  strict Content-Security-Policy: its one inline stylesheet is allowed by hash, nothing else.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import flask
from flask import Response, current_app, render_template, request
from markupsafe import Markup
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy import Engine

from api.auth import READERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.resources.common import books, idempotency_key, operation
from api.schemas import LedgerDate
from audits.charts import bar_chart
from audits.exports import ExportFilter, csv_chunks, export_meta, jsonl_chunks, write_xlsx
from audits.statements import KINDS, Params, statement_csv, statements_from_db
from audits.transparency import public_csv, public_figures
from ledger.text import digits
from ledger.tlog.proofs import (
    ProofError,
    ProofPending,
    consistency_between,
    inclusion_for_entry,
    latest_checkpoint,
    list_checkpoints,
)
from ledger.trail import EventFilter, list_events
from usecases import statements as documents
from usecases.checkpoints import checkpoint_interval, hand_in_cosignature, witnessed_checkpoint
from usecases.chiefs import place_rows

__all__ = ["AUDITORS", "blp", "content_security_policy", "pages"]

AUDITORS = ("admin", "auditor")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
_CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"

blp = Blueprint(
    "audits",
    __name__,
    url_prefix="/api/v1",
    description="Audit trail, journal exports, statements, signed checkpoints and proofs. "
    "Checkpoints and proofs are public.",
)
pages = flask.Blueprint("transparency", __name__, template_folder=str(_TEMPLATES))


# -- query fields and schemas ------------------------------------------------------------------
class WholeNumber(fields.Integer):
    """A whole number written in decimal digits only, between `low` and `high`."""

    def __init__(self, low: int = 0, high: int = 2**63 - 1, **kwargs: Any) -> None:
        message = f"must be a whole number from {low} to {high}"
        super().__init__(validate=validate.Range(min=low, max=high, error=message), **kwargs)
        self._message = message

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not digits(value):
            raise ValidationError(self._message)
        return int(value)


def _code(description: str) -> fields.String:
    return fields.String(
        validate=validate.Regexp(_CODE, error="must be a fund or project code"),
        metadata={"description": description},
    )


class EventQuery(Schema):
    after = WholeNumber(metadata={"description": "Last sequence seen."})
    limit = WholeNumber(1, 1000, load_default=100, metadata={"description": "Page size (1-1000)."})
    actor = fields.String(metadata={"description": "Only this token name."})
    status = WholeNumber(0, 999, metadata={"description": "Only this HTTP status."})


class ExportQuery(Schema):
    period = fields.String(
        validate=validate.Regexp(
            r"^\d{4}(-(0[1-9]|1[0-2]))?$", error="a period is YYYY or YYYY-MM"
        ),
        metadata={"description": "A month (YYYY-MM) or a year (YYYY)."},
    )
    date_from = LedgerDate(data_key="from", metadata={"description": "First effective date."})
    date_to = LedgerDate(data_key="to", metadata={"description": "Last effective date."})
    fund = _code("Only this fund's postings.")
    project = _code("Only entries touching this project.")
    bom = fields.String(
        load_default="0",
        validate=validate.OneOf(["0", "1", "true", "false"], error="bom is 1/true or 0/false"),
        metadata={"description": "CSV only: add a UTF-8 BOM for Excel."},
    )


class StatementQuery(Schema):
    fund = _code("One fund; default consolidated.")
    date_from = LedgerDate(data_key="from", metadata={"description": "Period start."})
    date_to = LedgerDate(data_key="to", metadata={"description": "Period end."})
    as_of = LedgerDate(metadata={"description": "Balances as of."})
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv", "pdf"], error="format is json, csv or pdf"),
        metadata={"description": "json, csv or pdf."},
    )


class OpenDataQuery(Schema):
    as_of = LedgerDate(metadata={"description": "Transactions up to this day; default today."})
    bom = fields.String(
        load_default="0",
        validate=validate.OneOf(["0", "1", "true", "false"], error="bom is 1/true or 0/false"),
        metadata={"description": "CSV only: add a UTF-8 BOM for Excel."},
    )


class ConsistencyQuery(Schema):
    old = WholeNumber(data_key="from", required=True, metadata={"description": "Older size."})
    new = WholeNumber(data_key="to", required=True, metadata={"description": "Newer size."})


class NoQuery(Schema):
    """No query parameter at all (an unknown one is refused, as everywhere in the API)."""


class AsOfQuery(Schema):
    """The public pages' one parameter; others are ignored, as they always were."""

    class Meta:
        unknown = EXCLUDE

    as_of = LedgerDate()


class EventOut(Schema):
    sequence = fields.Integer(required=True)
    at = fields.String(required=True)
    actor = fields.String(required=True)
    role = fields.String(required=True)
    action = fields.String(required=True)
    target = fields.String(required=True)
    request_id = fields.String(required=True)
    idempotency_key = fields.String(required=True)
    client = fields.String(required=True)
    outcome = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


class EventPage(Schema):
    events = fields.List(fields.Nested(EventOut), required=True)
    next = fields.Integer(
        required=True, allow_none=True, metadata={"description": "pass as `after`; null at the end"}
    )


class CheckpointOut(Schema):
    origin = fields.String(required=True)
    size = fields.Integer(required=True)
    root = fields.String(required=True, metadata={"description": "base64"})
    root_hex = fields.String(required=True)
    created_at = fields.String(required=True)
    signed = fields.String(required=True, metadata={"description": "C2SP signed note"})


class CheckpointPage(Schema):
    checkpoints = fields.List(fields.Nested(CheckpointOut), required=True)
    next = fields.Integer(required=True, allow_none=True)


class ColumnOut(Schema):
    key = fields.String(required=True)
    label_cn = fields.String(required=True)
    label_en = fields.String(required=True)
    type = fields.String(required=True)


class StatementOut(Schema):
    statement = fields.String(required=True)
    code = fields.String(required=True)
    title_cn = fields.String(required=True)
    title_en = fields.String(required=True)
    fund = fields.String(required=True, allow_none=True)
    date_from = fields.String(data_key="from", required=True)
    date_to = fields.String(data_key="to", required=True)
    as_of = fields.String(required=True)
    currency = fields.String(required=True)
    columns = fields.List(fields.Nested(ColumnOut), required=True)
    rows = fields.List(fields.Dict(), required=True)
    checks = fields.List(fields.String(), required=True)
    notes = fields.List(fields.String(), required=True)
    checkpoint = fields.Nested(CheckpointOut, required=True, allow_none=True)
    journal_size = fields.Integer(required=True)


class ConsistencyOut(Schema):
    old = fields.Integer(data_key="from", required=True)
    new = fields.Integer(data_key="to", required=True)
    from_root = fields.String(required=True)
    to_root = fields.String(required=True)
    proof = fields.List(fields.String(), required=True, metadata={"description": "base64"})
    from_checkpoint = fields.String(required=True, allow_none=True)
    to_checkpoint = fields.String(required=True, allow_none=True)


class InclusionOut(Schema):
    entry_id = fields.String(required=True)
    sequence = fields.Integer(required=True)
    leaf_index = fields.Integer(required=True)
    leaf_hash = fields.String(required=True)
    tree_size = fields.Integer(required=True)
    proof = fields.List(fields.String(), required=True, metadata={"description": "base64"})
    checkpoint = fields.String(required=True)


def _media(*types: str, json: type[Schema] | None = None) -> Callable[[Any], Any]:
    """Document a 200 answered as a file in these media types (or as `json`, when asked)."""
    content: dict[str, Any] = {"application/json": {"schema": json}} if json else {}
    content.update({t: {"schema": {"type": "string", "format": "binary"}} for t in types})
    return blp.doc(responses={"200": {"description": "OK", "content": content}})


def _path(name: str, description: str, **schema: Any) -> dict[str, Any]:
    """A path parameter's description, where its values are narrower than any string."""
    return {
        "in": "path",
        "name": name,
        "required": True,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _json(body: Any) -> Response:
    # Sent as built (the schemas above document it): dumping would only copy it.
    response: Response = current_app.json.response(body)
    return response


# -- helpers -------------------------------------------------------------------------------------
def _engine() -> Engine:
    engine: Engine = current_app.extensions["huiquan"].engine
    return engine


def _invalid(field: str, message: str) -> ApiProblem:
    return ApiProblem("validation_error", message, errors={field: [message]})


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


def _spooled_xlsx(filters: ExportFilter) -> tuple[Iterator[bytes], Any]:
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)
    with _engine().connect() as conn:
        meta = write_xlsx(conn, spool, filters)
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        try:
            yield from iter(lambda: spool.read(1 << 16), b"")
        finally:
            spool.close()

    return chunks(), meta


def _export(fmt: str, query: dict[str, Any]) -> Response:
    filters = ExportFilter(
        query.get("period"),
        query.get("date_from"),
        query.get("date_to"),
        query.get("fund"),
        query.get("project"),
    )
    if fmt == "csv":
        body, meta = _streamed(csv_chunks, filters, bom=query["bom"] in ("1", "true"))
        mimetype = "text/csv; charset=utf-8"
    elif fmt == "jsonl":
        body, meta = _streamed(jsonl_chunks, filters)
        mimetype = "application/jsonl; charset=utf-8"
    else:
        body, meta = _spooled_xlsx(filters)
        mimetype = XLSX
    headers = _checkpoint_headers(meta, f"journal.{fmt}")
    return Response(body, mimetype=mimetype, headers=headers, direct_passthrough=True)


# -- API routes ----------------------------------------------------------------------------------
@blp.route("/audit/events", methods=["GET"])
@operation(blp, roles=AUDITORS, problems=("validation_error",))
@blp.arguments(EventQuery(), location="query", unknown="raise")
@blp.response(200, EventPage)
def audit_events(query: dict[str, Any]) -> Response:
    """Audit events (who did what, refused attempts too), in sequence order.

    `after` is the cursor: the last sequence seen.
    """
    limit = query["limit"]
    filters = EventFilter(actor=query.get("actor") or None, status=query.get("status"))
    with _engine().connect() as conn:
        events = list_events(conn, filters, after=query.get("after"), limit=limit)
    return _json(
        {
            "events": [e.to_dict() for e in events],
            "next": events[-1].sequence if len(events) == limit else None,
        }
    )


def _export_route(fmt: str, media: str) -> None:
    """Route ``/exports/journal.<fmt>``, answered in `media` (one view per format)."""

    def export_journal(query: dict[str, Any]) -> Response:
        return _export(fmt, query)

    export_journal.__name__ = f"export_journal_{fmt}"
    export_journal.__doc__ = (
        f"The journal, one row per posting ({fmt.upper()}), streamed.\n\n"
        "It names the checkpoint it was taken at (header X-Huiquan-Checkpoint and inside the "
        "file)."
    )
    view = _media(media)(export_journal)
    view = blp.arguments(ExportQuery(), location="query", unknown="raise")(view)
    view = operation(blp, roles=AUDITORS, problems=("validation_error",))(view)
    blp.route(f"/exports/journal.{fmt}", methods=["GET"])(view)


for _fmt, _media_type in (("csv", "text/csv"), ("jsonl", "application/jsonl"), ("xlsx", XLSX)):
    _export_route(_fmt, _media_type)


@blp.route(
    "/statements/<kind>",
    methods=["GET"],
    parameters=[_path("kind", "Which statement.", enum=list(KINDS))],
)
@operation(blp, roles=READERS, problems=("not_found", "validation_error", "unknown_fund"))
@blp.arguments(StatementQuery(), location="query", unknown="raise")
@_media("text/csv", "application/pdf", json=StatementOut)
def statement(query: dict[str, Any], kind: str) -> Response:
    """A statement per fund or consolidated.

    Trial balance, 资产负债表 (会民非01), 业务活动表 (会民非02), 现金流量表 (会民非03), or the
    pledge, disbursement and scholarship registers; as JSON, CSV or a PDF pack page.
    """
    if kind not in KINDS:
        raise ApiProblem("not_found", f"no statement {kind!r}; try one of {', '.join(KINDS)}")
    try:
        params = Params.make(
            fund=query.get("fund"),
            date_from=query.get("date_from"),
            date_to=query.get("date_to"),
            as_of=query.get("as_of"),
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
    return _statement_response(kind, query["format"], params, statements[kind], fold, meta)


def _statement_response(
    kind: str, fmt: str, params: Params, one: Any, fold: Any, meta: Any
) -> Response:
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
        pdf = documents.statement_pdf(
            books(),
            {kind: one},
            fold,
            checkpoint=checkpoint,
            charts=kind in ("activities", "disbursements"),
        )
        headers["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
        return Response(pdf, mimetype="application/pdf", headers=headers)
    body = one.to_dict()
    body["checkpoint"] = meta.to_dict()["checkpoint"]
    body["journal_size"] = meta.journal_size
    response = _json(body)
    response.headers.update(headers)
    return response


@blp.route("/exports/iati.xml", methods=["GET"])
@operation(blp, roles=AUDITORS, problems=("validation_error",))
@blp.arguments(OpenDataQuery(), location="query", unknown="raise")
@_media("application/xml")
def export_iati(query: dict[str, Any]) -> Response:
    """IATI 2.03 activities, one per project, with typed transactions (open data).

    The reporting organisation is CN-USCC-<统一社会信用代码> when the issuer's registration is
    configured, else a placeholder that says so. Nobody is named.
    """
    xml = documents.iati(books(), as_of=query.get("as_of"))
    headers = {"Content-Disposition": 'attachment; filename="iati-activities.xml"'}
    return Response(xml, mimetype="application/xml", headers=headers)


@blp.route("/exports/grants.csv", methods=["GET"])
@operation(blp, roles=AUDITORS, problems=("validation_error",))
@blp.arguments(OpenDataQuery(), location="query", unknown="raise")
@_media("text/csv")
def export_grants(query: dict[str, Any]) -> Response:
    """360Giving grants: one row per project grant and per scholarship cohort (no one named)."""
    text = documents.grants(books(), as_of=query.get("as_of"))
    if query["bom"] in ("1", "true"):
        text = "\ufeff" + text
    headers = {"Content-Disposition": 'attachment; filename="grants-360giving.csv"'}
    return Response(text, mimetype="text/csv; charset=utf-8", headers=headers)


@blp.route("/checkpoints", methods=["GET"])
@operation(blp, roles=None, problems=("validation_error",))
@blp.arguments(NoQuery(), location="query", unknown="raise")
@blp.response(200, CheckpointPage)
def checkpoints(_query: dict[str, Any]) -> Response:
    """Every signed checkpoint (C2SP tlog-checkpoint), smallest first."""
    limit = 100
    with _engine().connect() as conn:
        found = list_checkpoints(conn, after=None, limit=limit)
    return _json(
        {
            "checkpoints": [c.to_dict() for c in found],
            "next": found[-1].size if len(found) == limit else None,
        }
    )


@blp.route("/checkpoints/latest", methods=["GET"])
@operation(blp, roles=None, problems=("not_found", "validation_error"))
@blp.arguments(NoQuery(), location="query", unknown="raise")
@blp.response(200, CheckpointOut)
def checkpoint_latest(_query: dict[str, Any]) -> Response:
    """The latest signed checkpoint (also as plain text with Accept: text/plain)."""
    with _engine().connect() as conn:
        latest = latest_checkpoint(conn)
    if latest is None:
        raise ApiProblem("not_found", "no checkpoint has been made yet")
    if request.accept_mimetypes.best == "text/plain":
        return Response(latest.signed_text, mimetype="text/plain; charset=utf-8")
    return _json(latest.to_dict())


@blp.route("/proofs/consistency", methods=["GET"])
@operation(blp, roles=None, problems=("validation_error",))
@blp.arguments(ConsistencyQuery(), location="query", unknown="raise")
@blp.response(200, ConsistencyOut)
def consistency_proof(query: dict[str, Any]) -> Response:
    """RFC 6962 consistency proof between two checkpointed tree sizes."""
    with _engine().connect() as conn:
        try:
            return _json(consistency_between(conn, query["old"], query["new"]))
        except ProofError as bad:
            raise _invalid("to", str(bad)) from None


class CosignatureIn(Schema):
    """A witness's cosignature line (C2SP tlog-cosignature/v1) on the checkpoint it cosigned."""

    checkpoint = fields.String(
        required=True,
        validate=validate.Length(min=1, max=8192),
        metadata={"description": "The signed checkpoint the witness cosigned, as served."},
    )
    cosignature = fields.String(
        required=True,
        validate=validate.Length(min=1, max=1024),
        metadata={"description": "The cosignature line: `— <witness> <base64>`."},
    )


class CosignatureOut(Schema):
    size = fields.Integer(required=True)
    witness = fields.String(required=True)
    key_id = fields.String(required=True)


_SIZE = _path("size", "A signed checkpoint's tree size.", pattern="^[0-9]{1,18}$")


def _size(size: str) -> int:
    if not digits(size) or len(size) > 18:
        raise ApiProblem("not_found", f"no checkpoint {size[:30]!r}")
    return int(size)


@blp.route("/checkpoints/<size>/cosignatures", methods=["POST"], parameters=[_SIZE])
@operation(
    blp,
    roles=None,
    problems=("not_found", "cosignature_rejected", "validation_error"),
    body=True,
    idempotent=True,
)
@blp.arguments(CosignatureIn())
@blp.response(201, CosignatureOut)
def checkpoint_cosignature(data: dict[str, Any], size: str) -> Response:
    """A witness hands in its cosignature on checkpoint `size`; stored once it verifies under a
    configured witness key (`$HUIQUAN_HOME/keys/witnesses.vkeys`) on the very checkpoint this
    service signed at that size."""
    head = data["checkpoint"].split("\n", 2)
    if len(head) < 3 or head[1] != str(_size(size)):
        raise _invalid("checkpoint", f"the checkpoint is not the one of size {size}")
    key = idempotency_key("checkpoint-cosignatures")
    stored = hand_in_cosignature(books(), data["checkpoint"], data["cosignature"], key=key)
    response = _json({"size": stored.size, "witness": stored.witness, "key_id": stored.key_id})
    response.status_code = 201
    return response


@blp.route("/checkpoints/<size>/witnessed", methods=["GET"], parameters=[_SIZE])
@operation(blp, roles=None, problems=("not_found", "validation_error"))
@blp.arguments(NoQuery(), location="query", unknown="raise")
@blp.response(200, {"type": "string"}, content_type="text/plain")
def checkpoint_witnessed(_query: dict[str, Any], size: str) -> Response:
    """Checkpoint `size` with every stored witness cosignature as a further note line."""
    with _engine().connect() as conn:
        note = witnessed_checkpoint(conn, _size(size))
    return Response(note, mimetype="text/plain; charset=utf-8")


@blp.route(
    "/proofs/inclusion/<entry_id>",
    methods=["GET"],
    parameters=[_path("entry_id", "The entry's id (a UUID).", pattern=UUID_PATTERN)],
)
@operation(blp, roles=None, problems=("not_found", "proof_pending", "validation_error"))
@blp.arguments(NoQuery(), location="query", unknown="raise")
@blp.response(200, InclusionOut)
def inclusion_proof(_query: dict[str, Any], entry_id: str) -> Response:
    """RFC 6962 inclusion proof of one entry against the latest checkpoint covering it."""
    with _engine().connect() as conn:
        try:
            return _json(inclusion_for_entry(conn, entry_id, None))
        except ProofPending as pending:
            retry = {"Retry-After": str(checkpoint_interval())}
            raise ApiProblem("proof_pending", str(pending), headers=retry) from None
        except ProofError as bad:
            raise ApiProblem("not_found", str(bad)) from None


# -- the public page -------------------------------------------------------------------------------
def grouped(amount: str) -> str:
    """A decimal amount with thousands separators: "1234567.50" -> "1,234,567.50"."""
    sign, unsigned = ("-", amount[1:]) if amount.startswith("-") else ("", amount)
    whole, dot, cents = unsigned.partition(".")
    return f"{sign}{int(whole):,}{dot}{cents}" if digits(whole) else amount


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


def _as_of() -> dt.date | None:
    try:
        as_of: dt.date | None = AsOfQuery().load(request.args).get("as_of")
    except ValidationError as bad:
        name, messages = next(iter(bad.normalized_messages().items()))
        raise _invalid(str(name), str(messages[0])) from None
    return as_of


@pages.route("/transparency", methods=["GET"])
def transparency() -> Response:
    """The public page: where the money went, without who the children are."""
    with _engine().connect() as conn:
        figures = public_figures(conn, as_of=_as_of())
        figures.places = place_rows(conn)
    charts = []
    if figures.fold is not None:
        by_project = {
            f"{p['project']} {p['name']}": int(p["amount"].replace(".", ""))
            for p in figures.projects
        }
        by_county = {
            c["county"] or "—": int(c["amount"].replace(".", "")) for c in figures.counties
        }
        charts = [
            bar_chart("按项目支出 Spending by project", by_project, labels_above=True),
            bar_chart("按县（市）支出 Spending by county", by_county, labels_above=True),
        ]
    html = render_template(
        "transparency.html",
        figures=figures.to_dict(),
        charts=charts,
        css=Markup(_transparency_css()),  # noqa: S704 - our own stylesheet
        grouped=grouped,
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


@pages.route("/transparency.csv", methods=["GET"])
def transparency_csv() -> Response:
    """The public page's figures as CSV."""
    with _engine().connect() as conn:
        figures = public_figures(conn, as_of=_as_of())
        figures.places = place_rows(conn)
    return Response(
        public_csv(figures),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="transparency.csv"'},
    )
