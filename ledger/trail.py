"""The audit trail: who did what, when, from where, and with what outcome — append-only and chained.

Invariants owned here:
- Events live in `ledger.storage.tables.audit_events`, which the database keeps append-only
  (UPDATE and DELETE raise). Events are numbered 1, 2, 3, ... without a gap: `record_event` takes
  ``max(sequence) + 1``. That is race-free only because every caller holds the chain-head lock,
  i.e. calls it on the connection of a *writing* `UnitOfWork` (directly or in
  `uow.before_commit`): writers are serialised, so no two transactions read the same maximum.
  Successful writes record their event inside their own unit of work (same transaction as the
  change); refused attempts (401/403/422) record theirs in a unit of work of their own.
- ``hash(n) = SHA-256(hash(n-1) as 64 lowercase hex ASCII || 0x0A || canonical(n))`` with
  ``hash(0) = GENESIS`` (64 zeros), where ``canonical(n)`` is the RFC 8785 JSON (sorted keys, no
  spaces, UTF-8) of the event's fields as stored, `event_object` below: the same recipe as the
  journal's chain in `ledger.chain`.
- Field values are truncated to their column widths *before* hashing (marked with a final
  "…"), so what is hashed is exactly what is stored, on SQLite and PostgreSQL alike.
- Events carry ids only (token names, entry ids, pseudonyms, request ids); callers never put
  personal data (names, ID numbers, schools) in `target` or `detail`.
- `verify_trail` returns every finding at once (gaps, broken links, altered events, and an
  event count or hash that disagrees with an anchor taken earlier, e.g. in a signed checkpoint:
  that is how a deleted tail is caught); an empty list means the trail is intact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, select

from ledger.chain import GENESIS, Finding, canonical_bytes, canonical_data, chain_hash
from ledger.storage.fastsql import Raw
from ledger.storage.tables import audit_events

__all__ = [
    "HEAD_QUERY",
    "OUTCOMES",
    "AuditEvent",
    "EventFilter",
    "event_hash",
    "event_object",
    "events_near",
    "head_of",
    "iter_events",
    "list_events",
    "record_event",
    "trail_head",
    "verify_trail",
]

#: What happened to the attempt: it changed the books, it was refused, or it failed.
OUTCOMES = ("success", "refused", "error", "read")

_WIDTHS = {
    "actor": 100,
    "role": 20,
    "action": 100,
    "target": 200,
    "request_id": 64,
    "idempotency_key": 200,
    "client": 64,
    "outcome": 20,
}


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One recorded event, as stored."""

    sequence: int
    at: str
    actor: str
    role: str
    action: str
    target: str
    request_id: str
    idempotency_key: str
    client: str
    outcome: str
    status: int
    detail: str
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Filters for `list_events`; every given field must match (times are ISO-8601 UTC)."""

    actor: str | None = None
    role: str | None = None
    action: str | None = None
    target: str | None = None
    outcome: str | None = None
    status: int | None = None
    request_id: str | None = None
    since: str | None = None
    until: str | None = None


def _fit(value: str, width: int) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def event_object(
    *,
    sequence: int,
    at: str,
    actor: str,
    role: str,
    action: str,
    target: str,
    request_id: str,
    idempotency_key: str,
    client: str,
    outcome: str,
    status: int,
    detail: str,
) -> dict[str, Any]:
    """The object whose canonical JSON is chained for one event."""
    return {
        "v": 1,
        "sequence": sequence,
        "at": at,
        "actor": actor,
        "role": role,
        "action": action,
        "target": target,
        "request_id": request_id,
        "idempotency_key": idempotency_key,
        "client": client,
        "outcome": outcome,
        "status": status,
        "detail": detail,
    }


_INSERT_EVENT = (
    "INSERT INTO audit_events (sequence, at, actor, role, action, target, request_id, "
    "idempotency_key, client, outcome, status, detail, prev_hash, hash) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_EVENT_FIELDS = (
    "actor",
    "role",
    "action",
    "target",
    "request_id",
    "idempotency_key",
    "client",
    "outcome",
)


def event_hash(prev_hash: str, obj: Mapping[str, Any]) -> str:
    """``SHA-256(prev_hash || 0x0A || canonical JSON(obj))`` as lowercase hex."""
    return chain_hash(prev_hash, canonical_bytes(obj))


#: The trail's head: a query a writing unit of work may preload (`UnitOfWork(preload=...)`).
HEAD_QUERY = "SELECT sequence, hash FROM audit_events ORDER BY sequence DESC LIMIT 1"


def trail_head(conn: Connection) -> tuple[int, str]:
    """The last event's (sequence, hash); (0, GENESIS) for an empty trail."""
    return head_of(Raw(conn).run(HEAD_QUERY).fetchall())


def head_of(rows: Sequence[Sequence[Any]]) -> tuple[int, str]:
    """The trail's head from the rows of `HEAD_QUERY`."""
    return (0, GENESIS) if not rows else (int(rows[0][0]), str(rows[0][1]))


