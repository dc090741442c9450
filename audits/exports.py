"""The auditor's journal export: one row per posting, as CSV, JSON Lines or XLSX, streamed.

Columns (`COLUMNS`), in order: sequence, entry_id, line, posted_at (recorded_at, UTC),
effective_date (occurred_on), period, kind, account, account_name_cn, account_name_us, debit,
credit (both in the posting's currency), currency, original_amount (signed, debit positive, in
that currency), fx_rate (CNY per unit: the recorded rate of a foreign gift, else the implied
carrying rate; empty for CNY), fx_source, cny_value (signed CNY), fund, restriction
(restricted / unrestricted, the fund's), project, functional_class, party (a donor id or a
beneficiary pseudonym — never a name), receipt_serial (live, non-void receipts of the entry),
reverses, reversed_by (entry ids), maker, checker (who approved the entry under maker-checker,
as its hashed data records them; empty when nobody had to), memo, leaf_hash (hex, the entry's
RFC 6962 leaf).

Invariants owned here:
- Amounts are exact decimal strings from integer minor units; nothing passes through a float.
- Flat memory at any size: rows are read in ranges of `batch` sequence numbers (gapless, so a
  range holds at most `batch` entries) and written out range by range.
- Consistency: an export covers the journal up to the chain head read when it starts
  (`ExportMeta.journal_size`), even while new entries are posted meanwhile.
- Every export names the checkpoint it was taken at — the latest signed checkpoint no larger
  than the export (rows with sequence <= its size are provable against it):
  CSV: a final trailer row whose first cell is ``#checkpoint`` (padded to the full width, so the
  file stays rectangular RFC 4180; pass ``trailer=False`` for data rows only) — the API also
  sends it as the ``X-Huiquan-Checkpoint`` header; JSON Lines: the first line is a meta record
  ``{"checkpoint": ..., "journal_size": ..., "columns": ..., "filters": ...}``; XLSX: a second
  sheet named ``checkpoint``.
- Formula-injection safety: a *text* cell that begins with ``= + - @``, TAB or CR, also after
  leading whitespace or line breaks, gets a single quote in front (CSV and XLSX). Numeric
  columns (`NUMERIC`) are never prefixed, so "-12.50" in `credit`-like columns stays a number,
  while "-12.50" typed into a memo is neutralised.
- No text in the books can break an export: every text cell goes through
  `ledger.text.visible`, which writes a control character (bar tab and LF) or a lone surrogate
  as a visible escape (``\\u001b``), in every format. (The entrances refuse such text; a row
  written before that rule, or by hand, is still exported.)
- CSV is RFC 4180: comma separated, CRLF line ends, quotes doubled, UTF-8 (optionally with a
  BOM so Excel reads it as UTF-8).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import Connection, and_, select

from ledger.money import EXPONENTS
from ledger.storage.tables import (
    accounts,
    funds,
    journal_entries,
    postings,
    receipt_voids,
    receipts,
)
from ledger.text import visible
from ledger.tlog.journal import journal_size
from ledger.tlog.proofs import StoredCheckpoint, latest_checkpoint

__all__ = [
    "COLUMNS",
    "NUMERIC",
    "ExportFilter",
    "ExportMeta",
    "cell_text",
    "csv_chunks",
    "export_meta",
    "iter_rows",
    "jsonl_chunks",
    "neutralise",
    "query_batches",
    "write_xlsx",
]

COLUMNS: tuple[str, ...] = (
    "sequence",
    "entry_id",
    "line",
    "posted_at",
    "effective_date",
    "period",
    "kind",
    "account",
    "account_name_cn",
    "account_name_us",
    "debit",
    "credit",
    "currency",
    "original_amount",
    "fx_rate",
    "fx_source",
    "cny_value",
    "fund",
    "restriction",
    "project",
    "functional_class",
    "party",
    "receipt_serial",
    "reverses",
    "reversed_by",
    "maker",
    "checker",
    "memo",
    "leaf_hash",
)
NUMERIC = frozenset(
    {"sequence", "line", "debit", "credit", "original_amount", "fx_rate", "cny_value"}
)
_NUMERIC_INDEX = tuple(i for i, c in enumerate(COLUMNS) if c in NUMERIC)
_TEXT_INDEX = tuple(i for i, c in enumerate(COLUMNS) if c not in NUMERIC)
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_XLSX_MAX_ROWS = 1_048_576


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which postings to export: a period (``YYYY`` or ``YYYY-MM``) or a date range on the
    effective date, a fund (its postings only: a fund balances on its own), a project (the
    entries that touch it, all their lines, so they still balance)."""

    period: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    fund: str | None = None
    project: str | None = None

    def date_range(self) -> tuple[str | None, str | None]:
        lo = self.date_from.isoformat() if self.date_from else None
        hi = self.date_to.isoformat() if self.date_to else None
        if self.period:
            if len(self.period) == 4:
                plo, phi = f"{self.period}-01-01", f"{self.period}-12-31"
            else:
                plo, phi = f"{self.period}-01", f"{self.period}-31"
            lo = max(lo, plo) if lo else plo
            hi = min(hi, phi) if hi else phi
        return lo, hi

    def to_dict(self) -> dict[str, str | None]:
        return {
            k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(self).items()
        }


