"""Group commit: the writes of concurrent requests in one process share one transaction.

The books have one writer at a time (the chain-head lock), and a write transaction's fixed
costs (taking the lock, reading and moving the chain head, the commit's fsync) used to be paid
by every request. Here a request thread that wants to write joins the transaction that is open
in its process, or opens one; it runs its own operation in it, in its own thread and request
context, inside `UnitOfWork.attempt` (a savepoint plus a snapshot), so an operation that is
refused leaves no trace and the others go on. The last thread in the queue commits for all.
Every member returns only after that commit: nobody is told "201" for work that was not
committed, and if the commit fails every member gets the failure (a unique-key race is then
retried by each request on its own, see `api.resources.common.write`).

Invariants owned here:
- At most one transaction per process is open for writing; it is touched by one thread at a
  time (the queue's mutex), always inside the writer gate (a `flock` across processes on
  SQLite; PostgreSQL's row lock on the chain head does the same there).
- A transaction is committed as soon as no other thread is waiting to join it, or when it holds
  `max_batch` operations, so a write waits at most for the operations queued ahead of it.
- An operation that raises is rolled back to its savepoint before the next one runs, and its
  exception is raised in its own request only, after the group's commit.
- Whatever the transaction reads under the lock is read as few times as possible: the
  idempotency keys and the reference records (donors, funds) of the requests queued by then
  in one round trip (`UnitOfWork.prefetch`), and the `preload` queries (the app's: the audit
  trail's head, the receipt counter; on PostgreSQL the chart of accounts) with the lock itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine

from ledger.storage.unit_of_work import UnitOfWork

__all__ = ["GroupCommit"]

T = TypeVar("T")
#: Named queries for each shared transaction to read as it locks (`UnitOfWork(preload=...)`).
Preload = Callable[[], Mapping[str, tuple[str, Sequence[Any]]]]


class Gate(Protocol):
    def acquire(self) -> None: ...

    def release(self) -> None: ...


class _Group:
    """One shared transaction and the threads waiting for its commit."""

    def __init__(
        self, engine: Engine, gate: Gate, preload: Preload | None, preload_accounts: bool
    ) -> None:
        self.gate = gate
        gate.acquire()
        try:
            self.uow = UnitOfWork(
                engine, preload=preload() if preload else None, preload_accounts=preload_accounts
            ).__enter__()
        except BaseException:
            gate.release()
            raise
        self.size = 0
        self.done = threading.Event()
        self.error: BaseException | None = None

    def commit(self) -> None:
        try:
            if self.size:
                self.uow.commit()
        except BaseException as err:  # every member learns of it
            self.error = err
        finally:
            try:
                self.uow.__exit__(None, None, None)
            finally:
                self.gate.release()
                self.done.set()


def _after_prefetch(
    keys: set[str], refs: dict[str, set[str]], work: Callable[[UnitOfWork], T]
) -> Callable[[UnitOfWork], T]:
    def run(uow: UnitOfWork) -> T:
        uow.prefetch(sorted(keys), refs)
        return work(uow)

    return run


class GroupCommit:
    """Runs write operations of many request threads in shared, serialised transactions."""

    def __init__(
        self,
        engine: Engine,
        gate: Gate,
        *,
        max_batch: int = 32,
        preload: Preload | None = None,
        preload_accounts: bool = False,
    ) -> None:
        self.engine = engine
        self.gate = gate
        self.max_batch = max_batch
        self.preload = preload
        self.preload_accounts = preload_accounts
        self._mutex = threading.Lock()
        self._count = threading.Lock()
        self._waiting = 0
        self._keys: set[str] = set()
        self._refs: dict[str, set[str]] = {}
        self._group: _Group | None = None

    def run(
        self,
        work: Callable[[UnitOfWork], T],
        *,
        key: str | None = None,
        refs: Mapping[str, Sequence[str]] | None = None,
    ) -> T:
        """Run `work(uow)` in the process's open transaction and return once it is committed.

        `key`, the request's idempotency key if it has one, and `refs`, the reference records
        `work` will look up (kind -> ids, see `UnitOfWork.prefetch`), are read together with
        those of the other requests queued by then: one round trip for many.

        Raises:
            whatever `work` raised (nothing of it was kept), or the commit's failure.
        """
        with self._count:
            self._waiting += 1
            if key is not None:
                self._keys.add(key)
            for kind, ids in (refs or {}).items():
                self._refs.setdefault(kind, set()).update(ids)
        with self._mutex:
            with self._count:
                self._waiting -= 1
                keys, self._keys = self._keys, set()
                wanted, self._refs = self._refs, {}
            group = self._group
            if group is None:
                group = self._group = _Group(
                    self.engine, self.gate, self.preload, self.preload_accounts
                )
            outcome: Any = None
            failed = False
            if keys or wanted:
                work = _after_prefetch(keys, wanted, work)
            try:
                outcome = group.uow.attempt(work)
                group.size += 1
            except BaseException as err:
                outcome, failed = err, True
            with self._count:
                last = self._waiting == 0
            if last or group.size >= self.max_batch:
                self._group = None
                group.commit()
        group.done.wait()
        if failed:
            raise outcome
        if group.error is not None:
            raise group.error
        result: T = outcome
        return result
