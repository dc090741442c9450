"""The chart of accounts: listed by everyone, extended, closed and re-opened by admins.

Accounts are never deleted or renamed (the database refuses both); a closed account takes no
new postings but stays in history.
"""

from __future__ import annotations

from typing import Any

from api.auth import ADMIN, READERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.resources.common import (
    books,
    idempotency_key,
    operation,
    read,
)
from api.schemas import AccountIn, AccountList, AccountOut
from api.trail import audit_facts
from ledger.accounts import Account
from ledger.storage.repository import SqlRepository
from usecases import reference

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Chart of accounts.")


def present_account(a: Account) -> dict[str, Any]:
    return {
        "code": a.code,
        "name_cn": a.name_cn,
        "name_us": a.name_us,
        "type": a.type.value,
        "normal_side": a.normal_side.value,
        "currency": a.currency,
        "is_open": a.is_open,
    }


def _found(repo: SqlRepository, code: str) -> Account:
    account = repo.get_account(code)
    if account is None:
        raise ApiProblem("not_found", f"There is no account {code!r}.")
    return account


@blp.route("/accounts", methods=["GET"])
@operation(blp, roles=READERS)
@blp.response(200, AccountList)
def list_accounts() -> dict[str, Any]:
    """The chart of accounts (codes of 民间非营利组织会计制度, ASC 958 labels beside them)."""
    return {"items": [present_account(a) for a in read(lambda repo: repo.list_accounts())]}


@blp.route("/accounts", methods=["POST"])
@operation(blp, roles=ADMIN, problems=("already_exists",), body=True, idempotent=True)
@blp.arguments(AccountIn())
@blp.response(201, AccountOut)
def create_account(data: dict[str, Any]) -> dict[str, Any]:
    """Add an account to the chart (a cash account `1002-XXX` holds currency XXX only)."""
    key = idempotency_key("accounts")
    return present_account(reference.add_account(books(), key=key, audit=audit_facts(), **data))


@blp.route("/accounts/<code>/close", methods=["POST"])
@operation(blp, roles=ADMIN, problems=("not_found",))
@blp.response(200, AccountOut)
def close_account(code: str) -> dict[str, Any]:
    """Close an account to new postings; it stays in history. Closing twice is harmless."""
    return present_account(reference.set_account_open(books(), code, False, audit=audit_facts()))


@blp.route("/accounts/<code>/open", methods=["POST"])
@operation(blp, roles=ADMIN, problems=("not_found",))
@blp.response(200, AccountOut)
def open_account(code: str) -> dict[str, Any]:
    """Re-open a closed account. Opening an open account is harmless."""
    return present_account(reference.set_account_open(books(), code, True, audit=audit_facts()))
