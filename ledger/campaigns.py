"""Campaign gifts in the books: which gifts a campaign may take, what the journal says it
raised, and the matcher's gift for an eligible gift.

Invariants owned here (the use cases, the importer and the console all rely on them):
- A gift names a campaign in its entry's hashed data (`"campaign": slug`); a matcher's gift
  also names the gift it matches (`"matches": entry id`). A campaign's figures are read from
  these entries and their reversals, valued in CNY by their cash lines: never a counter.
- A gift may name a campaign only if the campaign exists, is not a draft, takes gifts to that
  fund and runs on the gift's date (`NotFound`, field `campaign`, otherwise).
- A matcher matches each eligible gift (tagged to the campaign, from another donor) at
  `ratio_num/ratio_den` of its CNY value, rounded down, never taking the matched total beyond
  the cap nor its pledge beyond its amount: a payment of the matcher's unconditional pledge,
  posted in the gift's unit of work. The total matched so far is read from the journal inside
  that unit of work, after the gift took the books' writer lock, so concurrent gifts cannot
  overshoot the cap. A gift already matched (a replay) is never matched again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from ledger import services
from ledger.accounts import CASH_PREFIX, PLEDGES_RECEIVABLE
from ledger.entries import PostedEntry
from ledger.errors import NotFound
from ledger.money import FUNCTIONAL_CURRENCY, Money
from ledger.storage.tables import campaign_matchers, campaigns, journal_entries, postings
from ledger.storage.unit_of_work import UnitOfWork

__all__ = [
    "Matcher",
    "check_campaign_gift",
    "gift_values",
    "match_gift",
    "matched_so_far",
    "matcher_of",
    "tagged_entries",
]


@dataclass(frozen=True, slots=True)
class Matcher:
    """A campaign's matcher: a donor whose pledge matches gifts at a ratio up to a cap."""

    campaign: str
    donor_id: str
    pledge_id: str
    ratio_num: int
    ratio_den: int
    cap_minor: int


def matcher_of(conn: Connection, slug: str) -> Matcher | None:
    """The campaign's matcher, or None."""
    query = select(campaign_matchers).where(campaign_matchers.c.campaign == slug)
    row = conn.execute(query).first()
    if row is None:
        return None
    return Matcher(
        row.campaign, row.donor_id, row.pledge_id, row.ratio_num, row.ratio_den, row.cap_minor
    )


def check_campaign_gift(conn: Connection, slug: str, fund: str, on: dt.date) -> str:
    """The campaign's fund when it may take a gift to `fund` received `on`.

    Raises:
        NotFound (field `campaign`): no such campaign, a draft, another fund, outside its dates.
    """
    row = conn.execute(select(campaigns).where(campaigns.c.slug == slug)).first()
    if row is None or row.status == "draft":
        raise NotFound(f"There is no campaign {slug!r} taking gifts.", field="campaign")
    if row.fund != fund:
        raise NotFound(f"campaign {slug!r} takes gifts to fund {row.fund}", field="campaign")
    if not str(row.starts_on) <= on.isoformat() <= str(row.ends_on):
        raise NotFound(
            f"campaign {slug!r} runs from {row.starts_on} to {row.ends_on}", field="campaign"
        )
    return str(row.fund)


