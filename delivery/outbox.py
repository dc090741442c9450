"""The outbox: messages written with the event that caused them, sent later, at least once.

Invariants owned here:
- A message and its queue row are inserted in the event's own transaction (`enqueue`, through
  the caller's unit of work), so an event is announced if and only if it was committed.
- `outbox_messages` and `outbox_attempts` are append-only (database triggers): every attempt,
  its outcome, a dead-lettering and a replay are rows that stay. `delivery_queue` is the one
  mutable table, derived work state (decision 0013): status, due time, failures, lease. The
  one exception is erasure (decision 0017): an erased donor's address is blanked from their
  messages and taken out of the attempts' details, and `record` keeps it out of the detail of
  an attempt that was under way meanwhile.
- A worker takes a message only by a conditional UPDATE (`claim`): due and pending, or sending
  with an expired lease (its worker died mid-flight). The claim counts the attempt, so two
  workers never record the same attempt number, and a message whose worker died is sent again:
  delivery is at least once; receivers deduplicate by the message id (`webhook-id`).
- Failures back off exponentially (`Schedule.delay`), and after `Schedule.max_attempts`
  failures the message is dead-lettered (status `dead`); a refusal that will not change (an
  SMTP 5xx for the recipient) is final at once (`bounced`). A replay makes a sent, bounced or
  dead message due again, with its failures forgotten; it keeps its id.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, update

from ledger.storage.tables import ERASED_MARK, delivery_queue, outbox_attempts, outbox_messages

__all__ = [
    "CHANNELS",
    "FINAL",
    "STATUSES",
    "Claimed",
    "Message",
    "Schedule",
    "attempts_of",
    "claim",
    "counts",
    "enqueue",
    "get_message",
    "list_messages",
    "new_id",
    "record",
    "replay",
    "stamp",
]

CHANNELS = ("email", "webhook")
STATUSES = ("pending", "sending", "sent", "bounced", "dead")
#: Statuses no worker will change again (a replay may).
FINAL = ("sent", "bounced", "dead")

QueueRow = Callable[[str, tuple[Any, ...]], None]


def stamp(moment: dt.datetime) -> str:
    """ISO-8601 UTC with microseconds, as the unit of work writes it: sorts as text."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def new_id(prefix: str) -> str:
    """`prefix_` + 32 hex digits, time first (UUIDv7's layout), so ids sort by creation."""
    millis = time.time_ns() // 1_000_000
    return f"{prefix}_{millis:012x}{os.urandom(10).hex()}"


@dataclass(frozen=True, slots=True)
class Schedule:
    """Retries: `base` seconds after the first failure, doubling up to `cap`, a jitter of
    ±10 % so failed messages do not return together, dead after `max_attempts` failures."""

    max_attempts: int = 10
    base: float = 30.0
    cap: float = 6 * 3600.0

    def delay(self, failures: int) -> float:
        raw = min(self.base * 2 ** max(failures - 1, 0), self.cap)
        return raw * random.uniform(0.9, 1.1)


@dataclass(frozen=True, slots=True)
class Message:
    """A queued message with its state."""

    id: str
    channel: str
    event_type: str
    event_id: str
    subscription_id: str | None
    recipient: str
    payload: dict[str, Any]
    created_at: str
    status: str
    attempts: int
    failures: int
    next_attempt_at: str
    last_error: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """A message a worker holds, and the number of the attempt it is making."""

    message: Message
    number: int


_INSERT_MESSAGE = (
    "INSERT INTO outbox_messages (id, channel, event_type, event_id, subscription_id, "
    "recipient, payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_QUEUE = (
    "INSERT INTO delivery_queue (message_id, status, attempts, failures, next_attempt_at, "
    "lease_until, last_error, updated_at) VALUES (?, 'pending', 0, 0, ?, NULL, '', ?)"
)


