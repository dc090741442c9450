"""The maker-checker gate: an operation that needs approval becomes a request, not an entry.

Invariants owned here:
- The gate runs inside the operation's own unit of work (the books' writer lock is held): it
  reads the fund's policy (`policy_in`), and if the operation needs approval it stores an
  `approval_requests` row and posts nothing; else the operation posts as always.
- A fund's policy is its newest `approval_policies` version, else the books' (fund `*`), else
  `ledger.approvals.DEFAULT_POLICY`.
- A request is only made for an operation that could post now: the operation is run first
  and undone (`UnitOfWork.attempt`), so bad input (an unknown project, a closed period, more
  than the fund's cash) is refused with its usual error at once, not at approval.
- A request made with an idempotency key is found again by that key: a replay answers the same
  request (or, once the request is posted, the operation replays its entry as usual).
- An import (all or nothing, no person to answer for it) is held to the same policy: a row that
  would need approval is refused with its line (`import_refusals`), to be requested through
  the API instead.
- What is stored to post later (`details`) is plain JSON: money as minor units and currency,
  dates as ISO strings (`encode_details` / `decode_details` are each other's inverse).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import and_, func, insert, select

from ledger.approvals import DEFAULT_POLICY, Policy, needs_approval, parse_policy, state_of
from ledger.money import Money
from ledger.storage.fastsql import WRITE_HOOK
from ledger.storage.tables import (
    approval_decisions,
    approval_policies,
    approval_requests,
    journal_entries,
    postings,
)
from ledger.storage.unit_of_work import UnitOfWork, utc_now
from usecases.unit import Actor

__all__ = [
    "ALL_FUNDS",
    "ApprovalRequest",
    "available",
    "decode_details",
    "encode_details",
    "import_refusals",
    "now_text",
    "pending_outflows",
    "policy_in",
    "policy_on",
    "request_from_row",
    "request_if_needed",
]

#: The `fund` of the books' own policy, the default of every fund without one.
ALL_FUNDS = "*"
#: Operations whose pending requests are money about to leave the fund's cash.
CASH_OUT = ("disbursement", "transfer")


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """An operation waiting for its checker(s)."""

    id: str
    operation: str
    fund: str
    amount: Money
    maker: str
    maker_user_id: str
    requested_at: str
    expires_at: str
    state: str
    approvals_needed: int
    checkers: tuple[str, ...]
    details: Mapping[str, Any]
    entry_id: str | None = None
    reason: str = ""
    #: True when an operation was answered with this request (202), not decided.
    requested: bool = False


def encode_details(details: Mapping[str, Any]) -> str:
    """The operation's arguments as JSON (money and dates tagged, see the module docstring)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Money):
            return {"$money": [value.minor, value.currency]}
        if isinstance(value, dt.date):
            return {"$date": value.isoformat()}
        return value

    return json.dumps({k: plain(v) for k, v in details.items()}, ensure_ascii=False)


def decode_details(text: str) -> dict[str, Any]:
    """The operation's arguments back from `encode_details`."""

    def typed(value: Any) -> Any:
        if isinstance(value, dict) and "$money" in value:
            return Money(int(value["$money"][0]), str(value["$money"][1]))
        if isinstance(value, dict) and "$date" in value:
            return dt.date.fromisoformat(value["$date"])
        return value

    return {k: typed(v) for k, v in json.loads(text).items()}


def policy_in(uow: UnitOfWork, fund: str) -> Policy:
    """The policy that governs `fund` (see the module docstring)."""
    return policy_on(uow.connection, fund)


def policy_on(conn: Any, fund: str) -> Policy:
    """`policy_in` over a plain connection."""
    t = approval_policies
    for code in (fund, ALL_FUNDS):
        row = conn.execute(
            select(t.c.rules).where(t.c.fund == code).order_by(t.c.version.desc()).limit(1)
        ).first()
        if row is not None:
            return parse_policy(json.loads(row.rules))
    return DEFAULT_POLICY


def request_from_row(row: Any, checkers: tuple[str, ...], now: str) -> ApprovalRequest:
    return ApprovalRequest(
        id=row.id,
        operation=row.operation,
        fund=row.fund,
        amount=Money(row.amount_minor, row.currency),
        maker=row.maker,
        maker_user_id=row.maker_user_id,
        requested_at=row.requested_at,
        expires_at=row.expires_at,
        state=state_of(row.status, row.expires_at, now),
        approvals_needed=row.approvals_needed,
        checkers=checkers,
        details=decode_details(row.details),
        entry_id=row.entry_id,
        reason=row.reason,
    )


def _by_key(uow: UnitOfWork, key: str) -> ApprovalRequest | None:
    row = uow.connection.execute(
        select(approval_requests).where(approval_requests.c.idempotency_key == key)
    ).first()
    if row is None:
        return None
    d = approval_decisions
    names = uow.connection.execute(
        select(d.c.checker).where(d.c.request_id == row.id, d.c.decision == "approve")
    )
    return request_from_row(row, tuple(n for (n,) in names), uow.now())


