"""Balances and the trial balance.

Invariants owned here:
- Current balances come from the `balances` table (kept current in every posting transaction),
  so reading one never scans the journal; balances as of a date are summed from postings.
- The trial balance is in CNY (functional) values and always totals zero: debits equal credits.
- A fund's cash in a currency is the balance of `1002-<currency>` for that fund.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ledger.accounts import (
    CASH_PREFIX,
    CHART,
    CONTRIBUTIONS_RESTRICTED,
    CONTRIBUTIONS_UNRESTRICTED,
    FUNDRAISING_EXPENSES,
    MANAGEMENT_EXPENSES,
    NET_ASSETS_RESTRICTED,
    NET_ASSETS_UNRESTRICTED,
    PLEDGES_RECEIVABLE,
    PROGRAM_EXPENSES,
    cash_account,
)
from ledger.storage.queries import balance_totals
from ledger.storage.repository import SqlRepository

__all__ = [
    "FundSummary",
    "TrialBalance",
    "TrialBalanceRow",
    "balance_of",
    "fund_cash",
    "fund_summary",
    "trial_balance",
]


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    account: str
    name_cn: str
    name_us: str
    debit: int
    credit: int


@dataclass(frozen=True, slots=True)
class TrialBalance:
    as_of: dt.date | None
    rows: tuple[TrialBalanceRow, ...]

    @property
    def total_debit(self) -> int:
        return sum(r.debit for r in self.rows)

    @property
    def total_credit(self) -> int:
        return sum(r.credit for r in self.rows)


@dataclass(frozen=True, slots=True)
class FundSummary:
    fund: str
    cash: dict[str, int]
    pledges_receivable: int
    raised: int
    disbursed: int
    restricted_net_assets: int
    unrestricted_net_assets: int


def fund_cash(repo: SqlRepository, fund: str, currency: str) -> int:
    """The fund's current cash in `currency`, in minor units (one indexed row read)."""
    return repo.balance_row((cash_account(currency), fund, currency, "", ""))[0]


def balance_rows(
    repo: SqlRepository,
    *,
    account: str | None = None,
    fund: str | None = None,
    project: str | None = None,
    currency: str | None = None,
    as_of: dt.date | None = None,
) -> list[Any]:
    """The balance rows (account, fund, project, currency, amount, functional) that match the
    filters: the stored balances now, or the postings dated up to `as_of` summed."""
    if as_of is not None:
        return list(
            repo.balance_as_of(
                as_of, account=account, fund=fund, project=project, currency=currency
            )
        )
    wanted = {"account": account, "fund": fund, "project": project, "currency": currency}
    return list(repo.balances_where(**{k: v for k, v in wanted.items() if v}))


def balance_of(
    repo: SqlRepository,
    *,
    account: str | None = None,
    fund: str | None = None,
    project: str | None = None,
    currency: str | None = None,
    as_of: dt.date | None = None,
) -> dict[str, int]:
    """Balance per currency (minor units, debit positive) for any account/fund/project filter.

    With `as_of` the postings dated up to that day are summed; without it the current balance
    rows are read. The key "CNY-value" carries the functional (CNY) total.
    """
    totals: dict[str, int] = defaultdict(int)
    rows = balance_rows(
        repo, account=account, fund=fund, project=project, currency=currency, as_of=as_of
    )
    for r in rows:
        totals[r.currency] += int(r.amount)
        totals["CNY-value"] += int(r.functional)
    return dict(totals)


def trial_balance(
    repo: SqlRepository, *, as_of: dt.date | None = None, fund: str | None = None
) -> TrialBalance:
    """Debit and credit per account in CNY; totals are always equal."""
    per_account: dict[str, int] = defaultdict(int)
    rows = (
        repo.balance_as_of(as_of, fund=fund)
        if as_of
        else repo.balances_where(**({"fund": fund} if fund else {}))
    )
    for r in rows:
        per_account[r.account] += int(r.functional)
    lines = []
    for code in sorted(per_account):
        value = per_account[code]
        if value == 0:
            continue
        account = CHART.get(code)
        lines.append(
            TrialBalanceRow(
                code,
                account.name_cn if account else code,
                account.name_us if account else code,
                value if value > 0 else 0,
                -value if value < 0 else 0,
            )
        )
    return TrialBalance(as_of, tuple(lines))


def fund_summary(repo: SqlRepository, fund: str) -> FundSummary:
    """A fund's headline figures from its current balance rows (CNY values except cash)."""
    cash: dict[str, int] = defaultdict(int)
    by_account: dict[str, int] = defaultdict(int)
    for r in balance_totals(repo.conn, fund):  # summed in SQL: one row per account, currency
        if r.account.startswith(CASH_PREFIX):
            cash[r.currency] += int(r.amount)
        by_account[r.account] += int(r.functional)
    return FundSummary(
        fund=fund,
        cash=dict(cash),
        pledges_receivable=by_account[PLEDGES_RECEIVABLE],
        raised=-(by_account[CONTRIBUTIONS_RESTRICTED] + by_account[CONTRIBUTIONS_UNRESTRICTED]),
        disbursed=by_account[PROGRAM_EXPENSES],
        restricted_net_assets=-(
            by_account[NET_ASSETS_RESTRICTED] + by_account[CONTRIBUTIONS_RESTRICTED]
        ),
        unrestricted_net_assets=-(
            by_account[NET_ASSETS_UNRESTRICTED]
            + by_account[CONTRIBUTIONS_UNRESTRICTED]
            + by_account[PROGRAM_EXPENSES]
            + by_account[MANAGEMENT_EXPENSES]
            + by_account[FUNDRAISING_EXPENSES]
        ),
    )
