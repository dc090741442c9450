"""What the console's pages read: funds with their figures, donors, projects, recent entries.

Reads only (`usecases.unit.read`: one read-only repository); every write goes through a use case.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import func, select

from ledger.balances import FundSummary, fund_summary
from ledger.entries import PostedEntry
from ledger.model import Donor, Fund, Pledge, Project
from ledger.storage import queries as sql
from ledger.storage import tables
from ledger.storage.repository import SqlRepository
from receipts.issuing import ReceiptRecord, receipts_of_donor
from usecases import approvals, unit
from usecases.books import Books

__all__ = [
    "DonorFile",
    "FundPage",
    "ProjectBudget",
    "donor_file",
    "fund_page",
    "funds",
    "open_pledges",
    "project_budget",
    "projects",
    "search_donors",
]


@dataclass(frozen=True)
class ProjectBudget:
    project: Project
    spent: int  # in the budget's currency (CNY value for CNY budgets)

    @property
    def remaining(self) -> int:
        return self.project.budget_minor - self.spent


@dataclass(frozen=True)
class FundPage:
    fund: Fund
    summary: FundSummary
    budgets: list[ProjectBudget]
    latest: list[PostedEntry]  # newest first
    #: Per currency, cash less what pending approval requests would take out.
    available: tuple[tuple[str, int], ...] = ()

    @property
    def held_back(self) -> bool:
        return any(self.summary.cash.get(cur, 0) != minor for cur, minor in self.available)


@dataclass(frozen=True)
class DonorFile:
    donor: Donor
    gifts: list[PostedEntry]
    receipts: list[ReceiptRecord]


def funds(books: Books) -> list[Fund]:
    return unit.read(books, lambda repo: repo.list_funds())


def projects(books: Books, fund: str | None = None) -> list[Project]:
    return unit.read(books, lambda repo: repo.list_projects(fund))


def _budgets(repo: SqlRepository, fund: str) -> list[ProjectBudget]:
    """Each project's spending (5101) against its budget, from one grouped read of balances."""
    spent: dict[tuple[str, str], int] = {}
    for r in sql.balance_totals(repo.conn, fund, account="5101", by_project=True):
        spent[(r.project, r.currency)] = spent.get((r.project, r.currency), 0) + r.amount
        spent[(r.project, "CNY-value")] = spent.get((r.project, "CNY-value"), 0) + r.functional
    return [
        ProjectBudget(p, spent.get((p.code, "CNY-value" if p.currency == "CNY" else p.currency), 0))
        for p in repo.list_projects(fund)
    ]


def project_budget(books: Books, code: str) -> ProjectBudget | None:
    """One project with what it has spent against its budget, or None."""

    def work(repo: SqlRepository) -> ProjectBudget | None:
        project = repo.get_project(code)
        if project is None:
            return None
        return next(b for b in _budgets(repo, project.fund) if b.project.code == code)

    return unit.read(books, work)


def latest_entries(repo: SqlRepository, *, limit: int = 10, **filters: Any) -> list[PostedEntry]:
    """The newest `limit` entries matching `filters` (fund, project, party), newest first."""
    head = repo.head()[0]
    window = 500
    while True:
        after = max(0, head - window)
        found = repo.list_entries(after_sequence=after, limit=window + 1, **filters)
        if len(found) >= limit or after == 0:
            return list(reversed(found[-limit:]))
        window *= 10


def fund_page(books: Books, code: str) -> FundPage | None:
    def work(repo: SqlRepository) -> FundPage | None:
        fund = repo.get_fund(code)
        if fund is None:
            return None
        return FundPage(
            fund,
            fund_summary(repo, code),
            _budgets(repo, code),
            sql.latest_of_fund(repo.conn, code, 10),
        )

    page = unit.read(books, work)
    if page is None:
        return None
    available = approvals.available_cash(books, code, page.summary.cash)
    return replace(page, available=tuple(available))


def open_pledges(books: Books, fund: str) -> list[Pledge]:
    """The fund's unconditional pledges with something still owed (`paid_minor` filled in)."""

    def work(repo: SqlRepository) -> list[Pledge]:
        found = []
        for p in repo.list_pledges(fund):
            if p.conditional:
                continue
            owed = repo.balance_row(("1122", fund, p.currency, "", p.id))[0]
            if owed > 0:
                found.append(replace(p, paid_minor=p.amount_minor - owed))
        return found

    return unit.read(books, work)


def search_donors(books: Books, fragment: str, limit: int = 50) -> list[Donor]:
    """Donors whose name contains `fragment` (any case), by name; the first `limit` if empty."""
    d = tables.donors.c

    def work(repo: SqlRepository) -> list[Donor]:
        query = select(tables.donors).order_by(d.name, d.id).limit(limit)
        text = fragment.strip()
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query = query.where(func.lower(d.name).like(pattern.lower(), escape="\\"))
        return [repo._donor(row) for row in repo.conn.execute(query)]

    return unit.read(books, work)


def donor_file(books: Books, donor_id: str) -> DonorFile | None:
    def work(repo: SqlRepository) -> DonorFile | None:
        donor = repo.get_donor(donor_id)
        if donor is None:
            return None
        gifts = latest_entries(repo, limit=200, party=donor_id)
        return DonorFile(donor, gifts, receipts_of_donor(repo.conn, donor_id))

    return unit.read(books, work)
