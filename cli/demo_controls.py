"""The demo's internal controls: the funds' purposes, and a few requests and their decisions.

Data in `demo_data/controls.json` (purposes from the domain notes; made-up payees marked
"演示"). `state_purposes` runs inside the demo's own unit of work, before its operations are
posted, so the whole demo is loaded under them; `request_and_decide` runs after the load,
through the same use cases as the API: the demo officer (王芳) requests, the demo approver
(李明) approves or rejects, and some requests stay pending for a visitor to decide. The
operations are dated `on` (the last days of the demo's history); a payment another seed's
project has no budget left for is asked over budget, one its fund has no cash for is skipped.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib.resources import files
from typing import Any

__all__ = ["DemoRequests", "read_controls", "request_and_decide", "state_purposes"]


def read_controls() -> dict[str, Any]:
    """The demo's controls data."""
    data: dict[str, Any] = json.loads(
        (files("cli") / "demo_data" / "controls.json").read_text(encoding="utf-8")
    )
    return data


def state_purposes(uow: Any, controls: dict[str, Any]) -> None:
    """State what each demo fund may pay for, in the demo's unit of work."""
    from ledger import services

    for fund, purposes in controls["purposes"].items():
        services.set_fund_purposes(uow, fund=fund, purposes=purposes, by="demo")


class DemoRequests:
    """How many demo requests were posted, rejected, left pending, or skipped (the fund has not
    the cash for it in another seed's books)."""

    def __init__(self) -> None:
        self.posted = self.rejected = self.pending = self.skipped = 0


def request_and_decide(books: Any, controls: dict[str, Any]) -> DemoRequests:
    """Make the demo people and their requests, and decide those the data decides.

    Raises:
        LedgerError: when a request no longer fits the books (then the demo is broken).
    """
    from ledger.errors import InsufficientFunds
    from ledger.money import Money
    from usecases import approvals
    from usecases.gate import ApprovalRequest
    from usecases.unit import SYSTEM
    from usecases.users import create_user

    people = {
        p["login"]: create_user(
            books, login=p["login"], display_name=p["display_name"], roles=p["roles"], by=SYSTEM
        )
        for p in controls["people"]
    }
    actor = {login: user.actor() for login, user in people.items()}
    made = DemoRequests()
    for n, r in enumerate(controls["requests"], 1):
        d = dict(r["details"])
        d["amount"] = Money.parse(d["amount"], "CNY")
        maker, key = actor[r["maker"]], f"demo-request-{n}"
        today = dt.date.fromisoformat(controls["on"])
        try:
            asked = _ask(books, r["operation"], maker, key, today, d)
        except InsufficientFunds:
            made.skipped += 1  # another seed's books: the fund has not the cash today
            continue
        if not isinstance(asked, ApprovalRequest):
            raise RuntimeError(f"demo request {n} posted without approval: check the policy")
        decide = r.get("decide")
        if decide is None:
            made.pending += 1
        elif decide["decision"] == "approve":
            approvals.approve(books, asked.id, by=actor[decide["by"]])
            made.posted += 1
        else:
            approvals.reject(books, asked.id, reason=decide["reason"], by=actor[decide["by"]])
            made.rejected += 1
    return made


#: The reason a demo payment gives when another seed's project has no budget left for it.
OVER_BUDGET = "演示数据：项目预算已用完，申请超预算支付"


def _ask(books: Any, operation: str, maker: Any, key: str, today: dt.date, d: Any) -> Any:
    """Request the operation; a payment the project's budget cannot take is asked over budget.

    Raises:
        InsufficientFunds: the fund has not the cash for it today.
    """
    from ledger.errors import OverBudget
    from usecases import spending

    if operation == "transfer":
        return spending.transfer_between_funds(books, by=maker, key=key, on=today, **d)
    try:
        return spending.record_disbursement(books, by=maker, key=key, paid_on=today, **d)
    except OverBudget:
        d = {**d, "over_budget_reason": OVER_BUDGET}
        return spending.record_disbursement(books, by=maker, key=key, paid_on=today, **d)
