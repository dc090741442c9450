"""The lists: gifts, pledges, disbursements, awards, payouts, receipts, and the donor search.

Each view loads its query (unknown parameters refused), calls one `usecases.queries` function
and presents its page: amounts as decimal strings, `next_cursor` opaque. Readers' roles.
"""

from __future__ import annotations

from typing import Any

from api.auth import READERS
from api.blueprint import Blueprint
from api.resources.common import books, operation
from api.resources.donors import present_donor
from api.schemas import (
    AwardPage,
    AwardQuery,
    DisbursementPage,
    DisbursementQuery,
    DonationPage,
    DonationQuery,
    DonorPage,
    DonorSearchQuery,
    InKindPage,
    InKindQuery,
    PayoutPage,
    PayoutQuery,
    PledgePage,
    PledgeQuery,
    ReceiptPage,
    ReceiptQuery,
    money,
)
from ledger.money import FUNCTIONAL_CURRENCY, format_minor
from usecases import queries
from usecases.queries import Page

blp = Blueprint("lists", __name__, url_prefix="/api/v1", description="Lists of the books.")

PROBLEMS = ("validation_error",)


def _page(page: Page[Any], present: Any) -> dict[str, Any]:
    return {"items": [present(row) for row in page.items], "next_cursor": page.next_cursor}


def _donation(r: queries.DonationRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "sequence": r.sequence,
        "kind": r.kind,
        "donor_id": r.donor_id,
        "fund": r.fund,
        "amount": format_minor(r.amount_minor, r.currency),
        "currency": r.currency,
        "cny_amount": format_minor(r.cny_minor, FUNCTIONAL_CURRENCY),
        "received_on": r.received_on.isoformat(),
        "method": r.method,
        "pledge_id": r.pledge_id,
        "memo": r.memo,
        "reversed_by": r.reversed_by,
    }


def _in_kind(r: queries.InKindRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "sequence": r.sequence,
        "donor_id": r.donor_id,
        "fund": r.fund,
        "description": r.description,
        "quantity": r.quantity,
        "fair_value": format_minor(r.fair_value_minor, r.currency),
        "currency": r.currency,
        "asset": r.asset,
        "valuation_basis": r.valuation_basis,
        "received_on": r.received_on.isoformat(),
        "pass_through_to": r.pass_through_to,
        "reversed_by": r.reversed_by,
    }


def _pledge(r: queries.PledgeRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "donor_id": r.donor_id,
        "fund": r.fund,
        "amount": format_minor(r.amount_minor, r.currency),
        "paid": format_minor(r.paid_minor, r.currency),
        "outstanding": format_minor(r.outstanding_minor, r.currency),
        "currency": r.currency,
        "pledged_on": r.pledged_on,
        "due_on": r.due_on,
        "conditional": r.conditional,
        "entry_id": r.entry_id,
        "reversed_by": r.reversed_by,
    }


def _disbursement(r: queries.DisbursementRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "sequence": r.sequence,
        "fund": r.fund,
        "project": r.project,
        "amount": format_minor(r.amount_minor, r.currency),
        "currency": r.currency,
        "cny_amount": format_minor(r.cny_minor, FUNCTIONAL_CURRENCY),
        "paid_on": r.paid_on.isoformat(),
        "functional_class": r.functional_class,
        "memo": r.memo,
        "payee": r.payee,
        "bank_reference": r.bank_reference,
        "reversed_by": r.reversed_by,
        "acknowledged_on": r.acknowledged_on,
        "documents": r.documents,
    }


def _award(r: queries.AwardRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "entry_id": r.entry_id,
        "sequence": r.sequence,
        "fund": r.fund,
        "beneficiary_id": r.beneficiary_id,
        "cohort": r.cohort,
        "county": r.county,
        "term": r.term,
        "project": r.project or None,
        "amount": format_minor(r.amount_minor, r.currency),
        "paid": format_minor(r.paid_minor, r.currency),
        "unpaid": format_minor(r.unpaid_minor, r.currency),
        "currency": r.currency,
        "awarded_on": r.awarded_on.isoformat(),
        "reversed_by": r.reversed_by,
    }


def _payout(r: queries.PayoutRow) -> dict[str, Any]:
    return {
        "id": r.id,
        "sequence": r.sequence,
        "award_id": r.award_id,
        "fund": r.fund,
        "beneficiary_id": r.beneficiary_id,
        "cohort": r.cohort,
        "term": r.term,
        "amount": format_minor(r.amount_minor, r.currency),
        "currency": r.currency,
        "paid_on": r.paid_on.isoformat(),
        "reversed_by": r.reversed_by,
        "acknowledged_on": r.acknowledged_on,
        "documents": r.documents,
    }


