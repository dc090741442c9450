"""Where my gift went: a fund's spending allocated first-in-first-out to the gifts that paid it.

Invariants owned here:
- Only cash of the gift's own fund and currency is followed. Inflows are cash received by gifts
  (donations, pledge payments) and transfers in; outflows are disbursements, scholarship payouts,
  fees and transfers out, in sequence order. Each outflow consumes the oldest unspent inflow
  first. An entry that was reversed, and its reversal, are left out on both sides.
- The slices of one gift never add up to more than the gift.
- Beneficiaries appear only as a count of students per scholarship term and county; their
  pseudonyms are counted, never shown (not even to donors), and their names are never read.
- Bank fees fold into one line; a project line names the project and its place.
- Goods received in kind are followed by their handovers (`where_goods_went`): each names what
  was passed on, how many, to which recipient (an organisation or a pseudonym) and project
  place, at its carrying value; they never add up to more than the gift (the ledger refuses).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from ledger.accounts import cash_account
from ledger.storage.tables import (
    beneficiaries,
    in_kind_handovers,
    journal_entries,
    postings,
    projects,
)

__all__ = ["Group", "Slice", "fold", "gifts_paying", "where_goods_went", "where_it_went"]

INFLOW = {"donation", "pledge_payment", "transfer"}
OUTFLOW = {"disbursement", "scholarship_payout", "fee", "transfer"}


@dataclass(frozen=True, slots=True)
class Slice:
    """Part of one outflow paid by the gift: what it paid for, where, and how much."""

    date: dt.date
    kind: str  # "project", "scholarship", "fee", "transfer" or "goods" (handed over in kind)
    name: str  # project name, scholarship term, or the receiving fund's code
    county: str
    amount_minor: int
    currency: str
    town: str = ""
    beneficiary: str = ""  # pseudonym, only ever counted, never shown


@dataclass(frozen=True, slots=True)
class Group:
    """Slices of the same kind, name and place, folded into one line of "where my gift went"."""

    first: dt.date
    last: dt.date
    kind: str
    name: str
    county: str
    town: str
    amount_minor: int
    currency: str
    count: int  # distinct students of a scholarship line (0 for the others)


def where_it_went(conn: Connection, *, fund: str, currency: str, gift_sequence: int) -> list[Slice]:
    """The spending of `fund` in `currency` that the gift at `gift_sequence` paid for."""
    inflows: deque[list[int]] = deque()
    out: list[Slice] = []
    labels = _Labels(conn)
    for r in _live_cash(conn, fund, currency):
        flow = _flow(r)
        if flow == "in":
            inflows.append([r.sequence, r.amount])
            continue
        if flow is None:
            continue
        for paid_by, take in _take(inflows, -r.amount):
            if paid_by == gift_sequence:
                when = dt.date.fromisoformat(r.occurred_on)
                out.append(labels.slice(r.kind, json.loads(r.data), when, take, currency))
        if r.sequence > gift_sequence and all(s[0] != gift_sequence for s in inflows):
            break  # the gift is fully spent (or was never cash of this fund)
    return out


def gifts_paying(
    conn: Connection, *, fund: str, currency: str, outflow_sequence: int
) -> list[tuple[int, int]]:
    """The inflows that paid the outflow at `outflow_sequence`, by the same first-in-first-out
    rule as `where_it_went`: (inflow sequence, minor units) in the order consumed, one pair per
    inflow; empty for an entry that is not a live outflow of `fund`'s cash in `currency`."""
    inflows: deque[list[int]] = deque()
    for r in _live_cash(conn, fund, currency):
        if r.sequence > outflow_sequence:
            break
        flow = _flow(r)
        if flow == "in":
            inflows.append([r.sequence, r.amount])
            continue
        if flow is None:
            continue
        taken = list(_take(inflows, -r.amount))
        if r.sequence == outflow_sequence:
            merged: dict[int, int] = {}
            for paid_by, take in taken:
                merged[paid_by] = merged.get(paid_by, 0) + take
            return list(merged.items())
    return []


def _live_cash(conn: Connection, fund: str, currency: str) -> list[Any]:
    """The fund's cash postings in `currency`, in sequence order, reversed pairs left out."""
    e, p = journal_entries.c, postings.c
    rows = conn.execute(
        select(e.sequence, e.id, e.kind, e.occurred_on, e.reverses, e.data, p.amount)
        .join(postings, p.entry_id == e.id)
        .where(p.fund == fund, p.currency == currency, p.account == cash_account(currency))
        .order_by(e.sequence, p.line)
    ).all()
    reversed_ids = {r.reverses for r in rows if r.reverses}
    return [r for r in rows if r.kind != "reversal" and r.id not in reversed_ids]


