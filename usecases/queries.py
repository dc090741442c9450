"""Read use cases: the lists people browse, with filters, a fixed order and cursor paging.

Invariants owned here:
- One function per list, shared by every door (the API, the console): a page is `Page(items,
  next_cursor)`; the cursor is opaque (base64url of JSON naming the list and the last row's
  position) and one list's cursor is refused by another (`InvalidEntry`, field `cursor`).
- Every figure is the journal's: a gift's amount is its cash (or asset) line; a pledge's
  outstanding amount is the balance of 1122 for it and an award's unpaid amount the balance of
  2209 for it, read from the books' `balances` rows (kept with every posting, in the same
  transaction, and held equal to the postings by `huiquan verify`). Nothing is counted on the
  side.
- Beneficiaries appear as their pseudonym, cohort and county only.
- A row says whether its entry was reversed (`reversed_by`): corrections are visible, never
  silent.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Generic, TypeVar

from audits import statements as audit_statements
from audits.bundle import period_params, write_bundle
from audits.exports import (
    ExportFilter,
    ExportMeta,
    csv_chunks,
    export_meta,
    jsonl_chunks,
    write_xlsx,
)
from audits.report import render_pack_pdf
from audits.statements import KINDS, Fold, Params, Statement, payee_text, statements_from_db
from ledger import balances, trail
from ledger.accounts import GRANTS_PAYABLE
from ledger.balances import TrialBalance
from ledger.entries import EntryKind, PostedEntry, Posting
from ledger.errors import InvalidEntry, NotFound, UnknownFund
from ledger.model import Beneficiary, Donor
from ledger.storage import queries as sql
from ledger.storage.evidence_store import evidence_status
from ledger.storage.repository import SqlRepository
from ledger.tlog.keys import trusted_vkeys
from ledger.tlog.proofs import StoredCheckpoint, list_checkpoints
from ledger.trail import AuditEvent, EventFilter, list_events
from usecases.books import Books
from usecases.unit import read

__all__ = [
    "EXPORT_FORMATS",
    "STATEMENT_KINDS",
    "AwardRow",
    "DisbursementRow",
    "DonationRow",
    "Download",
    "EntryFile",
    "InKindRow",
    "JournalRow",
    "Page",
    "PayoutRow",
    "PledgeRow",
    "ReceiptRow",
    "StatementView",
    "audit_bundle",
    "audit_events",
    "awards",
    "beneficiaries",
    "checkpoints",
    "disbursements",
    "donations",
    "donors_matching",
    "drill_down",
    "entries",
    "entry_file",
    "in_kind_donations",
    "journal_export",
    "payouts",
    "pledges",
    "receipts",
    "statement",
    "statement_csv",
    "statement_pdf",
    "trial_balance",
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
    acknowledged_on: str | None = None  # the recipient's signed acknowledgment, if on file
    documents: int = 0  # evidence standing on the entry (not superseded)
    #: Who was paid, as the register shows it (an organisation and its code, or a pseudonym).
    payee: str = ""
    bank_reference: str = ""


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
    acknowledged_on: str | None = None  # the recipient's signed acknowledgment, if on file
    documents: int = 0  # evidence standing on the entry (not superseded)


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
        payee=payee_text(e.data.get("payee")),
        bank_reference=str(e.data.get("bank_reference", "")),
    )


# -- the lists ---------------------------------------------------------------------------------
ORDERS = ("newest", "oldest")


def _newest_first(order: str) -> bool:
    if order not in ORDERS:
        raise InvalidEntry("order is newest or oldest", field="order")
    return order == "newest"


def _entry_list(
    books: Books,
    kind: str,
    where: sql.EntryFilter,
    cursor: str | None,
    limit: int,
    build: Callable[[SqlRepository, list[PostedEntry], dict[str, str]], list[T]],
    order: str = "newest",
) -> Page[T]:
    newest = _newest_first(order)
    kind = kind if newest else f"{kind}-oldest"
    after = _journal_after(kind, cursor)

    def work(repo: SqlRepository) -> Page[T]:
        found = sql.entries_page(
            repo.conn, where, after=after, limit=limit + 1, newest_first=newest
        )
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
    order: str = "newest",
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
        order=order,
    )


def in_kind_donations(
    books: Books,
    *,
    fund: str | None = None,
    donor_id: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    order: str = "newest",
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
        order=order,
    )


def disbursements(
    books: Books,
    *,
    fund: str | None = None,
    project: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    order: str = "newest",
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
        lambda repo, page, rev: _with_evidence(
            repo, [_disbursement(e, rev.get(e.id)) for e in page]
        ),
        order=order,
    )


R = TypeVar("R", DisbursementRow, PayoutRow)


def _with_evidence(repo: SqlRepository, rows: list[R]) -> list[R]:
    """The rows with their acknowledgment date and count of standing documents."""
    status = evidence_status(repo.conn, [r.id for r in rows])
    return [
        dataclasses.replace(r, acknowledged_on=status[r.id][0], documents=status[r.id][1])
        for r in rows
    ]


def awards(
    books: Books,
    *,
    fund: str | None = None,
    cohort: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    order: str = "newest",
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
    return _entry_list(books, "awards", where, cursor, limit, _awards, order=order)


def _awards(repo: SqlRepository, page: list[PostedEntry], rev: dict[str, str]) -> list[AwardRow]:
    lines = [_line(e, lambda p: p.account == GRANTS_PAYABLE) for e in page]
    unpaid = sql.ref_balances(
        repo.conn, GRANTS_PAYABLE, [(p.fund, p.currency, p.ref) for p in lines]
    )
    people = sql.beneficiaries_of(repo.conn, [p.party for p in lines])
    rows = []
    for entry, payable in zip(page, lines, strict=True):
        owed = -unpaid[payable.ref]
        awarded = 0 if entry.id in rev else -payable.amount  # a reversed award owes nothing
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
                awarded - owed,
                owed,
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
    order: str = "newest",
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
    return _entry_list(
        books,
        "payouts",
        where,
        cursor,
        limit,
        lambda repo, page, rev: _with_evidence(repo, _payouts(repo, page, rev)),
        order=order,
    )


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

    Outstanding is the balance of 1122 for the pledge (the books' balance row, which verify
    holds equal to the postings); paid is what the pledge posted less that balance, so
    payments count net of their reversals. A conditional pledge (a memo record) has neither.

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
        items = []
        for r in page:
            reversed_by = rev.get(r.entry_id or "")
            # What the pledge put on 1122 (nothing if conditional or reversed), less the balance.
            posted = 0 if r.conditional or reversed_by else r.amount_minor
            items.append(
                PledgeRow(
                    r.id,
                    r.donor_id,
                    r.fund,
                    r.amount_minor,
                    posted - r.outstanding_minor,
                    r.outstanding_minor,
                    r.currency,
                    r.pledged_on,
                    r.due_on,
                    r.conditional,
                    r.entry_id,
                    reversed_by,
                )
            )
        return Page(items, next_cursor)

    return read(books, work)


def receipts(
    books: Books,
    *,
    prefix: str | None = None,
    donor_id: str | None = None,
    entry_id: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    status: str | None = None,
    order: str = "newest",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[ReceiptRow]:
    """Receipts by issue time (newest first unless told); `status` is `live` or `void`.

    A receipt's amount is its gift's line in the journal (none for an annual receipt).

    Raises:
        InvalidEntry: for a cursor of another list, an unknown status or order.
    """
    if status not in (None, "live", "void"):
        raise InvalidEntry("status is live or void", field="status")
    newest = _newest_first(order)
    kind = "receipts" if newest else "receipts-oldest"
    value = decode_cursor(kind, cursor, (str, str))
    after = None if value is None else (value[0], value[1])

    def work(repo: SqlRepository) -> Page[ReceiptRow]:
        found = sql.receipts_page(
            repo.conn,
            prefix=prefix,
            donor_id=donor_id,
            entry_id=entry_id,
            date_from=date_from,
            date_to=date_to,
            status=status,
            after=after,
            limit=limit + 1,
            newest_first=newest,
        )
        page, next_cursor = _paged(kind, found, limit, lambda r: (r.issued_at, r.serial))
        ids = [r.entry_id for r in page if r.entry_id]
        gifts = {e.id: e for e in sql.entries_by_ids(repo.conn, ids)}
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
    """Donors whose name contains `q` (any case), by name; every donor for a blank `q`.

    Raises:
        InvalidEntry: for a cursor of another list.
    """
    value = decode_cursor("donor-search", cursor, (str, str))
    after = None if value is None else (value[0], value[1])

    def work(repo: SqlRepository) -> Page[Donor]:
        found = sql.donors_matching(repo.conn, q.strip(), after=after, limit=limit + 1)
        page, next_cursor = _paged("donor-search", found, limit, lambda d: (d.name, d.id))
        return Page(page, next_cursor)

    return read(books, work)


def beneficiaries(
    books: Books,
    *,
    cohort: str | None = None,
    county: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[Beneficiary]:
    """Beneficiaries by pseudonym (their cohort and county; nothing personal), of one cohort
    or county if asked.

    Raises:
        InvalidEntry: for a cursor of another list.
    """
    value = decode_cursor("beneficiaries", cursor, (str,))
    after = "" if value is None else value[0]

    def work(repo: SqlRepository) -> Page[Beneficiary]:
        # The repository lists every beneficiary (hundreds, not millions), by pseudonym.
        found = [
            b
            for b in repo.list_beneficiaries()
            if b.id > after
            and (not cohort or b.cohort == cohort)
            and (not county or b.county == county)
        ]
        page, next_cursor = _paged("beneficiaries", found[: limit + 1], limit, lambda b: (b.id,))
        return Page(page, next_cursor)

    return read(books, work)


@dataclass(frozen=True, slots=True)
class JournalRow:
    entry: PostedEntry
    reversed_by: str | None


def entries(
    books: Books,
    *,
    kind: str | None = None,
    fund: str | None = None,
    project: str | None = None,
    party: str | None = None,
    account: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    order: str = "newest",
    cursor: str | None = None,
    limit: int = 50,
) -> Page[JournalRow]:
    """The journal by date, filtered; `account` takes its sub-accounts too ("1002": all cash).

    Raises:
        InvalidEntry: for an unknown kind or order, or a cursor of another list.
    """
    if kind is not None and kind not in {k.value for k in EntryKind}:
        raise InvalidEntry("not a kind of entry", field="kind")
    kinds = (kind,) if kind else tuple(k.value for k in EntryKind)
    where = sql.EntryFilter(
        kinds,
        fund=fund,
        project=project,
        party=party,
        account=account,
        date_from=date_from,
        date_to=date_to,
    )
    return _entry_list(
        books,
        "journal",
        where,
        cursor,
        limit,
        lambda _, page, rev: [JournalRow(e, rev.get(e.id)) for e in page],
        order=order,
    )


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


# -- the auditors' reads: an entry's file, the trial balance, statements, exports, bundle ---------
@dataclass(frozen=True, slots=True)
class EntryFile:
    """An entry with what hangs on it: its reversal, its receipts, the audit events around it.

    The events are the maker's within seconds of the entry's recording (the event that recorded
    it, and any refused attempt just before); a reversal's own file shows the reversal's.
    """

    entry: PostedEntry
    reversed_by: str | None
    receipts: list[ReceiptRow]
    events: list[AuditEvent]


def entry_file(books: Books, entry_id: str) -> EntryFile | None:
    """One entry's file, or None for an unknown id."""

    def work(repo: SqlRepository) -> EntryFile | None:
        entry = repo.get_entry(entry_id)
        if entry is None:
            return None
        found = sql.receipts_page(
            repo.conn,
            prefix=None,
            donor_id=None,
            entry_id=entry.id,
            date_from=None,
            date_to=None,
            status=None,
            after=None,
            limit=50,
            newest_first=False,
        )
        events = trail.events_near(repo.conn, actor=entry.maker, at=entry.recorded_at)
        return EntryFile(
            entry,
            sql.reversals_of(repo.conn, [entry.id]).get(entry.id),
            [_receipt(r, entry) for r in found],
            events,
        )

    return read(books, work)