def request_if_needed(
    uow: UnitOfWork,
    operation: str,
    *,
    fund: str,
    amount: Money,
    details: Mapping[str, Any],
    by: Actor,
    key: str | None,
    post: Callable[[UnitOfWork], object],
    reverses_kind: str | None = None,
    force: bool = False,
) -> ApprovalRequest | None:
    """The request this operation becomes, or None when it may post now (`post` does).

    A replay of `key` answers its request; a key already used to post replays that instead.
    `force`: the operation needs approval whatever the policy says (an over-budget payment).

    Raises:
        whatever `post` would raise now (the request is not made).
    """
    if key is not None:
        earlier = _by_key(uow, key)
        if earlier is not None:
            return None if earlier.state == "posted" else replace(earlier, requested=True)
        if uow.idempotency_record(key) is not None:
            return None
    policy = policy_in(uow, fund)
    if not force and not needs_approval(policy, operation, amount, reverses_kind=reverses_kind):
        return None
    _try(uow, post)
    now = uow.now()
    expires = (
        dt.datetime.fromisoformat(now) + dt.timedelta(days=policy.expires_after_days)
    ).isoformat()
    row = {
        "id": str(uuid.uuid4()),
        "operation": operation,
        "fund": fund,
        "amount_minor": amount.minor,
        "currency": amount.currency,
        "details": encode_details(details),
        "maker": by.name,
        "maker_user_id": by.user_id or f"name:{by.name}",
        "approvals_needed": policy.approvers,
        "requested_at": now,
        "expires_at": expires,
        "idempotency_key": key,
        "status": "pending",
        "reason": "",
    }
    uow.connection.execute(insert(approval_requests).values(**row))
    return replace(request_from_row(_Row(row), (), now), requested=True)


class _Undone(Exception):
    """Raised to undo a trial posting."""


def _try(uow: UnitOfWork, post: Callable[[UnitOfWork], object]) -> None:
    """Run `post` and undo it, so only what it would refuse remains (raised)."""

    def trial(unit: UnitOfWork) -> None:
        post(unit)
        raise _Undone

    # A unit of work shared by group commit watches for its operation's first write; the
    # trial's own attempt takes that watch over and drops it: give it back afterwards.
    hook = uow.connection.info.get(WRITE_HOOK)
    try:
        uow.attempt(trial)
    except _Undone:
        pass
    finally:
        if hook is not None:
            uow.connection.info[WRITE_HOOK] = hook


class _Row:
    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values, entry_id=None)


def pending_outflows(conn: Any, fund: str, now: str) -> dict[str, int]:
    """Per currency, the cash that pending (unexpired) requests would take out of `fund`."""
    t = approval_requests
    rows = conn.execute(
        select(t.c.currency, func.sum(t.c.amount_minor))
        .where(
            and_(
                t.c.fund == fund,
                t.c.status == "pending",
                t.c.expires_at > now,
                t.c.operation.in_(CASH_OUT),
            )
        )
        .group_by(t.c.currency)
    )
    return {currency: int(total) for currency, total in rows}


def available(cash: Mapping[str, int], pending: Mapping[str, int]) -> list[tuple[str, int]]:
    """Per currency (sorted), cash less what pending requests would take out."""
    return [(c, cash.get(c, 0) - pending.get(c, 0)) for c in sorted(set(cash) | set(pending))]


def now_text() -> str:
    """Now, as the books write timestamps (what expiry is compared with)."""
    return utc_now().isoformat()


#: Per importable operation: the row's paying fund's field.
_IMPORT_FUNDS = {"disbursement": "fund", "award": "fund", "transfer": "from_fund"}


def import_refusals(engine: Any, commands: Sequence[Any]) -> list[tuple[int, str]]:
    """(line, message) for each import command (`ledger.importer.Command`) that needs approval.

    A reversal's entry is looked up in the books, or, when it names an earlier row's label, is
    of that row's operation.
    """
    found: list[tuple[int, str]] = []
    ops = {c.label: c for c in commands if c.label}
    with engine.connect() as conn:
        policies: dict[str, Policy] = {}

        def needs(fund: str, operation: str, amount: Money, kind: str | None = None) -> bool:
            if fund not in policies:
                policies[fund] = policy_on(conn, fund)
            return needs_approval(policies[fund], operation, amount, reverses_kind=kind)

        for c in commands:
            if c.op in _IMPORT_FUNDS:
                asked = needs(c.kwargs[_IMPORT_FUNDS[c.op]], c.op, c.kwargs["amount"])
            elif c.op == "reversal":
                asked = _reversal_needs(conn, c, ops, needs)
            else:
                continue
            if asked:
                found.append(
                    (
                        c.line,
                        f"{c.op}: needs approval under the fund's policy; request it through "
                        "the API (POST it there: it becomes an approval request)",
                    )
                )
    return found


def _reversal_needs(conn: Any, command: Any, ops: Mapping[str, Any], needs: Any) -> bool:
    label = command.refs.get("entry_id")
    if label is not None:
        earlier = ops.get(label)
        if earlier is None or earlier.op not in _IMPORT_FUNDS:
            return False  # a gift or fee of this file: its amount decides, as its row did
        fund = earlier.kwargs[_IMPORT_FUNDS[earlier.op]]
        return bool(needs(fund, "reversal", earlier.kwargs["amount"], earlier.op))
    t, p = journal_entries, postings
    rows = conn.execute(
        select(t.c.kind, p.c.fund, p.c.amount, p.c.currency)
        .join(p, p.c.sequence == t.c.sequence)
        .where(t.c.id == command.kwargs["entry_id"])
    ).all()
    if not rows:
        return False  # the import itself refuses an unknown entry, with its line
    largest = max(rows, key=lambda r: abs(r.amount))
    amount = Money(abs(largest.amount), largest.currency)
    return bool(needs(largest.fund, "reversal", amount, rows[0].kind))
