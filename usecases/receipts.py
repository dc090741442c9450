"""Receipts as use cases: a gift's receipt, voids and replacements, links, annual receipts.

Invariants owned here:
- A gift's receipt is issued by `issue_receipt_of(uow, books, entry)` inside the unit of work
  that records the gift (gapless serial, same commit). Called again for an entry that already
  has a receipt (an idempotent replay), it answers that receipt's link again and never a second
  serial. Links are stable (see `usecases.receipt_desk`): a replay shows the very link the
  first answer showed.
- `void_receipts_of_reversed(uow, reversal)` voids, in the reversal's transaction, the live
  receipt of the reversed gift and any live annual receipt that counted it (no replacement).
- A wrong receipt is never edited: `void_and_replace` voids it (kept, with its reason) and
  issues a replacement that names the serial it replaces; a reversed gift's receipt and an
  annual receipt are voided without one.
- Results carry serials and link tokens, never URLs: the entrance adds its public base URL
  (`ReceiptLink.urls`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from ledger.entries import EntryKind, PostedEntry
from ledger.errors import AlreadyExists, InvalidEntry, NotFound
from ledger.idempotency import remember, remembered
from ledger.money import FUNCTIONAL_CURRENCY, format_minor
from ledger.storage.tables import receipts
from ledger.storage.unit_of_work import UnitOfWork
from receipts import fiscal
from receipts.fiscal import FiscalReference
from receipts.issuing import (
    RECEIPTABLE,
    ReceiptRecord,
    annual_receipts,
    get_receipt,
    issue_receipt,
    receipts_of_donor,
    revoke_links,
    void_receipt,
)
from receipts.views import latest_receipt_of_entry
from usecases import delivery
from usecases.books import Books
from usecases.unit import Actor, AuditFacts, write

__all__ = [
    "AnnualReceipt",
    "ReceiptLink",
    "Voided",
    "current_link",
    "issue_annual_receipt",
    "issue_receipt_of",
    "issue_receipts_of",
    "issue_receipts_of_standing_gifts",
    "receipt_record",
    "record_fiscal_reference",
    "relink_receipt",
    "standing_gifts",
    "void_and_replace",
    "void_receipts_of_reversed",
]


@dataclass(frozen=True, slots=True)
class ReceiptLink:
    """A receipt's serial and its live secret-link token."""

    serial: str
    token: str

    def urls(self, base: str) -> dict[str, str]:
        """The serial, the page's URL and the PDF's URL under the public base URL `base`."""
        url = f"{base}/r/{self.token}"
        return {"serial": self.serial, "url": url, "pdf_url": f"{url}.pdf"}


@dataclass(frozen=True, slots=True)
class Voided:
    """A voided receipt and its replacement's link, if one was issued."""

    serial: str
    reason: str
    replacement: ReceiptLink | None


@dataclass(frozen=True, slots=True)
class AnnualReceipt:
    """A donor's annual consolidated receipt: its link, the receipts it covers, their total."""

    link: ReceiptLink
    donor_id: str
    year: int
    covers: list[str]
    total_cny: str
    issuer: str | None = None  # the issuer's code; None: its funds have no issuer configured
    others: tuple[AnnualReceipt, ...] = ()  # the other issuers' annual receipts issued with it


def link_of(uow: UnitOfWork, books: Books, serial: str) -> ReceiptLink:
    """The receipt's live link (made if it has none that can be shown), in `uow`'s work."""
    return ReceiptLink(serial, books.receipts.link_token(uow.connection, serial, uow.now()))


