"""Gifts over HTTP: cash and bank donations (optionally paying a pledge), in-kind donations.

The gift, its receipt and its audit event are one use case (`usecases.gifts`); a view parses,
calls it and presents the entry with the receipt's serial and link URLs.
"""

from __future__ import annotations

from typing import Any

from api.auth import WRITERS
from api.blueprint import Blueprint
from api.resources.common import (
    books,
    current_actor,
    idempotency_key,
    operation,
    prebuilt,
    receipt_urls,
)
from api.schemas import DonationIn, DonationOut, InKindIn, InKindOut, iso, present_entry
from api.trail import audit_facts
from ledger.entries import PostedEntry
from ledger.money import FUNCTIONAL_CURRENCY, format_minor
from usecases import gifts

blp = Blueprint("donations", __name__, url_prefix="/api/v1", description="Donations.")


def _present_donation(data: dict[str, Any], gift: gifts.Gift) -> Any:
    entry, amount = gift.entry, data["amount"]
    return {
        "id": entry.id,
        "donor_id": data["donor_id"],
        "fund": data["fund"],
        "amount": amount.to_decimal_string(),
        "currency": amount.currency,
        "cny_amount": format_minor(_cny(entry), FUNCTIONAL_CURRENCY),
        "received_on": data["received_on"].isoformat(),
        "method": data["method"],
        "pledge_id": data["pledge_id"],
        "fx_rate": data["fx_rate"],
        "fx_source": data["fx_source"],
        "fx_date": iso(data["fx_date"]),
        "memo": data["memo"],
        "receipt": receipt_urls(gift.receipt),
        "entry": present_entry(entry),
        "campaign": data.get("campaign"),
        "matched": _present_match(gift.match),
    }


def _present_match(match: gifts.Gift | None) -> dict[str, Any] | None:
    if match is None:
        return None
    return {
        "id": match.entry.id,
        "donor_id": str(match.entry.data["donor_id"]),
        "amount": format_minor(_cny(match.entry), FUNCTIONAL_CURRENCY),
        "receipt": receipt_urls(match.receipt),
    }


def _cny(entry: PostedEntry) -> int:
    return sum(p.functional for p in entry.postings if p.functional > 0)


def _present_in_kind(data: dict[str, Any], gift: gifts.Gift) -> Any:
    entry, value = gift.entry, data["fair_value"]
    return {
        **{k: data[k] for k in ("donor_id", "fund", "description", "quantity", "asset")},
        **{k: data[k] for k in ("valuation_basis", "evidence", "pass_through_to", "memo")},
        "id": entry.id,
        "fair_value": value.to_decimal_string(),
        "currency": value.currency,
        "received_on": data["received_on"].isoformat(),
        "receipt": receipt_urls(gift.receipt),
        "entry": present_entry(entry),
    }


@blp.route("/donations", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=(
        "unknown_donor",
        "unknown_fund",
        "unknown_pledge",
        "unknown_campaign",
        "overpayment",
        "period_closed",
    ),
    body=True,
    idempotent=True,
)
@blp.arguments(DonationIn())
@blp.response(201, DonationOut)
@prebuilt(DonationOut(), 201)
def create_donation(data: dict[str, Any]) -> dict[str, Any]:
    """Record a cash or bank gift (gross).

    Dr 1002-<currency> cash / Cr 4101 contributions, or Cr 1122 when it pays `pledge_id` (never
    beyond what is still owed). A foreign-currency gift needs `fx_rate` (CNY per unit) and
    `fx_source`; the CNY value is `cny_amount`. A gift for a `campaign` is tagged to it in
    the books; when the campaign has a matcher, the matcher's gift is posted with it
    (`matched`: its own entry and receipt, from the matcher's pledge, never beyond the cap).
    """
    key = idempotency_key("donations")
    gift = gifts.record_donation(books(), by=current_actor(), key=key, audit=audit_facts(), **data)
    return _present_donation(data, gift)


@blp.route("/in-kind-donations", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("unknown_donor", "unknown_fund", "period_closed"),
    body=True,
    idempotent=True,
)
@blp.arguments(InKindIn())
@blp.response(201, InKindOut)
@prebuilt(InKindOut(), 201)
def create_in_kind_donation(data: dict[str, Any]) -> dict[str, Any]:
    """Record goods received, at fair value in CNY, with the valuation basis and evidence.

    Dr 1201 inventory or 1501 equipment / Cr 4101 contributions; goods passed on to a recipient
    the donor named (`pass_through_to`) are agency assets: Dr 1701 / Cr 2601, no income.
    """
    key = idempotency_key("in-kind-donations")
    gift = gifts.record_in_kind(books(), by=current_actor(), key=key, audit=audit_facts(), **data)
    return _present_in_kind(data, gift)