@dataclass(frozen=True, slots=True)
class ExportMeta:
    """What an export covers: the journal size it was read at and the checkpoint it names."""

    journal_size: int
    checkpoint: StoredCheckpoint | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "journal_size": self.journal_size,
            "checkpoint": self.checkpoint.to_dict() if self.checkpoint else None,
        }

    def header(self) -> str:
        """The ``X-Huiquan-Checkpoint`` header value: ``origin size root`` or ``none``."""
        return self.checkpoint.header() if self.checkpoint else "none"

    def trailer(self) -> list[str]:
        cp = self.checkpoint.to_dict() if self.checkpoint else None
        cells = [
            "#checkpoint",
            f"journal_size={self.journal_size}",
            f"origin={cp['origin']}" if cp else "origin=",
            f"size={cp['size']}" if cp else "size=",
            f"root={cp['root']}" if cp else "root=",
        ]
        return cells + [""] * (len(COLUMNS) - len(cells))


def export_meta(conn: Connection) -> ExportMeta:
    """Read the journal size and the newest checkpoint no larger than it."""
    size = journal_size(conn)
    return ExportMeta(size, latest_checkpoint(conn, at_most=size))


def neutralise(value: str) -> str:
    """Prefix a text cell that a spreadsheet would read as a formula with a single quote.

    Leading whitespace and line breaks are seen through: a spreadsheet skips them, so
    "\n=HYPERLINK(...)" is as much a formula as "=HYPERLINK(...)".
    """
    if not value:
        return value
    if value[0] in _DANGEROUS or value.lstrip()[:1] in _DANGEROUS:
        return "'" + value
    return value


def cell_text(value: str) -> str:
    """A free-text cell of a spreadsheet export: control characters made visible
    (`ledger.text.visible`), then neutralised."""
    return neutralise(visible(value))


def query_batches(
    conn: Connection, filters: ExportFilter, upto: int, batch: int = 5000
) -> Iterator[tuple[int, int, list[Any]]]:
    """(lo, hi, rows) per range of sequence numbers: the raw rows of the export's one query."""
    p, e = postings.c, journal_entries.c
    lo_date, hi_date = filters.date_range()
    conditions = []
    if lo_date:
        conditions.append(p.occurred_on >= lo_date)
    if hi_date:
        conditions.append(p.occurred_on <= hi_date)
    if filters.fund:
        conditions.append(p.fund == filters.fund)
    if filters.project:
        touching = select(postings.c.entry_id).where(postings.c.project == filters.project)
        conditions.append(p.entry_id.in_(touching))
    base = (
        select(
            p.sequence,
            p.entry_id,
            p.line,
            e.recorded_at,
            p.occurred_on,
            e.period,
            e.kind,
            p.account,
            p.amount,
            p.currency,
            p.functional,
            p.fund,
            p.project,
            p.functional_class,
            p.party,
            e.reverses,
            e.maker,
            e.memo,
            e.leaf_hash,
            e.data,
        )
        .select_from(postings.join(journal_entries, e.id == p.entry_id))
        .order_by(p.sequence, p.line)
    )
    lo = 1
    while lo <= upto:
        hi = min(upto, lo + batch - 1)
        query = base.where(p.sequence >= lo, p.sequence <= hi, *conditions)
        yield lo, hi, list(conn.execute(query))
        lo = hi + 1


