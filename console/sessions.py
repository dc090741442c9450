"""Server-side console sessions: the cookie carries a random id, the record lives on the server.

Invariants owned here:
- The cookie holds only a random 256-bit id; the record (user, CSRF token, language, times) is
  kept server-side under the SHA-256 of that id, so neither the store nor a backup of it holds a
  usable cookie, and ending a session deletes its record: a copied cookie is dead after logout.
- A session ends after `CONSOLE_IDLE_SECONDS` without a request and `CONSOLE_MAX_SECONDS` after
  it began, whatever happens in between. An expired or unknown id opens a fresh, empty session.
- Logging in gets a new id (`renew`): an id handed out before login never carries a user.
- Nothing is stored, and no cookie is set, for a visitor whose session stays empty.
- The cookie is HttpOnly, SameSite=Lax, and Secure when the request came over https (or when
  `SESSION_COOKIE_SECURE` says so).

`FileSessionStore` keeps one small JSON file per session in a folder (0700) of the books' home:
shared by the worker processes of one host; expired files are swept when a session begins (at
most every ten minutes per process). A store is anything with `load`, `save`, `delete`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

__all__ = ["ConsoleSession", "FileSessionStore", "ServerSessionInterface", "SessionStore"]

_SID = re.compile(r"^[A-Za-z0-9_-]{43}$")
#: Seconds between two writes of a session that only its clock changed.
TOUCH_EVERY = 60
#: Seconds between two sweeps of expired records.
PRUNE_EVERY = 600


class SessionStore(Protocol):
    def load(self, key: str) -> dict[str, Any] | None: ...
    def save(self, key: str, record: Mapping[str, Any]) -> None: ...
    def delete(self, key: str) -> None: ...


class FileSessionStore:
    """One JSON file per session, named by the hash of its id, written atomically (0600)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def load(self, key: str) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = json.loads(self._path(key).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return record

    def save(self, key: str, record: Mapping[str, Any]) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = self.folder / f".{key}.{uuid.uuid4().hex}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out, ensure_ascii=False)
        os.replace(temporary, self._path(key))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def prune(self, now: float | None = None) -> int:
        """Delete the records that have expired; how many."""
        now = time.time() if now is None else now
        gone = 0
        for path in self.folder.glob("*.json"):
            record = self.load(path.stem)
            if record is None or float(record.get("expires", 0)) <= now:
                path.unlink(missing_ok=True)
                gone += 1
        return gone


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class ConsoleSession(CallbackDict[str, Any], SessionMixin):
    """A session whose record is kept server-side (see the module docstring)."""

    def __init__(
        self,
        initial: Mapping[str, Any] | None = None,
        *,
        sid: str | None = None,
        created: float | None = None,
        seen: float | None = None,
    ) -> None:
        def changed(_: Any) -> None:
            self.modified = True

        super().__init__(initial or {}, changed)
        self.sid = sid
        self.created = time.time() if created is None else created
        self.seen = seen or 0.0
        self.modified = False
        self.ended: str | None = None  # the id whose record must go

    def renew(self) -> None:
        """A new id for this session (at login): the old record is deleted."""
        if self.sid is not None:
            self.ended = self.sid
        self.sid = None
        self.created = time.time()
        self.modified = True

    def end(self) -> None:
        """End the session: its record is deleted and the cookie cleared."""
        if self.sid is not None:
            self.ended = self.sid
        self.sid = None
        self.clear()
        self.modified = True


class ServerSessionInterface(SessionInterface):
    """Flask's session, kept server-side in a `SessionStore`."""

    def __init__(self, store: SessionStore) -> None:
        self.store = store
        self._pruned = 0.0

    def _prune_now_and_then(self, now: float) -> None:
        """Delete expired records, at most every `PRUNE_EVERY` seconds, when a session begins."""
        prune = getattr(self.store, "prune", None)
        if prune is not None and now - self._pruned > PRUNE_EVERY:
            self._pruned = now
            prune(now)

    def _limits(self, app: Flask) -> tuple[float, float]:
        return float(app.config["CONSOLE_IDLE_SECONDS"]), float(app.config["CONSOLE_MAX_SECONDS"])

    def open_session(self, app: Flask, request: Request) -> ConsoleSession:
        sid = request.cookies.get(self.get_cookie_name(app), "")
        if not _SID.match(sid):
            return ConsoleSession()
        record = self.store.load(_key(sid))
        now = time.time()
        idle, most = self._limits(app)
        if record is None:
            return ConsoleSession()
        created, seen = float(record.get("created", 0)), float(record.get("seen", 0))
        if now - seen > idle or now - created > most:
            self.store.delete(_key(sid))
            return ConsoleSession()
        return ConsoleSession(record.get("data") or {}, sid=sid, created=created, seen=seen)

    def is_secure(self, app: Flask, request: Request) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, ConsoleSession)
        from flask import request

        name, path = self.get_cookie_name(app), self.get_cookie_path(app)
        if session.ended is not None:
            self.store.delete(_key(session.ended))
        if not session:
            if session.ended is not None or session.sid is not None:
                if session.sid is not None:
                    self.store.delete(_key(session.sid))
                response.delete_cookie(name, path=path, httponly=True, samesite="Lax")
            return
        now = time.time()
        if not session.modified and session.sid is not None and now - session.seen < TOUCH_EVERY:
            return
        if session.sid is None:
            session.sid = secrets.token_urlsafe(32)
            self._prune_now_and_then(now)
        idle, most = self._limits(app)
        record = {
            "data": dict(session),
            "created": session.created,
            "seen": now,
            "expires": min(now + idle, session.created + most),
        }
        self.store.save(_key(session.sid), record)
        response.vary.add("Cookie")
        response.set_cookie(
            name,
            session.sid,
            httponly=True,
            samesite="Lax",
            secure=self.is_secure(app, request),
            path=path,
        )
