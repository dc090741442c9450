"""Financial statements and registers, per fund and consolidated, from the journal alone.

Statements (all amounts CNY, from the postings' functional values):

- ``trial-balance`` as of `as_of`: debit and credit per account; totals equal.
- ``financial-position`` (资产负债表, 会民非01): the form's lines and 行次 (民间非营利组织会计制度,
  财会〔2004〕7号), current and non-current subtotals, 固定资产原价 less 累计折旧 (1502) =
  固定资产净值, liabilities, net assets without (非限定性) and with (限定性) donor restrictions, at
  the start of the period (年初数 when it starts on 1 January, else 期初数) and at `as_of`
  (期末数); its notes reconcile each class of net assets (净资产变动) with 02's change.
- ``activities`` (业务活动表, 会民非02) for `date_from`..`date_to`: 非限定性 / 限定性 / 合计 for
  the period and for the comparative one (a month: 本月数 beside 本年累计数; a year: 本年累计数
  beside 上年累计数); income, expenses by function (业务活动成本, 管理费用 5201 on its own line,
  筹资费用 5301 with fees and FX losses), the row 限定性净资产转为非限定性净资产, direct
  adjustments, and the change in net assets (行次 45; 费用合计 35, the release 40, as the
  2004 form prints them).
- ``cash-flows`` (现金流量表, 会民非03, direct method): every cash posting in the period,
  classified by its entry's kind (a reversal by the kind it reverses) on the form's lines; cash
  moved between funds is financing (48 / 55) and nets out when consolidated.
- ``pledges`` register as of `as_of` (voucher, donor as they chose to be shown, amount, booked,
  paid, outstanding, maker, checker; conditional pledges are off the books and shown as such);
  ``disbursements`` each payment with its voucher and maker, then by project, county, town and
  village (the project's place, `ledger.places`), and
  ``scholarships`` by cohort and term for the period (counts of pseudonymous students only).

Invariants owned here:
- One pure fold (`Fold`) over posting facts computes everything (a second fold, fed by the
  same pass, holds the comparative period); it is fed either by a streaming query over the
  database (`facts_from_db`) or by the canonical entry objects of an audit bundle
  (`facts_from_entries`). Both produce the same statements, which is how `audits.verify`
  re-derives them offline.
- Money is integer fen until it is rendered; rendered money is a decimal string.
- The rows of 01, 02 and 03 keep a stable key (``line``) and carry the form's 行次
  (``row_no``); a line the books never post to stays on the form at zero.
- Each statement checks itself and lists any failure under ``checks`` (an empty list means it
  holds): the trial balance's totals are equal; assets equal liabilities plus net assets; the
  change in net assets of the activities statement equals the change of the net asset
  balances; opening cash plus the net cash flow equals closing cash.
- Nobody's identity is shown but a donor's, as that donor chose (匿名捐赠人 for the
  anonymous); beneficiaries only as counts per cohort, never by name or pseudonym.
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

from sqlalchemy import Connection, case, or_, select

from audits.exports import cell_text
from audits.kinds import KINDS
from ledger.accounts import (
    ACCUMULATED_DEPRECIATION,
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
from ledger.places import load_places, project_places_of
from ledger.storage.tables import (
    accounts,
    acknowledgments,
    award_table,
    beneficiaries,
    donors,
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
    "payee_text",
    "reference_from_db",
    "row_kinds",
    "statement_csv",
    "statements_from_db",
]

ColumnType = Literal["text", "money", "count"]
_LEVELS = ("county", "town", "village")
ANONYMOUS = "匿名捐赠人"


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
    maker: str = ""

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
    donors: Mapping[str, str] = field(default_factory=dict)  # id -> name as the donor chose
    checkers: Mapping[str, str] = field(default_factory=dict)  # entry sequence -> approvers
    acknowledged: Mapping[str, str] = field(default_factory=dict)  # entry sequence -> date
    # entry sequence -> [payee (an organisation and its code, or a pseudonym), bank reference]
    payees: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # place code -> kind, name, parent (counties, towns, villages; projects name theirs as
    # ``place`` in `projects`)
    places: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def where(self, project: str) -> dict[str, str]:
        """Where a project is: ``county``, ``town`` and ``village`` names, each level's code
        (``county_code``, ...) and the place's own (``place``). A placed project's names are its
        place's and its ancestors'; an unplaced one keeps its county and town text, no codes."""
        info = self.projects.get(project, {})
        code = str(info.get("place", ""))
        found = dict.fromkeys(
            ("county", "town", "village", "county_code", "town_code", "village_code", "place"), ""
        )
        at = code
        while at and at in self.places and str(self.places[at].get("kind")) in _LEVELS:
            place = self.places[at]
            found[str(place["kind"])] = str(place["name"])
            found[f"{place['kind']}_code"] = at
            at = str(place.get("parent", ""))
        if found["county"]:
            return {**found, "place": code}
        return {
            **found,
            "county": str(info.get("county", "")),
            "town": str(info.get("town", "")),
            "village": "",
            "town_code": "",
            "village_code": "",
        }

    def payee_of(self, sequence: int) -> tuple[str, str]:
        """(payee, bank reference) a disbursement's data names; ("", "") when it names none."""
        found = self.payees.get(str(sequence))
        return (str(found[0]), str(found[1])) if found else ("", "")

    def checker_of(self, sequence: int) -> str:
        """Who approved the entry (maker-checker), comma-separated; "" when nobody had to."""
        return self.checkers.get(str(sequence), "")

    def acknowledged_on(self, sequence: int) -> str:
        """When the payment's recipient acknowledged it (signed receipt); "" if not yet."""
        return self.acknowledged.get(str(sequence), "")

    def donor_name(self, donor_id: str) -> str:
        """The name a donor chose to be shown under (匿名捐赠人 for the anonymous)."""
        return self.donors.get(donor_id, ANONYMOUS)

    def to_dict(self) -> dict[str, Any]:
        return {
            "checkers": dict(self.checkers),
            "acknowledged": dict(self.acknowledged),
            "payees": {k: list(v) for k, v in self.payees.items()},
            "donors": dict(self.donors),
            "accounts": dict(self.accounts),
            "funds": dict(self.funds),
            "projects": dict(self.projects),
            "beneficiaries": dict(self.beneficiaries),
            "pledges": dict(self.pledges),
            "awards": dict(self.awards),
            "places": dict(self.places),
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
            data.get("donors", {}),
            data.get("checkers", {}),
            data.get("acknowledged", {}),
            data.get("payees", {}),
            data.get("places", {}),
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

    @property
    def is_month(self) -> bool:
        """Whether the period is exactly one calendar month."""
        start, end = self.date_from, self.date_to
        after = end + dt.timedelta(days=1)
        return (
            start.day == 1
            and after.day == 1
            and (start.year, start.month)
            == (
                end.year,
                end.month,
            )
        )

    def column_labels(self) -> tuple[str, str]:
        """The statutory names of the period's column and of the comparative one."""
        if self.is_month:
            return "本月数", "本年累计数"
        if (self.date_from.month, self.date_from.day) == (1, 1):
            return "本年累计数", "上年累计数"
        return "本期数", "上年同期数"

    def comparison(self) -> Params:
        """The comparative period: the year to date for a month, else a year earlier."""
        if self.is_month:
            return Params(self.fund, dt.date(self.date_to.year, 1, 1), self.date_to, self.date_to)

        def year_before(day: dt.date) -> dt.date:
            try:
                return day.replace(year=day.year - 1)
            except ValueError:  # 29 February
                return day.replace(year=day.year - 1, day=28)

        start, end = year_before(self.date_from), year_before(self.date_to)
        return Params(self.fund, start, end, end)

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
    #: per award: [payouts (net of reversals), acknowledged payouts, their amount]
    award_payouts: dict[str, list[int]] = field(default_factory=dict)
    monthly: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    payments: list[Fact] = field(default_factory=list)
    vouchers: dict[str, tuple[int, str]] = field(default_factory=dict)
    facts: int = 0
    compare: Fold | None = None

    def add_all(self, facts: Iterable[Fact]) -> Fold:
        if self.compare is not None:
            facts = self.compare.tee(facts)
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

    def tee(self, facts: Iterable[Fact]) -> Iterator[Fact]:
        """Fold every fact into this (comparative) fold as it passes on to the caller."""
        for f in facts:
            self.add_all((f,))
            yield f

    def _sub_ledgers(self, f: Fact) -> None:
        if f.account == PLEDGES_RECEIVABLE and f.ref:
            if f.kind == "pledge":
                self.vouchers[f.ref] = (f.sequence, f.maker)
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
                self._payout(f)

    def _payout(self, f: Fact) -> None:
        counts = self.award_payouts.setdefault(f.ref, [0, 0, 0])
        counts[0] += 1 if f.kind == "scholarship_payout" else -1
        if f.kind == "scholarship_payout" and self.ref.acknowledged_on(f.sequence):
            counts[1] += 1
            counts[2] += f.functional

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
            if kind == "transfer":
                line = "interfund_in" if value > 0 else "interfund_out"
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
            self.payments.append(f)
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


# Statutory layouts (民间非营利组织会计制度, 财会〔2004〕7号, forms 会民非01-03): each row is
# (key, 行次, label CN, label US, kind) where kind is "h" (a heading without figures), "line" or
# "total". Lines the books never post to stay on the form at zero, as the form prints them.
Layout = tuple[tuple[str, str, str, str, str], ...]

_POSITION: Layout = (
    ("h_current_assets", "", "流动资产：", "Current assets", "h"),
    ("cash", "1", "货币资金", "Cash and cash equivalents", "line"),
    ("short_investments", "2", "短期投资", "Short-term investments", "line"),
    ("receivables", "3", "应收款项", "Receivables (pledges)", "line"),
    ("prepayments", "4", "预付账款", "Prepayments", "line"),
    ("inventory", "8", "存货", "Inventory (in kind)", "line"),
    ("deferred_expenses", "9", "待摊费用", "Prepaid expenses", "line"),
    (
        "current_debt_investments",
        "15",
        "一年内到期的长期债权投资",
        "Current debt investments",
        "line",
    ),
    ("other_current_assets", "18", "其他流动资产", "Other current assets", "line"),
    ("total_current_assets", "20", "流动资产合计", "Total current assets", "total"),
    ("h_long_term_investments", "", "长期投资：", "Long-term investments", "h"),
    ("equity_investments", "21", "长期股权投资", "Long-term equity investments", "line"),
    ("debt_investments", "24", "长期债权投资", "Long-term debt investments", "line"),
    ("total_long_term_investments", "30", "长期投资合计", "Total long-term investments", "total"),
    ("h_fixed_assets", "", "固定资产：", "Property and equipment", "h"),
    ("fixed_cost", "31", "固定资产原价", "Property and equipment at cost", "line"),
    ("accumulated_depreciation", "32", "减：累计折旧", "Less accumulated depreciation", "line"),
    ("fixed_net", "33", "固定资产净值", "Net book value", "line"),
    ("construction", "34", "在建工程", "Construction in progress", "line"),
    ("heritage", "35", "文物文化资产", "Cultural heritage assets", "line"),
    ("disposals", "38", "固定资产清理", "Fixed assets in disposal", "line"),
    ("fixed", "40", "固定资产合计", "Total property and equipment", "total"),
    ("h_intangible", "", "无形资产：", "Intangible assets", "h"),
    ("intangible", "41", "无形资产", "Intangible assets", "line"),
    ("h_agency_assets", "", "受托代理资产：", "Agency assets", "h"),
    ("agency_assets", "51", "受托代理资产", "Agency (pass-through) assets", "line"),
    ("total_assets", "60", "资产总计", "Total assets", "total"),
    ("h_current_liabilities", "", "流动负债：", "Current liabilities", "h"),
    ("short_borrowings", "61", "短期借款", "Short-term borrowings", "line"),
    ("grants_payable", "62", "应付款项", "Payables (scholarships awarded)", "line"),
    ("wages_payable", "63", "应付工资", "Wages payable", "line"),
    ("taxes_payable", "65", "应交税金", "Taxes payable", "line"),
    ("advances", "66", "预收账款", "Refundable advances", "line"),
    ("accrued", "71", "预提费用", "Accrued expenses", "line"),
    ("provisions", "72", "预计负债", "Provisions", "line"),
    (
        "current_long_term",
        "74",
        "一年内到期的长期负债",
        "Current portion of long-term debt",
        "line",
    ),
    ("other_current_liabilities", "78", "其他流动负债", "Other current liabilities", "line"),
    ("total_current_liabilities", "80", "流动负债合计", "Total current liabilities", "total"),
    ("h_long_term_liabilities", "", "长期负债：", "Long-term liabilities", "h"),
    ("long_borrowings", "81", "长期借款", "Long-term borrowings", "line"),
    ("long_payables", "84", "长期应付款", "Long-term payables", "line"),
    ("other_long_term", "88", "其他长期负债", "Other long-term liabilities", "line"),
    ("total_long_term_liabilities", "90", "长期负债合计", "Total long-term liabilities", "total"),
    ("h_agency_liabilities", "", "受托代理负债：", "Agency liabilities", "h"),
    ("agency_liabilities", "91", "受托代理负债", "Agency liabilities", "line"),
    ("total_liabilities", "100", "负债合计", "Total liabilities", "total"),
    ("h_net_assets", "", "净资产：", "Net assets", "h"),
    ("unrestricted", "101", "非限定性净资产", "Without donor restrictions", "line"),
    ("restricted", "105", "限定性净资产", "With donor restrictions", "line"),
    ("total_net_assets", "110", "净资产合计", "Total net assets", "total"),
    (
        "total_liabilities_and_net_assets",
        "120",
        "负债和净资产总计",
        "Total liabilities and net assets",
        "total",
    ),
)
_ASSET_CODES = {
    PLEDGES_RECEIVABLE: "receivables",
    INVENTORY: "inventory",
    FIXED_ASSETS: "fixed_cost",
    AGENCY_ASSETS: "agency_assets",
}
_LIABILITY_CODES = {
    REFUNDABLE_ADVANCES: "advances",
    GRANTS_PAYABLE: "grants_payable",
    AGENCY_LIABILITIES: "agency_liabilities",
}


def _sum(lines: Mapping[str, int], first: str, total: str) -> int:
    """The lines of `_POSITION` from `first` up to (not including) `total`."""
    keys = [k for k, _n, _c, _e, kind in _POSITION if kind == "line"]
    order = [k for k, *_ in _POSITION]
    low, high = order.index(first), order.index(total)
    return sum(lines.get(k, 0) for k in keys if low <= order.index(k) < high)


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
        elif code == ACCUMULATED_DEPRECIATION:
            lines["accumulated_depreciation"] -= value  # a credit balance, shown positive
        elif code in _ASSET_CODES:
            lines[_ASSET_CODES[code]] += value
        elif code in _LIABILITY_CODES:
            lines[_LIABILITY_CODES[code]] -= value
        elif kind == "asset":
            lines["other_current_assets"] += value
        elif kind == "liability":
            lines["other_current_liabilities"] -= value
        elif code == NET_ASSETS_RESTRICTED or code == CONTRIBUTIONS_RESTRICTED:
            lines["restricted"] -= value
        else:  # unrestricted net assets, unrestricted income, every expense
            lines["unrestricted"] -= value
    due_in = sum(v for v in interfund.values() if v > 0)
    due_out = -sum(v for v in interfund.values() if v < 0)
    if fold.params.fund is None:  # consolidated: what funds owe each other nets out
        due_in, due_out = max(due_in - due_out, 0), max(due_out - due_in, 0)
    lines["interfund_in"], lines["interfund_out"] = due_in, due_out
    lines["other_current_assets"] += due_in
    lines["other_current_liabilities"] += due_out
    lines["fixed_net"] = lines["fixed_cost"] - lines["accumulated_depreciation"]
    lines["total_current_assets"] = _sum(lines, "cash", "total_current_assets")
    lines["total_long_term_investments"] = _sum(
        lines, "equity_investments", "total_long_term_investments"
    )
    lines["fixed"] = _sum(lines, "fixed_net", "fixed")
    lines["total_assets"] = (
        lines["total_current_assets"]
        + lines["total_long_term_investments"]
        + lines["fixed"]
        + lines["intangible"]
        + lines["agency_assets"]
    )
    lines["total_current_liabilities"] = _sum(
        lines, "short_borrowings", "total_current_liabilities"
    )
    lines["total_long_term_liabilities"] = _sum(
        lines, "long_borrowings", "total_long_term_liabilities"
    )
    lines["total_liabilities"] = (
        lines["total_current_liabilities"]
        + lines["total_long_term_liabilities"]
        + lines["agency_liabilities"]
    )
    lines["total_net_assets"] = lines["unrestricted"] + lines["restricted"]
    lines["total_liabilities_and_net_assets"] = (
        lines["total_liabilities"] + lines["total_net_assets"]
    )
    return lines


def _laid_out(
    layout: Layout, values: Mapping[str, Mapping[str, int]]
) -> tuple[dict[str, Any], ...]:
    """Rows of a statutory layout: key, 行次, labels, kind, then each column's figure."""
    rows = []
    for key, number, cn, en, kind in layout:
        row: dict[str, Any] = {"line": key, "row_no": number, "label_cn": cn, "label_en": en}
        if kind != "h":
            row.update({column: figures.get(key, 0) for column, figures in values.items()})
        rows.append(row)
    return tuple(rows)


_STATUTORY_COLUMNS = (
    Column("line", "项目代码", "Line", "text"),
    Column("label_cn", "项目", "Item (CN)", "text"),
    Column("label_en", "项目（英）", "Item (US)", "text"),
    Column("row_no", "行次", "Line no.", "text"),
)


def financial_position(fold: Fold) -> Statement:
    start, end = _position(fold, fold.at_open), _position(fold, fold.at_as_of)
    checks = [
        f"{label}: assets {_money(s['total_assets'])} ≠ liabilities and net assets "
        f"{_money(s['total_liabilities_and_net_assets'])}"
        for label, s in (("opening", start), ("closing", end))
        if s["total_assets"] != s["total_liabilities_and_net_assets"]
    ]
    opening_day = fold.params.date_from - dt.timedelta(days=1)
    year_start = fold.params.date_from.timetuple().tm_yday == 1
    change = _activity_values(fold)["change"]
    notes = [
        f"{'年初数' if year_start else '期初数'} is at {opening_day.isoformat()}, "
        f"期末数 at {fold.params.as_of.isoformat()}.",
        *_net_asset_notes(start, end, change),
    ]
    if end["fixed_cost"]:
        notes.append(
            "固定资产为受赠实物，按公允价值入账，按月直线法计提折旧（默认 5 年，无残值）。"
            " Fixed assets received in kind are depreciated monthly, straight-line."
        )
    return Statement(
        "financial-position",
        "会民非01表",
        "资产负债表",
        "Statement of financial position",
        fold.params,
        (
            *_STATUTORY_COLUMNS,
            Column("opening", "年初数" if year_start else "期初数", "Beginning of period"),
            Column("closing", "期末数", "End of period"),
        ),
        _laid_out(_POSITION, {"opening": start, "closing": end}),
        tuple(checks),
        tuple(notes),
    )


def _grouped(fen: int) -> str:
    """Fen as yuan with thousands separators, for the notes a reader reads."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def _net_asset_notes(
    start: Mapping[str, int], end: Mapping[str, int], change: tuple[int, int]
) -> list[str]:
    """净资产变动: opening + the activities statement's change (+ what it does not cover) = end."""
    out = []
    for key, label, moved in (
        ("unrestricted", "非限定性净资产", change[0]),
        ("restricted", "限定性净资产", change[1]),
    ):
        rest = end[key] - start[key] - moved
        tail = f" + 期后变动 {_grouped(rest)}" if rest else ""
        out.append(
            f"净资产变动 {label}：期初 {_grouped(start[key])} + 本期变动额 {_grouped(moved)}"
            f"{tail} = 期末 {_grouped(end[key])}"
        )
    return out


_EXPENSE_LINES = (
    ("program", PROGRAM_EXPENSES),
    ("management", MANAGEMENT_EXPENSES),
    ("fundraising", FUNDRAISING_EXPENSES),
)
_ACTIVITIES: Layout = (
    ("h_income", "", "一、收入", "Revenue", "h"),
    ("donations", "1", "其中：捐赠收入", "Contributions", "line"),
    ("dues", "2", "会费收入", "Membership dues", "line"),
    ("services", "3", "提供服务收入", "Program service revenue", "line"),
    ("sales", "4", "商品销售收入", "Sales of goods", "line"),
    ("government", "5", "政府补助收入", "Government grants", "line"),
    ("investment", "6", "投资收益", "Investment income", "line"),
    ("other_income", "9", "其他收入", "Other revenue", "line"),
    ("total_income", "11", "收入合计", "Total revenue", "total"),
    ("h_expenses", "", "二、费用", "Expenses", "h"),
    ("program", "12", "（一）业务活动成本", "Program services", "line"),
    ("management", "21", "（二）管理费用", "Management and general", "line"),
    ("fundraising", "24", "（三）筹资费用", "Fundraising, fees and FX losses", "line"),
    ("other_expenses", "28", "（四）其他费用", "Other expenses", "line"),
    ("total_expenses", "35", "费用合计", "Total expenses", "total"),
    (
        "release",
        "40",
        "三、限定性净资产转为非限定性净资产",
        "Net assets released from restrictions",
        "line",
    ),
    ("direct", "", "　　直接计入净资产的调整", "Direct adjustments to net assets", "line"),
    (
        "change",
        "45",
        "四、净资产变动额（若为净资产减少额，以“-”号填列）",
        "Change in net assets",
        "total",
    ),
)


def _activity_values(fold: Fold) -> dict[str, tuple[int, int]]:
    """(非限定性, 限定性) per line of 会民非02 over the fold's period."""
    flows, ref = fold.flows, fold.ref
    income_u = income_r = other_income = other_expense = 0
    named = {code for _, code in _EXPENSE_LINES}
    for code, value in flows.items():
        kind = ref.account_type(code)
        if code == CONTRIBUTIONS_RESTRICTED:
            income_r -= value
        elif code == CONTRIBUTIONS_UNRESTRICTED:
            income_u -= value
        elif kind == "revenue":
            other_income -= value
        elif kind == "expense" and code not in named:
            other_expense += value
    out = {key: (flows.get(code, 0), 0) for key, code in _EXPENSE_LINES}
    total_expense = sum(u for u, _ in out.values()) + other_expense
    direct_u = -fold.direct.get(NET_ASSETS_UNRESTRICTED, 0)
    direct_r = -fold.direct.get(NET_ASSETS_RESTRICTED, 0)
    release = fold.release
    out.update(
        donations=(income_u, income_r),
        other_income=(other_income, 0),
        total_income=(income_u + other_income, income_r),
        other_expenses=(other_expense, 0),
        total_expenses=(total_expense, 0),
        release=(release, -release),
        direct=(direct_u, direct_r),
        change=(
            income_u + other_income - total_expense + release + direct_u,
            income_r - release + direct_r,
        ),
    )
    return out


def _three(values: Mapping[str, tuple[int, int]], prefix: str = "") -> dict[str, dict[str, int]]:
    return {
        f"{prefix}unrestricted": {k: u for k, (u, _) in values.items()},
        f"{prefix}restricted": {k: r for k, (_, r) in values.items()},
        f"{prefix}total": {k: u + r for k, (u, r) in values.items()},
    }


def activities(fold: Fold) -> Statement:
    now = _activity_values(fold)
    then = _activity_values(fold.compare) if fold.compare else {}
    label_now, label_then = fold.params.column_labels()
    start, end = _position(fold, fold.at_open), _position(fold, fold.at_close)
    change_u, change_r = now["change"]
    checks = [
        f"{label} change {_money(change)} ≠ balance movement {_money(end[key] - start[key])}"
        for label, key, change in (
            ("unrestricted", "unrestricted", change_u),
            ("restricted", "restricted", change_r),
        )
        if end[key] - start[key] != change
    ]
    columns = [*_STATUTORY_COLUMNS]
    for prefix, period in (("", label_now), ("prior_", label_then)):
        columns += [
            Column(f"{prefix}unrestricted", f"{period}·非限定性", "Without donor restrictions"),
            Column(f"{prefix}restricted", f"{period}·限定性", "With donor restrictions"),
            Column(f"{prefix}total", f"{period}·合计", "Total"),
        ]
    return Statement(
        "activities",
        "会民非02表",
        "业务活动表",
        "Statement of activities",
        fold.params,
        tuple(columns),
        _laid_out(_ACTIVITIES, {**_three(now), **_three(then, "prior_")}),
        tuple(checks),
        (
            f"{label_now}: {fold.params.date_from.isoformat()} — "
            f"{fold.params.date_to.isoformat()}; {label_then}: "
            + (
                f"{fold.compare.params.date_from.isoformat()} — "
                f"{fold.compare.params.date_to.isoformat()}."
                if fold.compare
                else "—"
            ),
            "管理费用 is the platform's own running costs; bank fees and FX losses stay in "
            "筹资费用.",
        ),
    )


_CASH_FLOWS: Layout = (
    (
        "h_operating",
        "",
        "一、业务活动产生的现金流量：",
        "Cash flows from operating activities",
        "h",
    ),
    ("donations", "1", "接受捐赠收到的现金", "Contributions received", "line"),
    ("dues_received", "2", "收取会费收到的现金", "Membership dues received", "line"),
    ("services_received", "3", "提供服务收到的现金", "Service fees received", "line"),
    ("sales_received", "4", "销售商品收到的现金", "Sales of goods received", "line"),
    ("government_received", "5", "政府补助收到的现金", "Government grants received", "line"),
    ("other_received", "8", "收到的其他与业务活动有关的现金", "Other receipts", "line"),
    ("inflows", "13", "现金流入小计", "Total inflows", "total"),
    ("grants_paid", "14", "提供捐赠或者资助支付的现金", "Grants and aid paid", "line"),
    ("staff_paid", "15", "支付给员工以及为员工支付的现金", "Paid to and for staff", "line"),
    ("purchases_paid", "16", "购买商品、接受服务支付的现金", "Goods and services paid", "line"),
    ("other_paid", "19", "支付的其他与业务活动有关的现金", "Other payments", "line"),
    ("outflows", "23", "现金流出小计", "Total outflows", "total"),
    (
        "operating",
        "24",
        "业务活动产生的现金流量净额",
        "Net cash from operating activities",
        "total",
    ),
    (
        "h_investing",
        "",
        "二、投资活动产生的现金流量：",
        "Cash flows from investing activities",
        "h",
    ),
    ("investments_recovered", "25", "收回投资所收到的现金", "Investments recovered", "line"),
    ("investment_income", "26", "取得投资收益所收到的现金", "Investment income received", "line"),
    (
        "disposals_received",
        "27",
        "处置固定资产、无形资产和其他长期资产所收回的现金净额",
        "Proceeds from disposals",
        "line",
    ),
    ("investing_other_received", "30", "收到的其他与投资活动有关的现金", "Other", "line"),
    ("investing_inflows", "34", "现金流入小计", "Total inflows", "total"),
    (
        "purchases_of_assets",
        "35",
        "购建固定资产、无形资产和其他长期资产所支付的现金",
        "Purchases of long-term assets",
        "line",
    ),
    ("investments_paid", "36", "对外投资所支付的现金", "Investments made", "line"),
    ("investing_other_paid", "39", "支付的其他与投资活动有关的现金", "Other", "line"),
    ("investing_outflows", "43", "现金流出小计", "Total outflows", "total"),
    ("investing", "44", "投资活动产生的现金流量净额", "Net cash from investing", "total"),
    (
        "h_financing",
        "",
        "三、筹资活动产生的现金流量：",
        "Cash flows from financing activities",
        "h",
    ),
    ("borrowings_received", "45", "借款所收到的现金", "Borrowings received", "line"),
    (
        "financing_other_received",
        "48",
        "收到的其他与筹资活动有关的现金（基金间划入）",
        "Other (transfers in from other funds)",
        "line",
    ),
    ("financing_inflows", "50", "现金流入小计", "Total inflows", "total"),
    ("repayments", "51", "偿还借款所支付的现金", "Borrowings repaid", "line"),
    ("interest_paid", "52", "偿付利息所支付的现金", "Interest paid", "line"),
    (
        "financing_other_paid",
        "55",
        "支付的其他与筹资活动有关的现金（基金间划出）",
        "Other (transfers out to other funds)",
        "line",
    ),
    ("financing_outflows", "58", "现金流出小计", "Total outflows", "total"),
    ("financing", "59", "筹资活动产生的现金流量净额", "Net cash from financing", "total"),
    ("fx", "60", "四、汇率变动对现金的影响额", "Effect of exchange rate changes", "total"),
    ("net", "61", "五、现金及现金等价物净增加额", "Net increase in cash", "total"),
    ("opening", "", "加：期初现金及现金等价物余额", "Cash at beginning of period", "line"),
    ("closing", "", "期末现金及现金等价物余额", "Cash at end of period", "total"),
)


_LAYOUTS: dict[str, Layout] = {
    "financial-position": _POSITION,
    "activities": _ACTIVITIES,
    "cash-flows": _CASH_FLOWS,
}


def row_kinds(kind: str) -> dict[str, str]:
    """line -> "h" (heading), "line" or "total", for a statutory statement; {} for the others."""
    return {key: row_kind for key, _n, _c, _e, row_kind in _LAYOUTS.get(kind, ())}


def _cash_values(fold: Fold) -> dict[str, int]:
    c = fold.cash
    inflows = c["donations"] + c["other_received"]
    outflows = -(c["grants_paid"] + c["other_paid"])
    transfer_in, transfer_out = c["interfund_in"], -c["interfund_out"]
    if fold.params.fund is None:  # consolidated: transfers between funds net out
        net_transfer = transfer_in - transfer_out
        transfer_in, transfer_out = max(net_transfer, 0), max(-net_transfer, 0)
    operating, financing = inflows - outflows, transfer_in - transfer_out
    cash_of = fold.at_open, fold.at_close
    opening, closing = (
        sum(v for (_, code), v in balances.items() if code.startswith(CASH_PREFIX))
        for balances in cash_of
    )
    return {
        "donations": c["donations"],
        "other_received": c["other_received"],
        "inflows": inflows,
        "grants_paid": -c["grants_paid"],
        "other_paid": -c["other_paid"],
        "outflows": outflows,
        "operating": operating,
        "financing_other_received": transfer_in,
        "financing_inflows": transfer_in,
        "financing_other_paid": transfer_out,
        "financing_outflows": transfer_out,
        "financing": financing,
        "net": operating + financing,
        "opening": opening,
        "closing": closing,
    }


def cash_flows(fold: Fold) -> Statement:
    now = _cash_values(fold)
    then = _cash_values(fold.compare) if fold.compare else {}
    label_now, label_then = fold.params.column_labels()
    opening, net, closing = now["opening"], now["net"], now["closing"]
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
            *_STATUTORY_COLUMNS,
            Column("amount", label_now, "This period"),
            Column("prior_amount", label_then, "Comparative period"),
        ),
        _laid_out(_CASH_FLOWS, {"amount": now, "prior_amount": then}),
        checks,
        (
            "Foreign cash is shown at its booked CNY value; remeasurement entries, if any, "
            "appear as other receipts or payments.",
            "Cash moved between funds is shown under financing (lines 48 and 55); it nets out "
            "when all funds are consolidated. Depreciation moves no cash.",
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
        voucher, maker = fold.vouchers.get(pledge_id, (0, ""))
        rows.append(
            {
                "pledge_id": pledge_id,
                "voucher": str(voucher) if voucher else "",
                "donor": fold.ref.donor_name(str(info["donor_id"])),
                "maker": maker,
                "checker": fold.ref.checker_of(voucher) if voucher else "",
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
    # in the order they were pledged (the journal's), conditional pledges (off the books) last
    rows.sort(key=lambda r: (not r["pledged_on"], r["pledged_on"], int(r["voucher"] or 0)))
    total = {
        k: sum(r[k] for r in rows if not r["status"].startswith("conditional"))
        for k in ("amount", "booked", "paid", "outstanding")
    }
    rows.append(
        {
            "pledge_id": "",
            "voucher": "",
            "donor": "",
            "maker": "",
            "checker": "",
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
            Column("voucher", "凭证号", "Voucher", "text"),
            Column("donor", "捐赠人", "Donor", "text"),
            Column("fund", "基金", "Fund", "text"),
            Column("pledged_on", "认捐日期", "Pledged on", "text"),
            Column("due_on", "到期日", "Due on", "text"),
            Column("amount", "认捐金额", "Amount"),
            Column("booked", "入账金额", "Booked"),
            Column("paid", "已到账", "Paid"),
            Column("outstanding", "未到账", "Outstanding"),
            Column("status", "状态", "Status", "text"),
            Column("maker", "制单", "Maker", "text"),
            Column("checker", "复核", "Checker", "text"),
        ),
        tuple(rows),
        notes=(
            "Donors appear as each chose: anonymous donors as 匿名捐赠人. 凭证号 is the pledge "
            "entry's sequence in the journal.",
        ),
    )


def _register_row(group: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "group": group,
        "voucher": "",
        "paid_on": "",
        "fund": "",
        "project": "",
        "project_name": "",
        "county": "",
        "town": "",
        "village": "",
        "place": "",
        "payments": 0,
        "amount": 0,
        "acknowledged": 0,
        "acknowledged_amount": 0,
        "acknowledged_on": "",
        "payee": "",
        "bank_reference": "",
        "maker": "",
        "checker": "",
    }
    row.update(values)
    return row


def disbursement_register(fold: Fold) -> Statement:
    rows: list[dict[str, Any]] = []
    signed: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for f in sorted(fold.payments, key=lambda f: (f.fund, f.project, f.sequence)):
        info = fold.ref.projects.get(f.project, {})
        where = fold.ref.where(f.project)
        on = fold.ref.acknowledged_on(f.sequence) if f.kind == "disbursement" else ""
        if on:
            signed[(f.fund, f.project)][0] += 1
            signed[(f.fund, f.project)][1] += f.functional
        payee, bank_reference = fold.ref.payee_of(f.sequence)
        rows.append(
            _register_row(
                "payment",
                payee=payee,
                bank_reference=bank_reference,
                voucher=str(f.sequence),
                paid_on=f.occurred_on,
                fund=f.fund,
                project=f.project,
                project_name=str(info.get("name", "")),
                county=where["county"],
                town=where["town"],
                village=where["village"],
                place=where["place"],
                payments=1 if f.kind == "disbursement" else -1,
                amount=f.functional,
                acknowledged=1 if on else 0,
                acknowledged_amount=f.functional if on else 0,
                acknowledged_on=on,
                maker=f.maker,
                checker=fold.ref.checker_of(f.sequence),
            )
        )
    # county -> town -> village: each level's figures and its place code (when placed)
    levels: dict[tuple[str, ...], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    codes: dict[tuple[str, ...], str] = {}
    for (fund, code), (amount, count) in sorted(fold.projects.items()):
        info = fold.ref.projects.get(code, {})
        where = fold.ref.where(code)
        acknowledged, acknowledged_amount = signed[(fund, code)]
        rows.append(
            _register_row(
                "project",
                fund=fund,
                project=code,
                project_name=str(info.get("name", "")),
                county=where["county"],
                town=where["town"],
                village=where["village"],
                place=where["place"],
                payments=count,
                amount=amount,
                acknowledged=acknowledged,
                acknowledged_amount=acknowledged_amount,
            )
        )
        names = (where["county"], where["town"], where["village"])
        for depth, level in enumerate(_LEVELS, start=1):
            key = names[:depth]
            codes[key] = codes.get(key) or where[f"{level}_code"]
            for n, value in enumerate((amount, count, acknowledged, acknowledged_amount)):
                levels[key][n] += value
    by_county = {key: v for key, v in levels.items() if len(key) == 1}
    for depth, level in enumerate(_LEVELS, start=1):
        for key, (amount, count, acknowledged, acknowledged_amount) in sorted(levels.items()):
            if len(key) != depth:
                continue
            rows.append(
                _register_row(
                    level,
                    **dict(zip(_LEVELS, key, strict=False)),
                    place=codes.get(key, ""),
                    payments=count,
                    amount=amount,
                    acknowledged=acknowledged,
                    acknowledged_amount=acknowledged_amount,
                )
            )
    rows.append(
        _register_row(
            "total",
            **{
                key: sum(v[n] for v in by_county.values())
                for n, key in enumerate(
                    ("amount", "payments", "acknowledged", "acknowledged_amount")
                )
            },
        )
    )
    return Statement(
        "disbursements",
        "",
        "项目支出登记簿",
        "Register of disbursements by project, county, town and village",
        fold.params,
        (
            Column("group", "汇总层级", "Group", "text"),
            Column("voucher", "凭证号", "Voucher", "text"),
            Column("paid_on", "日期", "Date", "text"),
            Column("fund", "基金", "Fund", "text"),
            Column("project", "项目编号", "Project", "text"),
            Column("project_name", "项目名称", "Project name", "text"),
            Column("county", "县（市）", "County", "text"),
            Column("town", "乡镇", "Town", "text"),
            Column("village", "村", "Village", "text"),
            Column("place", "地点代码", "Place code", "text"),
            Column("payments", "笔数", "Payments", "count"),
            Column("amount", "金额", "Amount"),
            Column("acknowledged", "已签收笔数", "Acknowledged", "count"),
            Column("acknowledged_amount", "已签收金额", "Acknowledged amount"),
            Column("acknowledged_on", "签收日期", "Acknowledged on", "text"),
            Column("payee", "收款人", "Payee", "text"),
            Column("bank_reference", "银行流水号", "Bank reference", "text"),
            Column("maker", "制单", "Maker", "text"),
            Column("checker", "复核", "Checker", "text"),
        ),
        tuple(rows),
        notes=(
            "Each payment with its voucher (the entry's sequence), then totals per project, "
            "county, town and village, net of reversals; scholarships are in their own register.",
            "A project's county, town and village are its place's (地点代码, the place it was "
            "opened at); a project without a place keeps its county and town text. A town row "
            "with no town name holds what sits at the county itself, a village row with no "
            "village name what sits at the town itself, so each county's towns and each town's "
            "villages add up to it.",
            "已签收: the recipient's signed acknowledgment is on file (an attached document), "
            "dated as recorded; a reversed payment counts none.",
            "A payee is an organisation with its 统一社会信用代码, or a person by pseudonym only.",
        ),
    )


def scholarship_register(fold: Fold) -> Statement:
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    # county (the student's, as recorded) -> figures; students counted per award (人次)
    counties: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for award_id, awarded in fold.award_awarded.items():
        info = fold.ref.awards.get(award_id)
        if info is None or awarded == 0:
            continue
        who = fold.ref.beneficiaries.get(str(info["beneficiary_id"]), {})
        key = (str(info["fund"]), str(who.get("cohort", "")), str(info["term"]))
        group = groups.setdefault(
            key,
            {"students": set(), "awarded": 0, "paid": 0, "payouts": 0, "ack": 0, "ack_paid": 0},
        )
        group["students"].add(info["beneficiary_id"])
        group["awarded"] += awarded
        group["paid"] += fold.award_paid.get(award_id, 0)
        payouts, acknowledged, acknowledged_paid = fold.award_payouts.get(award_id, (0, 0, 0))
        group["payouts"] += payouts
        group["ack"] += acknowledged
        group["ack_paid"] += acknowledged_paid
        county = counties[str(who.get("county", ""))]
        for name, value in (
            ("students", 1),
            ("awarded", awarded),
            ("paid", fold.award_paid.get(award_id, 0)),
            ("payouts", payouts),
            ("acknowledged", acknowledged),
            ("acknowledged_amount", acknowledged_paid),
        ):
            county[name] += value
    rows: list[dict[str, Any]] = []
    for (fund, cohort, term), g in sorted(groups.items()):
        rows.append(
            {
                "group": "cohort",
                "fund": fund,
                "cohort": cohort,
                "county": "",
                "term": term,
                "students": len(g["students"]),
                "awarded": g["awarded"],
                "paid": g["paid"],
                "unpaid": g["awarded"] - g["paid"],
                "payouts": g["payouts"],
                "acknowledged": g["ack"],
                "acknowledged_amount": g["ack_paid"],
            }
        )
    figures = ("students", "awarded", "paid", "unpaid", "payouts", "acknowledged")
    total = {k: sum(r[k] for r in rows) for k in (*figures, "acknowledged_amount")}
    for county, c in sorted(counties.items()):
        rows.append(
            {
                "group": "county",
                "fund": "",
                "cohort": "",
                "county": county,
                "term": "",
                **{k: c[k] for k in figures if k != "unpaid"},
                "unpaid": c["awarded"] - c["paid"],
                "acknowledged_amount": c["acknowledged_amount"],
            }
        )
    rows.append(
        {"group": "total", "fund": "", "cohort": "", "county": "", "term": "合计 Total", **total}
    )
    return Statement(
        "scholarships",
        "",
        "助学金登记簿",
        "Register of scholarships by cohort and term, and by county",
        fold.params,
        (
            Column("group", "汇总层级", "Group", "text"),
            Column("fund", "基金", "Fund", "text"),
            Column("cohort", "届别", "Cohort", "text"),
            Column("county", "县（市）", "County", "text"),
            Column("term", "学期", "Term", "text"),
            Column("students", "受助学生人次", "Student awards", "count"),
            Column("awarded", "发放承诺", "Awarded"),
            Column("paid", "已支付", "Paid"),
            Column("unpaid", "未支付", "Unpaid"),
            Column("payouts", "支付笔数", "Payouts", "count"),
            Column("acknowledged", "已签收笔数", "Acknowledged payouts", "count"),
            Column("acknowledged_amount", "已签收金额", "Acknowledged amount"),
        ),
        tuple(rows),
        notes=(
            "Awards dated in the period; payments up to the as-of date. Students are counted, "
            "never named.",
            "Then per county (the student's county as recorded): student awards (人次) and "
            "amounts, adding up to the total. Cohorts name no town, so there is no town roll-up.",
            "已签收: payouts whose recipient's signed acknowledgment is on file, counted, never "
            "named.",
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
    fold = Fold(params, ref, compare=Fold(params.comparison(), ref)).add_all(facts)
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
            e.maker,
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
            r.maker,
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
                obj.get("maker") or "",
            )


def reference_from_db(conn: Connection) -> Reference:
    """The reference data the statements need, by code and pseudonym only."""
    placed = project_places_of(conn)
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
            r.code: {
                "name": r.name,
                "fund": r.fund,
                "county": r.county,
                "town": r.town,
                **({"place": placed[r.code]} if r.code in placed else {}),
            }
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
        {
            r.id: ANONYMOUS if r.anonymous else r.name
            for r in conn.execute(select(donors.c.id, donors.c.name, donors.c.anonymous))
        },
        _checkers(conn),
        _acknowledged(conn),
        _payees(conn),
        {
            code: {"kind": p.kind, "name": p.name, "parent": p.parent}
            for code, p in load_places(conn).items()
        },
    )


def _acknowledged(conn: Connection) -> dict[str, str]:
    """Entry sequence -> the day its recipient acknowledged it (dates only, never who)."""
    e, a = journal_entries.c, acknowledgments.c
    rows = conn.execute(
        select(e.sequence, a.acknowledged_on).join(acknowledgments, a.entry_id == e.id)
    )
    return {str(sequence): str(on) for sequence, on in rows}


def payee_text(payee: Mapping[str, Any] | None) -> str:
    """How a register shows a payee: an organisation's name and code, a person's pseudonym
    only (never a name)."""
    if not isinstance(payee, Mapping):
        return ""
    if payee.get("kind") == "organisation":
        return f"{payee.get('name', '')} ({payee.get('registration_number', '')})"
    return str(payee.get("pseudonym", ""))


def _payees(conn: Connection) -> dict[str, list[str]]:
    """Entry sequence -> [payee, bank reference], as its (hashed) data records them."""
    e = journal_entries.c
    rows = conn.execute(
        select(e.sequence, e.data).where(
            e.kind == "disbursement",
            or_(e.data.like('%"payee"%'), e.data.like('%"bank_reference"%')),
        )
    )
    found: dict[str, list[str]] = {}
    for sequence, data in rows:
        facts = json.loads(data) if data else {}
        found[str(sequence)] = [
            payee_text(facts.get("payee")),
            str(facts.get("bank_reference", "")),
        ]
    return found


def _checkers(conn: Connection) -> dict[str, str]:
    """Entry sequence -> the checkers who approved it, as its (hashed) data records them."""
    e = journal_entries.c
    rows = conn.execute(select(e.sequence, e.data).where(e.data.like('%"approval"%')))
    found: dict[str, str] = {}
    for sequence, data in rows:
        approval = json.loads(data).get("approval") if data else None
        if isinstance(approval, dict) and approval.get("checkers"):
            found[str(sequence)] = ", ".join(str(c) for c in approval["checkers"])
    return found


def statements_from_db(
    conn: Connection, params: Params, kinds: Sequence[str] = KINDS, *, upto: int | None = None
) -> tuple[dict[str, Statement], Fold]:
    """Build statements straight from the database (one streaming pass)."""
    return build_statements(
        facts_from_db(conn, params, upto=upto), reference_from_db(conn), params, kinds
    )