def _receipts(conn: Connection, lo: int, hi: int) -> dict[str, str]:
    e, r = journal_entries.c, receipts.c
    voided = select(receipt_voids.c.serial)
    rows = conn.execute(
        select(r.entry_id, r.serial)
        .select_from(receipts.join(journal_entries, e.id == r.entry_id))
        .where(e.sequence >= lo, e.sequence <= hi, r.serial.not_in(voided))
        .order_by(r.serial)
    )
    found: dict[str, str] = {}
    for entry_id, serial in rows:
        found[entry_id] = f"{found[entry_id]};{serial}" if entry_id in found else serial
    return found


def _reversed_by(conn: Connection, lo: int, hi: int, upto: int) -> dict[str, str]:
    original, reversal = journal_entries.alias("o"), journal_entries.alias("r")
    rows = conn.execute(
        select(reversal.c.reverses, reversal.c.id)
        .select_from(reversal.join(original, original.c.id == reversal.c.reverses))
        .where(and_(original.c.sequence >= lo, original.c.sequence <= hi))
        .where(reversal.c.sequence <= upto)
    )
    return {orig: rev for orig, rev in rows}


_POW10 = {c: 10**x for c, x in EXPONENTS.items()}


def _dec(minor: int, currency: str) -> str:
    exponent = EXPONENTS[currency]
    if exponent == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), _POW10[currency])
    return f"{sign}{whole}.{frac:0{exponent}d}"


def _fx(amount: int, currency: str, functional: int, data: str) -> tuple[str, str]:
    recorded = json.loads(data)
    if recorded.get("fx_rate"):
        return str(recorded["fx_rate"]), str(recorded.get("fx_source", ""))
    rate = (Decimal(functional) / 100) / (Decimal(amount) / _POW10[currency])
    return str(rate.quantize(Decimal("0.000001"))), "carrying rate"


def _checker(data: str | None) -> str:
    """The checkers an entry's data records (maker-checker), comma-separated, or ""."""
    if not data or '"approval"' not in data:
        return ""
    approval = json.loads(data).get("approval")
    if not isinstance(approval, dict):
        return ""
    return ", ".join(str(c) for c in approval.get("checkers", ()))


def iter_rows(
    conn: Connection,
    filters: ExportFilter | None = None,
    *,
    upto: int | None = None,
    batch: int = 5000,
    safe: bool = False,
) -> Iterator[list[Any]]:
    """The export's rows (lists in `COLUMNS` order; ints for sequence and line, strings else).

    Free-text cells (memo, maker, party, receipt serial, fx source, account names) show control
    characters as visible escapes; with `safe`, those a spreadsheet would read as a formula are
    neutralised too. Account, fund, project and class codes are not: the services only accept
    codes that start with a letter or digit.
    """
    f = filters or ExportFilter()
    size = journal_size(conn) if upto is None else upto
    n = cell_text if safe else visible
    names = {r.code: (n(r.name_cn), n(r.name_us)) for r in conn.execute(select(accounts))}
    restriction_of = {
        r.code: "restricted" if r.restricted else "unrestricted"
        for r in conn.execute(select(funds))
    }.get
    for lo, hi, rows in query_batches(conn, f, size, batch):
        if not rows:
            continue
        serial_of = _receipts(conn, lo, hi).get
        reversed_of = _reversed_by(conn, lo, hi, size).get
        for (
            sequence,
            entry_id,
            line,
            recorded_at,
            occurred_on,
            period,
            kind,
            account,
            amount,
            currency,
            functional,
            fund,
            project,
            functional_class,
            party,
            reverses,
            maker,
            memo,
            leaf_hash,
            data,
        ) in rows:
            if EXPONENTS.get(currency) == 2:
                whole, cents = divmod(abs(amount), 100)
                magnitude = f"{whole}.{cents:02d}"
            else:
                magnitude = _dec(abs(amount), currency)
            whole, cents = divmod(abs(functional), 100)
            value = f"{whole}.{cents:02d}" if functional >= 0 else f"-{whole}.{cents:02d}"
            if currency == "CNY":
                rate = source = ""
            else:
                rate, source = _fx(amount, currency, functional, data)
            name_cn, name_us = names.get(account) or (account, account)
            yield [
                sequence,
                entry_id,
                line,
                recorded_at,
                occurred_on,
                period,
                kind,
                account,
                name_cn,
                name_us,
                magnitude if amount > 0 else "",
                magnitude if amount < 0 else "",
                currency,
                magnitude if amount > 0 else "-" + magnitude,
                rate,
                n(source),
                value,
                fund,
                restriction_of(fund, ""),
                project,
                functional_class,
                n(party),
                n(serial_of(entry_id, "")),
                reverses or "",
                reversed_of(entry_id, ""),
                n(maker),
                n(_checker(data)),
                n(memo),
                leaf_hash,
            ]


