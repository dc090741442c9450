"""Donor receipts over HTTP: the secret-link pages, the PDF cache's answers, corrections, /verify.

Routes. Public (no token; the secret link is the credential):

- ``GET /r/<token>``: the receipt page (``?lang=zh-Hans|zh-Hant|en``, else the donor's
  language), with a live "where my gift went"; never cached.
- ``GET /r/<token>.pdf``: the A4 PDF with its proof document embedded; ETag and 304.
- ``GET /r/<token>.json``: the proof document alone.
- ``GET /verify``, ``POST /verify``: check a receipt, by uploading the PDF or pasting the proof
  (an HTML form); ``GET /verify?serial=&code=`` is what the receipt's QR code opens.

Officer API (bearer token):

- ``POST /api/v1/receipts/<serial>/void`` (officer, admin): void, keep it shown as VOID, replace.
- ``POST /api/v1/receipts/<serial>/link`` (officer, admin): revoke its links, answer a new one.
- ``GET /api/v1/receipts/<serial>`` (readers): the record, never a link.
- ``POST /api/v1/donors/<id>/annual-receipts/<year>`` (officer, admin): the annual receipt.

Issuing, voiding, relinking and annual receipts are use cases (`usecases.receipts`); the receipt
desk (`usecases.receipt_desk`: issuer, link key, signing key, PDF cache) is the books'. Here is
what only HTTP needs.

Invariants owned here:
- Every answer under ``/r/`` that does not open a receipt -- unknown, revoked or malformed
  token, any suffix -- is the same 404: same body, same headers (bar the per-request
  ``X-Request-Id``). A malformed token is refused before any database access; a well-formed one
  costs one indexed lookup of its hash, whether it is unknown or revoked.
- Receipt answers carry ``Referrer-Policy: no-referrer``, ``Cache-Control: private`` (HTML and
  JSON also ``no-store``), ``X-Content-Type-Options: nosniff`` and the strict
  Content-Security-Policy of `receipts.render.content_security_policy`. They show the receipt's
  donor (by name, even if anonymous: it is their own link) and nothing about other receipts,
  contact data or beneficiaries beyond pseudonym and county.
- PDFs are rendered only on a cache miss, never on the gift's request (the cache is the
  desk's, one file per serial, language, status, checkpoint size and public base URL). The
  PDF is a snapshot taken when it was rendered (its "where my gift
  went" and its proof against the checkpoint it names); a newer checkpoint or a void renders a
  new one, while the web page is always live. The ETag is the SHA-256 of the bytes (strong);
  ``If-None-Match`` answers 304.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import flask
from flask import Flask, Response, current_app, render_template, request
from markupsafe import Markup
from marshmallow import Schema, fields, validate
from sqlalchemy import Connection, select

from api.auth import READERS, WRITERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.resources.common import (
    books,
    current_actor,
    idempotency_key,
    operation,
    public_base,
)
from api.schemas import ReceiptOut, StrictBoolean, Text, not_blank
from api.trail import audit_facts
from ledger.text import digits
from ledger.tlog.proofs import latest_checkpoint
from receipts.issuing import ReceiptRecord, get_receipt, lookup_token
from receipts.model import LANGUAGES, Language
from receipts.proof import (
    Finding,
    ProofFormatError,
    VerificationResult,
    document_bytes,
    load_document,
    same_code,
    scan_code,
    verify_receipt_document,
)
from receipts.render import content_security_policy, render_html
from receipts.views import (
    ReceiptContext,
    build_view,
    claims_of,
    load_context,
    preferred_language,
    proof_material,
    verify_link,
    where_lines,
)
from usecases import acknowledgments
from usecases import receipts as receipt_cases
from usecases.receipt_desk import ReceiptDesk

__all__ = ["init_app"]

_LINK = re.compile(r"^([A-Za-z0-9_-]{32})(\.pdf|\.json)?$")
_SERIAL = re.compile(r"^[A-Z]{1,10}-[0-9]{4}-[0-9]{6}$")

NOT_FOUND_BODY = (
    '<!DOCTYPE html>\n<html lang="zh-Hans">\n<head>\n<meta charset="utf-8">\n'
    '<meta name="robots" content="noindex, nofollow">\n'
    "<title>收据链接无效 · Receipt link not valid</title>\n</head>\n<body>\n"
    "<h1>收据链接无效 · Receipt link not valid</h1>\n"
    "<p>此链接无法打开收据：可能已失效或输入有误。请联系为您开具收据的机构。</p>\n"
    '<p lang="en">This link does not open a receipt. It may have been withdrawn or mistyped; '
    "please ask the organisation that issued your receipt.</p>\n</body>\n</html>\n"
).encode()


def service() -> ReceiptDesk:
    """This app's receipt desk."""
    return books().receipts


