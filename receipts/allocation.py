"""Where my gift went: a fund's spending allocated first-in-first-out to the gifts that paid it.

Invariants owned here:
- Only cash of the gift's own fund and currency is followed. Inflows are cash received by gifts
  (donations, pledge payments) and transfers in; outflows are disbursements, scholarship payouts,
  fees and transfers out, in sequence order. Each outflow consumes the oldest unspent inflow
  first. An entry that was reversed, and its reversal, are left out on both sides.
- The slices of one gift never add up to more than the gift.
- Beneficiaries appear only by pseudonym, cohort term and county; never a name.
- Goods received in kind are followed by their handovers (`where_goods_went`): each names what
  was passed on, how many, to which recipient (an organisation or a pseudonym) and project
  county, at its carrying value; they never add up to more than the gift (the ledger refuses).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from dataclasses import dataclass

from sqlalchemy import Connection, select

from ledger.accounts import cash_account
from ledger.storage.tables import (
    beneficiaries,
    in_kind_handovers,
    journal_entries,
    postings,
    projects,
)

__all__ = ["Slice", "where_goods_went", "where_it_went"]

INFLOW = {"donation", "pledge_payment", "transfer"}
OUTFLOW = {"disbursement", "scholarship_payout", "fee", "transfer"}


@dataclass(frozen=True, slots=True)
class Slice:
    date: dt.date
    purpose: str
    county: str
    amount_minor: int
    currency: str


def where_it_went(conn: Connection, *, fund: str, currency: str, gift_sequence: int) -> list[Slice]:
    """The spending of `fund` in `currency` that the gift at `gift_sequence` paid for."""
    e, p = journal_entries.c, postings.c
    rows = conn.execute(
        select(e.sequence, e.id, e.kind, e.occurred_on, e.reverses, e.data, p.amount)
        .join(postings, p.entry_id == e.id)
        .where(p.fund == fund, p.currency == currency, p.account == cash_account(currency))
        .order_by(e.sequence, p.line)
    ).all()
    reversed_ids = {r.reverses for r in rows if r.reverses}
    live = [r for r in rows if r.kind != "reversal" and r.id not in reversed_ids]
    inflows: deque[list[int]] = deque()
    out: list[Slice] = []
    names = _labels(conn)
    for r in live:
        if r.amount > 0 and r.kind in INFLOW:
            inflows.append([r.sequence, r.amount])
            continue
        if r.amount >= 0 or r.kind not in OUTFLOW:
            continue
        need = -r.amount
        while need and inflows:
            head = inflows[0]
            take = min(need, head[1])
            if head[0] == gift_sequence:
                purpose, county = _describe(r.kind, json.loads(r.data), names)
                out.append(
                    Slice(dt.date.fromisoformat(r.occurred_on), purpose, county, take, currency)
                )
            head[1] -= take
            need -= take
            if head[1] == 0:
                inflows.popleft()
        if r.sequence > gift_sequence and all(s[0] != gift_sequence for s in inflows):
            break  # the gift is fully spent (or was never cash of this fund)
    return out


def _labels(conn: Connection) -> dict[str, tuple[str, str]]:
    labels = {r.code: (r.name, r.county) for r in conn.execute(select(projects))}
    labels.update({r.id: (r.cohort, r.county) for r in conn.execute(select(beneficiaries))})
    return labels


def _describe(
    kind: str, data: dict[str, object], labels: dict[str, tuple[str, str]]
) -> tuple[str, str]:
    if kind == "disbursement":
        name, county = labels.get(str(data.get("project", "")), (str(data.get("project", "")), ""))
        return name, str(data.get("county", county))
    if kind == "scholarship_payout":
        who = str(data.get("beneficiary_id", ""))
        cohort, county = labels.get(who, ("", ""))
        return f"助学金 {data.get('term', cohort)} · {who}".strip(" ·"), county
    if kind == "fee":
        return "银行手续费 / bank fee", ""
    return f"转入基金 / transfer to {data.get('to_fund', '')}", ""


def where_goods_went(conn: Connection, *, gift_sequence: int) -> list[Slice]:
    """Where the goods of the in-kind gift at `gift_sequence` were handed over, oldest first."""
    gift = conn.execute(
        select(journal_entries.c.id, journal_entries.c.data).where(
            journal_entries.c.sequence == gift_sequence
        )
    ).first()
    if gift is None:
        return []
    h = in_kind_handovers.c
    rows = conn.execute(
        select(h.entry_id, h.quantity, h.value_minor, h.recipient, h.project, h.handed_over_on)
        .where(h.gift_entry_id == gift.id, h.entry_id.not_in(_reversed(conn)))
        .order_by(h.handed_over_on, h.created_at)
    ).all()
    description = str(json.loads(gift.data).get("description", ""))
    names = _labels(conn)
    return [
        Slice(
            dt.date.fromisoformat(r.handed_over_on),
            f"{description} × {r.quantity} → {r.recipient}".strip(),
            names.get(r.project, ("", ""))[1],
            int(r.value_minor),
            "CNY",
        )
        for r in rows
    ]


def _reversed(conn: Connection) -> set[str]:
    e = journal_entries.c
    return {str(r[0]) for r in conn.execute(select(e.reverses).where(e.reverses.is_not(None)))}
