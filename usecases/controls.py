"""Internal controls an administrator sets: what a fund may pay for, and project budgets.

Invariants owned here:
- The rules themselves live in `ledger.services` (and `ledger.purposes`), where every entrance
  (API, CLI, console, import) meets them: restricted net assets never below zero, awards within
  what the fund can pay, disbursements within their project's remaining budget, payments within
  the fund's purposes. This module only changes the reference data they read.
- Every change is an appended record (a new version; nothing is rewritten) and an audit event
  in the same transaction; the event's detail carries the old and the new figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger import services
from ledger.model import Project
from ledger.money import Money
from ledger.purposes import Purposes, purposes_json
from ledger.storage.unit_of_work import UnitOfWork
from usecases.books import Books
from usecases.unit import Actor, AuditFacts, write

__all__ = ["BudgetChange", "fund_purposes", "set_fund_purposes", "set_project_budget"]


@dataclass(frozen=True, slots=True)
class BudgetChange:
    """A project's budget before and after an administrator changed it."""

    before: Project
    after: Project
    reason: str


def _facts(audit: AuditFacts | None, by: Actor, action: str, target: str) -> AuditFacts:
    return audit or AuditFacts(actor=by.name, role=by.role, action=action, target=target)


def set_fund_purposes(
    books: Books,
    fund: str,
    purposes: Mapping[str, Any],
    *,
    by: Actor,
    audit: AuditFacts | None = None,
) -> Purposes:
    """State what `fund` may pay for (`ledger.purposes.parse_purposes`'s JSON); audited with
    the purposes before and after.

    Raises:
        UnknownFund; InvalidEntry: bad purposes (every problem named).
    """
    facts = _facts(audit, by, "fund.purposes.set", fund)

    def work(uow: UnitOfWork) -> Purposes:
        before = services.fund_purposes(uow, fund)
        after = services.set_fund_purposes(uow, fund=fund, purposes=purposes, by=by.name)
        facts.detail = {
            "fund": fund,
            "old": purposes_json(before) if before.stated else None,
            "new": purposes_json(after),
        }
        return after

    return write(books, work, audit=facts)


def fund_purposes(books: Books, fund: str) -> Purposes:
    """What `fund` may pay for. Raises: UnknownFund."""
    with UnitOfWork(books.engine) as uow:
        return services.fund_purposes(uow, fund)


def set_project_budget(
    books: Books,
    project: str,
    budget: Money,
    *,
    reason: str,
    by: Actor,
    audit: AuditFacts | None = None,
) -> BudgetChange:
    """Change a project's budget (an administrator raises it), with a reason; audited with the
    old and the new figure.

    Raises:
        UnknownProject; InvalidEntry: no reason, not CNY, below what was spent.
    """
    facts = _facts(audit, by, "project.budget.set", project)

    def work(uow: UnitOfWork) -> BudgetChange:
        before, after = services.set_project_budget(
            uow, project=project, budget=budget, reason=reason, by=by.name
        )
        facts.detail = {
            "project": project,
            "old": Money(before.budget_minor, before.currency).to_decimal_string(),
            "new": Money(after.budget_minor, after.currency).to_decimal_string(),
            "currency": after.currency,
            "reason": reason.strip(),
        }
        return BudgetChange(before, after, reason.strip())

    return write(books, work, audit=facts)
