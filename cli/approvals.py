"""`huiquan policy show | set` and `huiquan approvals list`: maker-checker from the console.

Requests are decided through the API or the web console, where each approver acts as
themselves; the command line only shows them, and sets the funds' approval policies (an
administrator's act: every change is a new version and an audit event).
"""

from __future__ import annotations

from typing import Any

import click

from cli.context import Books, changes_state, pass_books
from cli.output import table
from ledger.text import digits

__all__ = ["approvals_group", "policy"]


def _books(books: Books) -> Any:
    from usecases.books import open_books

    return open_books(books.engine, books.home, group_commit_max=1)


def _show(fund: str, policy: Any) -> None:
    from ledger.approvals import policy_json

    rules = policy_json(policy)
    for operation, threshold in rules["thresholds"].items():
        bar = "never" if threshold is None else f">= {threshold}"
        click.echo(f"{fund} {operation}: needs approval {bar}")
    click.echo(f"{fund} every reversal of a disbursement: {rules['reversal_of_disbursement']}")
    click.echo(
        f"{fund} approvers: {rules['approvers']}; expires after {rules['expires_after_days']} days"
    )


@click.group()
def policy() -> None:
    """Approval policies: which operations need an approver, per fund (`*`: all funds)."""


@policy.command("show")
@click.argument("fund")
@pass_books
def policy_show(books: Books, fund: str) -> None:
    """Show the policy that governs FUND."""
    from usecases.approvals import fund_policy

    _show(fund, fund_policy(_books(books), fund))


def _threshold(value: str) -> tuple[str, int | None]:
    operation, _, amount = value.partition("=")
    if not amount:
        raise click.BadParameter(f"{value!r}: write OPERATION=AMOUNT or OPERATION=never")
    if amount == "never":
        return operation, None
    if not digits(amount):
        raise click.BadParameter(f"{value!r}: the amount is a whole number of currency units")
    return operation, int(amount)


@policy.command("set")
@click.argument("fund")
@click.option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="OPERATION=AMOUNT",
    help="disbursement, award, transfer or reversal = the amount from which it needs approval "
    "(0: always; never). Repeat for several.",
)
@click.option("--approvers", type=click.IntRange(1, 2), help="How many approvers (1 or 2).")
@click.option(
    "--reversal-of-disbursement/--no-reversal-of-disbursement",
    default=None,
    help="Whether every reversal of a disbursement needs approval.",
)
@click.option("--expires-after-days", type=click.IntRange(1, 366), help="Requests expire then.")
@pass_books
@changes_state("policy set")
def policy_set(
    books: Books,
    fund: str,
    thresholds: tuple[str, ...],
    approvers: int | None,
    reversal_of_disbursement: bool | None,
    expires_after_days: int | None,
) -> None:
    """Set FUND's approval policy (`*`: the default of every fund); what is left out keeps the
    default."""
    from usecases.approvals import set_policy
    from usecases.unit import Actor

    rules: dict[str, Any] = {"thresholds": dict(_threshold(t) for t in thresholds)}
    for name, value in (
        ("approvers", approvers),
        ("reversal_of_disbursement", reversal_of_disbursement),
        ("expires_after_days", expires_after_days),
    ):
        if value is not None:
            rules[name] = value
    made = set_policy(_books(books), fund, rules, by=Actor("cli", ("admin",)))
    _show(fund, made)


@click.group("approvals")
def approvals_group() -> None:
    """Approval requests (decided through the API or the web console)."""


@approvals_group.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "posted", "rejected", "withdrawn", "expired"]),
    default="pending",
    show_default=True,
)
@pass_books
def approvals_list(books: Books, status: str) -> None:
    """List approval requests, newest first."""
    from usecases.approvals import list_requests

    found = list_requests(_books(books), state=status)
    if not found:
        click.echo(f"no {status} requests")
        return
    table(
        None,
        ["id", "operation", "fund", "amount", "maker", "requested", "checkers"],
        [
            [
                r.id,
                r.operation,
                r.fund,
                f"{r.amount.to_decimal_string()} {r.amount.currency}",
                r.maker,
                r.requested_at[:16],
                ", ".join(r.checkers) or "-",
            ]
            for r in found
        ],
    )