# -- public pages -------------------------------------------------------------------------------
pages = flask.Blueprint("receipt_pages", __name__, template_folder="templates")


def _secured(response: Response, *, store: bool) -> Response:
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "private, no-store" if store else "private, no-cache"
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _not_found() -> Response:
    response = Response(NOT_FOUND_BODY, status=404, content_type="text/html; charset=utf-8")
    return _secured(response, store=True)


@pages.errorhandler(404)
def _pages_not_found(_exc: Exception) -> Response:
    """Anything under /r/ that opens nothing: one answer, whatever went wrong."""
    return _not_found()


@pages.errorhandler(413)
def _too_large(_exc: Exception) -> Response:
    """An upload on /verify beyond the body limit: the page, with the reason."""
    reason = Finding(
        "too_large", "the file is larger than this service accepts", "文件超过本服务允许的大小"
    )
    return _verify_page(result=VerificationResult((reason,)), status=413)


def _language_asked() -> str | None:
    asked = request.args.get("lang")
    return asked if asked in LANGUAGES else None


@pages.route("/r/", defaults={"name": ""}, methods=["GET"])
@pages.route("/r/<path:name>", methods=["GET"])
def receipt_link(name: str) -> Response:
    """A receipt by its secret link: the page, its PDF or its proof document."""
    match = _LINK.match(name)
    if match is None:
        return _not_found()
    token, suffix = match.groups()
    if suffix == ".pdf":
        return _pdf(token)
    state = service()
    with state.engine.connect() as conn:
        serial = lookup_token(conn, token)
        ctx = load_context(conn, serial) if serial is not None else None
        if ctx is None:
            return _not_found()
        if suffix == ".json":
            return _json(state, conn, ctx)
        return _page(state, conn, ctx, token)


@pages.route("/r/p/", defaults={"name": ""}, methods=["GET"])
@pages.route("/r/p/<path:name>", methods=["GET"])
def acknowledgment_link(name: str) -> Response:
    """A pledge acknowledgment by its secret link (under /r/p/: a slash is never part of a
    receipt token): the page, or its PDF."""
    match = _LINK.match(name)
    if match is None or match.group(2) == ".json":
        return _not_found()
    token, suffix = match.groups()
    state = books()
    with state.engine.connect() as conn:
        ack = acknowledgments.open_acknowledgment(conn, token)
        if ack is None:
            return _not_found()
        if suffix == ".pdf":
            pdf = acknowledgments.acknowledgment_pdf(state, conn, ack, _language_asked())
            return _pdf_response(pdf, None, hashlib.sha256(pdf).hexdigest(), ack.serial)
        html, lang = acknowledgments.acknowledgment_html(
            state, conn, ack, _language_asked(), pdf_url=f"/r/p/{token}.pdf"
        )
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Content-Language"] = lang
    return _secured(response, store=True)


