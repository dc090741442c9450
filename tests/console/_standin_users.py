"""A stand-in for `usecases.users` until that branch is merged (in-memory, argon2id)."""

from __future__ import annotations

import sys
import types
import uuid
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("dummy password")


@dataclass(frozen=True)
class User:
    id: str
    login: str
    display_name: str
    roles: tuple[str, ...]
    status: str = "active"


_store: dict[int, dict[str, tuple[User, str]]] = {}


def create_user(
    books: Any, *, login: str, display_name: str, roles: Any, password: str | None = None, by: Any
) -> User:
    user = User(uuid.uuid4().hex, login, display_name, tuple(roles))
    _store.setdefault(id(books), {})[login] = (user, _hasher.hash(password or ""))
    return user


def authenticate(books: Any, login: str, password: str) -> User | None:
    found = _store.get(id(books), {}).get(login)
    try:
        _hasher.verify(found[1] if found else _DUMMY, password)
    except VerifyMismatchError:
        return None
    return found[0] if found else None


def install() -> None:
    module = types.ModuleType("usecases.users")
    module.User = User  # type: ignore[attr-defined]
    module.create_user = create_user  # type: ignore[attr-defined]
    module.authenticate = authenticate  # type: ignore[attr-defined]
    sys.modules["usecases.users"] = module
