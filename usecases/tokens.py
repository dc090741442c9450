"""API tokens: created once, shown once, stored only as a SHA-256 hash; listed, revoked, expiring.

Invariants owned here:
- A token is 256 random bits (`secrets`) behind the `hq_` prefix; only its SHA-256 is stored.
- Every token expires: `expires_in_days` from its creation (default 90, at most 3650). Tokens
  made before expiry existed were given 90 days by migration 0004.
- `check_token` reads the token's row on every call (nothing is cached): a revoked or expired
  token is refused by every process from the moment the row says so. It is one indexed query
  in plain SQL (`ledger.storage.fastsql`): about 26 µs of CPU on SQLite and 110 µs on
  PostgreSQL, against 120 and 360 µs built with SQLAlchemy Core.

Roles: `admin` (everything, plus funds, projects, accounts, tokens, users, periods), `officer`
(records operations), `approver` (reads, and approves or rejects others' requests), `auditor`
(reads and exports, never writes).

Every token belongs to a user (`usecases.users`) and acts as them: its entries, receipts and
audit events carry the user's display name, and a disabled user's tokens are refused. A token's
role must be one of its user's roles. A token created without naming a user belongs to the user
whose login is the token's name, created on the spot (with the token's role) if there is none:
that is how tokens made before users existed (revision 0005) and the CLI's tokens keep working.

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

from ledger import limits
from ledger.errors import AlreadyExists, InvalidEntry, NotFound
from ledger.idempotency import remember, remembered
from ledger.storage.fastsql import Raw
from ledger.storage.tables import api_tokens, users
from ledger.text import text_problem
from usecases.books import Books
from usecases.unit import AuditFacts, write
from usecases.users import ACTIVE, create_user_in

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

ROLES = ("admin", "officer", "auditor", "approver", "moderator")
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
    user_id: str | None = None
    #: The user's display name: who signs what this token does.
    display_name: str = ""

    def expired(self, now: dt.datetime) -> bool:
        """Whether the token's lifetime is over at `now` (an aware UTC datetime)."""
        return self.expires_at is not None and dt.datetime.fromisoformat(self.expires_at) <= now


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What a presented token is: `info` when it may be used, else why not (`refusal`)."""

    info: TokenInfo | None
    refusal: str | None = None  # "unknown" (or malformed), "revoked", "expired", "disabled"
    expired_at: str | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    engine: Engine,
    *,
    role: str,
    name: str,
    user: str | None = None,
    expires_in_days: int = DEFAULT_LIFETIME_DAYS,
) -> str:
    """Create a token for the user whose login is `user` (default: `name`), working for
    `expires_in_days` days, and return it; only its hash is kept.

    Raises:
        InvalidEntry: unknown role, empty or over-long name (or one with control characters),
            a lifetime outside 1..3650 days, a role the user does not hold, a disabled user.
        AlreadyExists: the name is taken. NotFound: no user with login `user`.
    """
    with engine.begin() as conn:
        return create_token_in(
            conn, role=role, name=name, user=user, expires_in_days=expires_in_days
        )


def _owner(conn: Connection, role: str, name: str, user: str | None, now: str) -> str:
    """The id of the user the new token belongs to (see the module docstring)."""
    row = conn.execute(select(users).where(users.c.login == (user or name))).first()
    if row is None and user is not None:
        raise NotFound(f"no user with login {user!r}", field="user")
    if row is None:
        return create_user_in(conn, login=name, display_name=name, roles=(role,), now=now).id
    if row.status != ACTIVE:
        raise InvalidEntry(f"user {row.login!r} is disabled", field="user")
    if role not in row.roles.split(","):
        raise InvalidEntry(f"user {row.login!r} does not hold the role {role}", field="role")
    return str(row.id)


def create_token_in(
    conn: Connection,
    *,
    role: str,
    name: str,
    user: str | None = None,
    expires_in_days: int = DEFAULT_LIFETIME_DAYS,
) -> str:
    """`create_token` inside the caller's transaction (so its audit event commits with it)."""
    if role not in ROLES:
        raise InvalidEntry(f"role must be one of {', '.join(ROLES)}", field="role")
    if not name.strip():
        raise InvalidEntry("a token needs a name", field="name")
    if len(name) > limits.TOKEN_NAME or text_problem(name) is not None:
        raise InvalidEntry(
            f"a token's name is one line of at most {limits.TOKEN_NAME} characters", field="name"
        )
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
            user_id=_owner(conn, role, name.strip(), user, now.isoformat()),
        )
    )
    return token