def _json(state: ReceiptDesk, conn: Connection, ctx: ReceiptContext) -> Response:
    body = document_bytes(state.document(conn, ctx))
    response = Response(body, content_type="application/json; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{ctx.serial}.proof.json"'
    return _secured(response, store=True)


def _page(state: ReceiptDesk, conn: Connection, ctx: ReceiptContext, token: str) -> Response:
    lang = preferred_language(ctx, _language_asked())
    proof = proof_material(state.engine, conn, ctx, state.home)
    view = build_view(
        ctx,
        proof,
        issuer=state.issuer_of(conn, ctx),
        language=lang,
        verify_url=verify_link(public_base(), ctx, state.issuer_of(conn, ctx)),
        where=where_lines(conn, ctx),
    )
    html = render_html(
        view,
        language=lang,
        pdf_url=f"/r/{token}.pdf?lang={lang}",
        language_links={code: f"?lang={code}" for code in LANGUAGES},
    )
    response = Response(_with_proof_link(html, token), content_type="text/html; charset=utf-8")
    response.headers["Content-Language"] = lang
    return _secured(response, store=True)


_PROOF_LINK_TEXT: Mapping[str, str] = {
    "zh-Hans": "下载证明数据",
    "zh-Hant": "下載證明數據",
    "en": "Proof (JSON)",
}


_PDF_LINK = re.compile(r'<a class="download" href="[^"<>]*" type="application/pdf">[^<>]*</a>')


def _with_proof_link(html: str, token: str) -> str:
    """Offer the proof document beside the PDF link in the toolbar (one group of actions).

    The receipt template has no slot for it yet (see the report); the token is [A-Za-z0-9_-]
    only, so the link needs no escaping. Without exactly one PDF link the page is left as is.
    """
    found = _PDF_LINK.findall(html)
    if len(found) != 1:
        return html
    lang = re.search(r'<html lang="([^"]+)"', html)
    text = _PROOF_LINK_TEXT.get(lang.group(1) if lang else "en", _PROOF_LINK_TEXT["en"])
    proof = f'<a href="/r/{token}.json" type="application/json">{text}</a>'
    return html.replace(found[0], f"<ul><li>{proof}</li><li>{found[0]}</li></ul>")


def _pdf_response(body: bytes | None, path: Path | None, etag: str, serial: str) -> Response:
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        data = body if body is not None else path.read_bytes() if path else b""
        response = Response(data, content_type="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="{serial}.pdf"'
    response.set_etag(etag)
    return _secured(response, store=False)


def _pdf(token: str) -> Response:
    state = service()
    with state.engine.connect() as conn:
        serial = lookup_token(conn, token)
        record = get_receipt(conn, serial) if serial is not None else None
        if record is None:
            return _not_found()
        asked = _language_asked()
        lang = asked or _donor_language(conn, record.donor_id)
        status = "void" if record.is_void else "issued"
        checkpoint = latest_checkpoint(conn)
        base = public_base()
        hit = (
            state.cached(record.serial, lang, status, checkpoint.size, base=base)
            if checkpoint
            else None
        )
        if hit is not None:
            try:
                return _pdf_response(None, hit[0], hit[1], record.serial)
            except FileNotFoundError:
                pass  # pruned by another worker between stat and read: render again
        ctx = load_context(conn, record.serial)
        if ctx is None:
            return _not_found()
        pdf = state.render_pdf_bytes(conn, ctx, preferred_language(ctx, lang), base=base)
    return _pdf_response(pdf, None, hashlib.sha256(pdf).hexdigest(), record.serial)


def _donor_language(conn: Connection, donor_id: str) -> Language:
    from ledger.storage.tables import donors

    language = conn.scalar(select(donors.c.language).where(donors.c.id == donor_id))
    for known in LANGUAGES:
        if language == known:
            return known
    return "zh-Hans"


# -- /verify ------------------------------------------------------------------------------------
_VERIFY_TEMPLATES = Path(__file__).parent / "templates"


@cache
def _verify_style() -> str:
    return (_VERIFY_TEMPLATES / "verify_style.html").read_text(encoding="utf-8")


@cache
def _verify_policy() -> str:
    digest = hashlib.sha256(_verify_style().encode("utf-8")).digest()
    style = f"'sha256-{base64.b64encode(digest).decode('ascii')}'"
    return (
        f"default-src 'none'; style-src {style}; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )


@dataclass(frozen=True, slots=True)
class _Notice:
    """What the books say now about a genuine receipt (a void since it was issued)."""

    text: str
    text_zh: str


def _verify_page(
    *,
    result: VerificationResult | None = None,
    status: int = 200,
    missing: bool = False,
    notice: _Notice | None = None,
    scanned: bool = False,
) -> Response:
    state = service()
    html = render_template(
        "verify.html",
        css=Markup(_verify_style()),  # noqa: S704 - our own static file, hashed for the CSP
        csp=_verify_policy(),
        result=result,
        missing=missing,
        notice=notice,
        scanned=scanned,
        trusted=state.trusted(),
        max_upload=current_app.config.get("MAX_CONTENT_LENGTH") or 0,
    )
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = _verify_policy()
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _notice_for(conn: Connection, serial: str) -> _Notice | None:
    record = get_receipt(conn, serial) if _SERIAL.match(serial) else None
    if record is None or not record.is_void:
        return None
    replaced = f"; replaced by {record.replaced_by}" if record.replaced_by else ""
    replaced_zh = f"，已由 {record.replaced_by} 取代" if record.replaced_by else ""
    return _Notice(
        f"This receipt has since been voided: {record.void_reason}{replaced}.",
        f"该收据已作废：{record.void_reason}{replaced_zh}。",
    )


def _checked(document: object) -> Response:
    state = service()
    result = verify_receipt_document(document, state.trusted())
    notice = None
    if result.ok:
        with state.engine.connect() as conn:
            notice = _notice_for(conn, result.facts.get("serial", ""))
    return _verify_page(result=result, notice=notice)


def _unreadable(exc: ProofFormatError) -> Response:
    reason = Finding("unreadable", str(exc), "无法从此文件读取收据证明")
    return _verify_page(result=VerificationResult((reason,)), status=422)


@pages.route("/verify", methods=["GET"])
def verify_form() -> Response:
    """The public verify page; with ``serial`` and ``code`` (the QR code), that receipt checked."""
    serial, code = request.args.get("serial"), request.args.get("code")
    if serial is None and code is None:
        return _verify_page()
    state = service()
    with state.engine.connect() as conn:
        ctx = load_context(conn, serial) if serial and _SERIAL.match(serial) else None
        if ctx is None or not same_code(
            scan_code(claims_of(ctx, state.issuer_of(conn, ctx))), code or ""
        ):
            return _verify_page(status=404, missing=True, scanned=True)
        document = state.document(conn, ctx)
        notice = _notice_for(conn, ctx.serial)
    result = verify_receipt_document(document, state.trusted())
    return _verify_page(result=result, notice=notice, scanned=True)


@pages.route("/verify", methods=["POST"])
def verify_submit() -> Response:
    """Check an uploaded receipt PDF or proof document, or a pasted proof document."""
    upload = request.files.get("file")
    data = upload.read() if upload is not None else b""
    if not data:
        data = request.form.get("proof", "").strip().encode("utf-8")
    if not data:
        return _verify_page(status=400, missing=True)
    try:
        document = load_document(data)
    except ProofFormatError as exc:
        return _unreadable(exc)
    return _checked(document)


verify_submit.accepts_form = True  # type: ignore[attr-defined]


# -- officer API --------------------------------------------------------------------------------
blp = Blueprint(
    "receipts", __name__, url_prefix="/api/v1", description="Donor receipts and corrections."
)


class VoidIn(Schema):
    reason = Text(required=True, validate=[validate.Length(min=1, max=1000), not_blank])
    replace = StrictBoolean(
        load_default=None,
        allow_none=True,
        metadata={"description": "issue a replacement (default: yes for a gift, no for annual)"},
    )


class VoidOut(Schema):
    serial = fields.String(required=True)
    status = fields.String(required=True)
    reason = fields.String(required=True)
    replacement = fields.Nested(ReceiptOut, required=True, allow_none=True)


class ReceiptRecordOut(Schema):
    serial = fields.String(required=True)
    kind = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "issued or void"})
    donor_id = fields.String(required=True)
    entry_id = fields.String(required=True, allow_none=True)
    issued_at = fields.String(required=True)
    replaces = fields.String(required=True, allow_none=True)
    replaced_by = fields.String(required=True, allow_none=True)
    void_reason = fields.String(required=True, allow_none=True)
    covers = fields.List(fields.String(), required=True)


class AnnualOneOut(ReceiptOut):
    donor_id = fields.String(required=True)
    year = fields.Integer(required=True)
    covers = fields.List(fields.String(), required=True)
    total_cny = fields.String(required=True)
    issuer = fields.String(
        allow_none=True,
        metadata={"description": "The issuer's code (null: its funds have no issuer set)."},
    )


class AnnualOut(AnnualOneOut):
    others = fields.List(
        fields.Nested(AnnualOneOut),
        metadata={
            "description": "The annual receipts of the donor's other issuers, issued with this "
            "one (a donor who gave to funds held by different issuers gets one per issuer)."
        },
    )


def _present(record: ReceiptRecord) -> dict[str, Any]:
    return {
        "serial": record.serial,
        "kind": record.kind,
        "status": "void" if record.is_void else "issued",
        "donor_id": record.donor_id,
        "entry_id": record.entry_id,
        "issued_at": record.issued_at,
        "replaces": record.replaces_serial,
        "replaced_by": record.replaced_by,
        "void_reason": record.void_reason,
        "covers": [str(s) for s in record.data.get("covers", [])],
    }


def _known(serial: str) -> str:
    """A serial that may name a receipt (else 404 before any database access)."""
    if not _SERIAL.match(serial):
        raise ApiProblem("not_found", f"There is no receipt {serial!r}.")
    return serial


@blp.route("/receipts/<serial>", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, ReceiptRecordOut)
def get_receipt_record(serial: str) -> dict[str, Any]:
    """One receipt's record: kind, status, what it replaces or was replaced by, what it covers.

    Links are not shown: only their hashes are stored (`POST .../link` hands out a new one).
    """
    with service().engine.connect() as conn:
        return _present(receipt_cases.receipt_record(conn, _known(serial)))


@blp.route("/receipts/<serial>/void", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("not_found", "already_exists"), body=True, idempotent=True)
@blp.arguments(VoidIn())
@blp.response(201, VoidOut)
def void_receipt_view(data: dict[str, Any], serial: str) -> dict[str, Any]:
    """Void a receipt (kept, shown as VOID with the reason) and issue its replacement.

    The replacement says which serial it cancels and replaces; the voided serial is never
    reused. A reversed gift's receipt, and an annual receipt, are voided without replacement.
    """
    key = idempotency_key("receipt-void")
    voided = receipt_cases.void_and_replace(
        books(), _known(serial), by=current_actor(), key=key, audit=audit_facts(), **data
    )
    replacement = voided.replacement.urls(public_base()) if voided.replacement else None
    return {"serial": serial, "status": "void", "reason": voided.reason, "replacement": replacement}


class FiscalIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=60))
    number = fields.String(required=True, validate=validate.Length(min=1, max=60))


