"""The view of one receipt: everything the HTML and PDF show, already decided.

Invariants owned here:
- A `ReceiptView` is frozen and holds plain values only (str, int, date, tuples); rendering it
  reads no database, clock or file outside the templates folder.
- Amounts are integer minor units with their ISO-4217 code, as everywhere in the ledger.
  `cny_minor` is the CNY value of the gift (equal to `amount_minor` for CNY gifts); the
  Chinese capitals on the receipt are always written from it.
- Who is shown as the donor is decided by `displayed_donor_is_anonymous`: only a public view of
  an anonymous gift hides the name; the donor's own receipt link always names the donor.
- `goods_or_services` is None when the donor received nothing in return.
- The storage side fills this view; nothing here checks a serial against a counter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

__all__ = [
    "KINDS",
    "LANGUAGES",
    "STATUSES",
    "AcknowledgmentView",
    "AllocationLine",
    "CoveredGift",
    "Kind",
    "Language",
    "ReceiptView",
    "Status",
]

Status = Literal["issued", "void"]
Kind = Literal["cash", "foreign", "in_kind", "pledge_payment", "annual"]
Language = Literal["zh-Hans", "zh-Hant", "en"]

STATUSES: tuple[Status, ...] = ("issued", "void")
KINDS: tuple[Kind, ...] = ("cash", "foreign", "in_kind", "pledge_payment", "annual")
LANGUAGES: tuple[Language, ...] = ("zh-Hans", "zh-Hant", "en")


@dataclass(frozen=True, slots=True)
class AllocationLine:
    """One line of "where my gift went": spending the gift helped pay for, folded.

    `kind` is "project" (`project_or_purpose` is the project's name), "scholarship" (it is the
    term, e.g. "2024秋", and `count` the number of students: never who they are), "fee" (all
    bank fees in one line) or "transfer" (it is the receiving fund). `date` is the first day
    and `last_date` the last one when the line folds several payments.
    """

    date: date
    project_or_purpose: str
    county: str
    amount_minor: int
    currency: str
    kind: str = "project"
    last_date: date | None = None
    town: str = ""
    count: int = 0


@dataclass(frozen=True, slots=True)
class CoveredGift:
    """One gift acknowledged by an annual consolidated receipt."""

    serial: str
    received_on: date
    amount_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class ReceiptView:
    """A receipt as the donor sees it, in one language."""

    serial: str
    status: Status
    void_reason: str | None
    replaces_serial: str | None
    replaced_by_serial: str | None
    issuer_name: str
    issuer_registration_no: str
    issued_on: date
    received_on: date
    donor_name: str
    donor_is_anonymous: bool
    public_view: bool
    kind: Kind
    amount_minor: int
    currency: str
    cny_minor: int
    fx_rate: str | None
    fx_source: str | None
    fx_date: date | None
    fund_name: str
    fund_purpose: str
    in_kind_description: str | None
    in_kind_quantity: str | None
    valuation_basis: str | None
    goods_or_services: str | None
    signing_officer: str
    fiscal_receipt_code: str | None
    fiscal_receipt_number: str | None
    verify_url: str
    entry_hash: str
    leaf_index: int
    inclusion_proof: tuple[str, ...]
    checkpoint_text: str
    where_it_went: tuple[AllocationLine, ...] = field(default=())
    covered_gifts: tuple[CoveredGift, ...] = field(default=())
    language: Language = "zh-Hans"
    issuer_seal_text: str = ""
    issuer_demo: bool = False
    issuer_configured: bool = True

    @property
    def displayed_donor_is_anonymous(self) -> bool:
        """True when the page must say "anonymous donor" instead of the name."""
        return self.public_view and self.donor_is_anonymous

    @property
    def is_void(self) -> bool:
        return self.status == "void"


@dataclass(frozen=True, slots=True)
class AcknowledgmentView:
    """A pledge acknowledgment as the donor sees it: a promise, not money received."""

    serial: str
    issuer_name: str
    issuer_registration_no: str
    issuer_seal_text: str
    issuer_demo: bool
    issuer_configured: bool
    issued_on: date
    pledged_on: date
    due_on: date | None
    donor_name: str
    amount_minor: int
    currency: str
    fund_name: str
    fund_purpose: str
    conditional: bool
    signing_officer: str
    language: Language = "zh-Hans"
