"""Signing in and out of the console, and who may see what.

Invariants owned here:
- A password is checked only by the users use case (`usecases.users.authenticate`, argon2id);
  the console keeps no password and no hash.
- An unknown login and a wrong password get the same answer (same words, same status) after at
  least `CONSOLE_LOGIN_FLOOR_SECONDS`, so neither the page nor its timing tells which logins
  exist; a throttled attempt is refused without checking anything (`console.throttle`).
- Signing in gives the session a new id; signing out deletes the session's record, so the old
  cookie opens nothing (`console.sessions`).
- The session remembers only the user's id; who they are (name, roles, whether they are still
  active) is read from the users use case on every request.
- Roles are the API's: `officer` and `admin` record, `admin` also closes periods, `auditor`
  reads, `approver` approves. A page declares its roles with `login_required(*roles)`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, g, redirect, request, session, url_for

from console.state import books
from ledger.errors import NotFound
from usecases import users
from usecases.unit import Actor

__all__ = [
    "ADMIN",
    "APPROVERS",
    "READERS",
    "WRITERS",
    "SessionUser",
    "current_actor",
    "current_user",
    "load_user",
    "login_required",
    "safe_next",
]

F = TypeVar("F", bound=Callable[..., Any])

WRITERS = ("officer", "admin")
ADMIN = ("admin",)
READERS = ("auditor", "officer", "admin")
APPROVERS = ("approver",)


@dataclass(frozen=True)
class SessionUser:
    """The signed-in person as the session remembers them."""

    id: str
    login: str
    name: str
    roles: tuple[str, ...]

    def can(self, *roles: str) -> bool:
        return not roles or any(r in self.roles for r in roles)

    @property
    def actor(self) -> Actor:
        return Actor(self.name, self.roles, self.id)


@dataclass(frozen=True)
class RequestActor:
    """Who makes this request, as the web app's request log and refusal trail read `g.actor`
    (`name`, `display_name`, `role`: the shape of `usecases.tokens.TokenInfo`)."""

    name: str
    display_name: str
    role: str


def load_user() -> None:
    """Before a console view: the session's user (if any) in `g.console_user` and `g.actor`.

    The user is read again on every request (one indexed row): a disabled user's session ends
    at their next click, and a change of roles or name counts at once.
    """
    raw = session.get("user")
    user = None
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        try:
            found = users.get_user(books(), raw["id"])
        except NotFound:
            found = None
        if found is None or not found.active:
            session.end()  # type: ignore[attr-defined]
        else:
            user = SessionUser(found.id, found.login, found.display_name, found.roles)
            g.actor = RequestActor(found.login, found.display_name, ",".join(found.roles))
    g.console_user = user


def current_user() -> SessionUser | None:
    user: SessionUser | None = g.get("console_user")
    return user


def current_actor() -> Actor:
    user = current_user()
    if user is None:
        abort(401)
    return user.actor


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default` (no open redirect)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


def login_required(*roles: str) -> Callable[[F], F]:
    """The page needs a signed-in person with one of `roles` (any role if none)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            if not user.can(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def padded(started: float, floor: float) -> None:
    """Sleep until `floor` seconds have passed since `started` (equal timing for all failures)."""
    rest = floor - (time.perf_counter() - started)
    if rest > 0:
        time.sleep(rest)