def trial_balance(
    books: Books, *, as_of: dt.date | None = None, fund: str | None = None
) -> TrialBalance:
    """Debit and credit per account in CNY as of a day (everything posted if None).

    Raises:
        UnknownFund: for a fund that does not exist.
    """

    def work(repo: SqlRepository) -> TrialBalance:
        if fund is not None and repo.get_fund(fund) is None:
            raise UnknownFund(f"no fund {fund!r}", field="fund")
        return balances.trial_balance(repo, as_of=as_of, fund=fund)

    return read(books, work)


@dataclass(frozen=True, slots=True)
class StatementView:
    """One statement, the fold it came from, and the journal size and checkpoint it names."""

    statement: Statement
    fold: Fold
    meta: ExportMeta

    @property
    def filename(self) -> str:
        p = self.statement.params
        return f"{self.statement.kind}-{p.fund or 'consolidated'}-{p.date_to.isoformat()}"


STATEMENT_KINDS = KINDS


def statement(
    books: Books,
    kind: str,
    *,
    fund: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    as_of: dt.date | None = None,
) -> StatementView:
    """One statement (`STATEMENT_KINDS`) for a fund or consolidated, up to the journal's size.

    Raises:
        NotFound: for an unknown kind; UnknownFund; InvalidEntry: `from` after `to`.
    """
    if kind not in KINDS:
        raise NotFound(f"no statement {kind!r}", field="kind")
    try:
        params = Params.make(fund=fund, date_from=date_from, date_to=date_to, as_of=as_of)
    except ValueError as bad:
        raise InvalidEntry(str(bad), field="from") from None

    def work(repo: SqlRepository) -> StatementView:
        if fund is not None and repo.get_fund(fund) is None:
            raise UnknownFund(f"no fund {fund!r}", field="fund")
        meta = export_meta(repo.conn)
        found, fold = statements_from_db(repo.conn, params, (kind,), upto=meta.journal_size)
        return StatementView(found[kind], fold, meta)

    return read(books, work)