def tagged_entries(
    conn: Connection, name: str, value: str, *, between: tuple[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Entries whose data has `name` = `value`: id -> data (data is canonical JSON, RFC 8785,
    so the pair appears in it literally; each candidate is parsed to make sure). `between`
    (first and last date) limits the scan to the entries dated then, through the date index:
    a campaign's gifts are all dated within its dates, so its scan is as long as the campaign,
    not as long as the journal."""
    needle = json.dumps({name: value}, ensure_ascii=False, separators=(",", ":"))[1:-1]
    query = select(journal_entries.c.id, journal_entries.c.data).where(
        journal_entries.c.data.contains(needle, autoescape=True)
    )
    if between is not None:
        query = query.where(journal_entries.c.occurred_on.between(*between))
    rows = conn.execute(query)
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        data = json.loads(row.data)
        if data.get(name) == value:
            found[str(row.id)] = data
    return found


def _cash_of(conn: Connection, entry_ids: Sequence[str]) -> dict[str, int]:
    """Each entry's net CNY value on cash accounts (a gift positive, its reversal negative)."""
    if not entry_ids:
        return {}
    # by sequence: the postings' primary key (there is no index on their entry id)
    sequences = select(journal_entries.c.sequence).where(journal_entries.c.id.in_(list(entry_ids)))
    query = (
        select(postings.c.entry_id, func.sum(postings.c.functional))
        .where(postings.c.sequence.in_(sequences))
        .where(postings.c.account.startswith(CASH_PREFIX))
        .group_by(postings.c.entry_id)
    )
    return {str(entry): int(total) for entry, total in conn.execute(query)}


def gift_values(
    conn: Connection, slug: str
) -> tuple[dict[str, dict[str, Any]], dict[str, int], dict[str, int]]:
    """The campaign's tagged entries (id -> data), each one's net CNY value (its reversal
    counted) and its gross value (as recorded)."""
    dates = conn.execute(
        select(campaigns.c.starts_on, campaigns.c.ends_on).where(campaigns.c.slug == slug)
    ).first()
    if dates is None:
        return {}, {}, {}
    tagged = tagged_entries(conn, "campaign", slug, between=(dates[0], dates[1]))
    ids = sorted(tagged)
    reversed_by: dict[str, str] = {}
    if ids:
        query = select(journal_entries.c.reverses, journal_entries.c.id).where(
            journal_entries.c.reverses.in_(ids)
        )
        reversed_by = {str(o): str(r) for o, r in conn.execute(query)}
    cash = _cash_of(conn, [*ids, *reversed_by.values()])
    net = {i: cash.get(i, 0) + cash.get(reversed_by.get(i, ""), 0) for i in ids}
    gross = {i: cash.get(i, 0) for i in ids}
    return tagged, net, gross


def matched_so_far(conn: Connection, slug: str) -> int:
    """The CNY value of the matcher's gifts to the campaign that stand."""
    tagged, net, _gross = gift_values(conn, slug)
    return sum(net[i] for i, data in tagged.items() if "matches" in data)


def _cash_value(entry: PostedEntry) -> int:
    return sum(p.functional for p in entry.postings if p.account.startswith(CASH_PREFIX))


def _matched_in(uow: UnitOfWork, slug: str) -> int:
    """`matched_so_far` as this unit of work sees it: the journal's rows plus the entries it
    posted that are not written yet (journal rows are flushed in batches; with group commit
    several gifts share the unit). A reversal still queued is not counted: the room left is
    then smaller, never larger."""
    tagged, net, _gross = gift_values(uow.connection, slug)
    total = sum(net[i] for i, data in tagged.items() if "matches" in data)
    for entry in list(uow.posted.values()):
        data = entry.data
        if entry.id not in tagged and data.get("campaign") == slug and "matches" in data:
            total += _cash_value(entry)
    return total


def match_gift(uow: UnitOfWork, slug: str, gift: PostedEntry, *, maker: str) -> PostedEntry | None:
    """Post the matcher's gift for `gift` (see the module docstring), or find the one a replayed
    gift already has; None when there is nothing to match.

    Raises:
        whatever `services.record_donation` raises (nothing is then kept of the unit of work).
    """
    conn = uow.connection
    matcher = matcher_of(conn, slug)
    if matcher is None or gift.data.get("donor_id") == matcher.donor_id:
        return None
    queued = [e for e in uow.posted.values() if e.data.get("matches") == gift.id]
    if queued:  # a gift replayed in the transaction that recorded it
        return queued[0]
    if gift.id not in uow.posted:  # a replayed gift: its match, if it had one, exists already
        on = gift.occurred_on.isoformat()
        existing = tagged_entries(conn, "matches", gift.id, between=(on, on))
        return uow.entry(min(existing)) if existing else None
    fund = gift.postings[0].fund
    value = _cash_value(gift)
    owed = uow.balance((PLEDGES_RECEIVABLE, fund, FUNCTIONAL_CURRENCY, "", matcher.pledge_id))[0]
    room = matcher.cap_minor - _matched_in(uow, slug)
    amount = min(value * matcher.ratio_num // matcher.ratio_den, room, owed)
    if amount <= 0:
        return None
    entry: PostedEntry = services.record_donation(
        uow,
        donor_id=matcher.donor_id,
        fund=fund,
        amount=Money(amount, FUNCTIONAL_CURRENCY),
        received_on=gift.occurred_on,
        method="bank",
        pledge_id=matcher.pledge_id,
        memo=f"matching gift: campaign {slug}",
        maker=maker,
        tags={"campaign": slug, "matches": gift.id},
    )
    return entry