def enqueue(
    queue_row: QueueRow,
    *,
    channel: str,
    event_type: str,
    event_id: str,
    payload: dict[str, Any],
    now: str,
    recipient: str = "",
    subscription_id: str | None = None,
) -> str:
    """Queue one message (and its queue row) with the caller's transaction; its id."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    message_id = new_id("msg")
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    queue_row(
        _INSERT_MESSAGE,
        (message_id, channel, event_type, event_id, subscription_id, recipient, body, now),
    )
    queue_row(_INSERT_QUEUE, (message_id, now, now))
    return message_id


_M, _Q = outbox_messages.c, delivery_queue.c
_COLUMNS = (
    _M.id,
    _M.channel,
    _M.event_type,
    _M.event_id,
    _M.subscription_id,
    _M.recipient,
    _M.payload,
    _M.created_at,
    _Q.status,
    _Q.attempts,
    _Q.failures,
    _Q.next_attempt_at,
    _Q.last_error,
)


def _message(row: Any) -> Message:
    return Message(
        id=row.id,
        channel=row.channel,
        event_type=row.event_type,
        event_id=row.event_id,
        subscription_id=row.subscription_id,
        recipient=row.recipient,
        payload=json.loads(row.payload),
        created_at=row.created_at,
        status=row.status,
        attempts=row.attempts,
        failures=row.failures,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
    )


def _joined() -> Any:
    return select(*_COLUMNS).join(delivery_queue, _Q.message_id == _M.id)


def _due(now: str) -> Any:
    return or_(
        and_(_Q.status == "pending", _Q.next_attempt_at <= now),
        and_(_Q.status == "sending", _Q.lease_until < now),
    )


def claim(
    engine: Engine,
    *,
    now: dt.datetime,
    lease: float,
    limit: int,
    channels: Iterable[str] = CHANNELS,
    exclude: Iterable[str] = (),
) -> list[Claimed]:
    """Take up to `limit` due messages of `channels` (none of `exclude`), oldest due first,
    for `lease` seconds."""
    at, until = stamp(now), stamp(now + dt.timedelta(seconds=lease))
    wanted, skipped = tuple(channels), tuple(exclude)
    query = (
        select(_Q.message_id)
        .join(outbox_messages, _M.id == _Q.message_id)
        .where(_due(at), _M.channel.in_(wanted))
        .order_by(_Q.next_attempt_at)
        .limit(limit)
    )
    if skipped:
        query = query.where(_M.id.notin_(skipped))
    with engine.connect() as conn:
        ids = conn.scalars(query).all()
    taken: list[Claimed] = []
    for message_id in ids:
        with engine.begin() as conn:
            won = conn.execute(
                update(delivery_queue)
                .where(_Q.message_id == message_id, _due(at))
                .values(
                    status="sending",
                    lease_until=until,
                    attempts=_Q.attempts + 1,
                    updated_at=at,
                )
            ).rowcount
            if won != 1:
                continue  # another worker took it first
            row = conn.execute(_joined().where(_M.id == message_id)).one()
        message = _message(row)
        taken.append(Claimed(message, message.attempts))
    return taken


def record(
    engine: Engine,
    held: Claimed,
    outcome: str,
    *,
    detail: str = "",
    schedule: Schedule,
    now: dt.datetime,
) -> str:
    """Record how an attempt went (`sent`, `failed`, `bounced`, or `dead` for a message that
    can never be sent); the message's new status.

    A failure is retried after `schedule.delay`, or dead-lettered once it is the
    `schedule.max_attempts`-th in a row. The queue row changes only if this worker still holds
    the attempt (a replay or a reclaim since leaves it alone); the attempt's record stays.
    """
    message, at = held.message, stamp(now)
    failures = message.failures + (outcome != "sent")
    detail = _erased_since(engine, message, detail)
    status = {"sent": "sent", "bounced": "bounced", "dead": "dead"}.get(outcome, "pending")
    next_at = at
    if outcome == "failed":
        if failures >= schedule.max_attempts:
            status, outcome = "dead", "dead"
        else:
            next_at = stamp(now + dt.timedelta(seconds=schedule.delay(failures)))
    with engine.begin() as conn:
        conn.execute(
            outbox_attempts.insert().values(
                message_id=message.id,
                number=held.number,
                at=at,
                outcome=outcome,
                detail=detail[:2000],
                by="",
            )
        )
        conn.execute(
            update(delivery_queue)
            .where(_Q.message_id == message.id, _Q.attempts == held.number)
            .values(
                status=status,
                failures=0 if status == "sent" else failures,
                next_attempt_at=next_at,
                lease_until=None,
                last_error="" if status == "sent" else detail[:2000],
                updated_at=at,
            )
        )
    return status


def _erased_since(engine: Engine, message: Message, detail: str) -> str:
    """`detail` without the recipient's address if it was erased while the message was out
    (`usecases.erasure` blanks the recipient; the attempt must not bring the address back)."""
    if message.channel != "email" or not message.recipient:
        return detail
    with engine.connect() as conn:
        now_to = conn.scalar(select(_M.recipient).where(_M.id == message.id))
    if now_to != "":
        return detail
    return re.sub(re.escape(message.recipient), ERASED_MARK, detail, flags=re.IGNORECASE)


def replay(conn: Connection, message_id: str, *, by: str, now: str) -> Message | None:
    """Make a message due now with its failures forgotten (in the caller's transaction), and
    record who asked; None when there is no such message.

    The attempt count moves on, so a worker still sending it does not overwrite the replay.
    """
    current = get_message(conn, message_id)
    if current is None:
        return None
    number = current.attempts + 1
    conn.execute(
        update(delivery_queue)
        .where(_Q.message_id == message_id)
        .values(
            status="pending",
            attempts=number,
            failures=0,
            next_attempt_at=now,
            lease_until=None,
            updated_at=now,
        )
    )
    conn.execute(
        outbox_attempts.insert().values(
            message_id=message_id,
            number=number,
            at=now,
            outcome="replayed",
            detail=f"was {current.status}",
            by=by,
        )
    )
    return get_message(conn, message_id)


def get_message(conn: Connection, message_id: str) -> Message | None:
    """One message with its state, or None."""
    row = conn.execute(_joined().where(_M.id == message_id)).one_or_none()
    return None if row is None else _message(row)


def list_messages(
    conn: Connection,
    *,
    status: str | None = None,
    channel: str | None = None,
    event_type: str | None = None,
    before: str | None = None,
    limit: int = 50,
) -> list[Message]:
    """Messages, newest first (ids sort by creation), filtered; `before` an id to page on."""
    query = _joined().order_by(_M.id.desc()).limit(limit)
    if status is not None:
        query = query.where(_Q.status == status)
    if channel is not None:
        query = query.where(_M.channel == channel)
    if event_type is not None:
        query = query.where(_M.event_type == event_type)
    if before is not None:
        query = query.where(_M.id < before)
    return [_message(row) for row in conn.execute(query)]


def attempts_of(conn: Connection, message_id: str) -> list[dict[str, Any]]:
    """A message's attempts and replays, in order."""
    a = outbox_attempts.c
    rows = conn.execute(
        select(a.number, a.at, a.outcome, a.detail, a.by)
        .where(a.message_id == message_id)
        .order_by(a.number)
    )
    return [dict(row._mapping) for row in rows]


def counts(conn: Connection) -> dict[str, int]:
    """How many messages are in each status (every status named, zero included)."""
    found = dict(
        (row[0], row[1])
        for row in conn.execute(select(_Q.status, func.count()).group_by(_Q.status))
    )
    return {s: int(found.get(s, 0)) for s in STATUSES}