def record_event(
    conn: Connection,
    *,
    actor: str,
    role: str,
    action: str,
    outcome: str,
    target: str = "",
    request_id: str = "",
    idempotency_key: str = "",
    client: str = "",
    status: int = 0,
    detail: str | Mapping[str, Any] = "",
    at: str | None = None,
    head: dict[str, Any] | None = None,
    queue: Callable[[str, tuple[Any, ...]], None] | None = None,
) -> int:
    """Append one event and return its sequence number.

    `conn` must belong to a writing unit of work (it holds the chain-head lock; see the module
    docstring), e.g. ``uow.before_commit(lambda u: record_event(u.connection, ...))``. A mapping
    `detail` is stored as canonical JSON. `head`, a dict the caller keeps for the rest of the
    same transaction, remembers the trail's head between events so it is read only once.
    `queue` (e.g. `UnitOfWork.queue_row`) takes the INSERT to run at the unit's next flush
    instead of now; with `head` the chain stays right, since nothing reads the row back first.

    Raises:
        ValueError: for an unknown `outcome` or an empty actor or action.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    if not actor or not action:
        raise ValueError("an audit event needs an actor and an action")
    if not isinstance(detail, str):
        detail = canonical_data(detail)
    if head is not None and "sequence" in head:
        last, prev = head["sequence"], head["hash"]
    else:
        last, prev = trail_head(conn)
    given = (actor, role, action, target, request_id, idempotency_key, client, outcome)
    fitted = {k: _fit(v, _WIDTHS[k]) for k, v in zip(_EVENT_FIELDS, given, strict=True)}
    when = at or dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
    obj = event_object(sequence=last + 1, at=when, status=int(status), detail=detail, **fitted)
    digest = event_hash(prev, obj)
    (queue or Raw(conn).run)(
        _INSERT_EVENT,
        (
            last + 1,
            when,
            *(fitted[k] for k in _EVENT_FIELDS),
            int(status),
            detail,
            prev,
            digest,
        ),
    )
    if head is not None:
        head.update(sequence=last + 1, hash=digest)
    return int(last) + 1


def _event(row: Any) -> AuditEvent:
    return AuditEvent(
        int(row.sequence),
        row.at,
        row.actor,
        row.role,
        row.action,
        row.target,
        row.request_id,
        row.idempotency_key,
        row.client,
        row.outcome,
        int(row.status),
        row.detail,
        row.prev_hash,
        row.hash,
    )


def list_events(
    conn: Connection,
    filters: EventFilter | None = None,
    *,
    after: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Events in sequence order after the cursor `after` (a sequence number), at most `limit`.

    The next page's cursor is the last returned event's sequence.
    """
    e = audit_events.c
    query = select(audit_events).order_by(e.sequence).limit(max(1, min(limit, 1000)))
    if after is not None:
        query = query.where(e.sequence > after)
    f = filters or EventFilter()
    for name in ("actor", "role", "action", "target", "outcome", "status", "request_id"):
        value = getattr(f, name)
        if value is not None and value != "":
            query = query.where(getattr(e, name) == value)
    if f.since:
        query = query.where(e.at >= f.since)
    if f.until:
        query = query.where(e.at <= f.until)
    return [_event(r) for r in conn.execute(query)]


def iter_events(conn: Connection, batch: int = 5000) -> Iterable[AuditEvent]:
    """Every event in sequence order, read in batches (flat memory)."""
    after = 0
    while True:
        page = list_events(conn, after=after, limit=batch)
        if not page:
            return
        yield from page
        after = page[-1].sequence


def verify_trail(
    conn: Connection,
    *,
    anchors: Iterable[tuple[int, str]] = (),
    max_findings: int = 100,
) -> list[Finding]:
    """Recompute the event chain; return every finding (empty when the trail is intact).

    `anchors` are (sequence, hash) pairs recorded earlier (for instance in signed checkpoints):
    the event at that sequence must still exist and still carry that hash.
    """
    findings: list[Finding] = []

    def add(seq: int | None, check: str, detail: str) -> None:
        if len(findings) < max_findings:
            findings.append(Finding(seq, check, detail))

    expected_anchor = dict(anchors)
    prev, expected = GENESIS, 1
    for ev in iter_events(conn):
        if ev.sequence != expected:
            add(ev.sequence, "audit-gap", f"expected event {expected}, found {ev.sequence}")
        expected = ev.sequence + 1
        if ev.prev_hash != prev:
            add(ev.sequence, "audit-chain", "prev_hash does not match the previous event's hash")
        obj = event_object(
            sequence=ev.sequence,
            at=ev.at,
            actor=ev.actor,
            role=ev.role,
            action=ev.action,
            target=ev.target,
            request_id=ev.request_id,
            idempotency_key=ev.idempotency_key,
            client=ev.client,
            outcome=ev.outcome,
            status=ev.status,
            detail=ev.detail,
        )
        if event_hash(ev.prev_hash, obj) != ev.hash:
            add(ev.sequence, "audit-hash", "event content does not match its hash (altered)")
        anchored = expected_anchor.pop(ev.sequence, None)
        if anchored is not None and anchored != ev.hash:
            add(
                ev.sequence, "audit-anchor", "event hash differs from the one a checkpoint recorded"
            )
        prev = ev.hash
    for seq in sorted(expected_anchor):
        add(
            seq,
            "audit-truncated",
            f"a checkpoint recorded event {seq}, but the trail ends at {expected - 1} "
            "(events were deleted)",
        )
    return findings


def events_near(
    conn: Connection, *, actor: str, at: str, seconds: int = 5, limit: int = 50
) -> list[AuditEvent]:
    """Audit events by `actor` within `seconds` of the timestamp `at` (indexed by time)."""
    moment = dt.datetime.fromisoformat(at)
    low = (moment - dt.timedelta(seconds=seconds)).isoformat(timespec="microseconds")
    high = (moment + dt.timedelta(seconds=seconds)).isoformat(timespec="microseconds")
    return list_events(conn, EventFilter(actor=actor, since=low, until=high), limit=limit)
