"""The application factory: configuration, the database engine, hooks, blueprints, the spec.

Invariants owned here:
- `create_app(config)` builds everything; importing this module builds nothing. One engine (a
  connection pool) per app, i.e. per worker process, kept in the app's books
  (`app.extensions["huiquan"].books`, a `usecases.books.Books`; see `api.state`).
- Every response carries `X-Request-Id`: the caller's if it is sane (1-64 of `A-Za-z0-9._:-`),
  else a fresh one. It is in every problem body and in the request log.
- Every request is logged once, as one JSON line on stderr (logger `huiquan.api.request`):
  method, path, status, duration_ms, request_id, actor. Never bodies, queries or headers, and
  never a receipt link's secret: its path is logged as `/r/<redacted>` (`api.trail.loggable`).
- Under `/api/`, bodies over `MAX_CONTENT_LENGTH` (1 MiB) are 413 before anything reads them,
  and a body that is not JSON is 415, unless the view is marked `accepts_form` and the body is
  an HTML form (the /verify page). Elsewhere Werkzeug applies the limit when a body is read.
  An error answered before the body was read says `Connection: close`, so the unread body is
  never taken for the next request on a kept-alive connection.
- A JSON body is parsed once here, before any view: whatever Python's parser refuses (not
  JSON, not UTF-8, nested too deeply for its recursion limit, an integer of more than 4300
  digits) is 400 `bad_request`, never a 500 from deeper down.
- A path and query string longer than `MAX_URI_LENGTH` (8 KiB) is 414 `uri_too_long`. Under
  `huiquan serve`, gunicorn's `limit_request_line` (4094 bytes by default) refuses longer
  request lines first, with a plain-text 400 the app never sees.
- Every response says `X-Content-Type-Options: nosniff`; an HTML page under /api/ that sets no
  Content-Security-Policy of its own (the API page, /api/docs) gets a strict one that allows
  only its inline stylesheets, by hash. (Pages elsewhere set their own.)

Settings (the `config` mapping, else environment/defaults):

==========================  =====================================================================
DATABASE_URL                database URL; default `$HUIQUAN_DATABASE_URL` or the SQLite file
DATABASE_ENGINE_OPTIONS     extra keyword arguments for `ledger.storage.db.make_engine` (they win)
DATABASE_POOL_SIZE          connections the pool keeps: one per request thread, so none is opened
                            and closed per request under load; default `$HUIQUAN_DB_POOL_SIZE`
                            (`huiquan serve` sets it to `--threads`), else 16
PSEUDONYM_SECRET            bytes/str keying beneficiary pseudonyms; default: the 32 raw bytes in
                            `$HUIQUAN_HOME/pseudonym.key`, created (mode 0600) on first use
HUIQUAN_HOME                folder of that key file; default `ledger.storage.db.default_home()`
RECEIPT_ISSUER              override of a gift's receipt, `(uow, entry) -> receipt | None`
                            (`usecases.books.ReceiptIssuer`); default: `usecases.receipts`
PUBLIC_BASE_URL             base of receipt links and QR codes (else `$HUIQUAN_PUBLIC_BASE_URL`,
                            else the request's host URL: set it in production, behind a proxy)
RECEIPT_ISSUER_NAME         the receipts' issuer (else `$HUIQUAN_RECEIPT_ISSUER_NAME`)
RECEIPT_ISSUER_REGISTRATION_NO  its registration number (else the environment's, likewise)
WRITER_GATE                 queue writers before the books' lock (True; see `WriterGate`)
GROUP_COMMIT_MAX            most writes one shared transaction may hold (32; 1 = one each;
                            see `ledger.storage.group_commit`; needs WRITER_GATE)
FAILED_AUTH_LIMIT           Flask-Limiter limit on 401s per client address ("20 per minute",
                            else `$HUIQUAN_FAILED_AUTH_LIMIT`); over it, failing requests get
                            429, valid tokens are still served
RATELIMIT_STORAGE_URI       where that counter lives ("memory://": per process; else
                            `$HUIQUAN_RATELIMIT_STORAGE_URI`, e.g. redis://... for one counter)
RATELIMIT_STRATEGY          "fixed-window" (or "moving-window", "sliding-window-counter")
RATELIMIT_ENABLED           True
PROXY_FIX_X_FOR             number of trusted reverse proxies in front (else
                            `$HUIQUAN_PROXY_FIX_X_FOR`, else 0): the client address (for the
                            limiter and the audit trail) is then taken from that many
                            `X-Forwarded-For` entries from the right; at 0 the header is ignored
MAX_CONTENT_LENGTH          1 MiB
MAX_URI_LENGTH              8192 bytes of path and query string, else 414
LOG_REQUESTS                True: one JSON log line per request
PROBLEM_TYPE_BASE           "https://huiquan.example/problems/"
==========================  =====================================================================
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from importlib import metadata
from pathlib import Path
from typing import Any

from apispec import APISpec
from flask import Flask, Response, current_app, g, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from sqlalchemy.engine import make_url
from werkzeug.exceptions import NotFound, RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.middleware.proxy_fix import ProxyFix

from api.auth import TokenLookup, authenticate_request, init_limiter
from api.errors import (
    PROBLEM_MEDIA_TYPE,
    ApiProblem,
    catalogue_markdown,
    register_error_handlers,
)
from api.receipt_routes import blp as receipts_api
from api.receipt_routes import init_app as init_receipts
from api.resources import register as register_resources
from api.schemas import ProblemOut
from api.state import Huiquan
from api.trail import loggable, record_refusal
from ledger.storage.db import database_url, default_home, make_engine
from usecases.books import open_books

__all__ = ["JsonFormatter", "create_app"]

#: Content types a view marked `accepts_form` may take under /api/ instead of JSON.
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,
    "DATABASE_ENGINE_OPTIONS": {},
    "DATABASE_POOL_SIZE": None,
    "PSEUDONYM_SECRET": None,
    "HUIQUAN_HOME": None,
    "RECEIPT_ISSUER": None,
    "WRITER_GATE": True,
    "GROUP_COMMIT_MAX": 32,
    "FAILED_AUTH_LIMIT": "20 per minute",
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_STRATEGY": "fixed-window",
    "RATELIMIT_ENABLED": True,
    "PROXY_FIX_X_FOR": 0,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "MAX_URI_LENGTH": 8192,
    "LOG_REQUESTS": True,
    "PROBLEM_TYPE_BASE": "https://huiquan.example/problems/",
    "API_TITLE": "Huiquan Ledger",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
}

#: Settings that `huiquan serve` (gunicorn, no config mapping) takes from `HUIQUAN_<NAME>`.
FROM_ENVIRONMENT = ("PROXY_FIX_X_FOR", "FAILED_AUTH_LIMIT", "RATELIMIT_STORAGE_URI")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_INLINE_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
_LOGGED = ("method", "path", "status", "duration_ms", "request_id", "actor", "error")

log = logging.getLogger("huiquan.api")
request_log = logging.getLogger("huiquan.api.request")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the request fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _LOGGED:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class _StderrHandler(logging.Handler):
    """Writes to whatever `sys.stderr` is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:
            self.handleError(record)