def statement_csv(view: StatementView) -> str:
    """The statement as the API's CSV download (formula-safe)."""
    return audit_statements.statement_csv(view.statement)


def statement_pdf(view: StatementView) -> bytes:
    """The statement as a page of the PDF audit pack, naming its checkpoint."""
    checkpoint = view.meta.checkpoint.to_dict() if view.meta.checkpoint else None
    charts = view.statement.kind in ("activities", "disbursements")
    pack = {view.statement.kind: view.statement}
    return render_pack_pdf(pack, view.fold, checkpoint=checkpoint, charts=charts)


# Statement lines whose figure is the balance (or flow) of known accounts: the journal filter
# that shows the entries behind them.
_LINE_ACCOUNTS = {
    "cash": "1002",
    "receivables": "1122",
    "inventory": "1201",
    "fixed": "1501",
    "agency_assets": "1701",
    "interfund_in": "1901",
    "interfund_out": "1901",
    "advances": "2203",
    "grants_payable": "2209",
    "agency_liabilities": "2601",
    "unrestricted": "3101",
    "restricted": "3102",
    "donations": "4101",
    "program": "5101",
    "management": "5201",
    "fundraising": "5301",
}


def drill_down(view: StatementView, row: Mapping[str, Any]) -> dict[str, str] | None:
    """The journal filter (`entries` keywords, as text) behind one statement line, or None.

    Positions (trial balance, financial position) are the entries up to `as_of`; flows
    (activities, registers) the entries from `from` to `to`.
    """
    params, kind = view.statement.params, view.statement.kind
    scope = {"fund": params.fund} if params.fund else {}
    upto = {"date_to": params.as_of.isoformat()}
    flow = {"date_from": params.date_from.isoformat(), "date_to": params.date_to.isoformat()}
    if kind == "trial-balance" and row.get("account"):
        return {"account": str(row["account"]), **scope, **upto}
    line = str(row.get("line", ""))
    if kind == "financial-position" and line in _LINE_ACCOUNTS:
        return {"account": _LINE_ACCOUNTS[line], **scope, **upto}
    if kind == "activities" and line in _LINE_ACCOUNTS:
        return {"account": _LINE_ACCOUNTS[line], **scope, **flow}
    if kind == "disbursements" and row.get("group") == "project" and row.get("project"):
        return {"kind": "disbursement", "project": str(row["project"]), **scope, **flow}
    return None


