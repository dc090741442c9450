"""The audit trail of the HTTP API: who did what, written with the change it describes.

Invariants owned here:
- A successful state-changing call writes its audit event inside the same database transaction
  as the change (a `before_commit` callback of the request's unit of work): both are committed,
  or neither.
- A refused state-changing call (any 4xx), and any 401 or 403 on any method, writes a
  "refused" event in a transaction of its own; nothing else of the request was committed.
- Events carry actor (token name) and role, action (method and route), target (the path),
  request id, idempotency key, client address, outcome and status. Never bodies: they may hold
  personal data.
"""

from __future__ import annotations

import logging

from flask import Response, g, request

from ledger.storage.unit_of_work import UnitOfWork
from ledger.trail import HEAD_QUERY, head_of, record_event

__all__ = [
    "AUDIT_HEAD",
    "preload_audit_head",
    "record_refusal",
    "record_success_in",
    "success_fields",
]

AUDIT_HEAD = "audit-head"

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
log = logging.getLogger("huiquan.api")


def _fields() -> dict[str, str]:
    actor = g.get("actor")
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    return {
        "actor": actor.name if actor else "anonymous",
        "role": actor.role if actor else "",
        "action": f"{request.method} {rule}",
        "target": request.path[:200],
        "request_id": g.get("request_id", ""),
        "idempotency_key": (request.headers.get("Idempotency-Key") or "")[:200],
        "client": (request.remote_addr or "")[:64],
    }


def preload_audit_head() -> dict[str, tuple[str, tuple[()]]]:
    """The audit trail's head, for a writing unit of work to read as it locks the books."""
    return {AUDIT_HEAD: (HEAD_QUERY, ())}


def success_fields() -> dict[str, str] | None:
    """The request's audit fields if it is a write, else None (taken before the writer lock)."""
    return _fields() if request.method in WRITES else None


def record_success_in(uow: UnitOfWork, fields: dict[str, str] | None = None) -> None:
    """Arrange for the request's audit event to be written when `uow` commits.

    `fields` are the request's `success_fields()`, if they were taken already.
    """
    if fields is None:
        if request.method not in WRITES:
            return
        fields = _fields()
    # The request's own `g`: with group commit the callback runs in whichever request thread
    # commits the shared transaction.
    context = g._get_current_object()

    def write_event(unit: UnitOfWork) -> None:
        if context.get("audited"):  # one event per request, however many transactions it used
            return
        head = unit.memo_of("audit-head")  # read once per (group-committed) transaction
        if "sequence" not in head and AUDIT_HEAD in unit.preloaded:  # read with the lock
            sequence, hash_ = head_of(unit.preloaded[AUDIT_HEAD])
            head.update(sequence=sequence, hash=hash_)
        record_event(
            unit.connection,
            outcome="success",
            status=201,
            head=head,
            queue=unit.queue_row,
            **fields,
        )
        context.audited = True

    uow.before_commit(write_event)


def record_refusal(response: Response, engine: object) -> Response:
    """After a refused write (4xx), or any 401/403, append a "refused" event on its own."""
    status = response.status_code
    refused = (request.method in WRITES and 400 <= status < 500) or status in (401, 403)
    if not refused or g.get("audited"):
        return response
    fields = _fields()
    try:
        with UnitOfWork(engine) as uow:  # type: ignore[arg-type]
            record_event(uow.connection, outcome="refused", status=status, **fields)
            uow.commit()
    except Exception:  # the refusal stands even if it could not be recorded; say so in the log
        log.exception("could not record a refused request in the audit trail")
    return response