# -- a gift's receipt, in the gift's unit of work ------------------------------------------------
def issue_receipt_of(uow: UnitOfWork, books: Books, entry: PostedEntry) -> Any:
    """Issue the receipt of a gift in the gift's transaction; its `ReceiptLink`, or None.

    Donations, foreign-currency donations, pledge payments and in-kind gifts get a receipt;
    anything else (a pledge, a disbursement) gets None. Signed by the entry's maker. When the
    books carry a `receipt_issuer` override, it answers instead.
    """
    if books.receipt_issuer is not None:
        return books.receipt_issuer(uow, entry)
    if entry.kind not in RECEIPTABLE:
        return None
    issued_here = uow.memo_of("receipts")  # entry id -> link, for receipts issued in this uow
    if entry.id in issued_here:  # a replay in the same (group-committed) transaction
        known: ReceiptLink = issued_here[entry.id]
        return known
    conn, now = uow.connection, uow.now()
    existing = None if entry.id in uow.posted else latest_receipt_of_entry(conn, entry.id)
    if existing is not None:
        return ReceiptLink(existing, books.receipts.link_token(conn, existing, now))
    issued = issue_receipt(conn, entry, officer=entry.maker, now=now, link=False, uow=uow)
    token = books.receipts.link_token(conn, issued.serial, now, fresh=uow)
    link = issued_here[entry.id] = ReceiptLink(issued.serial, token)
    delivery.receipt_issued(uow, entry, issued.serial)  # email and webhooks, in this commit
    return link


def issue_receipts_of(
    uow: UnitOfWork, books: Books, entries: Iterable[PostedEntry]
) -> dict[str, ReceiptLink]:
    """Issue (or find) the receipts of existing gift entries; entry id -> link.

    For the CLI's demo data and the importer: entries that get no receipt are left out.
    """
    links: dict[str, ReceiptLink] = {}
    for entry in entries:
        link = issue_receipt_of(uow, books, entry)
        if isinstance(link, ReceiptLink):
            links[entry.id] = link
    return links


def standing_gifts(uow: UnitOfWork) -> list[PostedEntry]:
    """The journal's gift entries that stand (receiptable and not reversed), in sequence."""
    entries: list[PostedEntry] = []
    after = 0
    while page := uow.repo.list_entries(after_sequence=after, limit=1000):
        entries += page
        after = page[-1].sequence
    reversed_ids = {e.reverses for e in entries if e.reverses}
    return [e for e in entries if e.kind in RECEIPTABLE and e.id not in reversed_ids]


def issue_receipts_of_standing_gifts(books: Books) -> list[ReceiptLink]:
    """Issue the receipt of every gift that stands and has none, in one unit of work.

    As the API does for a new gift: signed by the gift's maker, dated now, numbered on from the
    books' counter; a gift that was reversed, and the reversal itself, get none; a gift that
    has a receipt answers its link again. All of them or, on any failure, none. For the CLI's
    demo data (`cli/demo.py`), which no longer needs the web application for it.
    """

    def work(uow: UnitOfWork) -> list[ReceiptLink]:
        return list(issue_receipts_of(uow, books, standing_gifts(uow)).values())

    return write(books, work)


def _receipts_of_entry(conn: Connection, entry_id: str) -> list[ReceiptRecord]:
    serials = conn.scalars(select(receipts.c.serial).where(receipts.c.entry_id == entry_id))
    return [r for r in (get_receipt(conn, s) for s in serials) if r is not None]


def void_receipts_of_reversed(uow: UnitOfWork, reversal: PostedEntry) -> list[str]:
    """Void the receipts of the entry a reversal undoes, in the reversal's transaction.

    The gift's live receipt is voided without replacement, and so is any live annual receipt
    that counted one of the gift's receipts (issue the year again to get a correct one).
    Returns the voided serials.
    """
    if reversal.kind is not EntryKind.REVERSAL or not reversal.reverses:
        return []
    conn, now = uow.connection, uow.now()
    reason = f"捐赠记录已冲销 / the gift was reversed: {reversal.memo}".strip()
    uow.flush()  # receipts issued earlier in this unit of work are queued rows until then
    gift_receipts = _receipts_of_entry(conn, reversal.reverses)
    voided: list[str] = []
    for record in gift_receipts:
        if not record.is_void:
            void_receipt(conn, record.serial, reason=reason, by=reversal.maker, now=now, uow=uow)
            voided.append(record.serial)
    serials = {r.serial for r in gift_receipts}
    donors = {r.donor_id for r in gift_receipts}
    for donor_id in sorted(donors):
        for other in receipts_of_donor(conn, donor_id):
            counted = serials.intersection(map(str, other.data.get("covers", [])))
            if other.kind == "annual" and not other.is_void and counted:
                named = ", ".join(sorted(counted))
                because = f"所含收据 {named} 已作废 / counts voided receipt {named}"
                void_receipt(
                    conn, other.serial, reason=because, by=reversal.maker, now=now, uow=uow
                )
                voided.append(other.serial)
    return voided