@dataclass(frozen=True, slots=True)
class Download:
    """A file to send: its bytes as chunks, media type, name and the checkpoint it names."""

    chunks: Iterator[bytes]
    media_type: str
    filename: str
    meta: ExportMeta | None = None


EXPORT_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/jsonl; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def journal_export(
    books: Books,
    fmt: str,
    *,
    fund: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Download:
    """The auditor's journal export (one row per posting), as the API serves it.

    CSV and JSONL stream on a connection of their own, up to the journal size read first;
    XLSX is written to a spooled file first (openpyxl needs a seekable file).

    Raises:
        NotFound: for an unknown format.
    """
    if fmt not in EXPORT_FORMATS:
        raise NotFound(f"no export format {fmt!r}", field="format")
    filters = ExportFilter(None, date_from, date_to, fund, None)
    with books.engine.connect() as conn:
        meta = export_meta(conn)
    if fmt == "xlsx":
        spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)
        with books.engine.connect() as conn:
            write_xlsx(conn, spool, filters, meta=meta)
        spool.seek(0)
        return Download(_drain(spool), EXPORT_FORMATS[fmt], "journal.xlsx", meta)
    chunker = csv_chunks if fmt == "csv" else jsonl_chunks

    def body() -> Iterator[bytes]:
        with books.engine.connect() as conn:
            yield from chunker(conn, filters, meta=meta)

    return Download(body(), EXPORT_FORMATS[fmt], f"journal.{fmt}", meta)


