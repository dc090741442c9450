"""Financial statements and registers, per fund and consolidated, from the journal alone.

Statements (all amounts CNY, from the postings' functional values):

- ``trial-balance`` as of `as_of`: debit and credit per account; totals equal.
- ``financial-position`` (资产负债表, 会民非01): assets, liabilities, net assets without
  (非限定性) and with (限定性) donor restrictions, at the start of the period and at `as_of`.
- ``activities`` (业务活动表, 会民非02) for `date_from`..`date_to`: columns 非限定性 / 限定性 /
  合计; income by restriction, expenses (unrestricted), the row 限定性净资产转为非限定性净资产
  (release from restriction), direct adjustments, and the change in net assets.
- ``cash-flows`` (现金流量表, 会民非03, direct method): every cash posting in the period,
  classified by its entry's kind (a reversal by the kind it reverses).
- ``pledges`` register as of `as_of` (amount, booked, paid, outstanding; conditional pledges
  are off the books and shown as such); ``disbursements`` by project and county and
  ``scholarships`` by cohort and term for the period (counts of pseudonymous students only).

Invariants owned here:
- One pure fold (`Fold`) over posting facts computes everything; it is fed either by a
  streaming query over the database (`facts_from_db`) or by the canonical entry objects of an
  audit bundle (`facts_from_entries`). Both produce the same statements, which is how
  `audits.verify` re-derives them offline.
- Money is integer fen until it is rendered; rendered money is a decimal string.
- Each statement checks itself and lists any failure under ``checks`` (an empty list means it
  holds): the trial balance's totals are equal; assets equal liabilities plus net assets; the
  change in net assets of the activities statement equals the change of the net asset
  balances; opening cash plus the net cash flow equals closing cash.
- Nothing here names a person: donors appear by id, beneficiaries only as counts per cohort.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, case, select

from audits.exports import cell_text
from ledger.accounts import (
    AGENCY_ASSETS,
    AGENCY_LIABILITIES,
    CASH_PREFIX,
    CHART,
    CONTRIBUTIONS_RESTRICTED,
    CONTRIBUTIONS_UNRESTRICTED,
    FIXED_ASSETS,
    FUNDRAISING_EXPENSES,
    GRANTS_PAYABLE,
    INTERFUND,
    INVENTORY,
    MANAGEMENT_EXPENSES,
    NET_ASSETS_RESTRICTED,
    NET_ASSETS_UNRESTRICTED,
    PLEDGES_RECEIVABLE,
    PROGRAM_EXPENSES,
    REFUNDABLE_ADVANCES,
)
from ledger.storage.tables import (
    accounts,
    award_table,
    beneficiaries,
    funds,
    journal_entries,
    pledges,
    postings,
    projects,
)

__all__ = [
    "KINDS",
    "Column",
    "Fact",
    "Fold",
    "Params",
    "Reference",
    "Statement",
    "build_statements",
    "facts_from_db",
    "facts_from_entries",
    "reference_from_db",
    "statement_csv",
    "statements_from_db",
]

KINDS = (
    "trial-balance",
    "financial-position",
    "activities",
    "cash-flows",
    "pledges",
    "disbursements",
    "scholarships",
)
ColumnType = Literal["text", "money", "count"]


# -- inputs ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Fact:
    """One posting as the statements see it."""

    sequence: int
    occurred_on: str
    kind: str
    reverses_kind: str  # for a reversal: the kind of the entry it reverses, else ""
    account: str
    fund: str
    currency: str
    amount: int
    functional: int
    project: str
    party: str
    ref: str

    @property
    def effective_kind(self) -> str:
        return self.reverses_kind if self.kind == "reversal" else self.kind


@dataclass(frozen=True, slots=True)
class Reference:
    """Reference data the journal points at (codes and pseudonyms only, no personal data)."""

    accounts: Mapping[str, Mapping[str, str]]  # code -> name_cn, name_us, type
    funds: Mapping[str, Mapping[str, Any]]  # code -> name, restricted
    projects: Mapping[str, Mapping[str, str]]  # code -> name, fund, county, town
    beneficiaries: Mapping[str, Mapping[str, str]]  # pseudonym -> cohort, county
    pledges: Mapping[str, Mapping[str, Any]]  # id -> donor_id, fund, amount_minor, ...
    awards: Mapping[str, Mapping[str, Any]]  # id -> fund, beneficiary_id, term, amount_minor

    def to_dict(self) -> dict[str, Any]:
        return {
            "accounts": dict(self.accounts),
            "funds": dict(self.funds),
            "projects": dict(self.projects),
            "beneficiaries": dict(self.beneficiaries),
            "pledges": dict(self.pledges),
            "awards": dict(self.awards),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reference:
        return cls(
            data["accounts"],
            data["funds"],
            data["projects"],
            data["beneficiaries"],
            data["pledges"],
            data["awards"],
        )

    def account_type(self, code: str) -> str:
        found = self.accounts.get(code)
        if found:
            return str(found["type"])
        known = CHART.get(code)
        return known.type.value if known else "asset"


@dataclass(frozen=True, slots=True)
class Params:
    """Scope and dates: one fund or all (None); flows in date_from..date_to; positions at as_of."""

    fund: str | None
    date_from: dt.date
    date_to: dt.date
    as_of: dt.date

    @classmethod
    def make(
        cls,
        *,
        fund: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        as_of: dt.date | None = None,
        today: dt.date | None = None,
    ) -> Params:
        """Fill the defaults: to = as_of or today; from = 1 January of to's year; as_of = to.

        Raises:
            ValueError: when from is after to.
        """
        end = date_to or as_of or today or dt.date.today()
        start = date_from or dt.date(end.year, 1, 1)
        if start > end:
            raise ValueError("date_from is after date_to")
        return cls(fund or None, start, end, as_of or end)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fund": self.fund,
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "as_of": self.as_of.isoformat(),
        }


# -- output ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label_cn: str
    label_en: str
    type: ColumnType = "money"


@dataclass(frozen=True, slots=True)
class Statement:
    kind: str
    code: str
    title_cn: str
    title_en: str
    params: Params
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]
    checks: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: money as decimal strings (fen → "12.34"), counts as integers."""
        money = {c.key for c in self.columns if c.type == "money"}
        return {
            "statement": self.kind,
            "code": self.code,
            "title_cn": self.title_cn,
            "title_en": self.title_en,
            **self.params.to_dict(),
            "currency": "CNY",
            "columns": [
                {"key": c.key, "label_cn": c.label_cn, "label_en": c.label_en, "type": c.type}
                for c in self.columns
            ],
            "rows": [
                {k: (_money(v) if k in money and isinstance(v, int) else v) for k, v in r.items()}
                for r in self.rows
            ],
            "checks": list(self.checks),
            "notes": list(self.notes),
        }


