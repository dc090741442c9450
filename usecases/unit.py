"""Units of work for use cases: one transaction per operation, its audit event inside it.

Invariants owned here:
- A write runs in exactly one `UnitOfWork` (which takes the books' writer lock first) and commits
  once; with group commit it shares its process's open transaction and returns only after that
  commit. A unique-key violation (two callers racing on the same key or code) rolls back and
  runs the operation again: the retry finds the winner's record and replays it, so a race is
  never a failure and never a second entry.
- A successful write records its audit event (`AuditFacts`) inside the same transaction, as the
  unit commits (a before-commit callback): both are committed, or neither. One event per
  operation, however many transactions it took (`AuditFacts.recorded`).
- Nothing here knows about HTTP: the actor and the facts of the request (action, target,
  request id, idempotency key, client address) are plain values the entrance passes in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError

from ledger.errors import LedgerError
from ledger.storage.repository import SqlRepository
from ledger.storage.unit_of_work import UnitOfWork, read_only
from ledger.trail import head_of, record_event
from usecases.books import AUDIT_HEAD, Books

__all__ = ["ATTEMPTS", "SYSTEM", "Actor", "AuditFacts", "read", "write"]

T = TypeVar("T")
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Actor:
    """Who does an operation: a name (signs entries and receipts), roles, later a user id."""

    name: str
    roles: tuple[str, ...] = ()
    user_id: str | None = None

    @property
    def role(self) -> str:
        return ",".join(self.roles)


#: The actor of work nobody asked for in person (the demo data, a migration).
SYSTEM = Actor("system", ("admin",))


@dataclass(slots=True)
class AuditFacts:
    """What the audit event of a successful write says (never bodies: they may be personal).

    `recorded` turns true once the event is written in a unit of work that commits it.
    """

    actor: str
    role: str
    action: str
    target: str = ""
    request_id: str = ""
    idempotency_key: str = ""
    client: str = ""
    recorded: bool = False
    #: The answer's status: 201, or 202 for an operation that became an approval request.
    status: int = 201
    #: What the event says beyond who did what to which target (never personal data).
    detail: str | Mapping[str, Any] = ""


def write(
    books: Books,
    work: Callable[[UnitOfWork], T],
    *,
    audit: AuditFacts | None = None,
    key: str | None = None,
    refs: Mapping[str, Sequence[str]] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> T:
    """Run `work` in one unit of work and commit; replay on a lost race (see module docstring).

    `key`, the operation's scoped idempotency key, and `refs`, the reference records `work`
    will look up (`UnitOfWork.prefetch`), let group commit read them with other writers' at
    once. `aliases` renames a ledger error's field to the caller's name for it.

    Raises:
        LedgerError: whatever the operation refused (nothing of it was kept).
        IntegrityError: when the race is lost `ATTEMPTS` times.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            if books.group_commit is not None:
                return books.group_commit.run(
                    lambda uow: _audited(uow, work, audit), key=key, refs=refs
                )
            with books.writer_gate(), UnitOfWork(books.engine) as uow:
                result = _audited(uow, work, audit)
                uow.commit()
                return result
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
        except LedgerError as err:
            if aliases and err.field is not None and err.field in aliases:
                err.field = aliases[err.field]
            raise
    raise AssertionError("unreachable")  # pragma: no cover


def _audited(uow: UnitOfWork, work: Callable[[UnitOfWork], T], audit: AuditFacts | None) -> T:
    if audit is not None:
        record_audit_event(uow, audit)
    result = work(uow)
    if audit is not None and getattr(result, "requested", False):
        audit.status = 202  # the operation became an approval request (`usecases.gate`)
    return result


def record_audit_event(uow: UnitOfWork, facts: AuditFacts) -> None:
    """Arrange for the operation's audit event to be written when `uow` commits."""

    def write_event(unit: UnitOfWork) -> None:
        if facts.recorded:  # one event per operation, however many transactions it used
            return
        head = unit.memo_of(AUDIT_HEAD)  # read once per (group-committed) transaction
        if "sequence" not in head and AUDIT_HEAD in unit.preloaded:  # read with the lock
            sequence, hash_ = head_of(unit.preloaded[AUDIT_HEAD])
            head.update(sequence=sequence, hash=hash_)
        record_event(
            unit.connection,
            actor=facts.actor,
            role=facts.role,
            action=facts.action,
            target=facts.target,
            request_id=facts.request_id,
            idempotency_key=facts.idempotency_key,
            client=facts.client,
            outcome="success",
            status=facts.status,
            detail=facts.detail,
            head=head,
            queue=unit.queue_row,
        )
        facts.recorded = True

    uow.before_commit(write_event)


def read(books: Books, work: Callable[[SqlRepository], T]) -> T:
    """Run `work` over a read-only repository."""
    with read_only(books.engine) as repo:
        return work(repo)
