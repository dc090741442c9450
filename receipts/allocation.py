"""Where my gift went: a fund's spending allocated first-in-first-out to the gifts that paid it.

Invariants owned here:
- Only cash of the gift's own fund and currency is followed. Inflows are cash received by gifts
  (donations, pledge payments) and transfers in; outflows are disbursements, scholarship payouts,
  fees and transfers out, in sequence order. Each outflow consumes the oldest unspent inflow
  first. An entry that was reversed, and its reversal, are left out on both sides.
- The slices of one gift never add up to more than the gift.
- Beneficiaries appear only by pseudonym, cohort term and county; never a name.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import deque
from dataclasses import dataclass

from sqlalchemy import Connection, select

from ledger.accounts import cash_account
from ledger.storage.tables import beneficiaries, journal_entries, postings, projects

__all__ = ["Slice", "where_it_went"]

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
