"""Read use cases: the lists people browse, with filters, a fixed order and cursor paging.

Invariants owned here:
- One function per list, shared by every door (the API, the console): a page is `Page(items,
  next_cursor)`; the cursor is opaque (base64url of JSON naming the list and the last row's
  position) and one list's cursor is refused by another (`InvalidEntry`, field `cursor`).
- Every figure is read from the postings of the journal: a gift's amount is its cash (or asset)
  line, a pledge's outstanding amount the balance of 1122 for it, an award's unpaid amount the
  balance of 2209 for it. Nothing is counted on the side.
- Beneficiaries appear as their pseudonym, cohort and county only.
- A row says whether its entry was reversed (`reversed_by`): corrections are visible, never
  silent.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ledger.entries import EntryKind, PostedEntry, Posting
from ledger.errors import InvalidEntry
from ledger.model import Donor
from ledger.storage import queries as sql
from ledger.storage.repository import SqlRepository
from ledger.trail import AuditEvent, EventFilter, list_events
from usecases.books import Books
from usecases.unit import read

__all__ = [
    "AwardRow",
    "DisbursementRow",
    "DonationRow",
    "InKindRow",
    "Page",
    "PayoutRow",
    "PledgeRow",
    "ReceiptRow",
    "audit_events",
    "awards",
    "disbursements",
    "donations",
    "donors_matching",
    "entries",
    "in_kind_donations",
    "payouts",
    "pledges",
    "receipts",
]

T = TypeVar("T")

GIFT_KINDS = (EntryKind.DONATION.value, EntryKind.PLEDGE_PAYMENT.value)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list and the cursor of the next (None on the last)."""

    items: list[T]
    next_cursor: str | None


# -- cursors -----------------------------------------------------------------------------------
def encode_cursor(kind: str, *position: str | int) -> str:
    text = json.dumps([kind, *position], ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None, shape: tuple[type, ...]) -> tuple[Any, ...] | None:
    """The position a cursor of list `kind` points after, or None for the first page.

    Raises:
        InvalidEntry: (field `cursor`) for anything this list did not hand out.
    """
    if cursor is None or cursor == "":
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        value = None
    if (
        not isinstance(value, list)
        or len(value) != len(shape) + 1
        or value[0] != kind
        or not all(type(v) is s for v, s in zip(value[1:], shape, strict=True))
    ):
        raise InvalidEntry("not a cursor of this list", field="cursor")
    return tuple(value[1:])


def _paged(
    kind: str,
    rows: Sequence[T],
    limit: int,
    position: Callable[[T], tuple[str | int, ...]],
) -> tuple[list[T], str | None]:
    page = list(rows[:limit])
    more = len(rows) > limit
    return page, encode_cursor(kind, *position(page[-1])) if more and page else None


def _journal_after(kind: str, cursor: str | None) -> sql.JournalPosition | None:
    value = decode_cursor(kind, cursor, (str, int))
    return None if value is None else (value[0], value[1])


def _entry_position(entry: PostedEntry) -> tuple[str, int]:
    return entry.occurred_on.isoformat(), entry.sequence


# -- rows --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DonationRow:
    id: str
    sequence: int
    kind: str
    donor_id: str
    fund: str
    amount_minor: int
    currency: str
    cny_minor: int
    received_on: dt.date
    method: str
    pledge_id: str | None
    memo: str
    reversed_by: str | None


@dataclass(frozen=True, slots=True)
class InKindRow:
    id: str
    sequence: int
    donor_id: str
    fund: str
    description: str
    quantity: str
    fair_value_minor: int
    currency: str
    asset: str
    valuation_basis: str
    received_on: dt.date
    pass_through_to: str | None
    reversed_by: str | None


@dataclass(frozen=True, slots=True)
class DisbursementRow:
    id: str
    sequence: int
    fund: str
    project: str
    amount_minor: int
    currency: str
    cny_minor: int
    paid_on: dt.date
    functional_class: str
    memo: str
    reversed_by: str | None


@dataclass(frozen=True, slots=True)
class AwardRow:
    id: str
    entry_id: str
    sequence: int
    fund: str
    beneficiary_id: str
    cohort: str
    county: str
    term: str
    project: str
    amount_minor: int
    paid_minor: int
    unpaid_minor: int
    currency: str
    awarded_on: dt.date
    reversed_by: str | None


