"""What every resource shares: the operation decorator, the use cases' inputs, cursors.

Invariants owned here:
- `Idempotency-Key` (1-128 visible ASCII characters) is scoped by route: the ledger stores
  `<route>:<key>`, whoever the caller is (see `ledger.idempotency`).
- Views write only through use cases (`usecases.*`, run by `usecases.unit.write`: one unit of
  work, group commit, a replay on a lost race), passing the request's actor and audit facts as
  plain values (`current_actor()`, `api.trail.audit_facts()`).
- A receipt's URLs are the public base URL (`PUBLIC_BASE_URL`, else the request's host URL)
  and its link token: the use case answers the token, the view the URL.
- Cursors are opaque: base64url of `<list>:<last sequence or id>`.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import current_app, g, request
from marshmallow import Schema

from api.auth import roles as mark_roles
from api.blueprint import Blueprint
from api.errors import CATALOGUE, PROBLEM_MEDIA_TYPE, ApiProblem
from api.schemas import ProblemOut
from api.state import books, huiquan
from ledger.storage.repository import SqlRepository
from usecases import unit
from usecases.receipts import ReceiptLink
from usecases.unit import Actor

__all__ = [
    "IDEMPOTENCY_PARAMETER",
    "books",
    "current_actor",
    "decode_cursor",
    "encode_cursor",
    "huiquan",
    "idempotency_key",
    "operation",
    "prebuilt",
    "read",
    "receipt_urls",
]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_STATUS = {p.code: p.status for p in CATALOGUE}
_TITLES = {p.code: p.title for p in CATALOGUE}

IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": (
        "Client key for safe retries, scoped to this route. The same key with the same body "
        "answers the original status and body again and posts nothing; with a different body "
        "it is 422 `idempotency_conflict`."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[!-~]+$"},
}


def current_actor() -> Actor:
    """The authenticated caller of this request, as the use cases know an actor."""
    info = g.actor
    return Actor(info.display_name or info.name, (info.role,), info.user_id)


def public_base() -> str:
    """The public base URL of receipt links: `PUBLIC_BASE_URL`, else the request's host URL."""
    configured = books().receipts.base_url
    if configured:
        return configured.rstrip("/")
    return f"{request.scheme}://{request.host}"  # request.host_url, without its IRI decoding


def receipt_urls(receipt: Any) -> dict[str, str] | None:
    """A use case's receipt as the API shows it: serial, page URL and PDF URL (or None)."""
    if receipt is None:
        return None
    if isinstance(receipt, ReceiptLink):
        return receipt.urls(public_base())
    return dict(receipt)  # a plugged-in issuer's receipt (`RECEIPT_ISSUER`), shown as it is


def operation(
    blp: Blueprint,
    *,
    roles: Sequence[str] | None,
    problems: Sequence[str] = (),
    body: bool = False,
    idempotent: bool = False,
) -> Callable[[F], F]:
    """Declare who may call a view and document the problems it can answer (problem+json)."""
    codes = list(problems)
    if roles is not None:
        codes += ["unauthorized", "forbidden", "rate_limited"]
    if body:
        codes += ["validation_error", "payload_too_large", "unsupported_media_type"]
    if idempotent:
        codes.append("idempotency_conflict")
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(_STATUS[code], []).append(code)
    responses = {
        status: {
            "description": "; ".join(f"`{c}`: {_TITLES[c]}" for c in group),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": ProblemOut}},
        }
        for status, group in sorted(by_status.items())
    }
    doc: dict[str, Any] = {"responses": responses}
    doc["security"] = [{"bearerAuth": []}] if roles is not None else []
    if roles is not None:
        doc["x-roles"] = list(roles)
    if idempotent:
        doc["parameters"] = [IDEMPOTENCY_PARAMETER]

    def decorate(view: F) -> F:
        documented: F = blp.doc(**doc)(view)
        return mark_roles(*roles)(documented) if roles is not None else documented

    return decorate


def prebuilt(schema: Schema, status: int) -> Callable[[F], F]:
    """Send the view's dict as JSON as it is: its presenter builds `schema`'s dump already.

    For the hot write path (a donation), under `@blp.response(status, schema)`, which still
    documents the response: marshmallow dumping a dict that is already in the schema's shape
    costs about a tenth of the request. Under `TESTING` the dict is dumped anyway and must come
    out identical, so every test that calls the view checks its presenter against the schema.
    """

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            body = view(*args, **kwargs)
            if current_app.config["TESTING"] and schema.dump(body) != body:
                raise AssertionError(f"{view.__name__} built a body its schema would change")
            response = current_app.json.response(body)
            response.status_code = status
            return response

        return wrapper  # type: ignore[return-value]

    return decorate


def idempotency_key(route: str) -> str | None:
    """The request's `Idempotency-Key`, scoped to `route`, or None.

    Raises:
        ApiProblem: validation_error for a malformed key.
    """
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    if not _KEY.match(raw):
        raise ApiProblem(
            "validation_error",
            "The Idempotency-Key header is malformed.",
            errors={"Idempotency-Key": ["must be 1-128 visible ASCII characters"]},
        )
    return f"{route}:{raw}"


def read(work: Callable[[SqlRepository], T]) -> T:
    """Run `work` over a read-only repository."""
    return unit.read(books(), work)


def encode_cursor(kind: str, value: object) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    """The position a cursor of list `kind` points after, or None for the first page.

    Raises:
        ApiProblem: validation_error for a cursor that is not one of this list's.
    """
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    prefix, _, value = text.partition(":")
    if prefix != kind or not value:
        raise ApiProblem(
            "validation_error",
            "The cursor is not one this list handed out.",
            errors={"cursor": ["not a cursor of this list"]},
        )
    return value
