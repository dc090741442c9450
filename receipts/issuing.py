"""Issuing receipts: gapless serials, secret links, voids, replacements and annual receipts.

Invariants owned here:
- Serials are `<SERIES>-<YEAR>-<NNNNNN>` and gapless per series and year: the next number comes
  from a counter row (`receipt_counters`) incremented in the same database transaction that
  records the gift, never from a database sequence (which leaves gaps on rollback). Callers run
  inside a writing `ledger.storage.unit_of_work.UnitOfWork`, which holds the chain-head lock, so two
  transactions never take the same number; a rolled-back gift rolls its number back too.
  Given the unit of work (`uow=`), the counter is read once per transaction and counted on in
  the unit's memo (which `UnitOfWork.attempt` rolls back with a failed operation); its last
  value is written once, as the unit commits (a before-commit callback). Within one unit of
  work, every serial must come that way: pass `uow` to every issuing call, never mix it with
  bare-connection calls.
- A receipt row is never changed or deleted (the table is append-only by trigger). A wrong receipt
  is voided by a `receipt_voids` row with its reason and the serial of its replacement; the
  voided serial stays visible as VOID and is never reused.
- Link tokens come from `secrets` (192 bits) and are found by their SHA-256; a link can be
  revoked. Callers that mint their own tokens pass `link=False` and no random link is made
  (the application's receipt desk does, to keep each token sealed under the receipt-link key
  beside its hash; `new_link` keeps the hash only).
  Looking up an unknown, revoked or malformed token gives the same `None`.
- A gift is covered by at most one live annual consolidated receipt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from ledger.entries import EntryKind, PostedEntry
from ledger.errors import AlreadyExists, InvalidEntry, NotFound
from ledger.storage.fastsql import Raw
from ledger.storage.tables import postings, receipt_links, receipt_voids, receipts
from ledger.storage.unit_of_work import UnitOfWork
from receipts.issuers import issuer_at

__all__ = [
    "RECEIPTABLE",
    "IssuedReceipt",
    "ReceiptRecord",
    "annual_receipt",
    "annual_receipts",
    "counter_preload",
    "get_receipt",
    "gift_issuer",
    "issue_receipt",
    "lookup_token",
    "new_link",
    "next_serial",
    "receipt_for_entry",
    "receipts_of_donor",
    "revoke_links",
    "void_receipt",
]

SERIES = "HQ"
RECEIPTABLE = {EntryKind.DONATION, EntryKind.PLEDGE_PAYMENT, EntryKind.IN_KIND}
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


@dataclass(frozen=True, slots=True)
class IssuedReceipt:
    """A new receipt's serial and, when one was asked for, its random link token."""

    serial: str
    token: str | None


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    serial: str
    entry_id: str | None
    donor_id: str
    kind: str
    issued_at: str
    replaces_serial: str | None
    fiscal_code: str | None
    fiscal_number: str | None
    data: Mapping[str, Any]
    void_reason: str | None
    replaced_by: str | None

    @property
    def is_void(self) -> bool:
        return self.void_reason is not None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_SAVE_COUNTER = (
    "INSERT INTO receipt_counters (series, year, last) VALUES (?, ?, ?) "
    "ON CONFLICT (series, year) DO UPDATE SET last = excluded.last"
)
_INSERT_RECEIPT = (
    "INSERT INTO receipts (serial, entry_id, donor_id, kind, issued_at, replaces_serial, "
    "fiscal_code, fiscal_number, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def counter_preload(year: int, series: str = SERIES) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """The counter of a series and year, for a writing unit of work to read as it locks."""
    sql = "SELECT last FROM receipt_counters WHERE series = ? AND year = ?"
    return {f"receipt-counter:{series}:{year}": (sql, (series, year))}


def _counter_saver(series: str, year: int) -> Callable[[UnitOfWork], None]:
    """A before-commit callback that saves the unit's last serial of a series and year."""

    def save(uow: UnitOfWork) -> None:
        last = uow.memo_of("receipt_counters")[(series, year)]
        uow.queue_row(_SAVE_COUNTER, (series, year, last))

    return save


def next_serial(
    conn: Connection, year: int, series: str = SERIES, *, uow: UnitOfWork | None = None
) -> str:
    """Take the next gapless serial of a series and year (caller holds the chain-head lock).

    With `uow`, counted in the unit of work's memo and saved once, as the unit commits (no
    statement per receipt); `conn` is then the unit's connection.
    """
    if uow is not None:
        counters = uow.memo_of("receipt_counters")
        last = counters.get((series, year))
        if last is None:
            name, (sql, params) = next(iter(counter_preload(year, series).items()))
            rows = uow.preloaded.get(name)
            if rows is None:
                rows = Raw(conn).run(sql, params).fetchall()
            last = int(rows[0][0]) if rows else 0
            uow.before_commit(_counter_saver(series, year))
        last += 1
        counters[(series, year)] = last
        return f"{series}-{year}-{last:06d}"
    raw = Raw(conn)
    row = raw.one(
        "UPDATE receipt_counters SET last = last + 1 WHERE series = ? AND year = ? RETURNING last",
        (series, year),
    )
    if row is None:
        raw.run(
            "INSERT INTO receipt_counters (series, year, last) VALUES (?, ?, 1)", (series, year)
        )
        last = 1
    else:
        last = int(row[0])
    return f"{series}-{year}-{int(last):06d}"


def new_link(conn: Connection, serial: str, now: str) -> str:
    """Create a secret link token for a receipt; only its hash is stored."""
    token = secrets.token_urlsafe(24)
    conn.execute(
        insert(receipt_links).values(token_hash=_hash(token), serial=serial, created_at=now)
    )
    return token


def lookup_token(conn: Connection, token: str) -> str | None:
    """The serial a live link token opens, or None for anything else (same answer for all)."""
    if not _TOKEN.match(token):
        return None
    row = conn.execute(
        select(receipt_links.c.serial, receipt_links.c.revoked_at).where(
            receipt_links.c.token_hash == _hash(token)
        )
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    return str(row.serial)


def revoke_links(conn: Connection, serial: str, now: str) -> int:
    """Revoke every live link of a receipt; returns how many were revoked."""
    result = conn.execute(
        update(receipt_links)
        .where(receipt_links.c.serial == serial, receipt_links.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)


def _kind(entry: PostedEntry) -> str:
    if entry.kind is EntryKind.IN_KIND:
        return "in_kind"
    if entry.kind is EntryKind.PLEDGE_PAYMENT:
        return "pledge_payment"
    return "foreign" if entry.postings[0].currency != "CNY" else "cash"


def issue_receipt(
    conn: Connection,
    entry: PostedEntry,
    *,
    officer: str,
    now: str,
    replaces: str | None = None,
    fiscal_code: str | None = None,
    fiscal_number: str | None = None,
    link: bool = True,
    uow: UnitOfWork | None = None,
) -> IssuedReceipt:
    """Issue the receipt of a gift entry with the next serial and a fresh link.

    With `uow` (whose connection `conn` is), the serial comes from the unit's counter and the
    receipt row is queued to the unit's next flush, like the entry's own rows: read it back in
    the same unit only after `uow.flush()`.

    Raises:
        InvalidEntry: when the entry is not a gift (donation, pledge payment, in-kind).
    """
    if entry.kind not in RECEIPTABLE:
        raise InvalidEntry(f"a {entry.kind.value} entry gets no receipt")
    year = entry.occurred_on.year if replaces is None else int(now[:4])
    serial = next_serial(conn, year, uow=uow)
    data = json.dumps(
        {"officer": officer, "received_on": entry.occurred_on.isoformat()},
        ensure_ascii=False,
        sort_keys=True,
    )
    (Raw(conn).run if uow is None else uow.queue_row)(
        _INSERT_RECEIPT,
        (
            serial,
            entry.id,
            str(entry.data.get("donor_id", "")),
            _kind(entry),
            now,
            replaces,
            fiscal_code,
            fiscal_number,
            data,
        ),
    )
    return IssuedReceipt(serial, new_link(conn, serial, now) if link else None)


def _record(row: Any, void: Any) -> ReceiptRecord:
    return ReceiptRecord(
        serial=row.serial,
        entry_id=row.entry_id,
        donor_id=row.donor_id,
        kind=row.kind,
        issued_at=row.issued_at,
        replaces_serial=row.replaces_serial,
        fiscal_code=row.fiscal_code,
        fiscal_number=row.fiscal_number,
        data=json.loads(row.data),
        void_reason=None if void is None else void.reason,
        replaced_by=None if void is None else void.replacement_serial,
    )


def get_receipt(conn: Connection, serial: str) -> ReceiptRecord | None:
    """One receipt with its void status, or None."""
    row = conn.execute(select(receipts).where(receipts.c.serial == serial)).first()
    if row is None:
        return None
    void = conn.execute(select(receipt_voids).where(receipt_voids.c.serial == serial)).first()
    return _record(row, void)


def receipt_for_entry(conn: Connection, entry_id: str) -> ReceiptRecord | None:
    """The live (not void) receipt of an entry, if any."""
    for serial in conn.scalars(
        select(receipts.c.serial)
        .where(receipts.c.entry_id == entry_id)
        .order_by(receipts.c.issued_at.desc())
    ):
        record = get_receipt(conn, serial)
        if record is not None and not record.is_void:
            return record
    return None


def receipts_of_donor(conn: Connection, donor_id: str) -> list[ReceiptRecord]:
    rows = conn.execute(
        select(receipts).where(receipts.c.donor_id == donor_id).order_by(receipts.c.serial)
    ).all()
    voids = {
        v.serial: v
        for v in conn.execute(
            select(receipt_voids).where(receipt_voids.c.serial.in_([r.serial for r in rows]))
        )
    }
    return [_record(r, voids.get(r.serial)) for r in rows]


def void_receipt(
    conn: Connection,
    serial: str,
    *,
    reason: str,
    by: str,
    now: str,
    replacement: PostedEntry | None = None,
    officer: str = "",
    link: bool = True,
    uow: UnitOfWork | None = None,
) -> IssuedReceipt | None:
    """Void a receipt (kept, marked VOID with the reason) and issue its replacement if asked.

    A receipt voided because its entry was reversed gets no replacement (`replacement=None`).
    With `uow` (whose connection `conn` is), the unit's queued rows are flushed first, so
    receipts issued earlier in it are seen, and the replacement's serial comes from its counter.

    Raises:
        NotFound: unknown serial; AlreadyExists: it was voided before; InvalidEntry: no reason.
    """
    if uow is not None:
        uow.flush()
    record = get_receipt(conn, serial)
    if record is None:
        raise NotFound(f"no receipt {serial}", field="serial")
    if record.is_void:
        raise AlreadyExists(f"receipt {serial} is already void", field="serial")
    if not reason.strip():
        raise InvalidEntry("voiding a receipt needs a reason", field="reason")
    issued = None
    if replacement is not None:
        issued = issue_receipt(
            conn,
            replacement,
            officer=officer or by,
            now=now,
            replaces=serial,
            fiscal_code=record.fiscal_code,
            fiscal_number=record.fiscal_number,
            link=link,
            uow=uow,
        )
        if uow is not None:
            uow.flush()  # the void row refers to the replacement's row
    conn.execute(
        insert(receipt_voids).values(
            serial=serial,
            reason=reason.strip(),
            voided_at=now,
            voided_by=by,
            replacement_serial=issued.serial if issued else None,
        )
    )
    return issued


def annual_receipt(
    conn: Connection,
    donor_id: str,
    year: int,
    *,
    officer: str,
    now: str,
    link: bool = True,
    uow: UnitOfWork | None = None,
) -> tuple[IssuedReceipt, Sequence[ReceiptRecord]]:
    """Issue a consolidated receipt for a donor's live gift receipts of a year.

    The donor's gifts to funds of one issuer only (`annual_receipts` issues one per issuer).

    Raises:
        NotFound: no gifts that year; AlreadyExists: a live annual receipt already covers them;
        InvalidEntry: the gifts are to funds of more than one issuer.
    """
    issued = annual_receipts(conn, donor_id, year, officer=officer, now=now, link=link, uow=uow)
    if len(issued) > 1:
        raise InvalidEntry("the gifts are held by more than one issuer", field="year")
    return issued[0]


def gift_issuer(conn: Connection, record: ReceiptRecord) -> str | None:
    """The code of the issuer of a gift receipt's fund when it was issued (None if none)."""
    fund = conn.scalar(
        select(postings.c.fund).where(postings.c.entry_id == record.entry_id).limit(1)
    )
    found = None if fund is None else issuer_at(conn, fund, record.issued_at)
    return None if found is None else found.code


def annual_receipts(
    conn: Connection,
    donor_id: str,
    year: int,
    *,
    officer: str,
    now: str,
    link: bool = True,
    uow: UnitOfWork | None = None,
) -> list[tuple[IssuedReceipt, Sequence[ReceiptRecord]]]:
    """Issue a donor's annual consolidated receipts for a year: one per issuer.

    A donor who gave to funds held by different issuers gets one annual receipt from each
    issuer, covering that issuer's gifts only (a receipt speaks for its issuer alone); an issuer
    whose gifts that year a live annual receipt already covers gets none. In issuer order
    (unassigned funds, whose receipts say the issuer is not configured, last).

    With `uow` (whose connection `conn` is), its queued rows are flushed first, so gifts
    receipted earlier in it count, and the serials come from its counter.

    Raises:
        NotFound: no gifts that year; AlreadyExists: live annual receipts cover every issuer.
    """
    if uow is not None:
        uow.flush()
    mine = receipts_of_donor(conn, donor_id)
    gifts = [
        r
        for r in mine
        if r.kind != "annual"
        and not r.is_void
        and str(r.data.get("received_on", r.issued_at))[:4] == str(year)
    ]
    if not gifts:
        raise NotFound(f"donor {donor_id} has no receipted gifts in {year}", field="year")
    groups: dict[str | None, list[ReceiptRecord]] = {}
    for gift in gifts:
        groups.setdefault(gift_issuer(conn, gift), []).append(gift)
    covered = {
        r.data.get("issuer"): r.serial
        for r in mine
        if r.kind == "annual" and not r.is_void and r.data.get("year") == year
    }
    wanted = [k for k in sorted(groups, key=lambda k: (k is None, k or "")) if k not in covered]
    if not wanted:
        serials = ", ".join(sorted(covered.values()))
        raise AlreadyExists(f"{serials} already covers {year}; void it to reissue", field="year")
    issued = []
    for issuer in wanted:
        serial = next_serial(conn, int(now[:4]), uow=uow)
        data: dict[str, Any] = {
            "officer": officer,
            "year": year,
            "covers": [g.serial for g in groups[issuer]],
        }
        if issuer is not None:
            data["issuer"] = issuer
        conn.execute(
            insert(receipts).values(
                serial=serial,
                entry_id=None,
                donor_id=donor_id,
                kind="annual",
                issued_at=now,
                data=json.dumps(data, ensure_ascii=False, sort_keys=True),
            )
        )
        receipt = IssuedReceipt(serial, new_link(conn, serial, now) if link else None)
        issued.append((receipt, groups[issuer]))
    return issued


def today(now: str) -> dt.date:
    return dt.date.fromisoformat(now[:10])
