"""Journal entries and postings: the immutable facts of the books.

Invariants owned here:
- A posting's `amount` is a signed integer of minor units of `currency`: debit positive,
  credit negative, never zero. `functional` is the same amount in CNY minor units (equal to
  `amount` for CNY postings).
- A journal entry has at least two postings and **sums to zero per fund and per currency**, and
  its functional (CNY) amounts sum to zero per fund and currency too (so the CNY trial balance
  is zero and no currency's CNY value leaks into another's). `validate` returns every finding
  at once; `check_balanced` raises them together as `UnbalancedEntry`.
- A posted entry never changes; corrections are reversals (`reversal_postings`) that swap every
  posting's sign and point back at the original.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ledger.errors import InvalidEntry, UnbalancedEntry
from ledger.money import EXPONENTS, MAX_MINOR, format_minor

__all__ = [
    "EntryKind",
    "FunctionalClass",
    "JournalEntry",
    "PostedEntry",
    "Posting",
    "check_balanced",
    "reversal_postings",
    "validate",
]


class EntryKind(StrEnum):
    PLEDGE = "pledge"
    DONATION = "donation"
    PLEDGE_PAYMENT = "pledge_payment"
    IN_KIND = "in_kind"
    DISBURSEMENT = "disbursement"
    AWARD = "scholarship_award"
    PAYOUT = "scholarship_payout"
    FEE = "fee"
    TRANSFER = "transfer"
    REVERSAL = "reversal"
    GENERAL = "general"
    DEPRECIATION = "depreciation"


class FunctionalClass(StrEnum):
    PROGRAM = "program"
    MANAGEMENT = "management"
    FUNDRAISING = "fundraising"


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of an entry. `ref` ties a line to a pledge or award sub-ledger."""

    account: str
    fund: str
    amount: int
    currency: str
    functional: int
    project: str = ""
    party: str = ""
    functional_class: str = ""
    ref: str = ""

    @property
    def debit(self) -> int:
        return self.amount if self.amount > 0 else 0

    @property
    def credit(self) -> int:
        return -self.amount if self.amount < 0 else 0

    def canonical(self, line: int) -> dict[str, Any]:
        return {
            "line": line,
            "account": self.account,
            "fund": self.fund,
            "amount": self.amount,
            "currency": self.currency,
            "functional": self.functional,
            "project": self.project,
            "party": self.party,
            "class": self.functional_class,
            "ref": self.ref,
        }


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """An entry ready to post: what happened, when it counts, and its postings."""

    kind: EntryKind
    occurred_on: dt.date
    postings: tuple[Posting, ...]
    memo: str = ""
    maker: str = "system"
    reverses: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PostedEntry:
    """An entry as the books hold it: numbered, timestamped and chained."""

    id: str
    sequence: int
    kind: EntryKind
    occurred_on: dt.date
    recorded_at: str
    period: str
    postings: tuple[Posting, ...]
    memo: str
    maker: str
    reverses: str | None
    data: Mapping[str, Any]
    prev_hash: str
    hash: str
    leaf_hash: str


def validate(postings: Iterable[Posting]) -> list[str]:
    """Every reason these postings cannot form an entry; an empty list means they can."""
    findings: list[str] = []
    lines = list(postings)
    if len(lines) < 2:
        findings.append("an entry needs at least two postings")
    per_currency: dict[tuple[str, str], int] = defaultdict(int)
    per_value: dict[tuple[str, str], int] = defaultdict(int)
    for n, p in enumerate(lines, 1):
        if p.currency not in EXPONENTS:
            findings.append(f"line {n}: unknown currency {p.currency!r}")
            continue
        if isinstance(p.amount, bool) or not isinstance(p.amount, int):
            findings.append(f"line {n}: amount must be integer minor units")
            continue
        if p.amount == 0:
            findings.append(f"line {n}: a posting of zero is not allowed")
        if abs(p.amount) > MAX_MINOR or abs(p.functional) > MAX_MINOR:
            findings.append(f"line {n}: amount above the ceiling")
        if (p.amount > 0) != (p.functional > 0) and p.functional != 0:
            findings.append(f"line {n}: functional amount has the wrong sign")
        if p.currency == "CNY" and p.functional != p.amount:
            findings.append(f"line {n}: a CNY posting's functional amount must equal its amount")
        if not p.fund:
            findings.append(f"line {n}: every posting names a fund")
        per_currency[(p.fund, p.currency)] += p.amount
        per_value[(p.fund, p.currency)] += p.functional
    for (fund, currency), total in sorted(per_currency.items()):
        if total:
            findings.append(
                f"fund {fund} does not balance in {currency}: off by "
                f"{format_minor(total, currency)}"
            )
    for (fund, currency), total in sorted(per_value.items()):
        if total and not per_currency[(fund, currency)]:
            findings.append(
                f"fund {fund} does not balance in CNY value of its {currency} lines: off by "
                f"{total} fen"
            )
    return findings


def _plain_pair(a: Posting, b: Posting) -> bool:
    """True when two lines surely pass `validate`: one fund and currency, opposite amounts.

    The commonest entry (a gift, a fee, a payout) decided with a few comparisons; anything
    else (and every defect) is left to `validate`, which says what is wrong.
    """
    amount, functional = a.amount, a.functional
    return (
        type(amount) is int
        and type(b.amount) is int
        and a.fund == b.fund != ""
        and a.currency == b.currency
        and a.currency in EXPONENTS
        and 0 < abs(amount) <= MAX_MINOR
        and amount + b.amount == 0
        and functional + b.functional == 0
        and abs(functional) <= MAX_MINOR
        and ((amount > 0) == (functional > 0) or functional == 0)
        and (a.currency != "CNY" or functional == amount)
    )


def check_balanced(postings: Iterable[Posting]) -> None:
    """Raise if the postings cannot form an entry.

    Raises:
        UnbalancedEntry: when they do not sum to zero per fund and currency;
        InvalidEntry: for any other defect (fewer than two lines, a zero line, ...).
    """
    lines = postings if isinstance(postings, tuple) else tuple(postings)
    if len(lines) == 2 and _plain_pair(*lines):
        return
    findings = validate(lines)
    if not findings:
        return
    unbalanced = [f for f in findings if "does not balance" in f]
    if unbalanced:
        raise UnbalancedEntry("; ".join(findings))
    raise InvalidEntry("; ".join(findings))


def reversal_postings(original: Iterable[Posting]) -> tuple[Posting, ...]:
    """The postings that cancel `original` exactly: every sign swapped, nothing else changed."""
    return tuple(
        Posting(
            account=p.account,
            fund=p.fund,
            amount=-p.amount,
            currency=p.currency,
            functional=-p.functional,
            project=p.project,
            party=p.party,
            functional_class=p.functional_class,
            ref=p.ref,
        )
        for p in original
    )
