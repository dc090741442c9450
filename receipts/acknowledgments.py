"""Pledge acknowledgments: a promise acknowledged, not money received.

Invariants owned here:
- A pledge gets an acknowledgment, never a receipt: its serial is of its own series
  (`HQP-<year>-<NNNNNN>`, the year it was pledged), gapless like receipts because it comes from
  the same counter table in the pledge's own unit of work (`receipts.issuing.next_serial`).
- One acknowledgment per pledge (conditional pledges included); asked again, the same one.
- Its link token is kept only as a SHA-256 hash; the token is derived by the caller (the
  receipt desk) so an idempotent replay shows the same link.
- The view states what was promised (amount in figures and 大写, fund and purpose, due date,
  condition) and says plainly that it is not a donation receipt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import Connection, select

from ledger.model import Pledge
from ledger.storage.tables import pledge_acknowledgments, pledges
from ledger.storage.unit_of_work import UnitOfWork
from receipts.issuing import next_serial

__all__ = [
    "SERIES",
    "Acknowledgment",
    "acknowledgment_of_pledge",
    "acknowledgment_of_token",
    "issue_acknowledgment",
]

SERIES = "HQP"
_INSERT = (
    "INSERT INTO pledge_acknowledgments (serial, pledge_id, donor_id, issued_at, token_hash, "
    "data) VALUES (?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    """A stored acknowledgment and the pledge it acknowledges."""

    serial: str
    pledge_id: str
    donor_id: str
    issued_at: str
    officer: str
    pledged_on: dt.date
    fund: str
    amount_minor: int
    currency: str
    due_on: dt.date | None
    conditional: bool


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_acknowledgment(
    uow: UnitOfWork,
    pledge: Pledge,
    *,
    pledged_on: dt.date,
    officer: str,
    token_for: object,
) -> str:
    """Issue the acknowledgment of `pledge` in the pledge's unit of work; its serial.

    `token_for(serial)` gives the link token whose hash is stored. Asked again for the same
    pledge, it answers the existing serial.
    """
    conn = uow.connection
    uow.flush()
    known = conn.scalar(
        select(pledge_acknowledgments.c.serial).where(
            pledge_acknowledgments.c.pledge_id == pledge.id
        )
    )
    if known is not None:
        return str(known)
    serial = next_serial(conn, pledged_on.year, SERIES, uow=uow)
    token = token_for(serial)  # type: ignore[operator]
    data = {"officer": officer, "pledged_on": pledged_on.isoformat()}
    uow.queue_row(
        _INSERT,
        (
            serial,
            pledge.id,
            pledge.donor_id,
            uow.now(),
            _hash(str(token)),
            json.dumps(data, ensure_ascii=False, sort_keys=True),
        ),
    )
    return serial


def _load(conn: Connection, where: object) -> Acknowledgment | None:
    a, p = pledge_acknowledgments.c, pledges.c
    row = conn.execute(
        select(
            a.serial,
            a.pledge_id,
            a.donor_id,
            a.issued_at,
            a.data,
            p.fund,
            p.amount_minor,
            p.currency,
            p.due_on,
            p.conditional,
        )
        .join(pledges, p.id == a.pledge_id)
        .where(where)  # type: ignore[arg-type]
    ).first()
    if row is None:
        return None
    data = json.loads(row.data)
    return Acknowledgment(
        serial=row.serial,
        pledge_id=row.pledge_id,
        donor_id=row.donor_id,
        issued_at=row.issued_at,
        officer=str(data.get("officer", "")),
        pledged_on=dt.date.fromisoformat(data["pledged_on"]),
        fund=row.fund,
        amount_minor=int(row.amount_minor),
        currency=row.currency,
        due_on=dt.date.fromisoformat(row.due_on) if row.due_on else None,
        conditional=bool(row.conditional),
    )


def acknowledgment_of_token(conn: Connection, token: str) -> Acknowledgment | None:
    """The acknowledgment a link token opens (None for an unknown or malformed token)."""
    if not (20 <= len(token) <= 64) or not token.replace("-", "").replace("_", "").isalnum():
        return None
    return _load(conn, pledge_acknowledgments.c.token_hash == _hash(token))


def acknowledgment_of_pledge(conn: Connection, pledge_id: str) -> Acknowledgment | None:
    """The acknowledgment of a pledge, if it has one."""
    return _load(conn, pledge_acknowledgments.c.pledge_id == pledge_id)