class FiscalOut(Schema):
    serial = fields.String(required=True)
    code = fields.String(required=True)
    number = fields.String(required=True)
    recorded_at = fields.String(required=True)
    recorded_by = fields.String(required=True)


@blp.route("/receipts/<serial>/fiscal-reference", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("not_found", "already_exists"), body=True, idempotent=True)
@blp.arguments(FiscalIn())
@blp.response(201, FiscalOut)
def record_fiscal_reference(data: dict[str, Any], serial: str) -> dict[str, Any]:
    """Record the 公益事业捐赠票据 the fiscal platform issued for this receipt (票据代码/号码).

    An appended record, never an edit: at most one per receipt; the same code and number
    again (a replay) answer the recorded reference, a different one is 409. The receipt page
    and PDF show it from then on.
    """
    recorded = receipt_cases.record_fiscal_reference(
        books(), _known(serial), by=current_actor(), audit=audit_facts(), **data
    )
    return {
        "serial": recorded.serial,
        "code": recorded.code,
        "number": recorded.number,
        "recorded_at": recorded.recorded_at,
        "recorded_by": recorded.recorded_by,
    }


@blp.route("/receipts/<serial>/link", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("not_found",))
@blp.response(201, ReceiptOut)
def relink_receipt(serial: str) -> dict[str, str]:
    """Revoke every link of a receipt and hand out a new one (a leaked or lost link)."""
    link = receipt_cases.relink_receipt(books(), _known(serial), audit=audit_facts())
    return link.urls(public_base())


