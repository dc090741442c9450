"""Bank statements read into lines: ISO 20022 camt.053 XML and a configurable CSV layout.

Invariants owned here:
- A statement is a list of `BankLine` (booking date, signed amount in minor units: credits to
  the account positive, debits negative; counterparty; reference; balance after the line when
  the bank gives it) with the opening and closing balances. Amounts go through `Money.parse`:
  exact decimal strings, never floats.
- camt.053: namespace-agnostic (camt.053.001.02 to .001.13), read with the standard library's
  XML parser; a document with a DOCTYPE is refused (no entity tricks), and so is one with more
  than one account's statement or an entry in another currency.
- CSV: the layout names the columns (date, amount, direction, counterparty, reference, balance)
  and the date format (date and amount are required, the others optional); a UTF-8 BOM is
  skipped; each field is read as UTF-8, else GB18030 (the superset of GBK), so a bank export
  whose counterparty names are GBK bytes inside a UTF-8 file reads right.
- Every problem is reported with its line number at once (`StatementRejected`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.errors import LedgerError
from ledger.money import parse_minor

__all__ = [
    "DEFAULT_LAYOUT",
    "BankLine",
    "Statement",
    "StatementRejected",
    "layout_from_json",
    "read_camt053",
    "read_csv",
    "read_statement",
]


class StatementRejected(LedgerError):
    """Raised when a statement file cannot be read; `problems` lists every reason."""

    code = "statement_rejected"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems[:5]), field="file")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class BankLine:
    line: int
    booked_on: dt.date
    amount: int
    currency: str
    counterparty: str = ""
    reference: str = ""
    balance: int | None = None
    bank_ref: str = ""


@dataclass(frozen=True, slots=True)
class Statement:
    format: str
    currency: str
    lines: tuple[BankLine, ...]
    opening: int | None
    closing: int | None
    statement_ref: str = ""
    account_ref: str = ""
    from_date: dt.date | None = None
    to_date: dt.date | None = None

    @property
    def period(self) -> tuple[dt.date, dt.date]:
        dates = [line.booked_on for line in self.lines]
        first = self.from_date or (min(dates) if dates else dt.date.today())
        last = self.to_date or (max(dates) if dates else first)
        return first, last


# -- camt.053 ---------------------------------------------------------------------------------
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(node: ET.Element | None, *path: str) -> ET.Element | None:
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if _local(c.tag) == name), None)
    return node


def _text(node: ET.Element | None, *path: str) -> str:
    found = _child(node, *path)
    return (found.text or "").strip() if found is not None else ""


def _signed(amount_node: ET.Element | None, indicator: str, problems: list[str], where: str) -> int:
    if amount_node is None:
        problems.append(f"{where}: no amount")
        return 0
    currency = amount_node.get("Ccy", "")
    try:
        minor = parse_minor((amount_node.text or "").strip(), currency, positive=False)
    except LedgerError as err:
        problems.append(f"{where}: {err.message}")
        return 0
    if indicator not in ("CRDT", "DBIT"):
        problems.append(f"{where}: CdtDbtInd must be CRDT or DBIT")
    return minor if indicator == "CRDT" else -minor


def _date(text: str, problems: list[str], where: str, fmt: str = "%Y-%m-%d") -> dt.date:
    try:
        return dt.datetime.strptime(text[:10] if fmt == "%Y-%m-%d" else text, fmt).date()
    except ValueError:
        problems.append(f"{where}: date {text!r} is not {fmt}")
        return dt.date(1970, 1, 1)


def read_camt053(data: bytes) -> Statement:
    """Read one account's camt.053 statement.

    Raises:
        StatementRejected: with every problem found.
    """
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise StatementRejected(["a camt.053 document must not carry a DOCTYPE or entities"])
    try:
        root = ET.fromstring(data)  # noqa: S314 - no DOCTYPE or entities (refused above)
    except ET.ParseError as err:
        raise StatementRejected([f"not well-formed XML: {err}"]) from None
    report = _child(root, "BkToCstmrStmt")
    statements = [c for c in (report if report is not None else []) if _local(c.tag) == "Stmt"]
    if len(statements) != 1:
        raise StatementRejected(["a camt.053 file here must hold exactly one Stmt"])
    stmt = statements[0]
    problems: list[str] = []
    currency = _text(stmt, "Acct", "Ccy")
    balances: dict[str, int] = {}
    for bal in (c for c in stmt if _local(c.tag) == "Bal"):
        code = _text(bal, "Tp", "CdOrPrtry", "Cd")
        amount = _child(bal, "Amt")
        currency = currency or (amount.get("Ccy", "") if amount is not None else "")
        balances[code] = _signed(amount, _text(bal, "CdtDbtInd"), problems, f"balance {code}")
    lines = []
    for n, entry in enumerate((c for c in stmt if _local(c.tag) == "Ntry"), 1):
        where = f"entry {n}"
        amount = _child(entry, "Amt")
        if amount is not None and currency and amount.get("Ccy") != currency:
            problems.append(f"{where}: currency {amount.get('Ccy')} is not the account's")
        indicator = _text(entry, "CdtDbtInd")
        tx = _child(entry, "NtryDtls", "TxDtls")
        party = "Dbtr" if indicator == "CRDT" else "Cdtr"
        name = _text(tx, "RltdPties", party, "Nm") or _text(tx, "RltdPties", party, "Pty", "Nm")
        reference = (
            _text(tx, "RmtInf", "Ustrd")
            or _text(tx, "Refs", "EndToEndId")
            or _text(entry, "AddtlNtryInf")
        )
        booked = _text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm")
        lines.append(
            BankLine(
                n,
                _date(booked, problems, where),
                _signed(amount, indicator, problems, where),
                currency,
                name[:200],
                reference[:200],
                None,
                _text(entry, "AcctSvcrRef")[:100],
            )
        )
    if problems:
        raise StatementRejected(problems)
    opening = balances.get("OPBD", balances.get("PRCD"))
    closing = balances.get("CLBD")
    frm, to = _text(stmt, "FrToDt", "FrDtTm"), _text(stmt, "FrToDt", "ToDtTm")
    return Statement(
        "camt053",
        currency,
        tuple(lines),
        opening,
        closing,
        _text(stmt, "Id")[:100],
        _text(stmt, "Acct", "Id", "IBAN") or _text(stmt, "Acct", "Id", "Othr", "Id"),
        _date(frm, [], "") if frm else None,
        _date(to, [], "") if to else None,
    )


# -- CSV --------------------------------------------------------------------------------------
DEFAULT_LAYOUT: dict[str, Any] = {
    "delimiter": ",",
    "date_format": "%Y-%m-%d",
    "currency": "CNY",
    "columns": {
        "date": "date",
        "amount": "amount",
        "direction": "direction",
        "counterparty": "counterparty",
        "reference": "reference",
        "balance": "balance",
    },
    "credit": ["C", "CR", "CRDT", "贷", "收入", "credit"],
    "debit": ["D", "DR", "DBIT", "借", "支出", "debit"],
}


@dataclass(frozen=True, slots=True)
class _Layout:
    delimiter: str
    date_format: str
    currency: str
    columns: Mapping[str, str]
    credit: frozenset[str] = field(default_factory=frozenset)
    debit: frozenset[str] = field(default_factory=frozenset)


def layout_from_json(text: str | None) -> dict[str, Any]:
    """A layout from its JSON text, over `DEFAULT_LAYOUT` (missing keys keep the default).

    Raises:
        StatementRejected: not a JSON object.
    """
    if not text:
        return dict(DEFAULT_LAYOUT)
    try:
        given = json.loads(text)
    except ValueError:
        raise StatementRejected(["the CSV layout is not JSON"]) from None
    if not isinstance(given, dict):
        raise StatementRejected(["the CSV layout must be a JSON object"])
    columns = {**DEFAULT_LAYOUT["columns"], **given.get("columns", {})}
    return {**DEFAULT_LAYOUT, **given, "columns": columns}


def _field_text(raw: str) -> str:
    data = raw.encode("latin-1")
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace").strip()


def read_csv(data: bytes, layout: Mapping[str, Any] | None = None) -> Statement:
    """Read a CSV bank export with `layout` (see `DEFAULT_LAYOUT`).

    Raises:
        StatementRejected: with every problem found, by line number.
    """
    spec = {**DEFAULT_LAYOUT, **(layout or {})}
    lay = _Layout(
        spec["delimiter"],
        spec["date_format"],
        spec["currency"],
        spec["columns"],
        frozenset(s.lower() for s in spec["credit"]),
        frozenset(s.lower() for s in spec["debit"]),
    )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    # latin-1 maps every byte to one character: the CSV is split on ASCII only, then each field
    # is decoded on its own (UTF-8, else GB18030).
    rows = csv.reader(io.StringIO(data.decode("latin-1"), newline=""), delimiter=lay.delimiter)
    header = [_field_text(h) for h in next(rows, [])]
    wanted = {k: v for k, v in lay.columns.items() if v}
    missing = [v for k, v in wanted.items() if v not in header and k in ("date", "amount")]
    if missing or not header:
        raise StatementRejected([f"line 1: the header lacks column(s) {', '.join(missing)}"])
    index = {k: header.index(v) for k, v in wanted.items() if v in header}
    lines: list[BankLine] = []
    problems: list[str] = []
    for number, raw in enumerate(rows, 2):
        if not any(cell.strip() for cell in raw):
            continue
        cells = [_field_text(c) for c in raw]
        lines.append(_csv_line(number, len(lines) + 1, cells, index, lay, problems))
    if problems:
        raise StatementRejected(problems)
    opening = closing = None
    if lines and lines[0].balance is not None and lines[-1].balance is not None:
        opening = lines[0].balance - lines[0].amount
        closing = lines[-1].balance
    return Statement("csv", lay.currency, tuple(lines), opening, closing)


def _csv_line(
    number: int,
    n: int,
    cells: list[str],
    index: Mapping[str, int],
    lay: _Layout,
    problems: list[str],
) -> BankLine:
    def cell(name: str) -> str:
        i = index.get(name)
        return cells[i] if i is not None and i < len(cells) else ""

    where = f"line {number}"
    amount_text = cell("amount").replace(",", "")
    negative = amount_text.startswith("-")
    minor = 0
    try:
        minor = parse_minor(amount_text.lstrip("-+"), lay.currency)
    except LedgerError as err:
        problems.append(f"{where}: amount: {err.message}")
    direction = cell("direction").lower()
    if "direction" in index:
        if direction in lay.debit:
            negative = True
        elif direction not in lay.credit:
            problems.append(f"{where}: direction {cell('direction')!r} is neither credit nor debit")
    balance = None
    if cell("balance"):
        text = cell("balance").replace(",", "")
        try:
            balance = parse_minor(text.lstrip("-"), lay.currency, positive=False)
            balance = -balance if text.startswith("-") else balance
        except LedgerError as err:
            problems.append(f"{where}: balance: {err.message}")
    return BankLine(
        n,
        _date(cell("date"), problems, where, lay.date_format),
        -minor if negative else minor,
        lay.currency,
        cell("counterparty")[:200],
        cell("reference")[:200],
        balance,
    )


def read_statement(data: bytes, layout: Mapping[str, Any] | None = None) -> Statement:
    """camt.053 when the file is XML, else CSV with `layout`."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return read_camt053(data)
    return read_csv(data, layout)