def _flow(row: Any) -> str | None:
    """ "in" for cash a gift or transfer brought, "out" for cash spent, else None."""
    if row.amount > 0 and row.kind in INFLOW:
        return "in"
    if row.amount < 0 and row.kind in OUTFLOW:
        return "out"
    return None


def _take(inflows: deque[list[int]], need: int) -> Iterator[tuple[int, int]]:
    """Consume `need` from the oldest unspent inflows: (inflow sequence, amount) for each."""
    while need and inflows:
        head = inflows[0]
        take = min(need, head[1])
        yield head[0], take
        head[1] -= take
        need -= take
        if head[1] == 0:
            inflows.popleft()


def fold(slices: Iterable[Slice]) -> list[Group]:
    """Fold slices into lines: one per project and place, per scholarship term and county, and
    one for all bank fees (last); in the order each line first appears."""
    groups: dict[tuple[str, str, str, str, str], list[Slice]] = {}
    for s in slices:
        key = (s.kind, "" if s.kind == "fee" else s.name, s.county, s.town, s.currency)
        groups.setdefault(key, []).append(s)
    lines = [
        Group(
            first=min(s.date for s in parts),
            last=max(s.date for s in parts),
            kind=kind,
            name=name,
            county=county,
            town=town,
            amount_minor=sum(s.amount_minor for s in parts),
            currency=currency,
            count=len({s.beneficiary for s in parts if s.beneficiary}),
        )
        for (kind, name, county, town, currency), parts in groups.items()
    ]
    return sorted(lines, key=lambda g: g.kind == "fee")  # stable: fees last, the rest in order


_TERM = re.compile(r"(\d{4})\s*(春|秋)?")


def _term(*texts: str) -> str:
    """The first term with a season ("2026秋"), else the first year: the payout's, then the
    cohort's."""
    found = [m.groups() for m in map(_TERM.search, texts) if m]
    for year, season in found:
        if season:
            return year + season
    return found[0][0] if found else ""


class _Labels:
    """Project names and places, and each beneficiary's cohort and county (never a name)."""

    def __init__(self, conn: Connection) -> None:
        self.projects = {r.code: (r.name, r.county, r.town) for r in conn.execute(select(projects))}
        self.cohorts = {r.id: (r.cohort, r.county) for r in conn.execute(select(beneficiaries))}

    def slice(
        self, kind: str, data: dict[str, object], when: dt.date, amount: int, currency: str
    ) -> Slice:
        if kind == "disbursement":
            code = str(data.get("project", ""))
            name, county, town = self.projects.get(code, (code, "", ""))
            county = str(data.get("county") or county)
            return Slice(when, "project", name, county, amount, currency, town)
        if kind == "scholarship_payout":
            who = str(data.get("beneficiary_id", ""))
            cohort, county = self.cohorts.get(who, ("", ""))
            term = _term(str(data.get("term", "")), cohort)
            return Slice(when, "scholarship", term, county, amount, currency, beneficiary=who)
        if kind == "fee":
            return Slice(when, "fee", "", "", amount, currency)
        return Slice(when, "transfer", str(data.get("to_fund", "")), "", amount, currency)


def where_goods_went(conn: Connection, *, gift_sequence: int) -> list[Slice]:
    """Where the goods of the in-kind gift at `gift_sequence` were handed over, oldest first."""
    gift = conn.execute(
        select(journal_entries.c.id, journal_entries.c.data).where(
            journal_entries.c.sequence == gift_sequence
        )
    ).first()
    if gift is None:
        return []
    h, e = in_kind_handovers.c, journal_entries.c
    reversed_ids = select(e.reverses).where(e.reverses.is_not(None))
    rows = conn.execute(
        select(h.entry_id, h.quantity, h.value_minor, h.recipient, h.project, h.handed_over_on)
        .where(h.gift_entry_id == gift.id, h.entry_id.not_in(reversed_ids))
        .order_by(h.handed_over_on, h.created_at)
    ).all()
    description = str(json.loads(gift.data).get("description", ""))
    places = _Labels(conn).projects
    out = []
    for r in rows:
        _name, county, town = places.get(r.project, ("", "", ""))
        what = f"{description} × {r.quantity} → {r.recipient}".strip()
        when = dt.date.fromisoformat(r.handed_over_on)
        out.append(Slice(when, "goods", what, county, int(r.value_minor), "CNY", town))
    return out
