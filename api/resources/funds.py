"""Funds: self-balancing sets of books, with their current balances."""

from __future__ import annotations

from typing import Any

from api.auth import ADMIN, READERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.resources.common import books, current_actor, idempotency_key, operation, read
from api.schemas import (
    FundDetailOut,
    FundIn,
    FundList,
    FundOut,
    PurposesIn,
    PurposesOut,
    money,
)
from api.trail import audit_facts
from ledger.balances import fund_summary
from ledger.model import Fund
from ledger.money import FUNCTIONAL_CURRENCY
from ledger.purposes import Purposes, purposes_json
from ledger.storage.repository import SqlRepository
from usecases import controls, reference
from usecases.gate import available, now_text, pending_outflows

blp = Blueprint("funds", __name__, url_prefix="/api/v1", description="Funds and their balances.")


def present_fund(fund: Fund) -> dict[str, Any]:
    return {
        "id": fund.code,
        "code": fund.code,
        "name": fund.name,
        "restricted": fund.restricted,
        "purpose": fund.purpose,
        "is_open": fund.is_open,
    }


def present_fund_detail(repo: SqlRepository, code: str) -> dict[str, Any]:
    fund = repo.get_fund(code)
    if fund is None:
        raise ApiProblem("not_found", f"There is no fund {code!r}.")
    summary = fund_summary(repo, code)
    cny = FUNCTIONAL_CURRENCY
    balances = {
        "cash": [money(minor, cur) for cur, minor in sorted(summary.cash.items())],
        "pledges_receivable": money(summary.pledges_receivable, cny),
        "raised": money(summary.raised, cny),
        "disbursed": money(summary.disbursed, cny),
        "restricted_net_assets": money(summary.restricted_net_assets, cny),
        "unrestricted_net_assets": money(summary.unrestricted_net_assets, cny),
        "available": [
            money(minor, cur)
            for cur, minor in available(summary.cash, pending_outflows(repo.conn, code, now_text()))
        ],
    }
    return {**present_fund(fund), "balances": balances}


@blp.route("/funds", methods=["POST"])
@operation(blp, roles=ADMIN, problems=("already_exists",), body=True, idempotent=True)
@blp.arguments(FundIn())
@blp.response(201, FundOut)
def create_fund(data: dict[str, Any]) -> dict[str, Any]:
    """Open a fund.

    A restricted fund needs its purpose; gifts to it are restricted income.
    """
    key = idempotency_key("funds")
    return present_fund(reference.open_fund(books(), key=key, audit=audit_facts(), **data))


@blp.route("/funds", methods=["GET"])
@operation(blp, roles=READERS)
@blp.response(200, FundList)
def list_funds() -> dict[str, Any]:
    """List every fund (without balances)."""
    return {"items": [present_fund(f) for f in read(lambda repo: repo.list_funds())]}


@blp.route("/funds/<code>", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, FundDetailOut)
def get_fund(code: str) -> dict[str, Any]:
    """A fund with its current balances.

    Cash per currency; pledges receivable, raised, disbursed and net assets with and without
    donor restrictions, in CNY.
    """
    return read(lambda repo: present_fund_detail(repo, code))


def present_purposes(fund: str, purposes: Purposes) -> dict[str, Any]:
    return {"fund": fund, "stated": purposes.stated, **purposes_json(purposes)}


@blp.route("/funds/<code>/purposes", methods=["GET"])
@operation(blp, roles=READERS, problems=("unknown_fund",))
@blp.response(200, PurposesOut)
def get_purposes(code: str) -> dict[str, Any]:
    """What a fund may pay for: projects (perhaps only in some counties), scholarships, in-kind
    handovers. A fund that never stated its purposes pays for anything (`stated: false`)."""
    return present_purposes(code, controls.fund_purposes(books(), code))


@blp.route("/funds/<code>/purposes", methods=["PUT"])
@operation(blp, roles=ADMIN, problems=("unknown_fund",), body=True, idempotent=True)
@blp.arguments(PurposesIn())
@blp.response(200, PurposesOut)
def set_purposes(data: dict[str, Any], code: str) -> dict[str, Any]:
    """State what a fund may pay for; a kind left out is not allowed. Each change is a new
    version and an audit event (with the purposes before and after). A payment outside them is
    then refused with `purpose_mismatch`, through the API, the import and the console alike.
    Sent again with the same `Idempotency-Key`, it changes nothing and answers what it stated."""
    purposes = controls.set_fund_purposes(
        books(),
        code,
        data,
        by=current_actor(),
        key=idempotency_key("fund-purposes"),
        audit=audit_facts(),
    )
    return present_purposes(code, purposes)
