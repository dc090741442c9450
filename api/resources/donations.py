"""Gifts: cash and bank donations (optionally paying a pledge) and in-kind donations.

A receipt hook (`Huiquan.issue_receipt_for(uow, entry)`) is called in the same transaction as
the gift; it returns the receipt (`serial`, `url`, `pdf_url`) or None, and must return the same
receipt again for an entry it has already acknowledged (idempotent replays call it again).
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.auth import WRITERS, actor
from api.resources.common import huiquan, idempotency_key, operation, prebuilt, write
from api.schemas import DonationIn, DonationOut, InKindIn, InKindOut, iso, present_entry
from ledger import services
from ledger.entries import PostedEntry
from ledger.money import FUNCTIONAL_CURRENCY, Money, format_minor
from ledger.storage.unit_of_work import UnitOfWork

blp = Blueprint("donations", __name__, url_prefix="/api/v1", description="Donations.")

DATES = {"date": "received_on"}


Receipt = dict[str, Any] | None


def _gift(uow: UnitOfWork, record: Any, data: dict[str, Any], key: str | None) -> Any:
    """Post the gift and issue its receipt in one transaction; (entry, receipt)."""
    entry = record(uow, **data, maker=actor().name, key=key)
    return entry, huiquan().issue_receipt_for(uow, entry)


def _refs(data: dict[str, Any]) -> dict[str, list[str]]:
    """The donor and fund a gift looks up, for group commit to read with other requests'."""
    return {"donor": [data["donor_id"]], "fund": [data["fund"]]}


def _present_donation(data: dict[str, Any], entry: PostedEntry, receipt: Receipt) -> Any:
    amount: Money = data["amount"]
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
        "receipt": receipt,
        "entry": present_entry(entry),
    }


def _cny(entry: PostedEntry) -> int:
    return sum(p.functional for p in entry.postings if p.functional > 0)


def _present_in_kind(data: dict[str, Any], entry: PostedEntry, receipt: Receipt) -> Any:
    value: Money = data["fair_value"]
    return {
        **{k: data[k] for k in ("donor_id", "fund", "description", "quantity", "asset")},
        **{k: data[k] for k in ("valuation_basis", "evidence", "pass_through_to", "memo")},
        "id": entry.id,
        "fair_value": value.to_decimal_string(),
        "currency": value.currency,
        "received_on": data["received_on"].isoformat(),
        "receipt": receipt,
        "entry": present_entry(entry),
    }


@blp.route("/donations", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("unknown_donor", "unknown_fund", "unknown_pledge", "overpayment", "period_closed"),
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
    `fx_source`; the CNY value is `cny_amount`.
    """
    key = idempotency_key("donations")
    entry, receipt = write(
        lambda uow: _gift(uow, services.record_donation, data, key),
        aliases=DATES,
        key=key,
        refs=_refs(data),
    )
    return _present_donation(data, entry, receipt)


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
    record = services.record_in_kind_donation
    entry, receipt = write(
        lambda uow: _gift(uow, record, data, key), aliases=DATES, key=key, refs=_refs(data)
    )
    return _present_in_kind(data, entry, receipt)