def _receipt(r: queries.ReceiptRow) -> dict[str, Any]:
    amount = None
    if r.amount_minor is not None and r.currency is not None:
        amount = money(r.amount_minor, r.currency)
    return {
        "serial": r.serial,
        "kind": r.kind,
        "donor_id": r.donor_id,
        "entry_id": r.entry_id,
        "issued_at": r.issued_at,
        "status": r.status,
        "replaces_serial": r.replaces_serial,
        "replaced_by": r.replaced_by,
        "void_reason": r.void_reason,
        "amount": amount,
    }


@blp.route("/donors/search", methods=["GET"])
@operation(blp, roles=READERS, problems=PROBLEMS)
@blp.arguments(DonorSearchQuery(), location="query", unknown="raise")
@blp.response(200, DonorPage)
def search_donors(query: dict[str, Any]) -> dict[str, Any]:
    """Donors whose name contains `q` (any case), by name, a page at a time."""
    return _page(queries.donors_matching(books(), **query), present_donor)


@blp.route("/donations", methods=["GET"])
@operation(blp, roles=READERS, problems=PROBLEMS)
@blp.arguments(DonationQuery(), location="query", unknown="raise")
@blp.response(200, DonationPage)
def list_donations(query: dict[str, Any]) -> dict[str, Any]:
    """Cash and bank gifts (pledge payments too), newest first.

    The amount is the gift's cash line in the journal; `reversed_by` names a correction.
    """
    return _page(queries.donations(books(), **query), _donation)


@blp.route("/in-kind-donations", methods=["GET"])
@operation(blp, roles=READERS, problems=PROBLEMS)
@blp.arguments(InKindQuery(), location="query", unknown="raise")
@blp.response(200, InKindPage)
def list_in_kind_donations(query: dict[str, Any]) -> dict[str, Any]:
    """Goods received at fair value, newest first."""
    return _page(queries.in_kind_donations(books(), **query), _in_kind)


@blp.route("/pledges", methods=["GET"])
@operation(blp, roles=READERS, problems=PROBLEMS)
@blp.arguments(PledgeQuery(), location="query", unknown="raise")
@blp.response(200, PledgePage)
def list_pledges(query: dict[str, Any]) -> dict[str, Any]:
    """Pledges, those with something outstanding first, then newest first.

    `outstanding` is the balance of pledges receivable (1122) for the pledge; `paid` its
    payments less their reversals. A conditional pledge is a memo record: nothing outstanding.
    """
    return _page(queries.pledges(books(), **query), _pledge)


@blp.route("/disbursements", methods=["GET"])
@operation(blp, roles=READERS, problems=PROBLEMS)
@blp.arguments(DisbursementQuery(), location="query", unknown="raise")
@blp.response(200, DisbursementPage)
def list_disbursements(query: dict[str, Any]) -> dict[str, Any]:
    """Payments to projects, newest first."""
    return _page(queries.disbursements(books(), **query), _disbursement)


@blp.route("/scholarship-awards", methods=["GET"])
@operation(blp, roles=READERS, problems=PROBLEMS)
@blp.arguments(AwardQuery(), location="query", unknown="raise")
@blp.response(200, AwardPage)
def list_awards(query: dict[str, Any]) -> dict[str, Any]:
    """Scholarship awards, newest first, with paid and unpaid (the balance of 2209).

    Beneficiaries appear by pseudonym, cohort and county only.
    """
    return _page(queries.awards(books(), **query), _award)


@blp.route("/scholarship-payouts", methods=["GET"])
@operation(blp, roles=READERS, problems=PROBLEMS)
@blp.arguments(PayoutQuery(), location="query", unknown="raise")
@blp.response(200, PayoutPage)
def list_payouts(query: dict[str, Any]) -> dict[str, Any]:
    """Scholarship payouts, newest first; beneficiaries by pseudonym and cohort only."""
    return _page(queries.payouts(books(), **query), _payout)


@blp.route("/receipts", methods=["GET"])
@operation(blp, roles=READERS, problems=PROBLEMS)
@blp.arguments(ReceiptQuery(), location="query", unknown="raise")
@blp.response(200, ReceiptPage)
def list_receipts(query: dict[str, Any]) -> dict[str, Any]:
    """Receipts, newest issued first: `serial` is a prefix; `status` live or void."""
    prefix = query.pop("serial", None)
    return _page(queries.receipts(books(), prefix=prefix, **query), _receipt)