_WITH_USER = select(api_tokens, users.c.display_name, users.c.status).outerjoin(
    users, users.c.id == api_tokens.c.user_id
)


def _info(r: Any) -> TokenInfo:
    return TokenInfo(
        r.id,
        r.name,
        r.role,
        r.created_at,
        r.revoked_at,
        r.expires_at,
        r.user_id,
        r.display_name or r.name,
    )


def list_tokens(engine: Engine) -> list[TokenInfo]:
    """Every token ever created (without secrets), oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(_WITH_USER.order_by(api_tokens.c.created_at))
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
    "SELECT t.id, t.name, t.role, t.created_at, t.revoked_at, t.expires_at, t.user_id,"
    " u.display_name, u.status FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id"
    " WHERE t.token_hash = ?"
)


def check_token(engine: Engine, token: str, *, now: dt.datetime | None = None) -> TokenCheck:
    """Whether `token` may be used now: read from its row and its user's, every time (one
    indexed query)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return _UNKNOWN
    with engine.connect() as conn:  # plain SQL on the driver: a quarter of Core's cost
        row = Raw(conn).one(_BY_HASH, (_hash(token),))
    if row is None:
        return _UNKNOWN
    *fields, display_name, status = row
    info = TokenInfo(*fields, display_name=display_name or fields[1])
    if info.revoked_at is not None:
        return TokenCheck(None, "revoked")
    if info.user_id is not None and status != ACTIVE:
        return TokenCheck(None, "disabled")
    if info.expired(now or dt.datetime.now(dt.UTC)):
        return TokenCheck(None, "expired", info.expires_at)
    return TokenCheck(info)


def authenticate(engine: Engine, token: str) -> TokenInfo | None:
    """The active token's info, or None (unknown, malformed, revoked, expired, or its user
    disabled)."""
    return check_token(engine, token).info


def _by(engine: Engine, field: str, value: str) -> TokenInfo:
    return next(t for t in list_tokens(engine) if getattr(t, field) == value)


def issue_token(
    books: Books,
    *,
    role: str,
    name: str,
    user: str | None = None,
    expires_in_days: int = DEFAULT_LIFETIME_DAYS,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> tuple[TokenInfo, str | None]:
    """Create a token, audited; its record and its secret (None for a replay of `key`).

    Raises:
        InvalidEntry: unknown role, empty or over-long name (or one with control characters),
            a lifetime outside 1..3650 days, a role the user lacks, a disabled user.
        AlreadyExists: the name is taken. NotFound: no such user.
        IdempotencyConflict: the key was used with a different request.
    """
    body: dict[str, object] = {"name": name, "role": role, **({"user": user} if user else {})}
    if expires_in_days != DEFAULT_LIFETIME_DAYS:  # the default leaves older fingerprints alone
        body["expires_in_days"] = expires_in_days
    secret = books.pseudonym_secret()
    if key is not None:
        # The look-up carries no audit facts: a refused creation must leave no success event.
        earlier = write(books, lambda uow: remembered(uow, key, "tokens", body, secret))
        if earlier is not None:
            write(books, lambda uow: remembered(uow, key, "tokens", body, secret), audit=audit)
            return _by(books.engine, "id", earlier), None
    token = write(
        books,
        lambda uow: create_token_in(
            uow.connection, role=role, name=name, user=user, expires_in_days=expires_in_days
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
