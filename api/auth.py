"""Who is calling: bearer tokens, roles, and slowing down failed authentications.

Invariants owned here:
- Every view declares the roles that may call it with `@roles(...)`; a view without the marker
  is public (health, the OpenAPI document, the docs page, the problem catalogue). Authentication
  runs before the body is parsed, so an anonymous caller learns nothing about a body's validity.
- A missing or malformed `Authorization: Bearer <token>` header, or an unknown, revoked or
  expired token, is 401 `unauthorized` (an expired token's detail says when it expired); a
  valid token whose role is not allowed is 403 `forbidden`.
- Roles: `auditor` reads; `officer` reads and records operations (or requests them, when the
  fund's approval policy says so); `approver` reads and approves or rejects others' requests;
  `admin` does everything else, including funds, projects, accounts, periods, tokens, users and
  approval policies. A token has one role and belongs to a user (who signs what it does); a
  disabled user's tokens are 401 like revoked ones.
- Every request reads its token's row (`usecases.tokens.check_token`, one indexed query):
  nothing about a token is cached in a process, so a token revoked by any process, by the CLI
  or in the database is refused by every worker on its very next request. (A per-process cache
  would still need a query per request to learn of revocations, which is the lookup itself.)
- The failed-authentication limiter slows failed attempts only. Failed authentications (401s)
  are counted per client address with Flask-Limiter (default `20 per minute`, setting
  `FAILED_AUTH_LIMIT`); once an address is over the limit, a request from it that fails to
  authenticate answers 429 `rate_limited` with `Retry-After` instead of 401, while a valid
  token from the same address is still served: many clients behind one NAT, one of them
  misconfigured, do not lock the others out. (Guessing is hopeless anyway: a token carries 256
  random bits; the limit makes failing clients back off and caps the refusals audited.) The
  counter lives in `RATELIMIT_STORAGE_URI` (default `memory://`, i.e. per worker process: with
  N workers an address gets up to N times the limit; point it at Redis/Memcached for one shared
  counter).
- The client address is the connection's peer, or, behind trusted reverse proxies, the address
  they saw: set `PROXY_FIX_X_FOR` to the number of proxies in front (Werkzeug's `ProxyFix`
  takes that many entries from the right of `X-Forwarded-For`). Left at 0, `X-Forwarded-For`
  is ignored, so a client cannot pick its own address to dodge the limit; set too high, it can.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from sqlalchemy import Engine

from api.errors import ApiProblem
from usecases.tokens import TokenCheck, TokenInfo, check_token

__all__ = [
    "ADMIN",
    "READERS",
    "WRITERS",
    "TokenLookup",
    "actor",
    "authenticate_request",
    "init_limiter",
    "roles",
]

READERS = ("admin", "officer", "auditor", "approver")
WRITERS = ("admin", "officer")
ADMIN = ("admin",)

ROLES_ATTRIBUTE = "_huiquan_roles"

F = TypeVar("F", bound=Callable[..., Any])


def roles(*allowed: str) -> Callable[[F], F]:
    """Mark a view as needing a bearer token of one of `allowed` roles."""

    def mark(view: F) -> F:
        setattr(view, ROLES_ATTRIBUTE, tuple(allowed))
        return view

    return mark


class TokenLookup:
    """Checks a presented token against its row, every request (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def check(self, token: str) -> TokenCheck:
        """Whether the token may be used now, and if not, why."""
        return check_token(self.engine, token)


def _unauthorized(detail: str, error: str | None = None) -> ApiProblem:
    challenge = 'Bearer realm="huiquan"' + (f', error="{error}"' if error else "")
    return ApiProblem("unauthorized", detail, headers={"WWW-Authenticate": challenge})


def authenticate_request() -> None:
    """Before each request: check the bearer token against the view's roles."""
    view = current_app.view_functions.get(request.endpoint or "")
    allowed: tuple[str, ...] | None = getattr(view, ROLES_ATTRIBUTE, None)
    if allowed is None:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if not header:
        _refuse(_unauthorized("Send Authorization: Bearer <token>."))
    if scheme.lower() != "bearer" or not token:
        _refuse(
            _unauthorized("The Authorization header must be 'Bearer <token>'.", "invalid_request")
        )
    lookup: TokenLookup = current_app.extensions["huiquan"].tokens
    checked = lookup.check(token)
    info = checked.info
    if info is None:
        if checked.refusal == "expired":
            detail = (
                f"The token expired at {checked.expired_at}; ask an admin for a new one "
                "(huiquan token create)."
            )
        else:
            detail = "The token is unknown, malformed or revoked, or its user is disabled."
        _refuse(_unauthorized(detail, "invalid_token"))
    g.actor = info
    if info.role not in allowed:
        raise ApiProblem(
            "forbidden", f"A {info.role} token may not do this; it needs {' or '.join(allowed)}."
        )


def _refuse(problem: ApiProblem) -> NoReturn:
    """A failed authentication: 401, or 429 when this address has failed too often lately."""
    guard: FailedAuthLimit = current_app.extensions["huiquan"].limiter
    wait = guard.retry_after()
    if wait is not None:
        raise ApiProblem(
            "rate_limited",
            "Too many failed authentications from this address; try again later.",
            headers={"Retry-After": str(wait)},
        )
    raise problem


def actor() -> TokenInfo:
    """The authenticated caller of this request."""
    info: TokenInfo = g.actor
    return info


class _CounterLimiter(Limiter):
    """Flask-Limiter as storage and strategy only: no limits of its own to check per request."""

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        return None


class FailedAuthLimit:
    """The failed-authentication limit, kept in Flask-Limiter's storage and strategy.

    Flask-Limiter's own per-request machinery (resolving and filtering limits for every request)
    cost more than half a millisecond per call; this asks its rate limiter directly:
    `retry_after` once a request has failed to authenticate, `count` after a 401.
    """

    NAMESPACE = "failed-auth"

    def __init__(self, limiter: Limiter, limit: str) -> None:
        self.limiter = limiter
        self.item: RateLimitItem = parse(limit)

    def retry_after(self) -> int | None:
        """Seconds until this client may try again, or None when it is not over the limit."""
        if not self.limiter.enabled:
            return None
        key = get_remote_address()
        strategy = self.limiter.limiter
        if strategy.test(self.item, self.NAMESPACE, key):
            return None
        reset = strategy.get_window_stats(self.item, self.NAMESPACE, key).reset_time
        return max(1, math.ceil(reset - time.time()))

    def count(self, response: Any) -> Any:
        """After a request: a 401 counts against the client's address."""
        if response.status_code == 401 and self.limiter.enabled:
            self.limiter.limiter.hit(self.item, self.NAMESPACE, get_remote_address())
        return response


def init_limiter(app: Flask) -> FailedAuthLimit:
    """Count failed authentications per client address (see the module docstring)."""
    limiter = _CounterLimiter(
        get_remote_address,
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        strategy=app.config["RATELIMIT_STRATEGY"],
        enabled=app.config["RATELIMIT_ENABLED"],
    )
    limiter.init_app(app)
    guard = FailedAuthLimit(limiter, app.config["FAILED_AUTH_LIMIT"])
    app.after_request(guard.count)
    return guard