def csv_chunks(
    conn: Connection,
    filters: ExportFilter | None = None,
    *,
    bom: bool = False,
    trailer: bool = True,
    meta: ExportMeta | None = None,
    batch: int = 5000,
) -> Iterator[bytes]:
    """The CSV export as a stream of UTF-8 byte chunks (header, rows, checkpoint trailer)."""
    meta = meta or export_meta(conn)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    prefix = "\ufeff" if bom else ""
    count = 0
    writerow = writer.writerow
    for row in iter_rows(conn, filters, upto=meta.journal_size, batch=batch, safe=True):
        writerow(row)
        count += 1
        if count % 2000 == 0:
            yield (prefix + buffer.getvalue()).encode("utf-8")
            prefix = ""
            buffer.seek(0)
            buffer.truncate()
    if trailer:
        writer.writerow(meta.trailer())
    yield (prefix + buffer.getvalue()).encode("utf-8")


def jsonl_chunks(
    conn: Connection,
    filters: ExportFilter | None = None,
    *,
    meta: ExportMeta | None = None,
    batch: int = 5000,
) -> Iterator[bytes]:
    """The JSON Lines export: a meta record, then one object per posting.

    Amounts are decimal strings; an empty amount (the debit of a credit line, the rate of a CNY
    line) is null.
    """
    meta = meta or export_meta(conn)
    f = filters or ExportFilter()
    head = {**meta.to_dict(), "columns": list(COLUMNS), "filters": f.to_dict()}
    lines = [json.dumps(head, ensure_ascii=False, sort_keys=True)]
    dumps = json.dumps
    for row in iter_rows(conn, f, upto=meta.journal_size, batch=batch):
        for i in _NUMERIC_INDEX:
            if row[i] == "":
                row[i] = None
        lines.append(dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False))
        if len(lines) >= 2000:
            yield ("\n".join(lines) + "\n").encode("utf-8")
            lines = []
    if lines:
        yield ("\n".join(lines) + "\n").encode("utf-8")


def write_xlsx(
    conn: Connection,
    out: IO[bytes],
    filters: ExportFilter | None = None,
    *,
    meta: ExportMeta | None = None,
    batch: int = 5000,
) -> ExportMeta:
    """Write the XLSX export to `out` (openpyxl write-only mode: rows go straight to disk).

    Amounts are numeric cells (exact decimals), text cells are neutralised; past Excel's row
    limit the journal continues on a sheet "journal (2)", and so on.
    """
    from openpyxl import Workbook

    meta = meta or export_meta(conn)
    workbook = Workbook(write_only=True)
    part = 1
    sheet = workbook.create_sheet("journal")
    sheet.append(list(COLUMNS))
    rows_in_sheet = 1
    for row in iter_rows(conn, filters, upto=meta.journal_size, batch=batch, safe=True):
        if rows_in_sheet >= _XLSX_MAX_ROWS:
            part += 1
            sheet = workbook.create_sheet(f"journal ({part})")
            sheet.append(list(COLUMNS))
            rows_in_sheet = 1
        for i in _NUMERIC_INDEX:
            value = row[i]
            if isinstance(value, str):
                row[i] = Decimal(value) if value else None
        sheet.append(row)
        rows_in_sheet += 1
    info = workbook.create_sheet("checkpoint")
    cp = meta.to_dict()["checkpoint"]
    info.append(["journal_size", meta.journal_size])
    for key in ("origin", "size", "root", "created_at", "signed"):
        info.append([key, neutralise(str(cp[key])) if cp else ""])
    info.append(["filters", json.dumps((filters or ExportFilter()).to_dict(), sort_keys=True)])
    workbook.save(out)
    return meta


def rows_as_dicts(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Pair rows with the column names (a convenience for tests and small reports)."""
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]
