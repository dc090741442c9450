"""The API's shared state and its accessor; imports nothing from `api`, so every module may.

`app.extensions["huiquan"]` holds one `Huiquan`: the books (`usecases.books.Books`: engine,
writer gate, group commit, secrets, the receipt desk) and what only HTTP needs (the token
cache, the failed-authentication limiter, the OpenAPI document).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import current_app
from flask_smorest import Api
from sqlalchemy import Engine

from ledger.storage.group_commit import GroupCommit
from usecases.books import Books, WriterGate
from usecases.receipt_desk import ReceiptDesk

__all__ = ["Huiquan", "books", "huiquan"]


@dataclass
class Huiquan:
    """What the API shares across requests; `app.extensions["huiquan"]`."""

    books: Books
    tokens: Any  # api.auth.TokenLookup
    limiter: Any  # api.auth.FailedAuthLimit
    api: Api
    version: str
    _spec: dict[str, Any] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def engine(self) -> Engine:
        return self.books.engine

    @property
    def home(self) -> Path:
        return self.books.home

    @property
    def writer_gate(self) -> WriterGate:
        return self.books.writer_gate

    @property
    def group_commit(self) -> GroupCommit | None:
        return self.books.group_commit

    @property
    def receipts(self) -> ReceiptDesk:
        return self.books.receipts

    def pseudonym_secret(self) -> bytes:
        """The key of beneficiary pseudonyms (and of reference-data idempotency fingerprints)."""
        return self.books.pseudonym_secret()

    def spec_dict(self) -> dict[str, Any]:
        """The OpenAPI document as a dict (built once)."""
        if self._spec is None:
            self._spec = self.api.spec.to_dict()
        return self._spec


def huiquan() -> Huiquan:
    """The application's state (books, token cache, limiter, spec)."""
    state: Huiquan = current_app.extensions["huiquan"]
    return state


def books() -> Books:
    """The application's books."""
    return huiquan().books