def _drain(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        yield from iter(lambda: spool.read(1 << 16), b"")
    finally:
        spool.close()


def audit_bundle(books: Books, period: str) -> Download:
    """The audit bundle of a period (`YYYY` or `YYYY-MM`) as a zip, read only.

    No checkpoint is signed for it (reading never writes): the bundle carries the checkpoints
    already made. The trusted keys are the books' own.

    Raises:
        InvalidEntry: for a malformed period.
    """
    try:
        period_params(period)
    except ValueError as bad:
        raise InvalidEntry(str(bad), field="period") from None
    spool = tempfile.SpooledTemporaryFile(max_size=32 << 20)
    write_bundle(books.engine, spool, period=period, key=None, trusted=trusted_vkeys(books.home))
    spool.seek(0)
    return Download(_drain(spool), "application/zip", f"huiquan-audit-{period}.zip")


def checkpoints(
    books: Books, *, cursor: str | None = None, limit: int = 50
) -> Page[StoredCheckpoint]:
    """Signed checkpoints, smallest first (the order they were signed in).

    Raises:
        InvalidEntry: for a cursor of another list.
    """
    value = decode_cursor("checkpoints", cursor, (int,))

    def work(repo: SqlRepository) -> Page[StoredCheckpoint]:
        found = list_checkpoints(
            repo.conn, after=None if value is None else value[0], limit=limit + 1
        )
        page, next_cursor = _paged("checkpoints", found, limit, lambda c: (c.size,))
        return Page(page, next_cursor)

    return read(books, work)
