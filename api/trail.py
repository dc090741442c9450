"""The audit trail of the HTTP API: the request's facts, and refusals.

Invariants owned here:
- A successful state-changing call writes its audit event inside the same database transaction
  as the change (`usecases.unit`, given the request's `audit_facts()`): both are committed, or
  neither; one event per request, however many transactions it used.
- A refused state-changing call (any 4xx), and any 401 or 403 on any method, writes a
  "refused" event in a transaction of its own; nothing else of the request was committed.
- Events carry actor (the token's user's display name) and role, action (method and route),
  target (the path), request id, idempotency key, client address, outcome and status. Never
  bodies: they may hold personal data. Never a receipt link's secret either: a path under `/r/`
  is recorded as `/r/<redacted>` (`loggable`), here and in the request log.
"""

from __future__ import annotations

import logging
import re

from flask import Response, g, request

from ledger.storage.unit_of_work import UnitOfWork
from ledger.trail import record_event
from usecases.unit import AuditFacts

__all__ = ["audit_facts", "loggable", "record_refusal"]

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
log = logging.getLogger("huiquan.api")
_LINK = re.compile(r"^/r/.+", re.DOTALL)


def loggable(path: str) -> str:
    """`path` as it may be written down: a receipt link's token (the credential) is redacted."""
    return _LINK.sub("/r/<redacted>", path)


def _facts() -> AuditFacts:
    actor = g.get("actor")
    rule = request.url_rule.rule if request.url_rule is not None else loggable(request.path)
    return AuditFacts(
        actor=(actor.display_name or actor.name) if actor else "anonymous",
        role=actor.role if actor else "",
        action=f"{request.method} {rule}",
        target=loggable(request.path)[:200],
        request_id=g.get("request_id", ""),
        idempotency_key=(request.headers.get("Idempotency-Key") or "")[:200],
        client=(request.remote_addr or "")[:64],
    )


def audit_facts() -> AuditFacts | None:
    """The request's audit facts if it is a write, else None (one object per request)."""
    if request.method not in WRITES:
        return None
    facts: AuditFacts | None = g.get("audit_facts")
    if facts is None:
        facts = g.audit_facts = _facts()
    return facts


def record_refusal(response: Response, engine: object) -> Response:
    """After a refused write (4xx), or any 401/403, append a "refused" event on its own."""
    status = response.status_code
    refused = (request.method in WRITES and 400 <= status < 500) or status in (401, 403)
    facts: AuditFacts | None = g.get("audit_facts")
    if not refused or (facts is not None and facts.recorded):
        return response
    f = _facts()
    try:
        with UnitOfWork(engine) as uow:  # type: ignore[arg-type]
            record_event(
                uow.connection,
                outcome="refused",
                status=status,
                actor=f.actor,
                role=f.role,
                action=f.action,
                target=f.target,
                request_id=f.request_id,
                idempotency_key=f.idempotency_key,
                client=f.client,
            )
            uow.commit()
    except Exception:  # the refusal stands even if it could not be recorded; say so in the log
        log.exception("could not record a refused request in the audit trail")
    return response
