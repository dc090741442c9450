"""Users: the people who act on the books, their roles, and their console passwords.

Invariants owned here:
- A user is never deleted (entries, receipts and audit events name them); they are disabled.
  A disabled user cannot log in, and none of their API tokens is accepted (`usecases.tokens`).
- `display_name` (张三) is what signs: the maker and checkers of entries, receipts, audit events.
- Roles are some of `ROLES`, stored sorted; every user has at least one.
- Passwords are stored only as argon2id hashes (argon2-cffi's defaults, RFC 9106's second
  recommended profile); a password is at least `MIN_PASSWORD` characters. `authenticate` spends
  the same work on an unknown login (a dummy hash), so the answer's timing tells little.
- Every change is one audited write (`usecases.unit.write`): the change and its audit event
  commit together.
- Roles change in place (like status and password: the users table is who may act now, read by
  every login and token check); the appended, signed audit trail keeps the history: each
  change's event names the old and the new roles. Tokens whose role the user no longer holds
  are revoked in the same write (a token's role is always one of its user's roles).
"""

from __future__ import annotations

import functools
import re
import uuid
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.sql.elements import ColumnElement

from ledger.errors import AlreadyExists, InvalidEntry, NotFound
from ledger.idempotency import remember, remembered
from ledger.storage.tables import api_tokens, users
from ledger.storage.unit_of_work import UnitOfWork
from usecases.books import Books
from usecases.unit import Actor, AuditFacts, read, write

__all__ = [
    "ACTIVE",
    "DISABLED",
    "MIN_PASSWORD",
    "ROLES",
    "User",
    "authenticate",
    "create_user",
    "create_user_in",
    "disable_user",
    "get_user",
    "list_users",
    "set_password",
    "set_roles",
    "user_by_login",
]

ROLES = ("admin", "approver", "auditor", "moderator", "officer")
ACTIVE, DISABLED = "active", "disabled"
MIN_PASSWORD = 10
_LOGIN = re.compile(r"^\S(?:[^\x00-\x1f\x7f]{0,98}\S)?$")


@dataclass(frozen=True, slots=True)
class User:
    id: str
    login: str
    display_name: str
    roles: tuple[str, ...]
    status: str

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def actor(self) -> Actor:
        """This user as the use cases know who acts."""
        return Actor(self.display_name, self.roles, self.id)


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id


@functools.cache
def _dummy_hash() -> str:
    return _hasher().hash("not a password of anyone: " + uuid.uuid4().hex)


def _user(row: Row[Any]) -> User:
    return User(
        row.id, row.login, row.display_name, tuple(r for r in row.roles.split(",") if r), row.status
    )


def _roles(roles: tuple[str, ...] | list[str]) -> str:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise InvalidEntry(f"roles must be some of {', '.join(ROLES)}", field="roles")
    return ",".join(sorted(set(roles)))


def _password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidEntry(f"a password needs at least {MIN_PASSWORD} characters", field="password")
    return _hasher().hash(password)


def _audit(
    by: Actor, action: str, target: str, audit: AuditFacts | bool | None
) -> AuditFacts | None:
    """The change's audit event: the caller's facts, else one naming `by` (`False`: none, the
    entrance records its own, as the CLI does)."""
    if isinstance(audit, AuditFacts):
        return audit
    if audit is False:
        return None
    return AuditFacts(actor=by.name, role=by.role, action=action, target=target)


def create_user_in(
    conn: Connection,
    *,
    login: str,
    display_name: str,
    roles: tuple[str, ...] | list[str],
    password: str | None = None,
    now: str,
) -> User:
    """`create_user` inside the caller's transaction. Raises: InvalidEntry, AlreadyExists."""
    login = login.strip()
    if not _LOGIN.match(login):
        raise InvalidEntry(
            "a login is 1-100 characters, no control characters or outer spaces", field="login"
        )
    if not display_name.strip() or len(display_name.strip()) > 200:
        raise InvalidEntry("a display name is 1-200 characters", field="display_name")
    stored_roles = _roles(roles)
    hashed = None if password is None else _password_hash(password)
    if conn.execute(select(users.c.id).where(users.c.login == login)).first():
        raise AlreadyExists(f"a user with login {login!r} exists", field="login")
    user_id = str(uuid.uuid4())
    conn.execute(
        insert(users).values(
            id=user_id,
            login=login,
            display_name=display_name.strip(),
            roles=stored_roles,
            status=ACTIVE,
            password_hash=hashed,
            created_at=now,
        )
    )
    return User(user_id, login, display_name.strip(), tuple(stored_roles.split(",")), ACTIVE)