@dataclass(frozen=True, slots=True)
class PayoutRow:
    id: str
    sequence: int
    award_id: str
    fund: str
    beneficiary_id: str
    cohort: str
    term: str
    amount_minor: int
    currency: str
    paid_on: dt.date
    reversed_by: str | None


@dataclass(frozen=True, slots=True)
class PledgeRow:
    id: str
    donor_id: str
    fund: str
    amount_minor: int
    paid_minor: int
    outstanding_minor: int
    currency: str
    pledged_on: str
    due_on: str | None
    conditional: bool
    entry_id: str | None
    reversed_by: str | None


@dataclass(frozen=True, slots=True)
class ReceiptRow:
    serial: str
    kind: str
    donor_id: str
    entry_id: str | None
    issued_at: str
    status: str
    replaces_serial: str | None
    replaced_by: str | None
    void_reason: str | None
    amount_minor: int | None
    currency: str | None


def _line(entry: PostedEntry, test: Callable[[Posting], bool]) -> Posting:
    for posting in entry.postings:
        if test(posting):
            return posting
    raise AssertionError(f"entry {entry.id} has no line of its kind")  # the ledger's own shape


def _donation(e: PostedEntry, reversed_by: str | None) -> DonationRow:
    cash = _line(e, lambda p: p.account.startswith("1002-") and p.amount > 0)
    return DonationRow(
        e.id,
        e.sequence,
        e.kind.value,
        str(e.data.get("donor_id", "")),
        cash.fund,
        cash.amount,
        cash.currency,
        cash.functional,
        e.occurred_on,
        str(e.data.get("method", "")),
        e.data.get("pledge_id"),
        e.memo,
        reversed_by,
    )


_ASSETS = {"1201": "inventory", "1501": "equipment", "1701": "pass_through"}


def _in_kind(e: PostedEntry, reversed_by: str | None) -> InKindRow:
    goods = _line(e, lambda p: p.amount > 0)
    return InKindRow(
        e.id,
        e.sequence,
        str(e.data.get("donor_id", "")),
        goods.fund,
        str(e.data.get("description", "")),
        str(e.data.get("quantity", "")),
        goods.amount,
        goods.currency,
        _ASSETS.get(goods.account, goods.account),
        str(e.data.get("valuation_basis", "")),
        e.occurred_on,
        e.data.get("pass_through_to"),
        reversed_by,
    )


def _disbursement(e: PostedEntry, reversed_by: str | None) -> DisbursementRow:
    cost = _line(e, lambda p: p.project != "" and p.amount > 0)
    return DisbursementRow(
        e.id,
        e.sequence,
        cost.fund,
        cost.project,
        cost.amount,
        cost.currency,
        cost.functional,
        e.occurred_on,
        cost.functional_class,
        e.memo,
        reversed_by,
    )


# -- the lists ---------------------------------------------------------------------------------
def _entry_list(
    books: Books,
    kind: str,
    where: sql.EntryFilter,
    cursor: str | None,
    limit: int,
    build: Callable[[SqlRepository, list[PostedEntry], dict[str, str]], list[T]],
) -> Page[T]:
    after = _journal_after(kind, cursor)

    def work(repo: SqlRepository) -> Page[T]:
        found = sql.entries_page(repo.conn, where, after=after, limit=limit + 1)
        page, next_cursor = _paged(kind, found, limit, _entry_position)
        reversed_by = sql.reversals_of(repo.conn, [e.id for e in page])
        return Page(build(repo, page, reversed_by), next_cursor)

    return read(books, work)


