"""The books: what every entrance (the API, the CLI, the console) shares, without any web code.

Invariants owned here:
- One `Books` per process and database: its engine (a connection pool), its home folder, the
  writer gate, group commit, the pseudonym secret and the receipt desk. Building it opens no
  connection and reads no file; the secret is read (or created) on first use.
- Writers queue before the books' lock (`WriterGate`): within a process on a mutex, across
  SQLite processes on `flock` of a file beside the database.
- The pseudonym key file is created atomically, mode 0600, so racing workers share one key.
- A shared write transaction reads, as it locks the books, the audit trail's head and this
  year's receipt counter (`group_preload`): one round trip with the lock on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ledger.entries import PostedEntry
from ledger.keyfile import secret_key_file
from ledger.storage.group_commit import GroupCommit
from ledger.storage.unit_of_work import UnitOfWork
from ledger.trail import HEAD_QUERY
from receipts.issuing import counter_preload
from receipts.views import Issuer
from usecases.receipt_desk import DEFAULT_ISSUER, ReceiptDesk

__all__ = [
    "AUDIT_HEAD",
    "Books",
    "ReceiptIssuer",
    "WriterGate",
    "group_preload",
    "load_pseudonym_secret",
    "open_books",
    "setting",
    "writer_gate_for",
]

#: The name under which a shared transaction preloads the audit trail's head.
AUDIT_HEAD = "audit-head"

#: An override of the receipt a gift gets (tests plug one in): `(uow, entry) -> receipt | None`,
#: where the receipt is a `usecases.receipts.ReceiptLink` or an already presented mapping.
ReceiptIssuer = Callable[[UnitOfWork, PostedEntry], Any]


class WriterGate:
    """Queues writers before they take the books' lock, so that waiting costs nothing.

    The ledger serialises writers anyway (a row lock on PostgreSQL, `BEGIN IMMEDIATE` on
    SQLite). Within a process, threads queue on a mutex instead of each holding a pooled
    connection while they wait. On SQLite, processes also queue on `flock` of a file beside the
    database: a SQLite writer that finds the database locked sleeps in a back-off loop (up to
    100 ms a turn), which turns contention into long tails; a kernel lock wakes the next writer
    the moment the last one commits.
    """

    def __init__(self, lock_path: Path | None, *, enabled: bool = True) -> None:
        self.lock_path = lock_path
        self.enabled = enabled
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        with self._mutex:
            if self.lock_path is None:
                yield
                return
            fd = self._descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def acquire(self) -> None:
        """Take only the cross-process lock (group commit serialises the threads itself)."""
        if self.enabled and self.lock_path is not None:
            fcntl.flock(self._descriptor(), fcntl.LOCK_EX)

    def release(self) -> None:
        if self.enabled and self.lock_path is not None:
            fcntl.flock(self._descriptor(), fcntl.LOCK_UN)

    def _descriptor(self) -> int:
        # One open file per process: a descriptor inherited across fork would share the lock.
        if self._fd is None or self._pid != os.getpid():
            assert self.lock_path is not None
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd


def writer_gate_for(engine: Engine, enabled: bool = True) -> WriterGate:
    """The gate of `engine`'s books: a lock file beside a SQLite database, else a mutex."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return WriterGate(Path(f"{url.database}.writer.lock"), enabled=enabled)
    return WriterGate(None, enabled=enabled)


def load_pseudonym_secret(home: Path) -> bytes:
    """Read `home/pseudonym.key` (32 raw bytes), creating it with mode 0600 if it is missing.

    Creation is atomic (write a private temporary file, then hard-link it into place), so
    worker processes that race all end up with the same key.

    Raises:
        RuntimeError: when the file holds fewer than 16 bytes.
    """
    return secret_key_file(home / "pseudonym.key", minimum=16, folder_mode=0o777)


def group_preload() -> dict[str, tuple[str, tuple[Any, ...]]]:
    """What a shared write transaction reads as it locks the books: the audit trail's head
    and this year's receipt counter (one round trip with the lock on PostgreSQL)."""
    return {AUDIT_HEAD: (HEAD_QUERY, ()), **counter_preload(dt.datetime.now(dt.UTC).year)}


@dataclass
class Books:
    """What the application shares across operations in one process."""

    engine: Engine
    home: Path
    writer_gate: WriterGate = field(default_factory=lambda: WriterGate(None))
    group_commit: GroupCommit | None = None
    secret_setting: bytes | str | None = None
    desk: ReceiptDesk | None = None
    #: When set, gifts get this receipt instead of one issued by `usecases.receipts`.
    receipt_issuer: ReceiptIssuer | None = None
    _secret: bytes | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.desk is None:
            self.desk = ReceiptDesk(self.engine, self.home, DEFAULT_ISSUER, None)

    @property
    def receipts(self) -> ReceiptDesk:
        """The receipt desk (issuer, links, signing key, PDF cache)."""
        assert self.desk is not None  # set in __post_init__
        return self.desk

    def pseudonym_secret(self) -> bytes:
        """The key of beneficiary pseudonyms (and of reference-data idempotency fingerprints)."""
        if self._secret is None:
            with self._lock:
                if self._secret is None:
                    setting = self.secret_setting
                    if isinstance(setting, str):
                        setting = setting.encode()
                    self._secret = setting or load_pseudonym_secret(self.home)
        return self._secret


def setting(config: Mapping[str, Any], name: str) -> str | None:
    """A receipt setting: `config[name]`, else the environment's `HUIQUAN_<NAME>`, else None."""
    value = config.get(name) or os.environ.get(f"HUIQUAN_{name}")
    return str(value) if value else None


def open_books(
    engine: Engine,
    home: Path,
    *,
    writer_gate: bool = True,
    group_commit_max: int = 32,
    pseudonym_secret: bytes | str | None = None,
    receipt_settings: Mapping[str, Any] | None = None,
    receipt_issuer: ReceiptIssuer | None = None,
) -> Books:
    """The books of `engine`, with group commit when the gate is on and batches exceed one.

    `receipt_settings` (else the environment's `HUIQUAN_<NAME>`): `PUBLIC_BASE_URL` (base of
    links and QR codes), `RECEIPT_ISSUER_NAME`, `RECEIPT_ISSUER_REGISTRATION_NO`.
    """
    settings = receipt_settings or {}
    gate = writer_gate_for(engine, writer_gate)
    issuer = Issuer(
        setting(settings, "RECEIPT_ISSUER_NAME") or DEFAULT_ISSUER.name,
        setting(settings, "RECEIPT_ISSUER_REGISTRATION_NO") or DEFAULT_ISSUER.registration_no,
    )
    desk = ReceiptDesk(engine, home, issuer, setting(settings, "PUBLIC_BASE_URL"))
    shared = None
    if gate.enabled and group_commit_max > 1:
        shared = GroupCommit(
            engine,
            gate,
            max_batch=group_commit_max,
            preload=group_preload,
            # Where a lookup is a round trip, read the chart of accounts with the lock.
            preload_accounts=engine.dialect.name == "postgresql",
        )
    return Books(
        engine=engine,
        home=home,
        writer_gate=gate,
        group_commit=shared,
        secret_setting=pseudonym_secret,
        desk=desk,
        receipt_issuer=receipt_issuer,
    )
