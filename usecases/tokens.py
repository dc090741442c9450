"""API tokens: created once, shown once, stored only as a SHA-256 hash; listed, revoked, expiring.

Invariants owned here:
- A token is 256 random bits (`secrets`) behind the `hq_` prefix; only its SHA-256 is stored.
- Every token expires: `expires_in_days` from its creation (default 90, at most 3650). Tokens
  made before expiry existed were given 90 days by migration 0004.
- `check_token` reads the token's row on every call (nothing is cached): a revoked or expired
  token is refused by every process from the moment the row says so. It is one indexed query
  in plain SQL (`ledger.storage.fastsql`): about 26 µs of CPU on SQLite and 110 µs on
  PostgreSQL, against 120 and 360 µs built with SQLAlchemy Core.

Roles: `admin` (everything, plus funds, projects, accounts, tokens, periods), `officer` (records
operations), `auditor` (reads and exports, never writes).

`issue_token` and `withdraw_token` are the audited use cases (an entrance's admin acting on
the books); `create_token` and `revoke_token` are the bare operations the CLI has always used.
A token created with an idempotency key is remembered with that key: a replay answers the same
token record without its secret (only a hash of it is kept), and two concurrent first uses of
one key create one token (the other is `AlreadyExists`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from ledger.errors import AlreadyExists, InvalidEntry, NotFound
from ledger.idempotency import remember, remembered
from ledger.storage.fastsql import Raw
from ledger.storage.tables import api_tokens
from usecases.books import Books
from usecases.unit import AuditFacts, write

__all__ = [
    "DEFAULT_LIFETIME_DAYS",
    "MAX_LIFETIME_DAYS",
    "ROLES",
    "TokenCheck",
    "TokenInfo",
    "authenticate",
    "check_token",
    "create_token",
    "create_token_in",
    "issue_token",
    "list_tokens",
    "revoke_token",
    "revoke_token_in",
    "withdraw_token",
]

ROLES = ("admin", "officer", "auditor")
PREFIX = "hq_"
DEFAULT_LIFETIME_DAYS = 90
MAX_LIFETIME_DAYS = 3650


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    name: str
    role: str
    created_at: str
    revoked_at: str | None
    expires_at: str | None = None

    def expired(self, now: dt.datetime) -> bool:
        """Whether the token's lifetime is over at `now` (an aware UTC datetime)."""
        return self.expires_at is not None and dt.datetime.fromisoformat(self.expires_at) <= now


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What a presented token is: `info` when it may be used, else why not (`refusal`)."""

    info: TokenInfo | None
    refusal: str | None = None  # "unknown" (or malformed), "revoked", "expired"
    expired_at: str | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: Any) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.role, row.created_at, row.revoked_at, row.expires_at)


def create_token(
    engine: Engine, *, role: str, name: str, expires_in_days: int = DEFAULT_LIFETIME_DAYS
) -> str:
    """Create a token that works for `expires_in_days` days and return it; only its hash is kept.

    Raises:
        InvalidEntry: unknown role, empty name, or a lifetime outside 1..3650 days.
        AlreadyExists: the name is taken.
    """
    with engine.begin() as conn:
        return create_token_in(conn, role=role, name=name, expires_in_days=expires_in_days)


def create_token_in(
    conn: Connection, *, role: str, name: str, expires_in_days: int = DEFAULT_LIFETIME_DAYS
) -> str:
    """`create_token` inside the caller's transaction (so its audit event commits with it)."""
    if role not in ROLES:
        raise InvalidEntry(f"role must be one of {', '.join(ROLES)}", field="role")
    if not name.strip():
        raise InvalidEntry("a token needs a name", field="name")
    if type(expires_in_days) is not int or not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise InvalidEntry(f"a token lives 1 to {MAX_LIFETIME_DAYS} days", field="expires_in_days")
    token = PREFIX + secrets.token_urlsafe(32)
    if conn.execute(select(api_tokens.c.id).where(api_tokens.c.name == name.strip())).first():
        raise AlreadyExists(f"a token named {name!r} exists", field="name")
    now = dt.datetime.now(dt.UTC)
    conn.execute(
        insert(api_tokens).values(
            id=str(uuid.uuid4()),
            name=name.strip(),
            role=role,
            token_hash=_hash(token),
            created_at=now.isoformat(),
            expires_at=(now + dt.timedelta(days=expires_in_days)).isoformat(),
        )
    )
    return token