def donations(
    books: Books,
    *,
    fund: str | None = None,
    donor_id: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    currency: str | None = None,
    method: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[DonationRow]:
    """Cash and bank gifts (pledge payments too), newest first.

    Raises:
        InvalidEntry: for a cursor of another list.
    """
    where = sql.EntryFilter(
        GIFT_KINDS,
        fund=fund,
        party=donor_id,
        currency=currency,
        method=method,
        date_from=date_from,
        date_to=date_to,
    )
    return _entry_list(
        books,
        "donations",
        where,
        cursor,
        limit,
        lambda _, page, rev: [_donation(e, rev.get(e.id)) for e in page],
    )


def in_kind_donations(
    books: Books,
    *,
    fund: str | None = None,
    donor_id: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[InKindRow]:
    """Goods received, newest first. Raises: InvalidEntry (cursor)."""
    where = sql.EntryFilter(
        (EntryKind.IN_KIND.value,),
        fund=fund,
        party=donor_id,
        date_from=date_from,
        date_to=date_to,
    )
    return _entry_list(
        books,
        "in-kind",
        where,
        cursor,
        limit,
        lambda _, page, rev: [_in_kind(e, rev.get(e.id)) for e in page],
    )


def disbursements(
    books: Books,
    *,
    fund: str | None = None,
    project: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[DisbursementRow]:
    """Payments to projects, newest first. Raises: InvalidEntry (cursor)."""
    where = sql.EntryFilter(
        (EntryKind.DISBURSEMENT.value,),
        fund=fund,
        project=project,
        date_from=date_from,
        date_to=date_to,
    )
    return _entry_list(
        books,
        "disbursements",
        where,
        cursor,
        limit,
        lambda _, page, rev: [_disbursement(e, rev.get(e.id)) for e in page],
    )


def awards(
    books: Books,
    *,
    fund: str | None = None,
    cohort: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[AwardRow]:
    """Scholarship awards, newest first, with what was paid and what is unpaid (2209).

    Raises:
        InvalidEntry: for a cursor of another list.
    """
    where = sql.EntryFilter(
        (EntryKind.AWARD.value,), fund=fund, cohort=cohort, date_from=date_from, date_to=date_to
    )
    return _entry_list(books, "awards", where, cursor, limit, _awards)


def _awards(repo: SqlRepository, page: list[PostedEntry], rev: dict[str, str]) -> list[AwardRow]:
    lines = [_line(e, lambda p: p.account == "2209") for e in page]
    moves = sql.ref_postings(repo.conn, "2209", [(p.fund, p.ref) for p in lines])
    people = sql.beneficiaries_of(repo.conn, [p.party for p in lines])
    rows = []
    for entry, payable in zip(page, lines, strict=True):
        own = {entry.id, rev.get(entry.id)}
        history = moves[payable.ref]
        paid = sum(amount for entry_id, amount in history if entry_id not in own)
        cost = _line(entry, lambda p: p.account == "5101")
        cohort, county = people.get(payable.party, ("", ""))
        rows.append(
            AwardRow(
                payable.ref,
                entry.id,
                entry.sequence,
                payable.fund,
                payable.party,
                cohort,
                county,
                str(entry.data.get("term", "")),
                cost.project,
                -payable.amount,
                paid,
                -sum(amount for _, amount in history),
                payable.currency,
                entry.occurred_on,
                rev.get(entry.id),
            )
        )
    return rows


def payouts(
    books: Books,
    *,
    fund: str | None = None,
    cohort: str | None = None,
    award_id: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[PayoutRow]:
    """Scholarship payouts, newest first. Raises: InvalidEntry (cursor)."""
    where = sql.EntryFilter(
        (EntryKind.PAYOUT.value,),
        fund=fund,
        cohort=cohort,
        ref=award_id,
        date_from=date_from,
        date_to=date_to,
    )
    return _entry_list(books, "payouts", where, cursor, limit, _payouts)


def _payouts(repo: SqlRepository, page: list[PostedEntry], rev: dict[str, str]) -> list[PayoutRow]:
    lines = [_line(e, lambda p: p.account == "2209") for e in page]
    people = sql.beneficiaries_of(repo.conn, [p.party for p in lines])
    return [
        PayoutRow(
            entry.id,
            entry.sequence,
            line.ref,
            line.fund,
            line.party,
            people.get(line.party, ("", ""))[0],
            str(entry.data.get("term", "")),
            line.amount,
            line.currency,
            entry.occurred_on,
            rev.get(entry.id),
        )
        for entry, line in zip(page, lines, strict=True)
    ]


def pledges(
    books: Books,
    *,
    fund: str | None = None,
    donor_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[PledgeRow]:
    """Pledges, those with something outstanding first, each with paid and outstanding.

    Outstanding is the balance of 1122 for the pledge; paid, its payments less their
    reversals. A conditional pledge (a memo record) has neither.

    Raises:
        InvalidEntry: for a cursor of another list.
    """
    value = decode_cursor("pledges", cursor, (int, str, str))
    after = None if value is None else (value[0], value[1], value[2])

    def work(repo: SqlRepository) -> Page[PledgeRow]:
        found = sql.pledges_page(
            repo.conn, fund=fund, donor_id=donor_id, after=after, limit=limit + 1
        )
        page, next_cursor = _paged(
            "pledges",
            found,
            limit,
            lambda r: (0 if r.outstanding_minor > 0 else 1, r.created_at, r.id),
        )
        rev = sql.reversals_of(repo.conn, [r.entry_id for r in page if r.entry_id])
        moves = sql.ref_postings(repo.conn, "1122", [(r.fund, r.id) for r in page])
        items = []
        for r in page:
            own = {r.entry_id, rev.get(r.entry_id or "")}
            paid = -sum(a for entry_id, a in moves[r.id] if entry_id not in own)
            items.append(
                PledgeRow(
                    r.id,
                    r.donor_id,
                    r.fund,
                    r.amount_minor,
                    paid,
                    r.outstanding_minor,
                    r.currency,
                    r.pledged_on,
                    r.due_on,
                    r.conditional,
                    r.entry_id,
                    rev.get(r.entry_id or ""),
                )
            )
        return Page(items, next_cursor)

    return read(books, work)


def receipts(
    books: Books,
    *,
    prefix: str | None = None,
    donor_id: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[ReceiptRow]:
    """Receipts, newest issued first; `status` is `live` or `void`; amounts from the entry.

    Raises:
        InvalidEntry: for a cursor of another list or an unknown status.
    """
    if status not in (None, "live", "void"):
        raise InvalidEntry("status is live or void", field="status")
    value = decode_cursor("receipts", cursor, (str, str))
    after = None if value is None else (value[0], value[1])

    def work(repo: SqlRepository) -> Page[ReceiptRow]:
        found = sql.receipts_page(
            repo.conn,
            prefix=prefix,
            donor_id=donor_id,
            date_from=date_from,
            date_to=date_to,
            status=status,
            after=after,
            limit=limit + 1,
        )
        page, next_cursor = _paged("receipts", found, limit, lambda r: (r.issued_at, r.serial))
        gifts = {
            e.id: e for e in sql.entries_by_ids(repo.conn, [r.entry_id for r in page if r.entry_id])
        }
        return Page([_receipt(r, gifts.get(r.entry_id or "")) for r in page], next_cursor)

    return read(books, work)


def _receipt(r: sql.ReceiptRow, entry: PostedEntry | None) -> ReceiptRow:
    amount: int | None = None
    currency: str | None = None
    if entry is not None:
        line = _line(entry, lambda p: p.amount > 0)
        amount, currency = line.amount, line.currency
    return ReceiptRow(
        r.serial,
        r.kind,
        r.donor_id,
        r.entry_id,
        r.issued_at,
        "void" if r.voided_at else "live",
        r.replaces_serial,
        r.replacement_serial,
        r.void_reason,
        amount,
        currency,
    )


def donors_matching(
    books: Books, q: str, *, cursor: str | None = None, limit: int = 50
) -> Page[Donor]:
    """Donors whose name contains `q` (case-insensitive), by name. Raises: InvalidEntry."""
    if not q.strip():
        raise InvalidEntry("search for at least one character", field="q")
    value = decode_cursor("donor-search", cursor, (str, str))
    after = None if value is None else (value[0], value[1])

    def work(repo: SqlRepository) -> Page[Donor]:
        found = sql.donors_matching(repo.conn, q.strip(), after=after, limit=limit + 1)
        page, next_cursor = _paged("donor-search", found, limit, lambda d: (d.name, d.id))
        return Page(page, next_cursor)

    return read(books, work)


def entries(
    books: Books,
    *,
    kind: str | None = None,
    fund: str | None = None,
    project: str | None = None,
    party: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[PostedEntry]:
    """The journal, newest first, for the console's browsing. Raises: InvalidEntry (cursor)."""
    kinds = (kind,) if kind else tuple(k.value for k in EntryKind)
    where = sql.EntryFilter(
        kinds, fund=fund, project=project, party=party, date_from=date_from, date_to=date_to
    )
    return _entry_list(books, "journal", where, cursor, limit, lambda _, page, __: page)


def audit_events(
    books: Books,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[AuditEvent]:
    """Audit events in sequence order (the trail's own order). Raises: InvalidEntry (cursor)."""
    value = decode_cursor("audit-events", cursor, (int,))
    filters = EventFilter(actor=actor, action=action, since=since, until=until)

    def work(repo: SqlRepository) -> Page[AuditEvent]:
        found = list_events(
            repo.conn, filters, after=None if value is None else value[0], limit=limit + 1
        )
        page, next_cursor = _paged("audit-events", found, limit, lambda e: (e.sequence,))
        return Page(page, next_cursor)

    return read(books, work)