def _install_logging() -> None:
    if any(isinstance(h, _StderrHandler) for h in log.handlers):
        return
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)


class HuiquanApi(Api):
    """flask-smorest's Api, with every documented error in problem+json."""

    ERROR_SCHEMA = ProblemOut

    def _register_responses(self) -> None:
        for status in HTTPStatus:
            if status < 400:
                continue
            response = {"description": status.phrase, "schema": self.ERROR_SCHEMA}
            prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other problem (500, 503, ...)", "schema": ProblemOut}
        prepare_response(response, self.spec, PROBLEM_MEDIA_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


# The OpenAPI document depends only on the code and the spec settings, so a process builds it
# once per set of settings and every later app (tests build hundreds) shares it read-only:
# documenting the routes is three quarters of the cost of building an app.
_DOCUMENTS: dict[str, APISpec] = {}


def _register_documented(app: Flask, api: HuiquanApi) -> None:
    """Register the API's blueprints on `app` with their OpenAPI document in `api.spec`."""
    settings = repr(
        sorted((k, v) for k, v in app.config.items() if k.startswith(("API_", "OPENAPI_")))
    )
    built = _DOCUMENTS.get(settings)
    if built is not None:
        api.spec = built
        register_resources(app, api, also=[receipts_api], document=False)
        return
    api.spec.components.security_scheme(
        "bearerAuth",
        {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token (`hq_...`); the role decides what it may do.",
        },
    )
    register_resources(app, api, also=[receipts_api])
    _DOCUMENTS[settings] = api.spec


def _description() -> str:
    return f"""Fund accounting for the Huiquan community charity platform: fund officers record
pledges, donations, disbursements and scholarships; auditors read everything.

**Authentication.** `Authorization: Bearer <token>` (tokens: `huiquan token create`, or
`POST /api/v1/tokens`). Roles: `auditor` reads; `officer` reads and records operations, donors
and beneficiaries; `admin` also manages funds, projects, accounts, periods and tokens. Missing or
bad token: 401; wrong role: 403. Repeated failed authentications from one address: 429.

**Amounts** are JSON strings with a currency: `{{"amount": "1200.50", "currency": "CNY"}}`. A
JSON number is refused (422), as are exponents, NaN, zero, negatives and more decimals than the
currency has. Responses show amounts as decimal strings, postings as `debit`/`credit`.

**Idempotency.** Every POST takes `Idempotency-Key`. The same key with the same body answers the
original status and body again and records nothing new (a created token comes back with
`token: null`); with a different body, 422 `idempotency_conflict`. Concurrent duplicates post one
entry.

**Lists** take `limit` (1-200, default 50) and the opaque `cursor` from `next_cursor` where they
are paged. Unknown body fields are refused (422), as are unknown query parameters of operations
that take query parameters and a query parameter given more than once. Text may not contain
control characters (tab and line feed only in memos, descriptions, purposes, reasons and
addresses). Booleans are `true` or `false`.
Bodies over 1 MiB: 413; path and query over 8 KiB: 414. A body that is not JSON, nested too
deeply or holding a number of more than 4300 digits: 400.

**Errors** are RFC 9457 `application/problem+json` with `type`
(`https://huiquan.example/problems/<code>`, an identifier), `title`, `status`, `detail`, `code`,
`instance`, `request_id`, and `errors` (field -> messages) for field problems. Every response
carries `X-Request-Id`. The codes (also at `GET /api/v1/problems`):

{catalogue_markdown()}
"""


def _version() -> str:
    try:
        return metadata.version("huiquan-ledger")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0+unknown"


def _begin_request() -> None:
    g.started = time.perf_counter()
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    if _uri_length() > current_app.config["MAX_URI_LENGTH"]:
        raise ApiProblem("uri_too_long", "The path and query string are longer than the limit.")
    if request.path.startswith("/api/"):
        # The JSON API: refuse an oversized or non-JSON body before anything reads it. (Pages
        # outside /api, such as a form upload, keep Werkzeug's own limit when they read.)
        length = request.content_length
        limit = request.max_content_length
        if length is not None and limit is not None and length > limit:
            raise RequestEntityTooLarge()
        if (length or request.headers.get("Transfer-Encoding")) and not request.is_json:
            if not _accepts_form():
                raise UnsupportedMediaType()
        if request.is_json and (length or request.headers.get("Transfer-Encoding")):
            _check_json_body()
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and ("\x00" in value or len(value) > 200):
            raise NotFound()


def _uri_length() -> int:
    """Bytes of the request target as sent (path and query string)."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        return len(raw)
    return len(request.environ.get("PATH_INFO", "")) + len(request.query_string) + 1


def _check_json_body() -> None:
    """Parse the JSON body once with Python's parser; what it refuses is a 400 `bad_request`.

    webargs parses the body again for the view (the cost of a small body is microseconds), but
    only bodies that parse here get there: its own handler knows JSONDecodeError only, so a
    RecursionError (a body nested thousands deep) or a ValueError (an integer over Python's
    4300-digit limit) would surface as a 500.
    """
    data = request.get_data(cache=True)
    if not data:
        return
    try:
        json.loads(data)
    except RecursionError:
        raise ApiProblem("bad_request", "The JSON body is nested too deeply.") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        detail = "The request body is not valid JSON."
        if "digits" in str(exc):
            detail = "The JSON body holds a number with too many digits."
        raise ApiProblem("bad_request", detail) from None


def _accepts_form() -> bool:
    """Whether the view is marked `accepts_form` and the body is an HTML form."""
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "accepts_form", False)) and request.mimetype in FORM_TYPES


def _body_unread() -> bool:
    """Whether the request came with a body that nothing has read (its bytes are still on the
    connection)."""
    has_body = bool(request.content_length or request.headers.get("Transfer-Encoding"))
    if not has_body:
        return False
    consumed = ("_cached_data", "form", "files")
    return not any(name in request.__dict__ for name in consumed)


def _page_policy(response: Response) -> str:
    """A strict CSP for an HTML page: nothing but its own inline stylesheets (by hash)."""
    html = response.get_data(as_text=True)
    hashes = (
        " ".join(
            "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"
            for css in _INLINE_STYLE.findall(html)
        )
        or "'none'"
    )
    return (
        f"default-src 'none'; style-src {hashes}; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _finish_request(response: Response) -> Response:
    response.headers["X-Request-Id"] = g.get("request_id", "")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if (
        response.mimetype == "text/html"
        and request.path.startswith("/api/")
        and "Content-Security-Policy" not in response.headers
        and not response.is_streamed
    ):
        response.headers["Content-Security-Policy"] = _page_policy(response)
    if response.status_code >= 400 and _body_unread():
        response.headers["Connection"] = "close"
    if current_app.config["LOG_REQUESTS"]:
        actor = g.get("actor")
        request_log.info(
            "request",
            extra={
                "method": request.method,
                "path": loggable(request.path),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.get("started", 0.0)) * 1000, 2),
                "request_id": g.get("request_id", ""),
                "actor": actor.name if actor else None,
            },
        )
    return response


class _CloseWhenAsked:
    """WSGI wrapper: a response that says `Connection: close` does close the connection.

    Servers that keep connections alive treat `Connection` as theirs: gunicorn drops the app's
    header, answers `keep-alive`, and then, finding more unread body than it will drain (64
    KiB), drops the connection under the client's next request. Where the server's
    `start_response` belongs to an object with `force_close()` (gunicorn's response), that is
    called, so the 413 itself says `Connection: close`.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if any(n.lower() == "connection" and v.lower() == "close" for n, v in headers):
                force_close = getattr(
                    getattr(start_response, "__self__", None), "force_close", None
                )
                if callable(force_close):
                    force_close()
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


def _engine_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """`make_engine`'s keyword arguments: a pool with a connection for every request thread.

    SQLAlchemy's default pool keeps 5 and opens up to 10 more, closing each as it comes back:
    with 16 threads reading at once (health checks, GETs), a new database session per request.
    """
    options = dict(config["DATABASE_ENGINE_OPTIONS"])
    url = make_url(database_url(config["DATABASE_URL"]))
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    if "poolclass" not in options and not in_memory:
        size = config["DATABASE_POOL_SIZE"] or os.environ.get("HUIQUAN_DB_POOL_SIZE") or 16
        options.setdefault("pool_size", int(size))
    return options


def _proxies(value: Any) -> int:
    """PROXY_FIX_X_FOR as a count of trusted proxies (0 to 10)."""
    try:
        count = int(value or 0)
    except (TypeError, ValueError):
        count = -1
    if not 0 <= count <= 10:
        raise ValueError(f"PROXY_FIX_X_FOR must be a number of proxies from 0 to 10, not {value!r}")
    return count


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the API application (see the module docstring for the settings)."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config["API_SPEC_OPTIONS"] = {"info": {"description": _description()}}
    for name in FROM_ENVIRONMENT:
        value = os.environ.get(f"HUIQUAN_{name}")
        if value and name not in (config or {}):
            app.config[name] = value
    if config:
        app.config.from_mapping(config)
    app.config["PROXY_FIX_X_FOR"] = _proxies(app.config["PROXY_FIX_X_FOR"])
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    if app.config["PROXY_FIX_X_FOR"]:
        proxied = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"])
        app.wsgi_app = proxied  # type: ignore[method-assign]
    app.wsgi_app = _CloseWhenAsked(app.wsgi_app)  # type: ignore[method-assign]
    _install_logging()

    engine = make_engine(database_url(app.config["DATABASE_URL"]), **_engine_options(app.config))
    app.before_request(_begin_request)
    limiter = init_limiter(app)
    app.before_request(authenticate_request)
    app.after_request(_finish_request)

    api = HuiquanApi(app)
    _register_documented(app, api)
    register_error_handlers(app)
    home = Path(app.config["HUIQUAN_HOME"] or default_home())
    books = open_books(
        engine,
        home,
        writer_gate=bool(app.config["WRITER_GATE"]),
        group_commit_max=int(app.config["GROUP_COMMIT_MAX"]),
        pseudonym_secret=app.config["PSEUDONYM_SECRET"],
        receipt_settings=app.config,
        receipt_issuer=app.config["RECEIPT_ISSUER"],
    )
    app.extensions["huiquan"] = Huiquan(
        books=books,
        tokens=TokenLookup(engine),
        limiter=limiter,
        api=api,
        version=_version(),
    )
    init_receipts(app)
    app.after_request(lambda response: record_refusal(response, engine))
    return app
