"""The chart of accounts (民间非营利组织会计制度 codes, with ASC 958 labels beside them).

Invariants owned here:
- An account code never changes meaning: codes and names are fixed once seeded; accounts are
  opened and closed, never deleted or renamed (the database refuses both).
- Cash is kept per currency: `1002-CNY`, `1002-HKD`, ... each holds one currency only.
- 1502 累计折旧 is a contra-asset: typed as an asset (it sits under 1501 on the statement of
  financial position) but it only ever holds a credit balance, never more than the cost it
  depreciates.
- Each account has a type and a normal side; debits are positive, credits negative, and the
  normal side only decides how a balance is *shown*.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger.money import EXPONENTS

__all__ = [
    "ACCUMULATED_DEPRECIATION",
    "AGENCY_ASSETS",
    "AGENCY_LIABILITIES",
    "CASH_PREFIX",
    "CHART",
    "CODE_PATTERN",
    "CONTRIBUTIONS_RESTRICTED",
    "CONTRIBUTIONS_UNRESTRICTED",
    "FIXED_ASSETS",
    "FUNDRAISING_EXPENSES",
    "GRANTS_PAYABLE",
    "INTERFUND",
    "INVENTORY",
    "MANAGEMENT_EXPENSES",
    "NET_ASSETS_RESTRICTED",
    "NET_ASSETS_UNRESTRICTED",
    "PLEDGES_RECEIVABLE",
    "PROGRAM_EXPENSES",
    "REFUNDABLE_ADVANCES",
    "Account",
    "AccountType",
    "NormalSide",
    "cash_account",
    "chart",
]


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    NET_ASSETS = "net_assets"
    REVENUE = "revenue"
    EXPENSE = "expense"


class NormalSide(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


NORMAL_SIDE = {
    AccountType.ASSET: NormalSide.DEBIT,
    AccountType.EXPENSE: NormalSide.DEBIT,
    AccountType.LIABILITY: NormalSide.CREDIT,
    AccountType.NET_ASSETS: NormalSide.CREDIT,
    AccountType.REVENUE: NormalSide.CREDIT,
}

CASH_PREFIX = "1002-"
#: An account's code: four digits, perhaps a dash and up to ten capitals or digits (`1002-HKD`).
CODE_PATTERN = r"^[0-9]{4}(-[A-Z0-9]{1,10})?$"

# The chart's codes by name: the only place a code is written as a literal.
PLEDGES_RECEIVABLE = "1122"
INVENTORY = "1201"
FIXED_ASSETS = "1501"
ACCUMULATED_DEPRECIATION = "1502"  # contra-asset: credit balance against 1501
AGENCY_ASSETS = "1701"
INTERFUND = "1901"
REFUNDABLE_ADVANCES = "2203"
GRANTS_PAYABLE = "2209"
AGENCY_LIABILITIES = "2601"
NET_ASSETS_UNRESTRICTED = "3101"
NET_ASSETS_RESTRICTED = "3102"
CONTRIBUTIONS_UNRESTRICTED = "4101-U"
CONTRIBUTIONS_RESTRICTED = "4101-R"
PROGRAM_EXPENSES = "5101"
MANAGEMENT_EXPENSES = "5201"
FUNDRAISING_EXPENSES = "5301"


@dataclass(frozen=True, slots=True)
class Account:
    """One account of the chart; `currency` is set only for per-currency cash accounts."""

    code: str
    name_cn: str
    name_us: str
    type: AccountType
    currency: str | None = None
    is_open: bool = True

    @property
    def normal_side(self) -> NormalSide:
        return NORMAL_SIDE[self.type]

    @property
    def is_cash(self) -> bool:
        return self.code.startswith(CASH_PREFIX)


def cash_account(currency: str) -> str:
    """The code of the cash account that holds `currency`, e.g. `1002-HKD`."""
    return f"{CASH_PREFIX}{currency}"


_BASE: tuple[Account, ...] = (
    Account(PLEDGES_RECEIVABLE, "其他应收款—认捐", "Pledges receivable", AccountType.ASSET),
    Account(INVENTORY, "存货—受赠物资", "In-kind inventory", AccountType.ASSET),
    Account(FIXED_ASSETS, "固定资产", "Property and equipment", AccountType.ASSET),
    Account(
        ACCUMULATED_DEPRECIATION,
        "累计折旧",
        "Accumulated depreciation",
        AccountType.ASSET,
    ),
    Account(AGENCY_ASSETS, "受托代理资产", "Agency (pass-through) assets", AccountType.ASSET),
    Account(INTERFUND, "基金间往来", "Interfund receivable / payable", AccountType.ASSET),
    Account(REFUNDABLE_ADVANCES, "预收账款", "Refundable advances", AccountType.LIABILITY),
    Account(
        GRANTS_PAYABLE, "其他应付款—助学金", "Grants (scholarships) payable", AccountType.LIABILITY
    ),
    Account(AGENCY_LIABILITIES, "受托代理负债", "Agency liabilities", AccountType.LIABILITY),
    Account(
        NET_ASSETS_UNRESTRICTED,
        "非限定性净资产",
        "Net assets without donor restrictions",
        AccountType.NET_ASSETS,
    ),
    Account(
        NET_ASSETS_RESTRICTED,
        "限定性净资产",
        "Net assets with donor restrictions",
        AccountType.NET_ASSETS,
    ),
    Account(
        CONTRIBUTIONS_UNRESTRICTED,
        "捐赠收入—非限定性",
        "Contributions without donor restrictions",
        AccountType.REVENUE,
    ),
    Account(
        CONTRIBUTIONS_RESTRICTED,
        "捐赠收入—限定性",
        "Contributions with donor restrictions",
        AccountType.REVENUE,
    ),
    Account(PROGRAM_EXPENSES, "业务活动成本", "Program expenses", AccountType.EXPENSE),
    Account(MANAGEMENT_EXPENSES, "管理费用", "Management and general", AccountType.EXPENSE),
    Account(
        FUNDRAISING_EXPENSES,
        "筹资费用",
        "Fundraising, bank fees and FX losses",
        AccountType.EXPENSE,
    ),
)


def chart() -> tuple[Account, ...]:
    """The seeded chart: one cash account per supported currency, then the base accounts."""
    cash = tuple(
        Account(cash_account(c), f"银行存款—{c}", f"Cash and bank ({c})", AccountType.ASSET, c)
        for c in EXPONENTS
    )
    return cash + _BASE


CHART: dict[str, Account] = {a.code: a for a in chart()}