# -- officers' corrections -----------------------------------------------------------------------
def receipt_record(conn: Connection, serial: str) -> ReceiptRecord:
    """The record of receipt `serial`.

    Raises:
        NotFound: when there is no such receipt.
    """
    record = get_receipt(conn, serial)
    if record is None:
        raise NotFound(f"There is no receipt {serial!r}.")
    return record


def void_and_replace(
    books: Books,
    serial: str,
    *,
    reason: str,
    replace: bool | None,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Voided:
    """Void a receipt (kept, shown as VOID with the reason) and issue its replacement.

    `replace` defaults to yes for a gift's receipt and no for an annual one.

    Raises:
        NotFound: no such receipt. AlreadyExists: it is void already.
        InvalidEntry: a replacement asked for an annual receipt or a reversed gift's.
        IdempotencyConflict: the key was used with a different request.
    """
    body = {"serial": serial, "reason": reason, "replace": replace}
    return write(books, lambda uow: _void(uow, books, body, by, key), audit=audit, key=key)


def _void(
    uow: UnitOfWork, books: Books, body: Mapping[str, Any], by: Actor, key: str | None
) -> Voided:
    conn, serial = uow.connection, str(body["serial"])
    uow.flush()  # receipts and links issued earlier in a shared transaction are queued rows
    secret = books.pseudonym_secret()
    done = remembered(uow, key, "receipt-void", body, secret)
    if done is not None:
        replacement = done or None
    else:
        record = receipt_record(conn, serial)
        if record.is_void:
            raise AlreadyExists(f"receipt {serial} is already void", field="serial")
        replace = body["replace"] if body["replace"] is not None else record.kind != "annual"
        entry = _replacement_entry(uow, record) if replace else None
        issued = void_receipt(
            conn,
            serial,
            reason=body["reason"],
            by=by.name,
            now=uow.now(),
            replacement=entry,
            officer=by.name,
            link=False,
            uow=uow,
        )
        replacement = issued.serial if issued else None
        remember(uow, key, "receipt-void", body, replacement or "", secret)
    record = receipt_record(conn, serial)
    link = link_of(uow, books, replacement) if replacement else None
    return Voided(serial, record.void_reason or "", link)


def _replacement_entry(uow: UnitOfWork, record: ReceiptRecord) -> PostedEntry:
    if record.kind == "annual" or record.entry_id is None:
        raise InvalidEntry(
            "an annual receipt is voided without a replacement (replace: false); then issue "
            "the year again",
            field="replace",
        )
    entry = uow.entry(record.entry_id)
    if entry is None or uow.repo.reversal_of(record.entry_id) is not None:
        raise InvalidEntry(
            "the gift was reversed, so its receipt is voided without a replacement "
            "(replace: false)",
            field="replace",
        )
    return entry


def relink_receipt(books: Books, serial: str, *, audit: AuditFacts | None = None) -> ReceiptLink:
    """Revoke every link of a receipt and hand out a new one (a leaked or lost link).

    Raises:
        NotFound: when there is no such receipt.
    """
    return write(books, lambda uow: _relink(uow, books, serial), audit=audit)


def _relink(uow: UnitOfWork, books: Books, serial: str) -> ReceiptLink:
    uow.flush()  # receipts and links issued earlier in a shared transaction are queued rows
    record = receipt_record(uow.connection, serial)
    revoke_links(uow.connection, record.serial, uow.now())
    return link_of(uow, books, record.serial)


def current_link(books: Books, serial: str, *, audit: AuditFacts | None = None) -> ReceiptLink:
    """The receipt's live link as the donor has it (a new one only if none can be shown).

    Raises:
        NotFound: when there is no such receipt.
    """

    def work(uow: UnitOfWork) -> ReceiptLink:
        uow.flush()
        record = receipt_record(uow.connection, serial)
        return link_of(uow, books, record.serial)

    return write(books, work, audit=audit)


def issue_annual_receipt(
    books: Books,
    donor_id: str,
    year: int,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> AnnualReceipt:
    """Issue a donor's annual consolidated receipts for `year`: one per issuer.

    A donor who gave to funds held by different issuers gets one annual receipt from each
    (the first is returned, the rest in its `others`), each listing that issuer's gifts.

    Raises:
        NotFound: no such donor, or no gifts that year. AlreadyExists: live annual receipts
            cover every issuer's gifts of the year.
        IdempotencyConflict: the key was used with a different request.
    """
    return write(
        books, lambda uow: _annual(uow, books, donor_id, year, by, key), audit=audit, key=key
    )


def _annual(
    uow: UnitOfWork, books: Books, donor_id: str, year: int, by: Actor, key: str | None
) -> AnnualReceipt:
    conn, secret = uow.connection, books.pseudonym_secret()
    uow.flush()  # receipts issued earlier in a shared transaction are queued rows
    if uow.repo.get_donor(donor_id) is None:
        raise NotFound(f"There is no donor {donor_id!r}.")
    body = {"donor_id": donor_id, "year": year}
    done = remembered(uow, key, "annual-receipts", body, secret)
    if done is None:
        issued = annual_receipts(
            conn, donor_id, year, officer=by.name, now=uow.now(), link=False, uow=uow
        )
        serials = [receipt.serial for receipt, _ in issued]
        remember(uow, key, "annual-receipts", body, ",".join(serials), secret)
    else:
        serials = done.split(",")
    first, *rest = (_annual_of(uow, books, donor_id, year, serial) for serial in serials)
    return dataclasses.replace(first, others=tuple(rest))


def _annual_of(
    uow: UnitOfWork, books: Books, donor_id: str, year: int, serial: str
) -> AnnualReceipt:
    conn = uow.connection
    record = receipt_record(conn, serial)
    covers = [str(s) for s in record.data.get("covers", [])]
    total = 0
    for covered in covers:
        gift = get_receipt(conn, covered)
        entry = uow.entry(gift.entry_id) if gift and gift.entry_id else None
        total += entry.postings[0].functional if entry else 0
    total_cny = format_minor(total, FUNCTIONAL_CURRENCY)
    issuer = record.data.get("issuer")
    return AnnualReceipt(
        link_of(uow, books, serial), donor_id, year, covers, total_cny, issuer=issuer
    )


def record_fiscal_reference(
    books: Books,
    serial: str,
    *,
    code: str,
    number: str,
    by: Actor,
    audit: AuditFacts | None = None,
) -> FiscalReference:
    """Record the fiscal platform's 票据代码 / 票据号码 of a receipt (an appended row).

    The receipt shows it from then on; its cached PDFs are dropped so the next download has it.

    Raises:
        NotFound: no such receipt. AlreadyExists: it has its fiscal reference already.
        InvalidEntry: a malformed code or number, a void or an annual receipt.
    """

    def work(uow: UnitOfWork) -> FiscalReference:
        uow.flush()  # receipts issued earlier in a shared transaction are queued rows
        return fiscal.record_fiscal_reference(
            uow.connection, serial, code=code, number=number, by=by.name, now=uow.now()
        )

    recorded = write(books, work, audit=audit)
    books.receipts.forget(serial)
    return recorded