def list_tokens(engine: Engine) -> list[TokenInfo]:
    """Every token ever created (without secrets), oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(api_tokens).order_by(api_tokens.c.created_at))
        return [_info(r) for r in rows]


def revoke_token(engine: Engine, name: str) -> None:
    """Revoke a token by name. Raises: NotFound."""
    with engine.begin() as conn:
        revoke_token_in(conn, name)


def revoke_token_in(conn: Connection, name: str) -> None:
    """`revoke_token` inside the caller's transaction. Raises: NotFound."""
    done = conn.execute(
        update(api_tokens)
        .where(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=dt.datetime.now(dt.UTC).isoformat())
    )
    if done.rowcount == 0:
        raise NotFound(f"no active token named {name!r}", field="name")


_UNKNOWN = TokenCheck(None, "unknown")
_BY_HASH = (
    "SELECT id, name, role, created_at, revoked_at, expires_at FROM api_tokens WHERE token_hash = ?"
)


def check_token(engine: Engine, token: str, *, now: dt.datetime | None = None) -> TokenCheck:
    """Whether `token` may be used now: read from its row, every time (one indexed query)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return _UNKNOWN
    with engine.connect() as conn:  # plain SQL on the driver: a quarter of Core's cost
        row = Raw(conn).one(_BY_HASH, (_hash(token),))
    if row is None:
        return _UNKNOWN
    info = TokenInfo(*row)
    if info.revoked_at is not None:
        return TokenCheck(None, "revoked")
    if info.expired(now or dt.datetime.now(dt.UTC)):
        return TokenCheck(None, "expired", info.expires_at)
    return TokenCheck(info)


def authenticate(engine: Engine, token: str) -> TokenInfo | None:
    """The active token's info, or None (unknown, malformed, revoked or expired)."""
    return check_token(engine, token).info


def _by(engine: Engine, field: str, value: str) -> TokenInfo:
    return next(t for t in list_tokens(engine) if getattr(t, field) == value)


def issue_token(
    books: Books,
    *,
    role: str,
    name: str,
    expires_in_days: int = DEFAULT_LIFETIME_DAYS,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> tuple[TokenInfo, str | None]:
    """Create a token, audited; its record and its secret (None for a replay of `key`).

    Raises:
        InvalidEntry: unknown role, empty name or a lifetime outside 1..3650 days.
        AlreadyExists: the name is taken.
        IdempotencyConflict: the key was used with a different request.
    """
    body: dict[str, object] = {"name": name, "role": role}
    if expires_in_days != DEFAULT_LIFETIME_DAYS:  # the default leaves older fingerprints alone
        body["expires_in_days"] = expires_in_days
    secret = books.pseudonym_secret()
    if key is not None:
        # Every step carries the audit facts: the event goes with the first that commits.
        earlier = write(
            books, lambda uow: remembered(uow, key, "tokens", body, secret), audit=audit
        )
        if earlier is not None:
            return _by(books.engine, "id", earlier), None
    token = write(
        books,
        lambda uow: create_token_in(
            uow.connection, role=role, name=name, expires_in_days=expires_in_days
        ),
        audit=audit,
    )
    info = _by(books.engine, "name", name.strip())
    if key is not None:
        write(books, lambda uow: remember(uow, key, "tokens", body, info.id, secret), audit=audit)
    return info, token


def withdraw_token(books: Books, name: str, *, audit: AuditFacts | None = None) -> None:
    """Revoke a token by name, audited. Raises: NotFound."""
    write(books, lambda uow: revoke_token_in(uow.connection, name), audit=audit)
