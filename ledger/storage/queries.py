"""The SQL of the read lists: gifts, pledges, spending, awards, payouts, receipts, donors.

Invariants owned here:
- Read only: nothing here inserts, updates or commits.
- Every list is keyset-paged: a page is "the rows after this position" in a total order that
  ends in a unique column (an entry's sequence, a pledge's or a receipt's id), so pages neither
  repeat nor skip a row, whatever is posted meanwhile before the position.
- Filters are indexed where the books are big: the journal by kind and date
  (`ix_entries_kind`, `ix_entries_occurred_on`), postings by fund (`ix_postings_fund_account`),
  by party (`ix_postings_party`) and by project (`ix_postings_project`), each as a semi-join on
  the entry's sequence (the postings' primary key).
- Amounts are the journal's: a gift's are its postings; a pledge's or an award's outstanding
  amount is its sub-ledger row in `balances` (1122 or 2209 with the pledge or award as `ref`),
  written with every posting in the same transaction and held equal to the postings by
  `ledger.integrity`. Postings carry no index on `ref`, so summing them per pledge would scan a
  fund's receivables for every row of a page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB

from ledger.entries import PostedEntry, Posting
from ledger.model import Donor, DonorKind
from ledger.storage import tables as t
from ledger.storage.repository import _posted, _posting

__all__ = [
    "BalanceTotal",
    "EntryFilter",
    "JournalPosition",
    "PledgeRow",
    "ReceiptRow",
    "balance_totals",
    "beneficiaries_of",
    "donors_matching",
    "entries_by_ids",
    "entries_page",
    "latest_of_fund",
    "pledges_page",
    "receipts_page",
    "ref_balances",
    "reversals_of",
]

JournalPosition = tuple[str, int]
"""(occurred_on, sequence) of the last row seen, newest first."""


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """What a list of journal entries selects; every given field must match."""

    kinds: tuple[str, ...]
    fund: str | None = None
    project: str | None = None
    party: str | None = None
    cohort: str | None = None
    ref: str | None = None
    account: str | None = None
    currency: str | None = None
    method: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _data_field(conn: Connection, name: str) -> ColumnElement[Any]:
    e = t.journal_entries.c
    if conn.dialect.name == "postgresql":
        field: ColumnElement[Any] = cast(e.data, JSONB)[name].astext
        return field
    return func.json_extract(e.data, f"$.{name}")


def _with_postings(conn: Connection, rows: Sequence[Any]) -> list[PostedEntry]:
    if not rows:
        return []
    p = t.postings.c
    lines: dict[int, list[Posting]] = {int(r.sequence): [] for r in rows}
    query = select(t.postings).where(p.sequence.in_(list(lines))).order_by(p.sequence, p.line)
    for row in conn.execute(query):
        lines[int(row.sequence)].append(_posting(row))
    return [_posted(r, tuple(lines[int(r.sequence)])) for r in rows]


def entries_page(
    conn: Connection,
    where: EntryFilter,
    *,
    after: JournalPosition | None,
    limit: int,
    newest_first: bool = True,
) -> list[PostedEntry]:
    """Entries of `where.kinds` by date then sequence (newest first unless told), after `after`.

    `party` and `cohort` select entries with a posting for that party or for a beneficiary of
    that cohort; `account` one with a posting on that account or its sub-accounts ("1002" is
    every cash account); `currency` one with a posting in it; `method` a gift's method.
    """
    e, p = t.journal_entries.c, t.postings.c
    # `kind || ''`: the kind is checked on each entry met while walking the date index
    # (newest first, stopping at a page), never by sorting every entry of a kind.
    query = select(t.journal_entries).where(e.kind.concat("").in_(where.kinds))
    if after is not None:
        day, seq = after
        if newest_first:
            query = query.where(
                or_(e.occurred_on < day, and_(e.occurred_on == day, e.sequence < seq))
            )
        else:
            query = query.where(
                or_(e.occurred_on > day, and_(e.occurred_on == day, e.sequence > seq))
            )
    if where.date_from:
        query = query.where(e.occurred_on >= where.date_from.isoformat())
    if where.date_to:
        query = query.where(e.occurred_on <= where.date_to.isoformat())
    if where.fund:  # common: checked per entry by the postings' primary key
        query = query.where(exists().where(p.sequence == e.sequence, p.fund == where.fund))
    if where.project:  # selective: read from the project's index
        query = query.where(e.sequence.in_(select(p.sequence).where(p.project == where.project)))
    if where.party:
        query = query.where(e.sequence.in_(select(p.sequence).where(p.party == where.party)))
    if where.cohort:
        cohort = select(t.beneficiaries.c.id).where(t.beneficiaries.c.cohort == where.cohort)
        query = query.where(e.sequence.in_(select(p.sequence).where(p.party.in_(cohort))))
    if where.ref:
        query = query.where(
            exists().where(p.sequence == e.sequence, p.ref == where.ref, p.ref != "")
        )
    if where.account:
        on_account = or_(
            p.account == where.account,
            p.account.like(_escape_like(where.account) + "-%", escape="\\"),
        )
        in_fund = [p.fund == where.fund] if where.fund else []
        query = query.where(exists().where(p.sequence == e.sequence, on_account, *in_fund))
    if where.currency:
        query = query.where(exists().where(p.sequence == e.sequence, p.currency == where.currency))
    if where.method:
        query = query.where(_data_field(conn, "method") == where.method)
    if newest_first:
        query = query.order_by(e.occurred_on.desc(), e.sequence.desc())
    else:
        query = query.order_by(e.occurred_on, e.sequence)
    query = query.limit(limit)
    return _with_postings(conn, list(conn.execute(query)))


def reversals_of(conn: Connection, entry_ids: Sequence[str]) -> dict[str, str]:
    """{original entry id: its reversal's id} for those of `entry_ids` that were reversed."""
    if not entry_ids:
        return {}
    e = t.journal_entries.c
    query = select(e.reverses, e.id).where(e.reverses.in_(list(entry_ids)))
    return {r.reverses: r.id for r in conn.execute(query)}


def ref_balances(
    conn: Connection, account: str, keys: Sequence[tuple[str, str, str]]
) -> dict[str, int]:
    """{ref: balance} of `account` for each (fund, currency, ref), in that currency.

    One primary-key row of `balances` each (a sub-ledger line carries no project).
    """
    if not keys:
        return {}
    b = t.balances.c
    query = select(b.ref, b.amount).where(
        b.account == account,
        b.project == "",
        tuple_(b.fund, b.currency, b.ref).in_(list(keys)),
    )
    found = {ref: 0 for _, _, ref in keys}
    for row in conn.execute(query):
        found[row.ref] = int(row.amount)
    return found


# -- pledges -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PledgeRow:
    id: str
    donor_id: str
    fund: str
    amount_minor: int
    currency: str
    pledged_on: str
    due_on: str | None
    conditional: bool
    entry_id: str | None
    outstanding_minor: int
    created_at: str


PledgePosition = tuple[int, str, str]
"""(settled: 0 or 1, created_at, id) of the last pledge seen."""


def pledges_page(
    conn: Connection,
    *,
    fund: str | None,
    donor_id: str | None,
    after: PledgePosition | None,
    limit: int,
) -> list[PledgeRow]:
    """Pledges, those with something outstanding first, then newest first.

    Outstanding is the balance of pledges receivable (1122) for the pledge: what the pledge
    posted less every payment, reversals included, read from `balances` (one primary-key row
    per pledge, kept with every posting and held equal to the postings by `verify`); summing
    the postings instead costs a scan of the fund's receivables per pledge.
    """
    pl, b, e = t.pledges.c, t.balances.c, t.journal_entries.c
    balance = func.coalesce(
        select(b.amount)
        .where(
            b.account == "1122",
            b.fund == pl.fund,
            b.currency == pl.currency,
            b.project == "",
            b.ref == pl.id,
        )
        .scalar_subquery(),
        0,
    )
    pledged_on = select(e.occurred_on).where(e.id == pl.entry_id).scalar_subquery()
    inner = select(
        t.pledges,
        balance.label("outstanding"),
        func.coalesce(pledged_on, func.substr(pl.created_at, 1, 10)).label("pledged_on"),
    )
    if fund:
        inner = inner.where(pl.fund == fund)
    if donor_id:
        inner = inner.where(pl.donor_id == donor_id)
    sub = inner.subquery()
    settled = case((sub.c.outstanding > 0, 0), else_=1)
    query = select(sub, settled.label("settled"))
    if after is not None:
        bucket, created, pid = after
        query = query.where(
            or_(
                settled > bucket,
                and_(
                    settled == bucket,
                    or_(
                        sub.c.created_at < created,
                        and_(sub.c.created_at == created, sub.c.id < pid),
                    ),
                ),
            )
        )
    query = query.order_by(settled, sub.c.created_at.desc(), sub.c.id.desc()).limit(limit)
    return [
        PledgeRow(
            r.id,
            r.donor_id,
            r.fund,
            int(r.amount_minor),
            r.currency,
            r.pledged_on,
            r.due_on,
            bool(r.conditional),
            r.entry_id,
            int(r.outstanding),
            r.created_at,
        )
        for r in conn.execute(query)
    ]


# -- receipts ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReceiptRow:
    serial: str
    kind: str
    donor_id: str
    entry_id: str | None
    issued_at: str
    replaces_serial: str | None
    void_reason: str | None
    voided_at: str | None
    replacement_serial: str | None


def receipts_page(
    conn: Connection,
    *,
    prefix: str | None,
    donor_id: str | None,
    date_from: dt.date | None,
    date_to: dt.date | None,
    status: str | None,
    entry_id: str | None = None,
    after: tuple[str, str] | None,
    limit: int,
    newest_first: bool = True,
) -> list[ReceiptRow]:
    """Receipts by issue time then serial (newest first unless told), with their void if any."""
    r, v = t.receipts.c, t.receipt_voids.c
    query = select(
        r.serial,
        r.kind,
        r.donor_id,
        r.entry_id,
        r.issued_at,
        r.replaces_serial,
        v.reason,
        v.voided_at,
        v.replacement_serial,
    ).select_from(t.receipts.outerjoin(t.receipt_voids, v.serial == r.serial))
    if prefix:
        query = query.where(r.serial.like(_escape_like(prefix) + "%", escape="\\"))
    if donor_id:
        query = query.where(r.donor_id == donor_id)
    if entry_id:
        query = query.where(r.entry_id == entry_id)
    if date_from:
        query = query.where(r.issued_at >= date_from.isoformat())
    if date_to:
        query = query.where(r.issued_at < (date_to + dt.timedelta(days=1)).isoformat())
    if status == "void":
        query = query.where(v.serial.is_not(None))
    elif status == "live":
        query = query.where(v.serial.is_(None))
    if after is not None:
        at, serial = after
        if newest_first:
            query = query.where(or_(r.issued_at < at, and_(r.issued_at == at, r.serial < serial)))
        else:
            query = query.where(or_(r.issued_at > at, and_(r.issued_at == at, r.serial > serial)))
    if newest_first:
        query = query.order_by(r.issued_at.desc(), r.serial.desc())
    else:
        query = query.order_by(r.issued_at, r.serial)
    query = query.limit(limit)
    return [
        ReceiptRow(
            row.serial,
            row.kind,
            row.donor_id,
            row.entry_id,
            row.issued_at,
            row.replaces_serial,
            row.reason,
            row.voided_at,
            row.replacement_serial,
        )
        for row in conn.execute(query)
    ]


# -- donors ------------------------------------------------------------------------------------
def donors_matching(
    conn: Connection, fragment: str, *, after: tuple[str, str] | None, limit: int
) -> list[Donor]:
    """Donors whose name contains `fragment` (case-insensitive), by name then id."""
    d = t.donors.c
    pattern = "%" + _escape_like(fragment.lower()) + "%"
    query = select(t.donors).where(func.lower(d.name).like(pattern, escape="\\"))
    if after is not None:
        name, did = after
        query = query.where(or_(d.name > name, and_(d.name == name, d.id > did)))
    rows = conn.execute(query.order_by(d.name, d.id).limit(limit))
    return [
        Donor(r.id, DonorKind(r.kind), r.name, r.language, bool(r.anonymous), r.region)
        for r in rows
    ]


def entries_by_ids(conn: Connection, entry_ids: Sequence[str]) -> list[PostedEntry]:
    """The entries of `entry_ids` (those that exist), with their postings."""
    if not entry_ids:
        return []
    e = t.journal_entries.c
    rows = conn.execute(select(t.journal_entries).where(e.id.in_(sorted(set(entry_ids)))))
    return _with_postings(conn, list(rows))


def beneficiaries_of(conn: Connection, pseudonyms: Sequence[str]) -> dict[str, tuple[str, str]]:
    """{pseudonym: (cohort, county)}: what the books know of a beneficiary, nothing personal."""
    if not pseudonyms:
        return {}
    b = t.beneficiaries.c
    query = select(b.id, b.cohort, b.county).where(b.id.in_(sorted(set(pseudonyms))))
    return {r.id: (r.cohort, r.county) for r in conn.execute(query)}


# -- a fund's dashboard ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BalanceTotal:
    """The sum of a fund's balance rows of one account, currency and project (all refs)."""

    account: str
    currency: str
    project: str
    amount: int
    functional: int


def balance_totals(
    conn: Connection, fund: str, *, account: str | None = None, by_project: bool = False
) -> list[BalanceTotal]:
    """A fund's balances summed in SQL per account and currency (and project if asked).

    One grouped read of `balances` (by `ix_balances_fund`, or the primary key with `account`):
    a fund with a receivable row per pledge or per beneficiary costs one statement, not a row
    per record in Python.
    """
    b = t.balances.c
    project = b.project if by_project else literal("")
    keys = [b.account, b.currency] + ([b.project] if by_project else [])
    query = select(
        b.account,
        b.currency,
        project.label("project"),
        func.sum(b.amount).label("amount"),
        func.sum(b.functional).label("functional"),
    ).where(b.fund == fund)
    if account is not None:
        query = query.where(b.account == account)
    query = query.group_by(*keys)
    return [
        BalanceTotal(r.account, r.currency, r.project or "", int(r.amount), int(r.functional))
        for r in conn.execute(query)
    ]


#: How many of the newest entries `latest_of_fund` looks through before asking the fund index.
LATEST_WINDOW = 20_000


def latest_of_fund(conn: Connection, fund: str, limit: int = 10) -> list[PostedEntry]:
    """The newest `limit` entries with a posting in `fund`, newest first.

    The journal is walked backwards by sequence, each entry checked by the postings' primary
    key, over the last `LATEST_WINDOW` entries (an active fund finds its entries at once); a
    fund quiet for that long is then read through the fund index instead. Either way the cost
    does not grow with the size of the journal.
    """
    e, p = t.journal_entries.c, t.postings.c
    head = conn.execute(select(func.max(e.sequence))).scalar() or 0
    touches = select(p.sequence).where(p.sequence == e.sequence, p.fund == fund).exists()
    recent = (
        select(t.journal_entries)
        .where(e.sequence > head - LATEST_WINDOW, touches)
        .order_by(e.sequence.desc())
        .limit(limit)
    )
    rows = list(conn.execute(recent))
    if len(rows) < limit and head > LATEST_WINDOW:
        sequences = (
            select(p.sequence)
            .where(p.fund == fund)
            .group_by(p.sequence)
            .order_by(p.sequence.desc())
            .limit(limit)
            .scalar_subquery()
        )
        older = select(t.journal_entries).where(e.sequence.in_(sequences))
        rows = sorted(conn.execute(older), key=lambda r: -int(r.sequence))
    return _with_postings(conn, rows)
