"""Reports: the trial balance."""

from __future__ import annotations

from typing import Any

from api.auth import READERS
from api.blueprint import Blueprint
from api.resources.common import operation, read
from api.schemas import TrialBalanceOut, TrialBalanceQuery, iso
from ledger.balances import trial_balance
from ledger.money import FUNCTIONAL_CURRENCY, format_minor
from ledger.storage.repository import SqlRepository

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Reports.")


def _trial_balance(repo: SqlRepository, query: dict[str, Any]) -> dict[str, Any]:
    tb = trial_balance(repo, as_of=query.get("as_of"), fund=query.get("fund"))
    cny = FUNCTIONAL_CURRENCY
    rows = [
        {
            "account": r.account,
            "name": r.name_cn,
            "name_us": r.name_us,
            "debit": format_minor(r.debit, cny),
            "credit": format_minor(r.credit, cny),
        }
        for r in tb.rows
    ]
    return {
        "as_of": iso(tb.as_of),
        "fund": query.get("fund"),
        "currency": cny,
        "rows": rows,
        "total_debit": format_minor(tb.total_debit, cny),
        "total_credit": format_minor(tb.total_credit, cny),
    }


@blp.route("/trial-balance", methods=["GET"])
@operation(blp, roles=READERS, problems=("validation_error",))
@blp.arguments(TrialBalanceQuery(), location="query", unknown="raise")
@blp.response(200, TrialBalanceOut)
def get_trial_balance(query: dict[str, Any]) -> dict[str, Any]:
    """Debit and credit per account in CNY values; the totals are always equal.

    With `as_of`, the entries dated up to that day; without it, everything posted (`as_of` is
    then null). `fund` limits it to one fund's books, which balance on their own.
    """
    return read(lambda repo: _trial_balance(repo, query))
