"""The console's shared state and its accessors; imports nothing from `console`, so all may.

`app.extensions["console"]` holds one `ConsoleState`: the books (the same `usecases.books.Books`
the API uses, handed in by whoever composes the app), the session store and the login throttle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app

from usecases.books import Books

__all__ = ["ConsoleState", "books", "state"]


@dataclass
class ConsoleState:
    books: Books
    sessions: Any  # console.sessions.SessionStore
    throttle: Any  # console.throttle.LoginThrottle


def state() -> ConsoleState:
    found: ConsoleState = current_app.extensions["console"]
    return found


def books() -> Books:
    """The books the console records in."""
    return state().books