def create_user(
    books: Books,
    *,
    login: str,
    display_name: str,
    roles: tuple[str, ...] | list[str],
    password: str | None = None,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | bool | None = None,
) -> User:
    """Create an active user (with a console password, if given).

    With an idempotency `key`, a replay (same body) answers the user created the first time.

    Raises:
        InvalidEntry: a bad login, display name, role or too short a password.
        AlreadyExists: the login is taken. IdempotencyConflict: the key with another body.
    """
    # The password is fingerprinted through its presence only: no hash of it is kept there.
    body = {"login": login, "display_name": display_name, "roles": sorted(roles)}
    body["password"] = password is not None
    secret = books.pseudonym_secret()

    def work(uow: UnitOfWork) -> User:
        earlier = remembered(uow, key, "users", body, secret)
        if earlier is not None:
            row = uow.connection.execute(select(users).where(users.c.id == earlier)).one()
            return _user(row)
        made = create_user_in(
            uow.connection,
            login=login,
            display_name=display_name,
            roles=roles,
            password=password,
            now=uow.now(),
        )
        remember(uow, key, "users", body, made.id, secret)
        return made

    return write(books, work, key=key, audit=_audit(by, "user.create", login, audit))


def list_users(books: Books) -> list[User]:
    """Every user, by login."""
    return read(
        books,
        lambda repo: [_user(r) for r in repo.conn.execute(select(users).order_by(users.c.login))],
    )


def _row(books: Books, where: ColumnElement[bool]) -> Row[Any] | None:
    return read(books, lambda repo: repo.conn.execute(select(users).where(where)).first())


def get_user(books: Books, user_id: str) -> User:
    """One user by id. Raises: NotFound."""
    row = _row(books, users.c.id == user_id)
    if row is None:
        raise NotFound(f"no user {user_id!r}", field="user_id")
    return _user(row)


def user_by_login(books: Books, login: str) -> User:
    """One user by login. Raises: NotFound."""
    row = _row(books, users.c.login == login)
    if row is None:
        raise NotFound(f"no user with login {login!r}", field="login")
    return _user(row)


def _change(uow: UnitOfWork, user_id: str, **values: object) -> User:
    done = uow.connection.execute(update(users).where(users.c.id == user_id).values(**values))
    if done.rowcount == 0:
        raise NotFound(f"no user {user_id!r}", field="user_id")
    row = uow.connection.execute(select(users).where(users.c.id == user_id)).one()
    return _user(row)


def disable_user(
    books: Books, user_id: str, *, by: Actor, audit: AuditFacts | bool | None = None
) -> User:
    """Disable a user: no login, no token of theirs accepted. Idempotent. Raises: NotFound."""
    if by.user_id is not None and by.user_id == user_id:
        raise InvalidEntry("an administrator cannot disable themselves", field="user_id")
    return write(
        books,
        lambda uow: _change(uow, user_id, status=DISABLED),
        audit=_audit(by, "user.disable", user_id, audit),
    )


def set_password(
    books: Books, user_id: str, password: str, *, by: Actor, audit: AuditFacts | bool | None = None
) -> User:
    """Set a user's console password. Raises: NotFound, InvalidEntry (too short)."""
    hashed = _password_hash(password)
    return write(
        books,
        lambda uow: _change(uow, user_id, password_hash=hashed),
        audit=_audit(by, "user.set_password", user_id, audit),
    )


def set_roles(
    books: Books,
    user_id: str,
    roles: tuple[str, ...] | list[str],
    *,
    by: Actor,
    audit: AuditFacts | bool | None = None,
) -> User:
    """Give a user exactly `roles` (admins only, at the entrance). Idempotent: the same roles
    again change nothing and record nothing.

    The audit event's detail names the old and the new roles, and how many of the user's
    tokens were revoked for holding a role the user no longer has.

    Raises:
        NotFound: no such user. InvalidEntry: no role, an unknown role, or an administrator
        taking the admin role from themselves.
    """
    stored = _roles(roles)
    new = tuple(stored.split(","))
    current = get_user(books, user_id)
    if current.roles == new:
        return current
    if by.user_id is not None and by.user_id == user_id and "admin" not in new:
        raise InvalidEntry(
            "an administrator cannot take the admin role from themselves", field="roles"
        )
    facts = _audit(by, "user.set_roles", user_id, audit)

    def work(uow: UnitOfWork) -> User:
        row = uow.connection.execute(select(users).where(users.c.id == user_id)).first()
        if row is None:
            raise NotFound(f"no user {user_id!r}", field="user_id")
        old = _user(row).roles
        changed = _change(uow, user_id, roles=stored)
        revoked = uow.connection.execute(
            update(api_tokens)
            .where(
                api_tokens.c.user_id == user_id,
                api_tokens.c.revoked_at.is_(None),
                api_tokens.c.role.not_in(new),
            )
            .values(revoked_at=uow.now())
        ).rowcount
        if facts is not None:
            facts.detail = {
                "old_roles": list(old),
                "new_roles": list(new),
                "tokens_revoked": revoked,
            }
        return changed

    return write(books, work, audit=facts)


def authenticate(books: Books, login: str, password: str) -> User | None:
    """The active user with this login and password, or None.

    An unknown login, a user without a password and a disabled user cost one verification all
    the same (against a dummy hash), so timing does not tell which logins exist.
    """
    row = _row(books, users.c.login == login)
    stored = row.password_hash if row is not None and row.password_hash else None
    try:
        _hasher().verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or stored is None or row.status != ACTIVE:
        return None
    return _user(row)
