"""Every failure the HTTP API reports, and the one mapping from errors to HTTP.

Invariants owned here:
- Every 4xx/5xx response is RFC 9457 `application/problem+json` with `type`, `title`, `status`,
  `detail`, `code`, `instance` and `request_id`; field problems add `errors` (field -> messages)
  and ledger failures add `reason` (the ledger's finer machine code, e.g. `too_many_decimals`).
- `type` is `https://huiquan.example/problems/<code>` (the base is the `PROBLEM_TYPE_BASE`
  setting). It identifies the problem; it is not meant to be dereferenced. The catalogue below is
  served at `GET /api/v1/problems`, printed in the OpenAPI description and in `api/PROBLEMS.md`.
- A `code` always comes with the same `status` (only `client_error`, for the rare 4xx the HTTP
  layer raises on its own, carries whatever status that was): the catalogue is the contract.
- References inside a request body that name nothing (a fund, donor, pledge...) are 422 with an
  `unknown_*` code; a path that names nothing is 404 `not_found`.
- No stack trace, SQL or driver message ever reaches a client: unexpected exceptions answer a
  generic 500 and are logged with the request id.

The tree of what is mapped::

    LedgerError (ledger.errors)        -> its catalogue code (see `_LEDGER_CODES`)
    ApiProblem (raised by the API)     -> its own code
    HTTPException (werkzeug, webargs)  -> by status: 400/404/405/413/414/415/422/429...
    sqlalchemy OperationalError        -> 503 service_unavailable
    anything else                      -> 500 internal_error
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ledger import errors as ledger_errors
from ledger.evidence import FileTooLarge, UnsupportedFile

__all__ = [
    "CATALOGUE",
    "PROBLEM_MEDIA_TYPE",
    "ApiProblem",
    "Problem",
    "catalogue_markdown",
    "problem",
    "problem_for_ledger_error",
    "register_error_handlers",
]

PROBLEM_MEDIA_TYPE = "application/problem+json"
DEFAULT_TYPE_BASE = "https://huiquan.example/problems/"

log = logging.getLogger("huiquan.api")


@dataclass(frozen=True, slots=True)
class Problem:
    """One entry of the catalogue: a stable code, its HTTP status, a title and when it happens."""

    code: str
    status: int
    title: str
    when: str


CATALOGUE: tuple[Problem, ...] = (
    Problem(
        "bad_request",
        400,
        "Bad request",
        "The body is not valid JSON, or the request is malformed in a way no field names.",
    ),
    Problem(
        "unauthorized",
        401,
        "Authentication required",
        "No `Authorization: Bearer <token>` header, or the token is unknown, malformed or revoked.",
    ),
    Problem("forbidden", 403, "Not allowed for this role", "The token's role may not do this."),
    Problem(
        "not_found",
        404,
        "Not found",
        "The path names nothing: no such route, or no fund, donor, entry or token with that id.",
    ),
    Problem(
        "method_not_allowed",
        405,
        "Method not allowed",
        "The path exists but not with this method; see the `Allow` header.",
    ),
    Problem(
        "insufficient_funds",
        409,
        "Insufficient funds",
        "The payment would take the fund's cash in that currency, or its restricted net assets, "
        "below zero, or an award would commit more than the fund can pay (cash + unconditional "
        "pledges receivable - unpaid awards); `detail` gives the figures. Nothing was posted.",
    ),
    Problem(
        "overpayment",
        409,
        "Overpayment",
        "A pledge payment or scholarship payout beyond what is still owed.",
    ),
    Problem(
        "period_closed",
        409,
        "Period closed",
        "The entry is dated inside a closed period; date it in the open period.",
    ),
    Problem(
        "already_reversed",
        409,
        "Already reversed",
        "The entry was already reversed, or is itself a reversal.",
    ),
    Problem(
        "already_exists",
        409,
        "Already exists",
        "A fund, project, account, beneficiary, token or closed period with that key exists.",
    ),
    Problem("account_closed", 409, "Account closed", "The entry posts to a closed account."),
    Problem(
        "payload_too_large",
        413,
        "Payload too large",
        "The request body is larger than the limit (1 MiB by default).",
    ),
    Problem(
        "uri_too_long",
        414,
        "URI too long",
        "The path and query string are longer than 8 KiB. (Under `huiquan serve`, gunicorn "
        "refuses a request line over 4094 bytes itself, with a plain 400, before the app sees "
        "it: its `limit_request_line`.)",
    ),
    Problem(
        "unsupported_media_type",
        415,
        "Unsupported media type",
        "A request body that is not `application/json`.",
    ),
    Problem(
        "validation_error",
        422,
        "Validation failed",
        "A field is missing, unknown, malformed or out of range (amounts are decimal strings, "
        "never JSON numbers); `errors` names each field, `reason` gives the ledger's finer code.",
    ),
    Problem("unknown_fund", 422, "Unknown fund", "The body names a fund that does not exist."),
    Problem(
        "unknown_project", 422, "Unknown project", "The body names a project that does not exist."
    ),
    Problem("unknown_donor", 422, "Unknown donor", "The body names a donor that does not exist."),
    Problem(
        "unknown_beneficiary",
        422,
        "Unknown beneficiary",
        "The body names a beneficiary pseudonym that does not exist.",
    ),
    Problem(
        "unknown_account",
        422,
        "Unknown account",
        "An entry names an account code that is not in the chart of accounts (accounts are "
        "never deleted, so the operations of this API do not reach it today).",
    ),
    Problem(
        "unknown_pledge",
        422,
        "Unknown pledge",
        "The body names a pledge that does not exist (or is conditional).",
    ),
    Problem("unknown_award", 422, "Unknown award", "The body names an award that does not exist."),
    Problem("unknown_place", 422, "Unknown place", "The body names a place that does not exist."),
    Problem(
        "unknown_campaign",
        422,
        "Unknown campaign",
        "The body names a campaign that does not exist, or one not taking gifts to that fund.",
    ),
    Problem(
        "idempotency_conflict",
        422,
        "Idempotency key reused",
        "The `Idempotency-Key` was already used on this route with a different body.",
    ),
    Problem(
        "rate_limited",
        429,
        "Too many failed authentications",
        "Too many failed authentications from this client address; wait `Retry-After` seconds.",
    ),
    Problem(
        "client_error",
        400,
        "Client error",
        "Any other 4xx the HTTP layer raises; `status` carries the precise status.",
    ),
    Problem(
        "proof_pending",
        409,
        "Not provable yet",
        "The entry is newer than the latest signed checkpoint; the service signs one within "
        "its checkpoint interval: ask again after `Retry-After` seconds.",
    ),
    Problem(
        "cosignature_rejected",
        422,
        "Cosignature rejected",
        "The cosignature is not by a configured witness key, does not verify, or is on another "
        "checkpoint than the one this service signed at that size.",
    ),
    Problem(
        "internal_error",
        500,
        "Internal error",
        "An unexpected failure. Nothing about it is disclosed; quote the `request_id`.",
    ),
    Problem(
        "service_unavailable",
        503,
        "Service unavailable",
        "The database cannot be reached; retry after `Retry-After` seconds.",
    ),
    Problem(
        "self_approval",
        403,
        "Self-approval",
        "The maker of a request cannot approve or reject it, with any of their tokens.",
    ),
    Problem(
        "not_an_approver",
        403,
        "Not an approver",
        "Deciding a request needs the approver role; only its maker may withdraw it.",
    ),
    Problem(
        "request_closed",
        409,
        "Request closed",
        "The approval request is no longer pending (posted, rejected or withdrawn), or this "
        "approver already decided it.",
    ),
    Problem(
        "request_expired",
        409,
        "Request expired",
        "The approval request expired; the maker requests the operation again.",
    ),
    Problem(
        "over_budget",
        409,
        "Over budget",
        "The disbursement is beyond its project's remaining budget (`detail` gives the figures). "
        "Ask again with `over_budget_reason`: it becomes a request an approver must approve.",
    ),
    Problem(
        "purpose_mismatch",
        409,
        "Outside the fund's purposes",
        "The fund may not pay for this (its stated purposes: projects, perhaps only in some "
        "counties, scholarships, in-kind handovers). Nothing was posted.",
    ),
    Problem(
        "need_closed",
        409,
        "Need not open for this",
        "The need (or service) is not in a state that allows this step: an offer to a need not "
        "yet published or already reported, moderating a need already decided, reporting one "
        "not yet fulfilled, signing up for a service that has ended.",
    ),
    Problem(
        "service_full",
        409,
        "Service full",
        "The service has as many sign-ups as its capacity.",
    ),
)

_BY_CODE: dict[str, Problem] = {p.code: p for p in CATALOGUE}

# Most specific class first: the lookup walks the exception's MRO.
_LEDGER_CODES: dict[type[ledger_errors.LedgerError], str] = {
    UnsupportedFile: "unsupported_media_type",
    FileTooLarge: "payload_too_large",
    ledger_errors.InsufficientFunds: "insufficient_funds",
    ledger_errors.OverBudget: "over_budget",
    ledger_errors.PurposeMismatch: "purpose_mismatch",
    ledger_errors.Overpayment: "overpayment",
    ledger_errors.PeriodClosed: "period_closed",
    ledger_errors.AlreadyReversed: "already_reversed",
    ledger_errors.AlreadyExists: "already_exists",
    ledger_errors.AccountClosed: "account_closed",
    ledger_errors.IdempotencyConflict: "idempotency_conflict",
    ledger_errors.UnknownFund: "unknown_fund",
    ledger_errors.UnknownProject: "unknown_project",
    ledger_errors.UnknownDonor: "unknown_donor",
    ledger_errors.UnknownBeneficiary: "unknown_beneficiary",
    ledger_errors.UnknownAccount: "unknown_account",
    ledger_errors.NotFound: "not_found",
    ledger_errors.SelfApproval: "self_approval",
    ledger_errors.NotAnApprover: "not_an_approver",
    ledger_errors.RequestExpired: "request_expired",
    ledger_errors.RequestClosed: "request_closed",
    ledger_errors.LedgerError: "validation_error",
}

# A plain `NotFound` about a body field is a reference that names nothing: 422, not 404.
_BODY_REFERENCES = {
    "pledge_id": "unknown_pledge",
    "award_id": "unknown_award",
    "place": "unknown_place",
    "campaign": "unknown_campaign",
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "service_unavailable",
}


class ApiProblem(Exception):
    """Raised by the API itself to answer with a catalogue problem."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        errors: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        if code not in _BY_CODE:
            raise ValueError(f"{code!r} is not in the problem catalogue")
        self.code = code
        self.detail = detail
        self.errors = dict(errors) if errors else None
        self.headers = dict(headers) if headers else {}