def _money(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def statement_csv(statement: Statement) -> str:
    """A statement as RFC 4180 CSV: a header of column keys, then its rows (text neutralised)."""
    data = statement.to_dict()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    keys = [c.key for c in statement.columns]
    writer.writerow(keys)
    numeric = {c.key for c in statement.columns if c.type != "text"}
    for row in data["rows"]:
        cells = []
        for key in keys:
            value = row.get(key, "")
            text = "" if value is None else str(value)
            cells.append(text if key in numeric else cell_text(text))
        writer.writerow(cells)
    return buffer.getvalue()


# -- the fold --------------------------------------------------------------------------------
_CASH_LINES = {
    "donation": "donations",
    "pledge_payment": "donations",
    "disbursement": "grants_paid",
    "scholarship_payout": "grants_paid",
    "fee": "other_paid",
    "transfer": "interfund",
}


@dataclass
class Fold:
    """Accumulates every figure the statements need in one pass over the facts."""

    params: Params
    ref: Reference
    at_as_of: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    at_open: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    at_close: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    flows: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    release: int = 0
    direct: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cash: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    projects: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    pledge_booked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    pledge_balance: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    pledge_dates: dict[str, str] = field(default_factory=dict)
    award_awarded: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    award_paid: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    monthly: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    facts: int = 0

    def add_all(self, facts: Iterable[Fact]) -> Fold:
        p = self.params
        scope = p.fund
        as_of, start = p.as_of.isoformat(), p.date_from.isoformat()
        end = p.date_to.isoformat()
        for f in facts:
            if scope is not None and f.fund != scope:
                continue
            self.facts += 1
            on, key, value = f.occurred_on, (f.fund, f.account), f.functional
            if on <= as_of:
                self.at_as_of[key] += value
                self._sub_ledgers(f)
            if on < start:
                self.at_open[key] += value
            if on <= end:
                self.at_close[key] += value
            if start <= on <= end:
                self._flow(f)
        return self

    def _sub_ledgers(self, f: Fact) -> None:
        if f.account == PLEDGES_RECEIVABLE and f.ref:
            self.pledge_balance[f.ref] += f.functional
            if f.effective_kind == "pledge":
                self.pledge_booked[f.ref] += f.functional
                if f.kind == "pledge":
                    self.pledge_dates[f.ref] = f.occurred_on
        elif (
            f.account == GRANTS_PAYABLE
            and f.ref
            and f.occurred_on >= self.params.date_from.isoformat()
        ):
            if f.effective_kind == "scholarship_award":
                if f.occurred_on <= self.params.date_to.isoformat():
                    self.award_awarded[f.ref] -= f.functional
            else:
                self.award_paid[f.ref] += f.functional

    def _flow(self, f: Fact) -> None:
        account, value, kind = f.account, f.functional, f.effective_kind
        self.flows[account] += value
        if account in (NET_ASSETS_UNRESTRICTED, NET_ASSETS_RESTRICTED):
            if f.kind == "general":
                self.direct[account] += value
            elif account == NET_ASSETS_RESTRICTED:
                self.release += value
        if account.startswith(CASH_PREFIX):
            line = _CASH_LINES.get(kind)
            if line is None:
                line = "other_received" if value > 0 else "other_paid"
            self.cash[line] += value
        month = f.occurred_on[:7]
        kind_of = self.ref.account_type(account)
        if kind_of == "revenue":
            self.monthly[(f.fund, month, "raised")] -= value
        elif kind_of == "expense":
            self.monthly[(f.fund, month, "spent")] += value
        if account == PROGRAM_EXPENSES and kind == "disbursement" and f.project:
            row = self.projects.setdefault((f.fund, f.project), [0, 0])
            row[0] += value
            row[1] += 1 if f.kind == "disbursement" else -1


# -- statements ------------------------------------------------------------------------------
def _by_account(balances: Mapping[tuple[str, str], int]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for (_fund, account), value in balances.items():
        out[account] += value
    return out


def _name(ref: Reference, code: str) -> tuple[str, str]:
    found = ref.accounts.get(code)
    if found:
        return str(found["name_cn"]), str(found["name_us"])
    known = CHART.get(code)
    return (known.name_cn, known.name_us) if known else (code, code)


def trial_balance(fold: Fold) -> Statement:
    rows: list[dict[str, Any]] = []
    per_account = _by_account(fold.at_as_of)
    for code in sorted(per_account):
        value = per_account[code]
        if value == 0:
            continue
        cn, us = _name(fold.ref, code)
        rows.append(
            {
                "account": code,
                "name_cn": cn,
                "name_us": us,
                "debit": max(value, 0),
                "credit": max(-value, 0),
            }
        )
    debit, credit = sum(r["debit"] for r in rows), sum(r["credit"] for r in rows)
    rows.append(
        {"account": "", "name_cn": "合计", "name_us": "Total", "debit": debit, "credit": credit}
    )
    checks = () if debit == credit else (f"debits {_money(debit)} ≠ credits {_money(credit)}",)
    return Statement(
        "trial-balance",
        "",
        "科目余额表",
        "Trial balance",
        fold.params,
        (
            Column("account", "科目编码", "Account", "text"),
            Column("name_cn", "科目名称", "Name (CN)", "text"),
            Column("name_us", "科目名称（英）", "Name (US)", "text"),
            Column("debit", "借方余额", "Debit"),
            Column("credit", "贷方余额", "Credit"),
        ),
        tuple(rows),
        checks,
    )


_ASSET_LINES = (
    ("cash", "货币资金", "Cash and cash equivalents"),
    ("receivables", "应收款项（认捐）", "Pledges receivable"),
    ("inventory", "存货", "Inventory (in kind)"),
    ("fixed", "固定资产", "Property and equipment"),
    ("agency_assets", "受托代理资产", "Agency assets"),
    ("interfund_in", "基金间往来（应收）", "Due from other funds"),
    ("other_assets", "其他资产", "Other assets"),
)
_LIABILITY_LINES = (
    ("advances", "预收账款", "Refundable advances"),
    ("grants_payable", "应付款项（助学金）", "Grants payable"),
    ("agency_liabilities", "受托代理负债", "Agency liabilities"),
    ("interfund_out", "基金间往来（应付）", "Due to other funds"),
    ("other_liabilities", "其他负债", "Other liabilities"),
)
_ASSET_CODES = {
    PLEDGES_RECEIVABLE: "receivables",
    INVENTORY: "inventory",
    FIXED_ASSETS: "fixed",
    AGENCY_ASSETS: "agency_assets",
}
_LIABILITY_CODES = {
    REFUNDABLE_ADVANCES: "advances",
    GRANTS_PAYABLE: "grants_payable",
    AGENCY_LIABILITIES: "agency_liabilities",
}


def _position(fold: Fold, balances: Mapping[tuple[str, str], int]) -> dict[str, int]:
    lines: dict[str, int] = defaultdict(int)
    interfund: dict[str, int] = defaultdict(int)
    ref = fold.ref
    for (fund, code), value in balances.items():
        kind = ref.account_type(code)
        if code == INTERFUND:
            interfund[fund] += value
        elif code.startswith(CASH_PREFIX):
            lines["cash"] += value
        elif code in _ASSET_CODES:
            lines[_ASSET_CODES[code]] += value
        elif code in _LIABILITY_CODES:
            lines[_LIABILITY_CODES[code]] -= value
        elif kind == "asset":
            lines["other_assets"] += value
        elif kind == "liability":
            lines["other_liabilities"] -= value
        elif code == NET_ASSETS_RESTRICTED or code == CONTRIBUTIONS_RESTRICTED:
            lines["restricted"] -= value
        else:  # unrestricted net assets, unrestricted income, every expense
            lines["unrestricted"] -= value
    for value in interfund.values():
        lines["interfund_in" if value > 0 else "interfund_out"] += abs(value)
    if fold.params.fund is None:  # consolidated: what funds owe each other nets out
        net = lines.pop("interfund_in", 0) - lines.pop("interfund_out", 0)
        lines["interfund_in" if net > 0 else "interfund_out"] += abs(net)
    lines["total_assets"] = sum(lines[k] for k, _, _ in _ASSET_LINES)
    lines["total_liabilities"] = sum(lines[k] for k, _, _ in _LIABILITY_LINES)
    lines["total_net_assets"] = lines["unrestricted"] + lines["restricted"]
    lines["total_liabilities_and_net_assets"] = (
        lines["total_liabilities"] + lines["total_net_assets"]
    )
    return lines


def financial_position(fold: Fold) -> Statement:
    start, end = _position(fold, fold.at_open), _position(fold, fold.at_as_of)
    layout = [
        ("h_assets", "资产", "Assets", None),
        *[(k, cn, en, 1) for k, cn, en in _ASSET_LINES],
        ("total_assets", "资产合计", "Total assets", 0),
        ("h_liabilities", "负债", "Liabilities", None),
        *[(k, cn, en, 1) for k, cn, en in _LIABILITY_LINES],
        ("total_liabilities", "负债合计", "Total liabilities", 0),
        ("h_net_assets", "净资产", "Net assets", None),
        ("unrestricted", "非限定性净资产", "Without donor restrictions", 1),
        ("restricted", "限定性净资产", "With donor restrictions", 1),
        ("total_net_assets", "净资产合计", "Total net assets", 0),
        (
            "total_liabilities_and_net_assets",
            "负债和净资产总计",
            "Total liabilities and net assets",
            0,
        ),
    ]
    rows = []
    for key, cn, en, level in layout:
        row: dict[str, Any] = {"line": key, "label_cn": cn, "label_en": en}
        if level is not None:
            row["opening"], row["closing"] = start[key], end[key]
        rows.append(row)
    checks = [
        f"{label}: assets {_money(s['total_assets'])} ≠ liabilities and net assets "
        f"{_money(s['total_liabilities_and_net_assets'])}"
        for label, s in (("opening", start), ("closing", end))
        if s["total_assets"] != s["total_liabilities_and_net_assets"]
    ]
    return Statement(
        "financial-position",
        "会民非01表",
        "资产负债表",
        "Statement of financial position",
        fold.params,
        (
            Column("line", "项目代码", "Line", "text"),
            Column("label_cn", "项目", "Item (CN)", "text"),
            Column("label_en", "项目（英）", "Item (US)", "text"),
            Column("opening", "年初数", "Beginning of period"),
            Column("closing", "期末数", "End of period"),
        ),
        tuple(rows),
        tuple(checks),
        (
            f"年初数 is at {(fold.params.date_from - dt.timedelta(days=1)).isoformat()}, "
            f"期末数 at {fold.params.as_of.isoformat()}.",
        ),
    )


_EXPENSE_LINES = (
    ("program", PROGRAM_EXPENSES, "业务活动成本", "Program services"),
    ("management", MANAGEMENT_EXPENSES, "管理费用", "Management and general"),
    ("fundraising", FUNDRAISING_EXPENSES, "筹资费用", "Fundraising, fees and FX losses"),
)


def activities(fold: Fold) -> Statement:
    flows, ref = fold.flows, fold.ref
    income_u = income_r = other_income = other_expense = 0
    expenses: dict[str, int] = {}
    for code, value in flows.items():
        kind = ref.account_type(code)
        if code == CONTRIBUTIONS_RESTRICTED:
            income_r -= value
        elif code == CONTRIBUTIONS_UNRESTRICTED:
            income_u -= value
        elif kind == "revenue":
            other_income -= value
        elif kind == "expense" and code not in {c for _, c, _, _ in _EXPENSE_LINES}:
            other_expense += value
    for key, code, _, _ in _EXPENSE_LINES:
        expenses[key] = flows.get(code, 0)
    total_expense = sum(expenses.values()) + other_expense
    release = fold.release
    direct_u, direct_r = (
        -fold.direct.get(NET_ASSETS_UNRESTRICTED, 0),
        -fold.direct.get(NET_ASSETS_RESTRICTED, 0),
    )
    change_u = income_u + other_income - total_expense + release + direct_u
    change_r = income_r - release + direct_r

    def row(key: str, cn: str, en: str, u: int | None, r: int | None) -> dict[str, Any]:
        out: dict[str, Any] = {"line": key, "label_cn": cn, "label_en": en}
        if u is not None and r is not None:
            out.update(unrestricted=u, restricted=r, total=u + r)
        return out

    rows = [
        row("h_income", "一、收入", "Revenue", None, None),
        row("donations", "捐赠收入", "Contributions", income_u, income_r),
        row("other_income", "其他收入", "Other revenue", other_income, 0),
        row("total_income", "收入合计", "Total revenue", income_u + other_income, income_r),
        row("h_expenses", "二、费用", "Expenses", None, None),
        *[row(k, cn, en, expenses[k], 0) for k, _, cn, en in _EXPENSE_LINES],
        row("other_expenses", "其他费用", "Other expenses", other_expense, 0),
        row("total_expenses", "费用合计", "Total expenses", total_expense, 0),
        row(
            "release",
            "三、限定性净资产转为非限定性净资产",
            "Net assets released from restrictions",
            release,
            -release,
        ),
        row(
            "direct",
            "四、直接计入净资产的调整",
            "Direct adjustments to net assets",
            direct_u,
            direct_r,
        ),
        row("change", "五、净资产变动额", "Change in net assets", change_u, change_r),
    ]
    start, end = _position(fold, fold.at_open), _position(fold, fold.at_close)
    checks = [
        f"{label} change {_money(change)} ≠ balance movement {_money(end[key] - start[key])}"
        for label, key, change in (
            ("unrestricted", "unrestricted", change_u),
            ("restricted", "restricted", change_r),
        )
        if end[key] - start[key] != change
    ]
    return Statement(
        "activities",
        "会民非02表",
        "业务活动表",
        "Statement of activities",
        fold.params,
        (
            Column("line", "项目代码", "Line", "text"),
            Column("label_cn", "项目", "Item (CN)", "text"),
            Column("label_en", "项目（英）", "Item (US)", "text"),
            Column("unrestricted", "非限定性", "Without donor restrictions"),
            Column("restricted", "限定性", "With donor restrictions"),
            Column("total", "合计", "Total"),
        ),
        tuple(rows),
        tuple(checks),
    )


def cash_flows(fold: Fold) -> Statement:
    c = fold.cash
    received = c["donations"] + c["other_received"]
    paid = -(c["grants_paid"] + c["other_paid"])
    operating = received - paid
    interfund = c["interfund"]
    net = operating + interfund
    opening = sum(v for (_, code), v in fold.at_open.items() if code.startswith(CASH_PREFIX))
    closing = sum(v for (_, code), v in fold.at_close.items() if code.startswith(CASH_PREFIX))
    layout = [
        ("h_operating", "一、业务活动产生的现金流量", "Cash flows from operating activities", None),
        ("donations", "接受捐赠收到的现金", "Contributions received", c["donations"]),
        ("other_received", "收到的其他与业务活动有关的现金", "Other receipts", c["other_received"]),
        ("inflows", "现金流入小计", "Total inflows", received),
        ("grants_paid", "提供捐赠或者资助支付的现金", "Grants and aid paid", -c["grants_paid"]),
        ("other_paid", "支付的其他与业务活动有关的现金", "Other payments", -c["other_paid"]),
        ("outflows", "现金流出小计", "Total outflows", paid),
        (
            "operating",
            "业务活动产生的现金流量净额",
            "Net cash from operating activities",
            operating,
        ),
        ("investing", "二、投资活动产生的现金流量净额", "Net cash from investing activities", 0),
        ("financing", "三、筹资活动产生的现金流量净额", "Net cash from financing activities", 0),
        ("fx", "四、汇率变动对现金的影响额", "Effect of exchange rate changes", 0),
        ("interfund", "五、基金间现金划转净额", "Net transfers between funds", interfund),
        ("net", "六、现金净增加额", "Net increase in cash", net),
        ("opening", "期初现金余额", "Cash at beginning of period", opening),
        ("closing", "期末现金余额", "Cash at end of period", closing),
    ]
    rows = []
    for key, cn, en, value in layout:
        row: dict[str, Any] = {"line": key, "label_cn": cn, "label_en": en}
        if value is not None:
            row["amount"] = value
        rows.append(row)
    checks = (
        ()
        if opening + net == closing
        else (f"opening {_money(opening)} + net {_money(net)} ≠ closing {_money(closing)}",)
    )
    return Statement(
        "cash-flows",
        "会民非03表",
        "现金流量表",
        "Statement of cash flows (direct method)",
        fold.params,
        (
            Column("line", "项目代码", "Line", "text"),
            Column("label_cn", "项目", "Item (CN)", "text"),
            Column("label_en", "项目（英）", "Item (US)", "text"),
            Column("amount", "本期数", "This period"),
        ),
        tuple(rows),
        checks,
        (
            "Foreign cash is shown at its booked CNY value; remeasurement entries, if any, "
            "appear as other receipts or payments.",
        ),
    )


def pledge_register(fold: Fold) -> Statement:
    rows = []
    as_of = fold.params.as_of.isoformat()
    for pledge_id in sorted(fold.ref.pledges):
        info = fold.ref.pledges[pledge_id]
        if fold.params.fund is not None and info["fund"] != fold.params.fund:
            continue
        conditional = bool(info["conditional"])
        booked = fold.pledge_booked.get(pledge_id, 0)
        outstanding = fold.pledge_balance.get(pledge_id, 0)
        if not conditional and booked == 0 and outstanding == 0:
            continue  # pledged after as_of, or reversed away
        due = info.get("due_on") or ""
        status = (
            "conditional (off the books)"
            if conditional
            else "paid"
            if outstanding == 0
            else "overdue"
            if due and due < as_of
            else "outstanding"
        )
        rows.append(
            {
                "pledge_id": pledge_id,
                "donor_id": info["donor_id"],
                "fund": info["fund"],
                "pledged_on": fold.pledge_dates.get(pledge_id, ""),
                "due_on": due,
                "amount": int(info["amount_minor"]),
                "booked": booked,
                "paid": booked - outstanding,
                "outstanding": outstanding,
                "status": status,
            }
        )
    total = {
        k: sum(r[k] for r in rows if not r["status"].startswith("conditional"))
        for k in ("amount", "booked", "paid", "outstanding")
    }
    rows.append(
        {
            "pledge_id": "",
            "donor_id": "",
            "fund": "",
            "pledged_on": "",
            "due_on": "",
            **total,
            "status": "total (unconditional)",
        }
    )
    return Statement(
        "pledges",
        "",
        "认捐登记簿",
        "Register of pledges",
        fold.params,
        (
            Column("pledge_id", "认捐编号", "Pledge", "text"),
            Column("donor_id", "捐赠人编号", "Donor id", "text"),
            Column("fund", "基金", "Fund", "text"),
            Column("pledged_on", "认捐日期", "Pledged on", "text"),
            Column("due_on", "到期日", "Due on", "text"),
            Column("amount", "认捐金额", "Amount"),
            Column("booked", "入账金额", "Booked"),
            Column("paid", "已到账", "Paid"),
            Column("outstanding", "未到账", "Outstanding"),
            Column("status", "状态", "Status", "text"),
        ),
        tuple(rows),
    )


def disbursement_register(fold: Fold) -> Statement:
    rows: list[dict[str, Any]] = []
    by_county: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (fund, code), (amount, count) in sorted(fold.projects.items()):
        info = fold.ref.projects.get(code, {})
        county = str(info.get("county", ""))
        rows.append(
            {
                "group": "project",
                "fund": fund,
                "project": code,
                "project_name": str(info.get("name", "")),
                "county": county,
                "town": str(info.get("town", "")),
                "payments": count,
                "amount": amount,
            }
        )
        by_county[county][0] += amount
        by_county[county][1] += count
    for county, (amount, count) in sorted(by_county.items()):
        rows.append(
            {
                "group": "county",
                "fund": "",
                "project": "",
                "project_name": "",
                "county": county,
                "town": "",
                "payments": count,
                "amount": amount,
            }
        )
    total = sum(a for a, _ in by_county.values())
    rows.append(
        {
            "group": "total",
            "fund": "",
            "project": "",
            "project_name": "",
            "county": "",
            "town": "",
            "payments": sum(c for _, c in by_county.values()),
            "amount": total,
        }
    )
    return Statement(
        "disbursements",
        "",
        "项目支出登记簿",
        "Register of disbursements by project and county",
        fold.params,
        (
            Column("group", "汇总层级", "Group", "text"),
            Column("fund", "基金", "Fund", "text"),
            Column("project", "项目编号", "Project", "text"),
            Column("project_name", "项目名称", "Project name", "text"),
            Column("county", "县（市）", "County", "text"),
            Column("town", "乡镇", "Town", "text"),
            Column("payments", "笔数", "Payments", "count"),
            Column("amount", "金额", "Amount"),
        ),
        tuple(rows),
        notes=("Net of reversals; scholarships are in their own register.",),
    )


def scholarship_register(fold: Fold) -> Statement:
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for award_id, awarded in fold.award_awarded.items():
        info = fold.ref.awards.get(award_id)
        if info is None or awarded == 0:
            continue
        who = fold.ref.beneficiaries.get(str(info["beneficiary_id"]), {})
        key = (str(info["fund"]), str(who.get("cohort", "")), str(info["term"]))
        group = groups.setdefault(key, {"students": set(), "awarded": 0, "paid": 0})
        group["students"].add(info["beneficiary_id"])
        group["awarded"] += awarded
        group["paid"] += fold.award_paid.get(award_id, 0)
    rows: list[dict[str, Any]] = []
    for (fund, cohort, term), g in sorted(groups.items()):
        rows.append(
            {
                "fund": fund,
                "cohort": cohort,
                "term": term,
                "students": len(g["students"]),
                "awarded": g["awarded"],
                "paid": g["paid"],
                "unpaid": g["awarded"] - g["paid"],
            }
        )
    rows.append(
        {
            "fund": "",
            "cohort": "",
            "term": "合计 Total",
            **{k: sum(r[k] for r in rows) for k in ("students", "awarded", "paid", "unpaid")},
        }
    )
    return Statement(
        "scholarships",
        "",
        "助学金登记簿",
        "Register of scholarships by cohort and term",
        fold.params,
        (
            Column("fund", "基金", "Fund", "text"),
            Column("cohort", "届别", "Cohort", "text"),
            Column("term", "学期", "Term", "text"),
            Column("students", "受助学生人次", "Student awards", "count"),
            Column("awarded", "发放承诺", "Awarded"),
            Column("paid", "已支付", "Paid"),
            Column("unpaid", "未支付", "Unpaid"),
        ),
        tuple(rows),
        notes=(
            "Awards dated in the period; payments up to the as-of date. Students are counted, "
            "never named.",
        ),
    )


_BUILDERS = {
    "trial-balance": trial_balance,
    "financial-position": financial_position,
    "activities": activities,
    "cash-flows": cash_flows,
    "pledges": pledge_register,
    "disbursements": disbursement_register,
    "scholarships": scholarship_register,
}


def build_statements(
    facts: Iterable[Fact], ref: Reference, params: Params, kinds: Sequence[str] = KINDS
) -> tuple[dict[str, Statement], Fold]:
    """Fold the facts once and build the requested statements.

    Raises:
        KeyError: for an unknown statement kind.
    """
    fold = Fold(params, ref).add_all(facts)
    return {kind: _BUILDERS[kind](fold) for kind in kinds}, fold


# -- feeding the fold --------------------------------------------------------------------------
def facts_from_db(conn: Connection, params: Params, *, upto: int | None = None) -> Iterator[Fact]:
    """Stream the facts up to the latest date any statement needs (flat memory)."""
    p, e = postings.c, journal_entries.c
    last = max(params.as_of, params.date_to).isoformat()
    query = (
        select(
            p.sequence,
            p.occurred_on,
            e.kind,
            case((e.kind == "reversal", e.data), else_=None).label("data"),
            p.account,
            p.fund,
            p.currency,
            p.amount,
            p.functional,
            p.project,
            p.party,
            p.ref,
        )
        .select_from(postings.join(journal_entries, e.id == p.entry_id))
        .where(p.occurred_on <= last)
    )
    if params.fund:
        query = query.where(p.fund == params.fund)
    if upto is not None:
        query = query.where(p.sequence <= upto)
    result = conn.execute(query.execution_options(stream_results=True, yield_per=10_000))
    for r in result:
        rev = json.loads(r.data).get("reverses_kind", "") if r.data else ""
        yield Fact(
            r.sequence,
            r.occurred_on,
            r.kind,
            rev,
            r.account,
            r.fund,
            r.currency,
            r.amount,
            r.functional,
            r.project,
            r.party,
            r.ref,
        )


def facts_from_entries(entries: Iterable[Mapping[str, Any]]) -> Iterator[Fact]:
    """Facts from canonical entry objects (`ledger.chain.canonical_entry_bytes`, parsed), e.g. a
    bundle's."""
    for obj in entries:
        kind = obj["kind"]
        rev = obj["data"].get("reverses_kind", "") if kind == "reversal" else ""
        for line in obj["postings"]:
            yield Fact(
                obj["sequence"],
                obj["occurred_on"],
                kind,
                rev,
                line["account"],
                line["fund"],
                line["currency"],
                line["amount"],
                line["functional"],
                line["project"],
                line["party"],
                line["ref"],
            )


def reference_from_db(conn: Connection) -> Reference:
    """The reference data the statements need, by code and pseudonym only."""
    return Reference(
        {
            r.code: {"name_cn": r.name_cn, "name_us": r.name_us, "type": r.type}
            for r in conn.execute(select(accounts))
        },
        {
            r.code: {"name": r.name, "restricted": bool(r.restricted)}
            for r in conn.execute(select(funds))
        },
        {
            r.code: {"name": r.name, "fund": r.fund, "county": r.county, "town": r.town}
            for r in conn.execute(select(projects))
        },
        {
            r.id: {"cohort": r.cohort, "county": r.county}
            for r in conn.execute(select(beneficiaries))
        },
        {
            r.id: {
                "donor_id": r.donor_id,
                "fund": r.fund,
                "amount_minor": int(r.amount_minor),
                "currency": r.currency,
                "due_on": r.due_on or "",
                "conditional": bool(r.conditional),
            }
            for r in conn.execute(select(pledges))
        },
        {
            r.id: {
                "fund": r.fund,
                "beneficiary_id": r.beneficiary_id,
                "term": r.term,
                "amount_minor": int(r.amount_minor),
            }
            for r in conn.execute(select(award_table))
        },
    )


def statements_from_db(
    conn: Connection, params: Params, kinds: Sequence[str] = KINDS, *, upto: int | None = None
) -> tuple[dict[str, Statement], Fold]:
    """Build statements straight from the database (one streaming pass)."""
    return build_statements(
        facts_from_db(conn, params, upto=upto), reference_from_db(conn), params, kinds
    )
