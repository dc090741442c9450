"""Donor receipts over HTTP: issuing hooks, secret links, the PDF cache, corrections, /verify.

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

Invariants owned here:
- A gift's receipt is issued by `issue_receipt_for(uow, entry)` inside the unit of work that
  records the gift (gapless serial, same commit). Called again for an entry that already has a
  receipt (an idempotent replay), it answers that receipt's link again and never a second
  serial. Links answered by the API are stable: HMAC tokens of (serial, link generation) under a
  key derived from the service's secret (`ReceiptService.link_token`), so a replay shows the
  very link the first answer showed, while only hashes are stored.
- `void_receipts_of_reversed(uow, reversal)` voids, in the reversal's transaction, the live
  receipt of the reversed gift and any live annual receipt that counted it (no replacement).
- Every answer under ``/r/`` that does not open a receipt -- unknown, revoked or malformed
  token, any suffix -- is the same 404: same body, same headers (bar the per-request
  ``X-Request-Id``). A malformed token is refused before any database access; a well-formed one
  costs one indexed lookup of its hash, whether it is unknown or revoked.
- Receipt answers carry ``Referrer-Policy: no-referrer``, ``Cache-Control: private`` (HTML and
  JSON also ``no-store``), ``X-Content-Type-Options: nosniff`` and the strict
  Content-Security-Policy of `receipts.render.content_security_policy`. They show the receipt's
  donor (by name, even if anonymous: it is their own link) and nothing about other receipts,
  contact data or beneficiaries beyond pseudonym and county.
- PDFs are rendered only on a cache miss, never on the gift's request. The cache lives in
  ``$HUIQUAN_HOME/cache/receipts/`` (shared by workers, mode 0700), one file per serial,
  language, status, checkpoint size and public base URL, written to a temporary file and
  renamed into place. The PDF is a snapshot taken when it was rendered (its "where my gift
  went" and its proof against the checkpoint it names); a newer checkpoint or a void renders a
  new one, while the web page is always live. The ETag is the SHA-256 of the bytes (strong);
  ``If-None-Match`` answers 304.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import flask
from flask import Flask, Response, current_app, render_template, request
from flask_smorest import Blueprint
from markupsafe import Markup
from marshmallow import Schema, fields, validate
from sqlalchemy import Connection, Engine, select
from werkzeug.exceptions import UnsupportedMediaType

from api.auth import READERS, WRITERS, actor
from api.errors import ApiProblem
from api.resources.common import idempotency_key, operation, remember, remembered, write
from api.schemas import ReceiptOut, Text, not_blank
from ledger.entries import EntryKind, PostedEntry
from ledger.errors import AlreadyExists, InvalidEntry
from ledger.money import FUNCTIONAL_CURRENCY, format_minor
from ledger.storage.fastsql import Raw
from ledger.storage.tables import receipts
from ledger.storage.unit_of_work import UnitOfWork
from ledger.tlog.keys import KEY_FILE, ensure_signing_key, trusted_vkeys
from ledger.tlog.proofs import latest_checkpoint
from receipts.issuing import (
    RECEIPTABLE,
    ReceiptRecord,
    annual_receipt,
    get_receipt,
    issue_receipt,
    lookup_token,
    receipts_of_donor,
    revoke_links,
    void_receipt,
)
from receipts.model import LANGUAGES, Language
from receipts.proof import (
    ClaimsSigner,
    Finding,
    ProofFormatError,
    VerificationResult,
    attach_to_pdf,
    build_document,
    document_bytes,
    load_document,
    same_code,
    scan_code,
    verify_receipt_document,
)
from receipts.render import content_security_policy, render_html, render_pdf
from receipts.views import (
    Issuer,
    ReceiptContext,
    build_view,
    claims_of,
    latest_receipt_of_entry,
    load_context,
    preferred_language,
    proof_material,
    verify_link,
    where_lines,
)

__all__ = [
    "DEFAULT_ISSUER",
    "ReceiptService",
    "init_app",
    "issue_receipt_for",
    "void_receipts_of_reversed",
]

LINK_KEY_LABEL = b"huiquan receipt links v1"
#: Bumped whenever the PDF's content changes for the same inputs (it is part of the cache key).
RENDER_VERSION = "1"
DEFAULT_ISSUER = Issuer("成都市锦江区惠泉社区公益服务中心", "（登记证号未设置 / not configured）")
_LINK = re.compile(r"^([A-Za-z0-9_-]{32})(\.pdf|\.json)?$")
_SERIAL = re.compile(r"^[A-Z]{1,10}-[0-9]{4}-[0-9]{6}$")
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

NOT_FOUND_BODY = (
    '<!DOCTYPE html>\n<html lang="zh-Hans">\n<head>\n<meta charset="utf-8">\n'
    '<meta name="robots" content="noindex, nofollow">\n'
    "<title>收据链接无效 · Receipt link not valid</title>\n</head>\n<body>\n"
    "<h1>收据链接无效 · Receipt link not valid</h1>\n"
    "<p>此链接无法打开收据：可能已失效或输入有误。请联系为您开具收据的机构。</p>\n"
    '<p lang="en">This link does not open a receipt. It may have been withdrawn or mistyped; '
    "please ask the organisation that issued your receipt.</p>\n</body>\n</html>\n"
).encode()


# -- the service --------------------------------------------------------------------------------
@dataclass
class ReceiptService:
    """What the receipt routes share in one process: `app.extensions["receipts"]`."""

    engine: Engine
    home: Path
    issuer: Issuer
    base_url: str | None
    _etags: dict[Path, tuple[int, int, str]] = field(default_factory=dict, repr=False)
    _signer: tuple[tuple[int, int], ClaimsSigner] | None = field(default=None, repr=False)
    _link_key_bytes: bytes | None = field(default=None, repr=False)

    @property
    def cache_dir(self) -> Path:
        folder = self.home / "cache" / "receipts"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return folder

    def signer(self) -> ClaimsSigner:
        """The organisation's signing key, reloaded when the key file changes (rotation)."""
        path = self.home / "keys" / KEY_FILE
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_ino)
        except FileNotFoundError:
            stamp = (0, 0)
        held = self._signer
        if held is not None and held[0] == stamp:
            return held[1]
        signer = ClaimsSigner.from_home(self.home)
        stat = path.stat()
        self._signer = ((stat.st_mtime_ns, stat.st_ino), signer)
        return signer

    def trusted(self) -> list[str]:
        """The service's own verifier keys, current and previous."""
        keys = trusted_vkeys(self.home)
        if not keys:
            ensure_signing_key(self.home)
            keys = trusted_vkeys(self.home)
        return keys

    def base(self) -> str:
        """The public base URL of links: `PUBLIC_BASE_URL`, else the request's host URL."""
        if self.base_url:
            return self.base_url.rstrip("/")
        return f"{request.scheme}://{request.host}"  # request.host_url, without its IRI decoding

    def links(
        self, conn: Connection, serial: str, now: str, *, fresh: UnitOfWork | None = None
    ) -> dict[str, str]:
        """The receipt's serial and its link URLs; the same answer every time it is asked.

        `fresh` is the unit of work that issued the receipt just now: the receipt has no link
        yet, and the new link's row is queued to that unit's next flush.
        """
        token = self.link_token(conn, serial, now, fresh=fresh)
        base = self.base()
        return {"serial": serial, "url": f"{base}/r/{token}", "pdf_url": f"{base}/r/{token}.pdf"}

    # -- links -------------------------------------------------------------------------------
    def _link_key(self) -> bytes:
        if self._link_key_bytes is None:
            secret: bytes = current_app.extensions["huiquan"].pseudonym_secret()
            self._link_key_bytes = hmac.new(secret, LINK_KEY_LABEL, hashlib.sha256).digest()
        return self._link_key_bytes

    def _token(self, key: bytes, serial: str, generation: int) -> str:
        mac = hmac.new(key, f"{serial}\n{generation}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:24]).decode("ascii")  # 192 bits, 32 characters

    def link_token(
        self, conn: Connection, serial: str, now: str, *, fresh: UnitOfWork | None = None
    ) -> str:
        """The receipt's live link token, made if it has none we can show (in `conn`'s work).

        Tokens are HMAC-SHA256 of (serial, link generation) under a key derived from the
        service's secret: unguessable without it, yet the same token again when an idempotent
        replay asks. Only the token's hash is stored; a revoked link's generation is never
        handed out again.
        """
        raw = Raw(conn)
        rows = (
            []
            if fresh is not None
            else raw.run(
                "SELECT token_hash, revoked_at FROM receipt_links WHERE serial = ?", (serial,)
            ).fetchall()
        )
        live = {token_hash for token_hash, revoked_at in rows if revoked_at is None}
        key = self._link_key()
        for generation in range(len(rows), 0, -1):
            token = self._token(key, serial, generation)
            if hashlib.sha256(token.encode()).hexdigest() in live:
                return token
        token = self._token(key, serial, len(rows) + 1)
        (raw.run if fresh is None else fresh.queue_row)(
            "INSERT INTO receipt_links (token_hash, serial, created_at) VALUES (?, ?, ?)",
            (hashlib.sha256(token.encode()).hexdigest(), serial, now),
        )
        return token

    # -- documents ---------------------------------------------------------------------------
    def document(self, conn: Connection, ctx: ReceiptContext) -> dict[str, Any]:
        """The signed proof document of a receipt, proven against the covering checkpoint."""
        proof = proof_material(self.engine, conn, ctx, self.home)
        claims = claims_of(ctx, self.issuer)
        return build_document(claims, proof.evidence, proof.checkpoint.signed_text, self.signer())

    def render_pdf_bytes(self, conn: Connection, ctx: ReceiptContext, lang: Language) -> bytes:
        """Render the receipt PDF with its proof attached, and store it in the cache."""
        proof = proof_material(self.engine, conn, ctx, self.home)
        view = build_view(
            ctx,
            proof,
            issuer=self.issuer,
            language=lang,
            verify_url=verify_link(self.base(), ctx, self.issuer),
            where=where_lines(conn, ctx),
        )
        claims = claims_of(ctx, self.issuer)
        doc = build_document(claims, proof.evidence, proof.checkpoint.signed_text, self.signer())
        pdf = attach_to_pdf(render_pdf(view, language=lang), document_bytes(doc))
        self._store(self._cache_path(ctx.serial, lang, ctx.status, proof.checkpoint.size), pdf)
        return pdf

    # -- the PDF cache -----------------------------------------------------------------------
    def _cache_path(self, serial: str, lang: str, status: str, size: int) -> Path:
        salt = hashlib.sha256(f"{RENDER_VERSION}|{self.base()}".encode()).hexdigest()[:12]
        return self.cache_dir / f"{serial}.{lang}.{status}.{size}.{salt}.pdf"

    def cached(self, serial: str, lang: str, status: str, size: int) -> tuple[Path, str] | None:
        """The cached PDF's path and ETag, if this version of the receipt is in the cache."""
        path = self._cache_path(serial, lang, status, size)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        known = self._etags.get(path)
        if known is not None and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return path, known[2]
        try:
            etag = hashlib.sha256(path.read_bytes()).hexdigest()
        except FileNotFoundError:
            return None
        if len(self._etags) > 10_000:
            self._etags.clear()
        self._etags[path] = (stat.st_mtime_ns, stat.st_size, etag)
        return path, etag

    def _store(self, path: Path, pdf: bytes) -> None:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pdf")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(pdf)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        stale = path.name.split(".")[:2]
        for old in path.parent.glob(f"{stale[0]}.{stale[1]}.*.pdf"):
            if old != path:
                old.unlink(missing_ok=True)  # superseded by a newer checkpoint or a void


def service() -> ReceiptService:
    """This app's receipt service."""
    state: ReceiptService = current_app.extensions["receipts"]
    return state


# -- hooks called by the gift and reversal views, inside their unit of work ----------------------
def issue_receipt_for(uow: UnitOfWork, entry: PostedEntry) -> dict[str, str] | None:
    """Issue the receipt of a gift in the gift's transaction; return its serial and links.

    Donations, foreign-currency donations, pledge payments and in-kind gifts get a receipt;
    anything else (a pledge, a disbursement) gets None. Signed by the entry's maker (the
    officer's token name).
    """
    if entry.kind not in RECEIPTABLE:
        return None
    issued_here = uow.memo_of("receipts")  # entry id -> links, for receipts issued in this uow
    if entry.id in issued_here:  # a replay in the same (group-committed) transaction
        known: dict[str, str] = issued_here[entry.id]
        return known
    conn, now = uow.connection, uow.now()
    existing = None if entry.id in uow.posted else latest_receipt_of_entry(conn, entry.id)
    if existing is not None:
        return service().links(conn, existing, now)
    issued = issue_receipt(conn, entry, officer=entry.maker, now=now, link=False, uow=uow)
    links = issued_here[entry.id] = service().links(conn, issued.serial, now, fresh=uow)
    return links


def _receipts_of_entry(conn: Connection, entry_id: str) -> list[ReceiptRecord]:
    serials = conn.scalars(select(receipts.c.serial).where(receipts.c.entry_id == entry_id))
    return [r for r in (get_receipt(conn, s) for s in serials) if r is not None]


def void_receipts_of_reversed(uow: UnitOfWork, reversal: PostedEntry) -> list[str]:
    """Void the receipts of the entry a reversal undoes, in the reversal's transaction.

    The gift's live receipt is voided without replacement, and so is any live annual receipt
    that counted one of the gift's receipts (issue the year again to get a correct one).
    Returns the voided serials.
    """
    if reversal.kind is not EntryKind.REVERSAL or not reversal.reverses:
        return []
    conn, now = uow.connection, uow.now()
    reason = f"捐赠记录已冲销 / the gift was reversed: {reversal.memo}".strip()
    uow.flush()  # receipts issued earlier in this unit of work are queued rows until then
    gift_receipts = _receipts_of_entry(conn, reversal.reverses)
    voided: list[str] = []
    for record in gift_receipts:
        if not record.is_void:
            void_receipt(conn, record.serial, reason=reason, by=reversal.maker, now=now, uow=uow)
            voided.append(record.serial)
    serials = {r.serial for r in gift_receipts}
    donors = {r.donor_id for r in gift_receipts}
    for donor_id in sorted(donors):
        for other in receipts_of_donor(conn, donor_id):
            counted = serials.intersection(map(str, other.data.get("covers", [])))
            if other.kind == "annual" and not other.is_void and counted:
                named = ", ".join(sorted(counted))
                because = f"所含收据 {named} 已作废 / counts voided receipt {named}"
                void_receipt(
                    conn, other.serial, reason=because, by=reversal.maker, now=now, uow=uow
                )
                voided.append(other.serial)
    return voided


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


def _json(state: ReceiptService, conn: Connection, ctx: ReceiptContext) -> Response:
    body = document_bytes(state.document(conn, ctx))
    response = Response(body, content_type="application/json; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{ctx.serial}.proof.json"'
    return _secured(response, store=True)


def _page(state: ReceiptService, conn: Connection, ctx: ReceiptContext, token: str) -> Response:
    lang = preferred_language(ctx, _language_asked())
    proof = proof_material(state.engine, conn, ctx, state.home)
    view = build_view(
        ctx,
        proof,
        issuer=state.issuer,
        language=lang,
        verify_url=verify_link(state.base(), ctx, state.issuer),
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
        hit = state.cached(record.serial, lang, status, checkpoint.size) if checkpoint else None
        if hit is not None:
            try:
                return _pdf_response(None, hit[0], hit[1], record.serial)
            except FileNotFoundError:
                pass  # pruned by another worker between stat and read: render again
        ctx = load_context(conn, record.serial)
        if ctx is None:
            return _not_found()
        pdf = state.render_pdf_bytes(conn, ctx, preferred_language(ctx, lang))
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
        if ctx is None or not same_code(scan_code(claims_of(ctx, state.issuer)), code or ""):
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
    replace = fields.Boolean(
        truthy={True},
        falsy={False},
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


class AnnualOut(ReceiptOut):
    donor_id = fields.String(required=True)
    year = fields.Integer(required=True)
    covers = fields.List(fields.String(), required=True)
    total_cny = fields.String(required=True)


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


def _record(conn: Connection, serial: str) -> ReceiptRecord:
    record = get_receipt(conn, serial) if _SERIAL.match(serial) else None
    if record is None:
        raise ApiProblem("not_found", f"There is no receipt {serial!r}.")
    return record


def _void(uow: UnitOfWork, serial: str, data: dict[str, Any], key: str | None) -> dict[str, Any]:
    conn, state = uow.connection, service()
    uow.flush()  # receipts and links issued earlier in a shared transaction are queued rows
    body = {"serial": serial, **data}
    done = remembered(uow, key, "receipt-void", body)
    if done is not None:
        replacement = done or None
    else:
        record = _record(conn, serial)
        if record.is_void:
            raise AlreadyExists(f"receipt {serial} is already void", field="serial")
        replace = data["replace"] if data["replace"] is not None else record.kind != "annual"
        entry = _replacement_entry(uow, record) if replace else None
        issued = void_receipt(
            conn,
            serial,
            reason=data["reason"],
            by=actor().name,
            now=uow.now(),
            replacement=entry,
            officer=actor().name,
            link=False,
            uow=uow,
        )
        replacement = issued.serial if issued else None
        remember(uow, key, "receipt-void", body, replacement or "")
    record = _record(conn, serial)
    links = state.links(conn, replacement, uow.now()) if replacement else None
    return {
        "serial": serial,
        "status": "void",
        "reason": record.void_reason or "",
        "replacement": links,
    }


def _replacement_entry(uow: UnitOfWork, record: ReceiptRecord) -> PostedEntry:
    if record.kind == "annual" or record.entry_id is None:
        raise InvalidEntry(
            "an annual receipt is voided without a replacement (replace: false); then issue "
            "the year again",
            field="replace",
        )
    entry = uow.entry(record.entry_id)
    if entry is None or uow.repo.reversal_of(record.entry_id) is not None:
        raise InvalidEntry(
            "the gift was reversed, so its receipt is voided without a replacement "
            "(replace: false)",
            field="replace",
        )
    return entry


@blp.route("/receipts/<serial>", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, ReceiptRecordOut)
def get_receipt_record(serial: str) -> dict[str, Any]:
    """One receipt's record: kind, status, what it replaces or was replaced by, what it covers.

    Links are not shown: only their hashes are stored (`POST .../link` hands out a new one).
    """
    with service().engine.connect() as conn:
        return _present(_record(conn, serial))


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
    return write(lambda uow: _void(uow, serial, data, key))


def _relink(uow: UnitOfWork, serial: str) -> dict[str, str]:
    uow.flush()  # receipts and links issued earlier in a shared transaction are queued rows
    record = _record(uow.connection, serial)
    revoke_links(uow.connection, record.serial, uow.now())
    return service().links(uow.connection, record.serial, uow.now())


@blp.route("/receipts/<serial>/link", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("not_found",))
@blp.response(201, ReceiptOut)
def relink_receipt(serial: str) -> dict[str, str]:
    """Revoke every link of a receipt and hand out a new one (a leaked or lost link)."""
    return write(lambda uow: _relink(uow, serial))


def _annual(uow: UnitOfWork, donor_id: str, year: int, key: str | None) -> dict[str, Any]:
    conn, state = uow.connection, service()
    uow.flush()  # receipts issued earlier in a shared transaction are queued rows
    if uow.repo.get_donor(donor_id) is None:
        raise ApiProblem("not_found", f"There is no donor {donor_id!r}.")
    body = {"donor_id": donor_id, "year": year}
    serial = remembered(uow, key, "annual-receipts", body)
    if serial is None:
        issued, _ = annual_receipt(
            conn, donor_id, year, officer=actor().name, now=uow.now(), link=False, uow=uow
        )
        serial = issued.serial
        remember(uow, key, "annual-receipts", body, serial)
    record = _record(conn, serial)
    covers = [str(s) for s in record.data.get("covers", [])]
    total = 0
    for covered in covers:
        gift = get_receipt(conn, covered)
        entry = uow.entry(gift.entry_id) if gift and gift.entry_id else None
        total += entry.postings[0].functional if entry else 0
    return {
        **state.links(conn, serial, uow.now()),
        "donor_id": donor_id,
        "year": year,
        "covers": covers,
        "total_cny": format_minor(total, FUNCTIONAL_CURRENCY),
    }


@blp.route("/donors/<id>/annual-receipts/<year>", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("not_found", "already_exists"), idempotent=True)
@blp.response(201, AnnualOut)
def create_annual_receipt(id: str, year: str) -> dict[str, Any]:
    """Issue a donor's annual consolidated receipt for `year`, listing the gifts it covers.

    It covers the donor's live gift receipts received that year; a year already covered by a
    live annual receipt is 409 (void it first to reissue).
    """
    if not (len(year) == 4 and year.isascii() and year.isdigit() and "1900" <= year <= "2999"):
        raise ApiProblem("not_found", f"There is no year {year!r}.")
    key = idempotency_key("annual-receipts")
    return write(lambda uow: _annual(uow, id, int(year), key))


# -- wiring -------------------------------------------------------------------------------------
def _form_tolerant(begin: Callable[[], Any]) -> Callable[[], Any]:
    """Let views marked `accepts_form` take an HTML form body past the JSON-only check."""

    def begin_request() -> Any:
        try:
            return begin()
        except UnsupportedMediaType:
            view = current_app.view_functions.get(request.endpoint or "")
            if not (getattr(view, "accepts_form", False) and request.mimetype in FORM_TYPES):
                raise
            return None

    begin_request.__name__ = getattr(begin, "__name__", "begin_request")
    begin_request.__wrapped__ = begin  # type: ignore[attr-defined]
    return begin_request


def _setting(app: Flask, name: str) -> str | None:
    value = app.config.get(name) or os.environ.get(f"HUIQUAN_{name}")
    return str(value) if value else None


def init_app(app: Flask) -> None:
    """Plug receipts into an app made by `api.app.create_app` (idempotent).

    Settings (the app's config, else the environment variable `HUIQUAN_<NAME>`):
    `PUBLIC_BASE_URL` (base of links and QR codes; default: the request's host URL -- set it in
    production, behind a proxy), `RECEIPT_ISSUER_NAME`, `RECEIPT_ISSUER_REGISTRATION_NO`.
    """
    if "receipts" in app.extensions:
        return
    huiquan = app.extensions["huiquan"]
    issuer = Issuer(
        _setting(app, "RECEIPT_ISSUER_NAME") or DEFAULT_ISSUER.name,
        _setting(app, "RECEIPT_ISSUER_REGISTRATION_NO") or DEFAULT_ISSUER.registration_no,
    )
    base = _setting(app, "PUBLIC_BASE_URL")
    app.extensions["receipts"] = ReceiptService(huiquan.engine, Path(huiquan.home), issuer, base)
    from api.app import no_receipt

    if huiquan.issue_receipt_for is no_receipt:
        huiquan.issue_receipt_for = issue_receipt_for
    app.register_blueprint(pages)
    huiquan.api.register_blueprint(blp)
    # The API refuses non-JSON bodies before any view runs; /verify takes an HTML form.
    hooks = app.before_request_funcs.setdefault(None, [])
    for n, hook in enumerate(hooks):
        if getattr(hook, "__name__", "") == "_begin_request":
            hooks[n] = _form_tolerant(hook)
