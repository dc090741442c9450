"""Gifts: cash and bank donations (optionally paying a pledge) and in-kind donations.

Invariants owned here:
- A gift and its receipt are one unit of work: the entry is posted (`ledger.services`), the
  receipt issued with the next gapless serial (`usecases.receipts.issue_receipt_of`) and the
  audit event written, all in one commit or none.
- An idempotent replay (same key, same gift) answers the original entry and the very receipt
  link the first answer showed, and posts and issues nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger import services
from ledger.entries import PostedEntry
from ledger.storage.unit_of_work import UnitOfWork
from usecases.books import Books
from usecases.campaigns import campaign_gift_in
from usecases.receipts import issue_receipt_of
from usecases.unit import Actor, AuditFacts, write

__all__ = ["Gift", "donation_in", "in_kind_donation_in", "record_donation", "record_in_kind"]

#: The ledger's name of a gift's date, and the caller's.
DATES = {"date": "received_on"}


@dataclass(frozen=True, slots=True)
class Gift:
    """A recorded gift: its journal entry and its receipt (a `ReceiptLink`, or None); for a
    gift to a campaign with a matcher, the matcher's gift (`match`, a `Gift`, or None)."""

    entry: PostedEntry
    receipt: Any
    match: Gift | None = None


def donation_in(
    uow: UnitOfWork, books: Books, *, by: Actor, key: str | None = None, **details: Any
) -> Gift:
    """Record a cash or bank gift and issue its receipt, in the caller's unit of work.

    `details` are `ledger.services.record_donation`'s (donor_id, fund, amount, received_on,
    method, pledge_id, fx_rate, fx_source, fx_date, memo), and `campaign`: the slug of the
    campaign the gift is for (`usecases.campaigns.campaign_gift_in`: tagged, and matched).
    """
    campaign = details.pop("campaign", None)
    if campaign:
        tagged = campaign_gift_in(uow, books, campaign=campaign, by=by, key=key, **details)
        match = tagged.match and Gift(tagged.match, tagged.match_receipt)
        return Gift(tagged.entry, tagged.receipt, match)
    entry = services.record_donation(uow, **details, maker=by.name, key=key)
    return Gift(entry, issue_receipt_of(uow, books, entry))


def in_kind_donation_in(
    uow: UnitOfWork, books: Books, *, by: Actor, key: str | None = None, **details: Any
) -> Gift:
    """Record goods received at fair value and issue the receipt, in the caller's unit of work."""
    entry = services.record_in_kind_donation(uow, **details, maker=by.name, key=key)
    return Gift(entry, issue_receipt_of(uow, books, entry))


def _refs(details: dict[str, Any]) -> dict[str, list[str]]:
    """The donor and fund a gift looks up, for group commit to read with other writers'."""
    return {"donor": [details["donor_id"]], "fund": [details["fund"]]}


def record_donation(
    books: Books,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
    **details: Any,
) -> Gift:
    """Record a cash or bank gift (gross) with its receipt, in one unit of work.

    Dr cash / Cr contributions, or Cr pledges receivable when it pays `pledge_id`.

    Raises:
        UnknownDonor, UnknownFund, NotFound (pledge_id), Overpayment, PeriodClosed,
        InvalidAmount, IdempotencyConflict: nothing is recorded.
    """
    return write(
        books,
        lambda uow: donation_in(uow, books, by=by, key=key, **details),
        audit=audit,
        key=key,
        refs=_refs(details),
        aliases=DATES,
    )


def record_in_kind(
    books: Books,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
    **details: Any,
) -> Gift:
    """Record goods received, at fair value in CNY, with its receipt, in one unit of work.

    Raises:
        UnknownDonor, UnknownFund, PeriodClosed, IdempotencyConflict: nothing is recorded.
    """
    return write(
        books,
        lambda uow: in_kind_donation_in(uow, books, by=by, key=key, **details),
        audit=audit,
        key=key,
        refs=_refs(details),
        aliases=DATES,
    )
