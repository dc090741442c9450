"""Internal controls an administrator sets: what a fund may pay for, and project budgets.

Invariants owned here:
- The rules themselves live in `ledger.services` (and `ledger.purposes`), where every entrance
  (API, CLI, console, import) meets them: restricted net assets never below zero, awards within
  what the fund can pay, disbursements within their project's remaining budget, payments within
  the fund's purposes. This module only changes the reference data they read.
- Every change is an appended record (a new version; nothing is rewritten) and an audit event
  in the same transaction; the event's detail carries the old and the new figure.
- A change made with an idempotency key (the console's form) is made once: the same key with
  the same content again appends nothing and answers the change it made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, func, select

from ledger import services
from ledger.errors import UnknownProject
from ledger.idempotency import jsonable
from ledger.model import Project
from ledger.money import Money
from ledger.purposes import Purposes, parse_purposes, purposes_json
from ledger.storage.tables import project_budgets, projects
from ledger.storage.unit_of_work import UnitOfWork
from usecases.books import Books
from usecases.reference import _once
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
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Purposes:
    """State what `fund` may pay for (`ledger.purposes.parse_purposes`'s JSON); audited with
    the purposes before and after. A replay of `key` answers the purposes it stated.

    Raises:
        UnknownFund; InvalidEntry: bad purposes (every problem named);
        IdempotencyConflict: `key` was used with other content.
    """
    facts = _facts(audit, by, "fund.purposes.set", fund)
    body = {"fund": fund, "purposes": jsonable(dict(purposes))}

    def work(uow: UnitOfWork) -> Purposes:
        stated: list[Purposes] = []

        def change() -> str:
            before = services.fund_purposes(uow, fund)
            after = services.set_fund_purposes(uow, fund=fund, purposes=purposes, by=by.name)
            facts.detail = {
                "fund": fund,
                "old": purposes_json(before) if before.stated else None,
                "new": purposes_json(after),
            }
            stated.append(after)
            return fund

        _once(uow, books, key, "fund-purposes", body, change)
        return stated[0] if stated else parse_purposes(purposes)

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
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> BudgetChange:
    """Change a project's budget (an administrator raises it), with a reason; audited with the
    old and the new figure. A replay of `key` answers the change it made.

    Raises:
        UnknownProject; InvalidEntry: no reason, not CNY, below what was spent;
        IdempotencyConflict: `key` was used with other content.
    """
    facts = _facts(audit, by, "project.budget.set", project)
    body = {"project": project, "budget": jsonable(budget), "reason": reason}

    def work(uow: UnitOfWork) -> BudgetChange:
        made: list[BudgetChange] = []

        def change() -> str:
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
            made.append(BudgetChange(before, after, reason.strip()))
            return str(_newest_version(uow.connection, project))

        version = _once(uow, books, key, "project-budget", body, change)
        return made[0] if made else _budget_change(uow, project, int(version))

    return write(books, work, audit=facts)


def _newest_version(conn: Connection, project: str) -> int:
    b = project_budgets.c
    return int(conn.scalar(select(func.max(b.version)).where(b.project == project)) or 0)


def _budget_change(uow: UnitOfWork, project: str, version: int) -> BudgetChange:
    """The change that made `project`'s budget `version`: its budget before and after."""
    b = project_budgets.c
    rows = {
        r.version: r
        for r in uow.connection.execute(
            select(b.version, b.budget_minor, b.currency, b.reason).where(
                b.project == project, b.version.in_((version - 1, version))
            )
        )
    }
    now = uow.repo.get_project(project)
    if now is None:  # pragma: no cover - a budget version always names its project
        raise UnknownProject(f"no project {project!r}", field="project")
    if version - 1 in rows:
        old = rows[version - 1]
        before_minor, before_currency = int(old.budget_minor), str(old.currency)
    else:  # the budget it was opened with
        p = projects.c
        first = uow.connection.execute(
            select(p.budget_minor, p.currency).where(p.code == project)
        ).one()
        before_minor, before_currency = int(first.budget_minor), str(first.currency)
    made = rows[version]
    before = replace(now, budget_minor=before_minor, currency=before_currency)
    after = replace(now, budget_minor=int(made.budget_minor), currency=str(made.currency))
    return BudgetChange(before, after, str(made.reason))
