"""Who is calling: bearer tokens, roles, and slowing down failed authentications.

Invariants owned here:
- Every view declares the roles that may call it with `@roles(...)`; a view without the marker
  is public (health, the OpenAPI document, the docs page, the problem catalogue). Authentication
  runs before the body is parsed, so an anonymous caller learns nothing about a body's validity.
- A missing or malformed `Authorization: Bearer <token>` header, or an unknown or revoked token,
  is 401 `unauthorized`; a valid token whose role is not allowed is 403 `forbidden`.
- Roles: `auditor` reads; `officer` reads and records operations (or requests them, when the
  fund's approval policy says so); `approver` reads and approves or rejects others' requests;
  `admin` does everything else, including funds, projects, accounts, periods, tokens, users and
  approval policies. A token has one role and belongs to a user (who signs what it does); a
  disabled user's tokens are 401 like revoked ones.
- Failed authentications are counted per client address with Flask-Limiter (an application-wide
  limit that is only deducted when the answer is 401, default `20 per minute`, setting
  `FAILED_AUTH_LIMIT`). Once an address is over the limit every authenticated route answers 429
  `rate_limited` for it until the window passes. The counter lives in `RATELIMIT_STORAGE_URI`
  (default `memory://`, i.e. per worker process: with N workers an address gets up to N times
  the limit; point it at Redis/Memcached for one shared counter).
- Successful lookups are cached per process for `AUTH_CACHE_TTL` seconds (default 5; 0 turns the
  cache off). Revoking through this process forgets the token at once; other worker processes
  may accept a revoked token for at most the TTL.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse
from sqlalchemy import Engine

from api.errors import ApiProblem
from usecases.tokens import TokenInfo, authenticate

__all__ = [
    "ADMIN",
    "READERS",
    "WRITERS",
    "TokenCache",
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


class TokenCache:
    """Token hash -> token info for a few seconds, so most requests make no auth query."""

    def __init__(self, engine: Engine, ttl: float, size: int = 1024) -> None:
        self.engine = engine
        self.ttl = ttl
        self.size = size
        self._entries: dict[str, tuple[float, TokenInfo]] = {}
        self._lock = threading.Lock()

    def lookup(self, token: str) -> TokenInfo | None:
        """The active token's info (cached up to the TTL), or None."""
        if self.ttl <= 0:
            return authenticate(self.engine, token)
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        cached = self._entries.get(digest)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        info = authenticate(self.engine, token)
        with self._lock:
            if info is None:
                self._entries.pop(digest, None)
            else:
                if len(self._entries) >= self.size:
                    self._entries.clear()
                self._entries[digest] = (now + self.ttl, info)
        return info

    def forget(self, name: str) -> None:
        """Drop every cached token of this name (called when it is revoked)."""
        with self._lock:
            for digest in [d for d, (_, info) in self._entries.items() if info.name == name]:
                del self._entries[digest]

    def forget_user(self, user_id: str) -> None:
        """Drop every cached token of this user (called when the user is disabled)."""
        with self._lock:
            for digest in [d for d, (_, i) in self._entries.items() if i.user_id == user_id]:
                del self._entries[digest]


def _unauthorized(detail: str, error: str | None = None) -> ApiProblem:
    challenge = 'Bearer realm="huiquan"' + (f', error="{error}"' if error else "")
    return ApiProblem("unauthorized", detail, headers={"WWW-Authenticate": challenge})


def authenticate_request() -> None:
    """Before each request: check the bearer token against the view's roles."""
    view = current_app.view_functions.get(request.endpoint or "")
    allowed: tuple[str, ...] | None = getattr(view, ROLES_ATTRIBUTE, None)
    if allowed is None:
        return
    guard: FailedAuthLimit = current_app.extensions["huiquan"].limiter
    wait = guard.retry_after()
    if wait is not None:
        raise ApiProblem(
            "rate_limited",
            "Too many failed authentications from this address; try again later.",
            headers={"Retry-After": str(wait)},
        )
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _unauthorized("Send Authorization: Bearer <token>.")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("The Authorization header must be 'Bearer <token>'.", "invalid_request")
    cache: TokenCache = current_app.extensions["huiquan"].tokens
    info = cache.lookup(token)
    if info is None:
        raise _unauthorized("The token is unknown, malformed or revoked.", "invalid_token")
    g.actor = info
    if info.role not in allowed:
        raise ApiProblem(
            "forbidden", f"A {info.role} token may not do this; it needs {' or '.join(allowed)}."
        )


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
    cost more than half a millisecond per call; this asks its rate limiter directly: `blocked`
    before a token is looked at, `count` after a 401.
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
