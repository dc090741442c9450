"""Maker-checker: which operations need an approver other than their maker (pure rules).

Invariants owned here:
- A policy names, per operation (`OPERATIONS`), the amount from which it needs approval
  (`None`: never; `0`: always), whether every reversal of a disbursement needs approval
  whatever its amount, how many approvers (1 or 2, never the maker), and after how many days a
  request expires. `DEFAULT_POLICY` is 内部控制's default: disbursements, scholarship awards,
  transfers and reversals of 10,000 or more, and every reversal of a disbursement, need one
  approver; requests expire after 14 days.
- Thresholds are in the operation currency's units (10,000 CNY, 10,000 USD): an amount is
  compared as `minor / 10**exponent`, exactly (integers only).
- A policy read from JSON is checked whole: `parse_policy` reports every problem at once.
- A request's state is one of `STATES`; a pending request past its `expires_at` is `expired`
  (nothing rewrites it: the clock does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.errors import InvalidEntry
from ledger.money import Money

__all__ = [
    "DEFAULT_POLICY",
    "OPERATIONS",
    "STATES",
    "Policy",
    "needs_approval",
    "parse_policy",
    "policy_json",
    "state_of",
]

OPERATIONS = ("disbursement", "award", "transfer", "reversal")
STATES = ("pending", "posted", "rejected", "withdrawn", "expired")
_MAX_DAYS = 366


@dataclass(frozen=True, slots=True)
class Policy:
    """What needs approval in one fund (see the module docstring)."""

    thresholds: Mapping[str, int | None] = field(
        default_factory=lambda: dict.fromkeys(OPERATIONS, 10_000)
    )
    reversal_of_disbursement: bool = True
    approvers: int = 1
    expires_after_days: int = 14


DEFAULT_POLICY = Policy()


def needs_approval(
    policy: Policy, operation: str, amount: Money, *, reverses_kind: str | None = None
) -> bool:
    """Whether `operation` of `amount` needs approval under `policy`."""
    if operation == "reversal" and reverses_kind == "disbursement":
        if policy.reversal_of_disbursement:
            return True
    threshold = policy.thresholds.get(operation)
    if threshold is None:
        return False
    return bool(amount.minor >= threshold * 10**amount.exponent)


def parse_policy(raw: Mapping[str, Any]) -> Policy:
    """A policy from its JSON form (`policy_json`); fields left out keep the default.

    Raises:
        InvalidEntry: naming the first bad field; the message lists every problem.
    """
    problems: list[tuple[str, str]] = []
    known = {"thresholds", "reversal_of_disbursement", "approvers", "expires_after_days"}
    problems += [(k, f"unknown field {k!r}") for k in sorted(set(raw) - known)]
    thresholds = dict(DEFAULT_POLICY.thresholds)
    given = raw.get("thresholds", {})
    if not isinstance(given, Mapping):
        problems.append(("thresholds", "thresholds map operations to an amount or null"))
        given = {}
    for operation, value in given.items():
        if operation not in OPERATIONS:
            problems.append(("thresholds", f"unknown operation {operation!r}"))
        elif value is not None and (type(value) is not int or value < 0):
            problems.append(("thresholds", f"{operation}: a whole amount >= 0, or null"))
        else:
            thresholds[operation] = value
    reversal = raw.get("reversal_of_disbursement", DEFAULT_POLICY.reversal_of_disbursement)
    if not isinstance(reversal, bool):
        problems.append(("reversal_of_disbursement", "true or false"))
    approvers = raw.get("approvers", DEFAULT_POLICY.approvers)
    if approvers not in (1, 2) or type(approvers) is not int:
        problems.append(("approvers", "1 or 2"))
    days = raw.get("expires_after_days", DEFAULT_POLICY.expires_after_days)
    if type(days) is not int or not 1 <= days <= _MAX_DAYS:
        problems.append(("expires_after_days", f"a whole number of days, 1-{_MAX_DAYS}"))
    if problems:
        raise InvalidEntry("; ".join(p for _, p in problems), field=problems[0][0])
    return Policy(thresholds, reversal, approvers, days)


def policy_json(policy: Policy) -> dict[str, Any]:
    """The JSON form of a policy (what `parse_policy` reads)."""
    return {
        "thresholds": {op: policy.thresholds.get(op) for op in OPERATIONS},
        "reversal_of_disbursement": policy.reversal_of_disbursement,
        "approvers": policy.approvers,
        "expires_after_days": policy.expires_after_days,
    }


def state_of(status: str, expires_at: str, now: str) -> str:
    """A request's state: its stored status, or `expired` for a pending one past its time."""
    return "expired" if status == "pending" and now >= expires_at else status