@blp.route("/donors/<id>/annual-receipts/<year>", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("not_found", "already_exists"), idempotent=True)
@blp.response(201, AnnualOut)
def create_annual_receipt(id: str, year: str) -> dict[str, Any]:
    """Issue a donor's annual consolidated receipts for `year`: one per issuer.

    Each covers the donor's live gift receipts received that year for the funds of one issuer
    (the first is answered, the others under `others`); a year whose every issuer is already
    covered by a live annual receipt is 409 (void it first to reissue).
    """
    if not (len(year) == 4 and digits(year) and "1900" <= year <= "2999"):
        raise ApiProblem("not_found", f"There is no year {year!r}.")
    key = idempotency_key("annual-receipts")
    annual = receipt_cases.issue_annual_receipt(
        books(), id, int(year), by=current_actor(), key=key, audit=audit_facts()
    )
    return {**_annual_out(annual), "others": [_annual_out(a) for a in annual.others]}


def _annual_out(annual: receipt_cases.AnnualReceipt) -> dict[str, Any]:
    return {
        **annual.link.urls(public_base()),
        "donor_id": annual.donor_id,
        "year": annual.year,
        "covers": annual.covers,
        "total_cny": annual.total_cny,
        "issuer": annual.issuer,
    }


# -- wiring -------------------------------------------------------------------------------------
def init_app(app: Flask) -> None:
    """Register the receipt pages on an app made by `create_app` (its officer API is
    registered with the other resources, by `api.resources.register`).

    Idempotent. The receipt settings (`PUBLIC_BASE_URL`, `RECEIPT_ISSUER_NAME`,
    `RECEIPT_ISSUER_REGISTRATION_NO`) are the books' (`usecases.books.open_books`); the desk is
    also `app.extensions["receipts"]`.
    """
    if "receipts" in app.extensions:
        return
    app.extensions["receipts"] = app.extensions["huiquan"].books.receipts
    app.register_blueprint(pages)  # the officer API (`blp`) comes with the others'
