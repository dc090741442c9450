"""Funds: self-balancing sets of books, with their current balances."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from api.auth import ADMIN, READERS
from api.errors import ApiProblem
from api.resources.common import books, idempotency_key, operation, read
from api.schemas import FundDetailOut, FundIn, FundList, FundOut, money
from api.trail import audit_facts
from ledger.balances import fund_summary
from ledger.model import Fund
from ledger.money import FUNCTIONAL_CURRENCY
from ledger.storage.repository import SqlRepository
from usecases import reference
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