def problem(
    code: str,
    detail: str,
    *,
    status: int | None = None,
    errors: Mapping[str, list[str]] | None = None,
    reason: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render one problem as an `application/problem+json` response."""
    entry = _BY_CODE[code]
    status = status or entry.status
    base = current_app.config.get("PROBLEM_TYPE_BASE", DEFAULT_TYPE_BASE)
    body: dict[str, Any] = {
        "type": f"{base}{code}",
        "title": entry.title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.path,
        "request_id": g.get("request_id", ""),
    }
    if errors:
        body["errors"] = {k: list(v) for k, v in errors.items()}
    if reason and reason != code:
        body["reason"] = reason
    response = current_app.response_class(
        current_app.json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_for_ledger_error(exc: ledger_errors.LedgerError) -> Response:
    """The problem for a ledger failure: its catalogue code, and `errors` for its field.

    An error whose own `code` is a catalogue code (one a use case defines, such as
    `cosignature_rejected`) answers with it; others by their class (`_LEDGER_CODES`).
    """
    code = exc.code if exc.code in _BY_CODE else "validation_error"
    for cls in type(exc).__mro__:
        if code != "validation_error":
            break
        if cls in _LEDGER_CODES:
            code = _LEDGER_CODES[cls]
            break
    if code == "not_found" and exc.field in _BODY_REFERENCES:
        code = _BODY_REFERENCES[exc.field]
    errors = {exc.field: [exc.message]} if exc.field else None
    return problem(code, exc.message, errors=errors, reason=exc.code)


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten webargs/marshmallow messages ({location: {field: [...]}}) to dotted field keys."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(_flatten(value, name))
    elif isinstance(messages, list | tuple) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_request"] = [str(m) for m in messages]
    elif isinstance(messages, list | tuple):
        for index, value in enumerate(messages):
            flat.update(_flatten(value, f"{prefix}.{index}"))
    else:
        flat[prefix or "_request"] = [str(messages)]
    return flat


def _field_errors(data: Mapping[str, Any]) -> dict[str, list[str]]:
    messages = data.get("messages") or {}
    flat: dict[str, list[str]] = {}
    for location, fields in messages.items():
        # The location (json, query, headers) is not part of the field's name for a client.
        flat.update(_flatten(fields) if isinstance(fields, Mapping) else {location: fields})
    return flat


def _http_problem(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _HTTP_CODES.get(status, "client_error" if status < 500 else "internal_error")
    data = getattr(exc, "data", None) or {}
    headers: dict[str, str] = {}
    if status == 405:
        headers["Allow"] = ", ".join(sorted(getattr(exc, "valid_methods", None) or ()))
    if status == 429:
        limit = getattr(exc, "limit", None)
        window = limit.limit.get_expiry() if limit is not None else 60
        headers["Retry-After"] = str(window)
    if status == 422:
        return problem(code, "The request has invalid fields.", errors=_field_errors(data))
    if status == 400:
        detail = "The request body is not valid JSON." if data else "The request is malformed."
        return problem(code, detail)
    if status >= 500:
        return problem(code, "The service failed; quote the request id when reporting it.")
    detail = _DETAILS.get(status, exc.description or _BY_CODE[code].title)
    return problem(code, detail, status=status, headers=headers)


_DETAILS = {
    404: "Nothing is found at this path.",
    405: "The path does not accept this method.",
    413: "The request body is larger than the limit.",
    414: "The path and query string are longer than the limit (8 KiB).",
    415: "Send the body as application/json.",
    429: "Too many failed authentications from this address; slow down.",
}


def register_error_handlers(app: Flask) -> None:
    """Install the mapping; call after flask-smorest's Api, so these handlers win."""

    @app.errorhandler(ApiProblem)
    def _api_problem(exc: ApiProblem) -> Response:
        return problem(exc.code, exc.detail, errors=exc.errors, headers=exc.headers)

    @app.errorhandler(ledger_errors.LedgerError)
    def _ledger(exc: ledger_errors.LedgerError) -> Response:
        return problem_for_ledger_error(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return _http_problem(exc)

    @app.errorhandler(OperationalError)
    def _database(exc: OperationalError) -> Response:
        log.error(
            "database unavailable",
            extra={"request_id": g.get("request_id", ""), "error": type(exc.orig).__name__},
        )
        return problem(
            "service_unavailable",
            "The database cannot be reached; retry shortly.",
            headers={"Retry-After": "1"},
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error", extra={"request_id": g.get("request_id", "")})
        return problem(
            "internal_error", "The service failed; quote the request id when reporting it."
        )


def catalogue_markdown() -> str:
    """The catalogue as a Markdown table (for the OpenAPI description and PROBLEMS.md)."""
    lines = ["| code | status | when |", "|---|---|---|"]
    lines += [f"| `{p.code}` | {p.status} | {p.when} |" for p in CATALOGUE]
    return "\n".join(lines)
