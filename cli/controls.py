"""`huiquan purposes show | set` and `huiquan budget show | set`: the controls an administrator
sets on the command line, through the same use cases as the API (`usecases.controls`).

A fund's purposes say what it may pay for (projects, perhaps only in some counties,
scholarships, in-kind handovers); a project's budget bounds its disbursements (a payment beyond
it needs an approver's approval of an over-budget request, made through the API or the console).
Every change is appended and audited with the old and the new figure.
"""

from __future__ import annotations

from typing import Any

import click

from cli.context import Books, changes_state, current_maker, pass_books

__all__ = ["budget", "purposes"]


def _books(books: Books) -> Any:
    from usecases.books import open_books

    return open_books(books.engine, books.home, group_commit_max=1)


def _admin() -> Any:
    from usecases.unit import Actor

    return Actor(current_maker(), ("admin",))


def _show_purposes(fund: str, stated: Any) -> None:
    from ledger.purposes import describe

    if not stated.stated:
        click.echo(f"{fund} pays for anything (no purposes stated)")
        return
    click.echo(f"{fund} pays for: {describe(stated)}")


@click.group()
def purposes() -> None:
    """What a fund may pay for: projects (perhaps only in some counties), scholarships, in-kind
    handovers. A payment outside them is refused (purpose_mismatch)."""


@purposes.command("show")
@click.argument("fund")
@pass_books
def purposes_show(books: Books, fund: str) -> None:
    """Show what FUND may pay for."""
    from usecases.controls import fund_purposes

    _show_purposes(fund, fund_purposes(_books(books), fund))


@purposes.command("set")
@click.argument("fund")
@click.option("--projects", is_flag=True, help="It pays its projects.")
@click.option(
    "--county",
    "counties",
    multiple=True,
    help="Only projects in this county (as the project names it). Repeat for several.",
)
@click.option("--scholarships", is_flag=True, help="It pays scholarships.")
@click.option("--in-kind-handovers", is_flag=True, help="It hands goods received in kind on.")
@pass_books
@changes_state("purposes set")
def purposes_set(
    books: Books,
    fund: str,
    projects: bool,
    counties: tuple[str, ...],
    scholarships: bool,
    in_kind_handovers: bool,
) -> None:
    """State what FUND may pay for; what is not named is not allowed."""
    from usecases.controls import set_fund_purposes

    stated = set_fund_purposes(
        _books(books),
        fund,
        {
            "projects": projects,
            "counties": list(counties),
            "scholarships": scholarships,
            "in_kind_handovers": in_kind_handovers,
        },
        by=_admin(),
    )
    _show_purposes(fund, stated)


@click.group()
def budget() -> None:
    """Project budgets: a disbursement beyond what is left is refused (over_budget)."""


def _left(books: Books, code: str) -> tuple[Any, int]:
    from ledger.accounts import PROGRAM_EXPENSES
    from ledger.errors import UnknownProject
    from ledger.storage.unit_of_work import read_only

    with read_only(books.engine) as repo:
        project = repo.get_project(code)
        if project is None:
            raise UnknownProject(f"no project {code!r}", field="project")
        return project, repo.total(PROGRAM_EXPENSES, project.fund, project=code)[1]


@budget.command("show")
@click.argument("project")
@pass_books
def budget_show(books: Books, project: str) -> None:
    """Show PROJECT's budget, what it has spent and what is left."""
    from ledger.money import format_minor

    found, spent = _left(books, project)
    c = found.currency
    if found.budget_minor <= 0:
        click.echo(f"{project}: no budget; spent {format_minor(spent, c)} {c}")
        return
    click.echo(
        f"{project}: budget {format_minor(found.budget_minor, c)} {c}, spent "
        f"{format_minor(spent, c)} {c}, left {format_minor(found.budget_minor - spent, c)} {c}"
    )


@budget.command("set")
@click.argument("project")
@click.argument("amount")
@click.option("--reason", required=True, help="Why (the board's decision, ...).")
@pass_books
@changes_state("budget set")
def budget_set(books: Books, project: str, amount: str, reason: str) -> None:
    """Set PROJECT's budget to AMOUNT CNY (a decimal string), with a reason."""
    from ledger.money import Money
    from usecases.controls import set_project_budget

    change = set_project_budget(
        _books(books), project, Money.parse(amount, "CNY"), reason=reason, by=_admin()
    )
    old, new = change.before, change.after
    click.echo(
        f"{project}: budget {Money(old.budget_minor, old.currency).to_decimal_string()} -> "
        f"{Money(new.budget_minor, new.currency).to_decimal_string()} {new.currency} ({reason})"
    )
