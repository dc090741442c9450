"""Import a file of operations: every row is validated, then all of it is posted, or none of it.

A file holds one operation per CSV row or JSONL line. The `op` column names the operation and
the other columns are that operation's fields (empty CSV cells and JSON nulls count as absent).
Amounts are decimal strings ("1200.50"), dates ISO `YYYY-MM-DD`, currencies ISO-4217 codes
(default CNY).

=============  ============================================  ==================================
op             required                                      optional
=============  ============================================  ==================================
donation       date donor_id fund amount                     currency method pledge_id fx_rate
                                                             fx_source fx_date memo
pledge         date donor_id fund amount                     currency due_on conditional memo
in_kind        date donor_id fund amount description         quantity asset evidence
               valuation_basis                               pass_through_to memo
disbursement   date fund project amount                      currency functional_class memo
award          date fund beneficiary_id amount term          currency project
payout         date award_id amount                          currency
fee            date fund amount                              currency memo
transfer       date from_fund to_fund amount reason          currency
reversal       entry_id reason                               date
=============  ============================================  ==================================

Every row may also carry `key` (an idempotency key: a row whose key was posted before, in this
file or an earlier import, posts nothing again; the same key with other content is an error) and
`label` (a name for the row's result: a later row may write `@label` in `pledge_id`, `award_id` or
`entry_id` to mean the pledge, award or entry that row created).

Invariants owned here:
- All or nothing: the rows are posted in file order inside ONE unit of work, which is committed
  only when every row posted. A rejected file changes nothing.
- Memory does not grow with the file: it is read, validated and posted row by row, a window
  of rows at a time, and nothing is kept of a posted row but its label's outcome (if it has a
  label) and its idempotency key (if it has one). A malformed row stops the posting; the rest
  of the file is then only validated, so the file is rejected with every malformed row, as if
  it had been validated whole before anything was posted.
- Problems carry the physical line number of the file (CSV: the header is line 1). Parsing
  reports every malformed row. Posting does not stop at the first ledger refusal either: it goes
  on as a dry run (nothing is committed once a row failed) so that one run reports as many
  problems as it can; problems after the first may be consequences of it (a rejected gift is
  missing cash later on, a row that refers to a failed row's label fails too).
- Whatever the bytes, reading a file ends in rows or line-numbered problems (or one
  `LedgerError` for a file that is not UTF-8 or cannot be read), never in another exception: a
  CSV row the csv module refuses, a JSON line nested too deeply or with a number of more than
  4300 digits, are each a problem on their line.
- Text goes into the books only if `ledger.text.text_problem` allows it: no control
  characters (tab and LF only in the columns of several lines, `MULTILINE_COLUMNS`), no lone
  surrogates; anything else is a problem on its line.
- The unit of work used here (`BulkUnitOfWork`) also caches beneficiaries, pledges, awards and
  the file's idempotency keys (read a window at a time) for the length of its transaction, so the
  services' guards cost dictionary look-ups instead of one SELECT each. Writers are serialised on
  the chain head, so nothing can change those rows under the transaction.
- The commonest row, a plain CNY donation (no pledge, no key, no @reference), is parsed and
  posted by a shortcut (`_plain_donation`, `_PlainDonations`) that accepts only what the general
  rules and `services.record_donation` accept and builds the very same command and entry (with
  the service's builder, `services.donation_entry`); any other row, and any row the shortcut is
  unsure of, takes the general path (tests hold the two equal). Entries are numbered, serialised
  (`ledger.chain.canonical_entry_bytes`) and chained by the unit of work one by one, in file
  order; a shortcut entry without a label (which nothing later in the file can name) is posted
  with `UnitOfWork.post_untracked`, which keeps no entry object.
- On SQLite the bulk unit of work writes each flushed batch in the background (multi-row
  INSERTs on a helper thread) while the next is prepared, and reads or commits only after it
  has landed (`CachingRepository`).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import itertools
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Connection, Engine, select

from ledger import services
from ledger.accounts import Account, cash_account
from ledger.campaigns import check_campaign_gift, match_gift
from ledger.errors import LedgerError
from ledger.model import Award, Beneficiary, Donor, Fund, Pledge
from ledger.money import FUNCTIONAL_CURRENCY, MAX_MINOR, Money, check_currency, parse_rate
from ledger.storage import tables
from ledger.storage.repository import SqlRepository
from ledger.storage.unit_of_work import UnitOfWork
from ledger.text import text_problem

__all__ = [
    "FORMATS",
    "OPS",
    "BulkUnitOfWork",
    "CachingRepository",
    "Command",
    "ImportRejected",
    "ImportResult",
    "Problem",
    "columns_help",
    "import_file",
    "iter_commands",
    "iter_rows",
    "parse_rows",
    "post_commands",
    "read_file",
]

FORMATS = ("csv", "jsonl")
COMMON = ("op", "key", "label")
REF_FIELDS = ("pledge_id", "award_id", "entry_id")
MAX_PROBLEMS = 1000
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class OpSpec:
    """The columns of one operation."""

    required: tuple[str, ...]
    optional: tuple[str, ...]
    summary: str


OPS: dict[str, OpSpec] = {
    "donation": OpSpec(
        ("date", "donor_id", "fund", "amount"),
        ("currency", "method", "pledge_id", "fx_rate", "fx_source", "fx_date", "memo", "campaign"),
        "cash/bank gift (Dr 1002 / Cr 4101), or a pledge payment when pledge_id is set; "
        "campaign=slug tags it to a campaign (and its matcher's gift is posted with it)",
    ),
    "pledge": OpSpec(
        ("date", "donor_id", "fund", "amount"),
        ("currency", "due_on", "conditional", "memo"),
        "unconditional pledge (Dr 1122 / Cr 4101); conditional=true keeps it off the books",
    ),
    "in_kind": OpSpec(
        ("date", "donor_id", "fund", "amount", "description", "valuation_basis"),
        ("quantity", "asset", "evidence", "pass_through_to", "memo"),
        "goods at fair value in CNY; asset=inventory|equipment; pass_through_to=recipient",
    ),
    "disbursement": OpSpec(
        ("date", "fund", "project", "amount"),
        ("currency", "functional_class", "memo"),
        "payment to a project of the fund (Dr 5101 / Cr 1002); never overdraws the fund",
    ),
    "award": OpSpec(
        ("date", "fund", "beneficiary_id", "amount", "term"),
        ("currency", "project"),
        "scholarship award (Dr 5101 / Cr 2209)",
    ),
    "payout": OpSpec(
        ("date", "award_id", "amount"),
        ("currency",),
        "scholarship payout (Dr 2209 / Cr 1002), never beyond the award's unpaid balance",
    ),
    "fee": OpSpec(
        ("date", "fund", "amount"),
        ("currency", "memo"),
        "bank or platform fee (Dr 5301 / Cr 1002)",
    ),
    "transfer": OpSpec(
        ("date", "from_fund", "to_fund", "amount", "reason"),
        ("currency",),
        "cash from one fund to another through 1901, with a reason",
    ),
    "reversal": OpSpec(
        ("entry_id", "reason"),
        ("date",),
        "reverses an entry (its id, or @label of an earlier row); date defaults to today",
    ),
}
ALL_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys([*COMMON, *(c for s in OPS.values() for c in (*s.required, *s.optional))])
)


def columns_help() -> str:
    """A plain-text table of the operations and their columns (for `--help`)."""
    lines = []
    for name, spec in OPS.items():
        optional = " ".join(spec.optional) or "-"
        lines.append(
            f"{name}: {spec.summary}.\n  needs: {' '.join(spec.required)}\n  may have: {optional}"
        )
    return "\n".join(lines)


# -- problems and results -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Problem:
    """Why one line of the file cannot be posted."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportRejected(LedgerError):
    """Raised when a file is rejected as a whole; `problems` names each bad line."""

    code = "import_rejected"

    def __init__(self, problems: Sequence[Problem], *, total: int | None = None) -> None:
        self.problems = list(problems)
        self.total = total if total is not None else len(self.problems)
        lines = len({p.line for p in self.problems})
        more = "" if self.total <= len(self.problems) else f" (showing {len(self.problems)})"
        super().__init__(
            f"file rejected: {self.total} problem(s) on {lines} line(s){more}; nothing was posted"
        )


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did."""

    rows: int
    entries: int
    replayed: int
    seconds: float
    committed: bool
    first_sequence: int | None = None
    last_sequence: int | None = None

    @property
    def entries_per_second(self) -> float:
        return self.entries / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Command:
    """One validated row: the service's keyword arguments, its line, key and label."""

    line: int
    op: str
    kwargs: Mapping[str, Any]
    key: str | None = None
    label: str | None = None
    refs: Mapping[str, str] = field(default_factory=dict)


# -- reading ------------------------------------------------------------------------------------
def _guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    raise LedgerError(f"cannot tell the format of {path.name}; pass --format csv or jsonl")


def _csv_rows(text: io.TextIOBase) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    # csv.DictReader's rules (blank rows skipped, short rows padded, long rows flagged) with a
    # plain reader: a row becomes a dict of its non-empty cells only.
    reader = csv.reader(text)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        yield 1, Problem(1, f"not readable as CSV: {exc}")
        return
    unknown = [h for h in header if h not in ALL_COLUMNS]
    if "op" not in header:
        yield 1, Problem(1, "the header has no 'op' column")
        return
    if unknown:
        yield 1, Problem(1, f"unknown column(s) in the header: {', '.join(unknown)}")
        return
    width, repeated = len(header), len(set(header)) != len(header)
    while True:
        try:
            values = next(reader, None)
        except csv.Error as exc:  # a field over the csv module's limit, a NUL byte...
            yield reader.line_num, Problem(reader.line_num, f"not readable as CSV: {exc}")
            return
        if values is None:
            return
        if not values:
            continue
        line = reader.line_num
        if len(values) > width:
            yield line, Problem(line, "more values than the header has columns")
            continue
        pairs: Iterable[tuple[str, str]] = zip(header, values, strict=False)
        if repeated:  # the last cell of a repeated column wins, as with DictReader
            pairs = dict(pairs).items()
        yield line, {k: v for k, v in pairs if v}


def _jsonl_rows(text: io.TextIOBase) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    for line, raw in enumerate(text, 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, Problem(line, f"not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        except RecursionError:
            yield line, Problem(line, "not valid JSON: nested too deeply")
            continue
        except ValueError as exc:  # an integer of more digits than Python converts
            yield line, Problem(line, f"not valid JSON: {exc}")
            continue
        if not isinstance(value, dict):
            yield line, Problem(line, "each line must be a JSON object")
            continue
        yield line, {k: v for k, v in value.items() if v is not None and v != ""}


def iter_rows(path: Path, fmt: str | None = None) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    """The raw rows of a file with their line numbers (or a problem), read as they are used.

    Raises:
        LedgerError: when the format cannot be told, or (while iterating) the file cannot be
        read.
    """
    fmt = fmt or _guess_format(path)
    if fmt not in FORMATS:
        raise LedgerError(f"format must be csv or jsonl, not {fmt!r}")
    return _rows_of(path, fmt)


def _rows_of(path: Path, fmt: str) -> Iterator[tuple[int, dict[str, Any] | Problem]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from _csv_rows(handle) if fmt == "csv" else _jsonl_rows(handle)
    except UnicodeDecodeError as exc:
        raise LedgerError(f"{path.name} is not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise LedgerError(f"cannot read {path}: {exc.strerror}") from exc


def read_file(path: Path, fmt: str | None = None) -> list[tuple[int, dict[str, Any] | Problem]]:
    """The raw rows of a file with their line numbers (or a problem for an unreadable row).

    Raises:
        LedgerError: when the format cannot be told or the file cannot be read.
    """
    return list(iter_rows(path, fmt))


def _count_rows(path: Path) -> int:
    """About how many rows a file holds (its lines, less a CSV header): for progress only."""
    lines, last = 0, b"\n"
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return 0  # reading the rows says why
    lines += last != b"\n"
    return max(0, lines - (path.suffix.lower() == ".csv"))


# -- parsing ------------------------------------------------------------------------------------
class _Bad(Exception):
    """A row-level validation failure (turned into a `Problem`)."""


#: Columns whose text may run over several lines (tab and LF allowed).
MULTILINE_COLUMNS = frozenset(
    {"memo", "description", "purpose", "reason", "valuation_basis", "evidence", "address"}
)


def _text(row: Mapping[str, Any], name: str, default: str = "") -> str:
    value = row.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Bad(f"{name} must be text")
    text = str(value).strip()
    problem = text_problem(text, multiline=name in MULTILINE_COLUMNS)
    if problem is not None:
        raise _Bad(f"{name} {problem}")
    return text


def _date(row: Mapping[str, Any], name: str) -> dt.date | None:
    text = _text(row, name)
    if not text:
        return None
    if not _DATE.match(text):
        raise _Bad(f"{name} {text!r} is not a date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise _Bad(f"{name} {text!r} is not a valid date") from exc


def _money(row: Mapping[str, Any], name: str = "amount") -> Money:
    currency = _text(row, "currency", FUNCTIONAL_CURRENCY).upper()
    try:
        check_currency(currency)
        raw = row.get(name)
        return Money.parse(raw.strip() if isinstance(raw, str) else raw, currency)
    except LedgerError as exc:
        raise _Bad(f"{exc.field or name}: {exc.message}") from exc


def _bool(row: Mapping[str, Any], name: str) -> bool:
    value = row.get(name, False)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"true", "yes", "1", "y"}:
        return True
    if text in {"false", "no", "0", "n", ""}:
        return False
    raise _Bad(f"{name} must be true or false, not {value!r}")


def _choice(row: Mapping[str, Any], name: str, choices: Iterable[str], default: str) -> str:
    value = _text(row, name, default)
    options = tuple(choices)
    if value not in options:
        raise _Bad(f"{name} must be one of {', '.join(options)}, not {value!r}")
    return value


def _fx(row: Mapping[str, Any], money: Money) -> dict[str, Any]:
    fx_rate, fx_source = _text(row, "fx_rate"), _text(row, "fx_source")
    if money.currency == FUNCTIONAL_CURRENCY:
        if fx_rate or fx_source or row.get("fx_date"):
            raise _Bad("fx_rate, fx_source and fx_date apply to foreign-currency gifts only")
        return {}
    if not fx_rate or not fx_source:
        raise _Bad(
            f"a {money.currency} gift needs fx_rate (CNY per {money.currency}) and fx_source"
        )
    try:
        parse_rate(fx_rate)
    except LedgerError as exc:
        raise _Bad(exc.message) from exc
    return {"fx_rate": fx_rate, "fx_source": fx_source, "fx_date": _date(row, "fx_date")}


def _kwargs(op: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The service keyword arguments of one row (references still as raw text)."""
    when = _date(row, "date")
    if op == "donation":
        money = _money(row)
        return {
            "donor_id": _text(row, "donor_id"),
            "fund": _text(row, "fund"),
            "amount": money,
            "received_on": when,
            "method": _choice(row, "method", ("bank", "cash", "online"), "bank"),
            "pledge_id": _text(row, "pledge_id") or None,
            "memo": _text(row, "memo"),
            **_fx(row, money),
            **({"campaign": _text(row, "campaign")} if _text(row, "campaign") else {}),
        }
    if op == "pledge":
        money = _money(row)
        if money.currency != FUNCTIONAL_CURRENCY:
            raise _Bad("pledges are recorded in CNY; record a foreign gift when it arrives")
        return {
            "donor_id": _text(row, "donor_id"),
            "fund": _text(row, "fund"),
            "amount": money,
            "pledged_on": when,
            "due_on": _date(row, "due_on"),
            "conditional": _bool(row, "conditional"),
            "memo": _text(row, "memo"),
        }
    if op == "in_kind":
        if _text(row, "currency", FUNCTIONAL_CURRENCY).upper() != FUNCTIONAL_CURRENCY:
            raise _Bad("in-kind gifts are valued in CNY")
        return {
            "donor_id": _text(row, "donor_id"),
            "fund": _text(row, "fund"),
            "description": _text(row, "description"),
            "quantity": _text(row, "quantity", "1"),
            "fair_value": _money(row),
            "valuation_basis": _text(row, "valuation_basis"),
            "received_on": when,
            "asset": _choice(row, "asset", ("inventory", "equipment"), "inventory"),
            "evidence": _text(row, "evidence"),
            "pass_through_to": _text(row, "pass_through_to") or None,
            "memo": _text(row, "memo"),
        }
    if op == "disbursement":
        return {
            "fund": _text(row, "fund"),
            "project": _text(row, "project"),
            "amount": _money(row),
            "paid_on": when,
            "memo": _text(row, "memo"),
            "functional_class": _choice(
                row, "functional_class", ("program", "management", "fundraising"), "program"
            ),
        }
    if op == "award":
        return {
            "fund": _text(row, "fund"),
            "beneficiary_id": _text(row, "beneficiary_id"),
            "amount": _money(row),
            "term": _text(row, "term"),
            "awarded_on": when,
            "project": _text(row, "project"),
        }
    if op == "payout":
        return {"award_id": _text(row, "award_id"), "amount": _money(row), "paid_on": when}
    if op == "fee":
        return {
            "fund": _text(row, "fund"),
            "amount": _money(row),
            "paid_on": when,
            "memo": _text(row, "memo"),
        }
    if op == "transfer":
        return {
            "from_fund": _text(row, "from_fund"),
            "to_fund": _text(row, "to_fund"),
            "amount": _money(row),
            "on": when,
            "reason": _text(row, "reason"),
        }
    return {"entry_id": _text(row, "entry_id"), "reason": _text(row, "reason"), "on": when}


_PLAIN_DONATION = frozenset(
    ("op", "date", "donor_id", "fund", "amount", "currency", "method", "memo", "key", "label")
)
_CNY_AMOUNT = re.compile(r"([0-9]{1,13})(?:\.([0-9]{1,2}))?")
_METHODS = frozenset(("bank", "cash", "online"))


@functools.lru_cache(maxsize=4096)
def _iso_date(text: str) -> dt.date | None:
    if not _DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _plain_donation(line: int, row: Mapping[str, Any], labels: dict[str, int]) -> Command | None:
    """The command of a well-formed CNY donation row without references, or None.

    A shortcut for the commonest row: it accepts only rows that the general rules accept too,
    and builds the very same command; anything unusual (and every error) is left to them.
    """
    for name, value in row.items():
        if name not in _PLAIN_DONATION or type(value) is not str:
            return None
        if text_problem(value, multiline=name in MULTILINE_COLUMNS) is not None:
            return None  # the general rules name the problem
    get = row.get
    donor_id, fund = get("donor_id", "").strip(), get("fund", "").strip()
    when = _iso_date(get("date", "").strip())
    amount = _CNY_AMOUNT.fullmatch(get("amount", "").strip())
    if not donor_id or not fund or when is None or amount is None:
        return None
    if get("currency", "CNY").strip().upper() != FUNCTIONAL_CURRENCY:
        return None
    method = get("method", "bank").strip()
    label, key = get("label", "").strip() or None, get("key", "").strip() or None
    if method not in _METHODS or (label is not None and label in labels):
        return None
    if key is not None and len(key) > 200:
        return None
    whole, cents = amount.groups()
    minor = int(whole) * 100 + (int(cents.ljust(2, "0")) if cents else 0)
    if minor <= 0:
        return None
    if label is not None:
        labels[label] = line
    kwargs = {
        "donor_id": donor_id,
        "fund": fund,
        "amount": Money(minor, FUNCTIONAL_CURRENCY),
        "received_on": when,
        "method": method,
        "pledge_id": None,
        "memo": get("memo", "").strip(),
    }
    return Command(line, "donation", kwargs, key, label, {})


def _command(line: int, row: Mapping[str, Any], labels: dict[str, int]) -> Command:
    if row.get("op") == "donation":
        plain = _plain_donation(line, row, labels)
        if plain is not None:
            return plain
    op = _text(row, "op").lower()
    spec = OPS.get(op)
    if spec is None:
        raise _Bad(f"op must be one of {', '.join(OPS)}, not {op!r}" if op else "op is missing")
    allowed = {*COMMON, *spec.required, *spec.optional}
    stray = [name for name in row if name not in allowed]
    if stray:
        raise _Bad(f"{', '.join(sorted(stray))} do(es) not apply to {op}")
    missing = [name for name in spec.required if not _text(row, name)]
    if missing:
        raise _Bad(f"{op} needs {', '.join(missing)}")
    kwargs = _kwargs(op, row)
    refs: dict[str, str] = {}
    for name in REF_FIELDS:
        value = kwargs.get(name)
        if isinstance(value, str) and value.startswith("@"):
            if value[1:] not in labels:
                raise _Bad(f"{name} {value} is not the label of an earlier row")
            refs[name] = value[1:]
    label = _text(row, "label") or None
    if label is not None:
        if label in labels:
            raise _Bad(f"label {label!r} was already used on line {labels[label]}")
        labels[label] = line
    key = _text(row, "key") or None
    if key is not None and len(key) > 200:
        raise _Bad("key is longer than 200 characters")
    return Command(line, op, kwargs, key, label, refs)


def iter_commands(
    rows: Iterable[tuple[int, Mapping[str, Any] | Problem]], problems: _Problems
) -> Iterator[Command]:
    """Validate raw rows into commands as they come; each malformed row adds to `problems`."""
    labels: dict[str, int] = {}
    for line, row in rows:
        if isinstance(row, Problem):
            problems.add(row)
            continue
        try:
            yield _command(line, row, labels)
        except _Bad as exc:
            problems.add(Problem(line, str(exc)))


def parse_rows(
    rows: Iterable[tuple[int, Mapping[str, Any] | Problem]],
) -> tuple[list[Command], list[Problem]]:
    """Validate raw rows into commands; every malformed row yields a problem."""
    problems = _Problems(limit=None)
    commands = list(iter_commands(rows, problems))
    return commands, problems.kept


class _Problems:
    """The problems found so far: the first `limit` of them kept, all of them counted."""

    def __init__(self, limit: int | None = MAX_PROBLEMS) -> None:
        self.kept: list[Problem] = []
        self.total = 0
        self.limit = limit

    def add(self, problem: Problem) -> None:
        self.total += 1
        if self.limit is None or len(self.kept) < self.limit:
            self.kept.append(problem)


# -- the caching unit of work -------------------------------------------------------------------
_MISSING = object()


class CachingRepository(SqlRepository):
    """A repository that reads beneficiaries, pledges, awards and idempotency keys once.

    The unit of work already caches accounts, funds, donors and projects (`UnitOfWork.cached`);
    the services look these other rows up for every award, payout, pledge payment and keyed row.
    Inside one writing transaction (writers serialise on the chain head) they change only
    through this repository, which keeps its cache current.
    """

    def __init__(self, conn: Any, *, background: bool = False) -> None:
        self._pending: list[Future[None]] = []
        self._older: Future[None] | None = None
        self._worker: ThreadPoolExecutor | None = None
        super().__init__(conn)
        self._cache: dict[tuple[str, str], Any] = {}
        self._keys: dict[str, Any] = {}
        self._background = background and conn.dialect.name == "sqlite"
        self._variables: int | None = None  # SQLite's limit of parameters per statement

    # -- journal writes in the background (SQLite) ------------------------------------------
    # With `background`, the batches a flush writes (postings, then headers, balance deltas and
    # idempotency records) are run in order on a helper thread as a few large statements:
    # multi-row INSERT ... VALUES of the journal rows (up to `VALUES_ROWS` rows each, within
    # SQLite's parameter limit) and one statement over a JSON array for the balances and keys.
    # sqlite3 releases the GIL while a statement steps, so SQLite's work (the triggers and
    # indexes) overlaps the Python that prepares the next batches; few statements mean few
    # hand-overs of the GIL between the two threads. At most two flushes are
    # in flight, and any other use of the connection waits for them first (`conn`, `raw`
    # below), so the transaction sees its statements in order; an error in the background is
    # raised by that wait, before anything can commit.
    @property
    def conn(self) -> Any:
        if self._pending:
            self.wait()
        return self._connection

    @conn.setter
    def conn(self, value: Any) -> None:
        self._connection = value

    @property
    def raw(self) -> Any:  # the driver-level path of `SqlRepository` waits the same way
        if self._pending:
            self.wait()
        return super().raw

    def wait(self) -> None:
        """Wait for the background statements; raise the first error one of them raised."""
        pending, self._pending, self._older = self._pending, [], None
        errors = []
        for future in pending:
            try:
                future.result()
            except BaseException as exc:  # re-raised below, once all have finished
                errors.append(exc)
        if errors:
            raise errors[0]

    def close(self) -> None:
        """Wait for the background statements (their errors no longer matter) and stop."""
        try:
            self.wait()
        except BaseException:  # noqa: S110 - the transaction is being abandoned
            pass
        finally:
            if self._worker is not None:
                self._worker.shutdown()
                self._worker = None

    def _submit(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        raw = self._connection.connection.driver_connection

        def run() -> None:
            cursor = raw.cursor()
            try:
                for sql, params in statements:
                    cursor.execute(sql, params)
            finally:
                cursor.close()

        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="huiquan-flush")
        self._pending.append(self._worker.submit(run))

    def insert_journal(
        self, entry_rows: Sequence[tuple[Any, ...]], posting_rows: Sequence[tuple[Any, ...]]
    ) -> None:
        if not self._background:
            super().insert_journal(entry_rows, posting_rows)
            return
        if self._older is not None:
            self._older.result()  # two flushes in flight at most: wait for the one before last
        self._pending = [f for f in self._pending if not f.done() or f.exception() is not None]
        self._older = self._pending[-1] if self._pending else None
        if self._variables is None:
            raw = self._connection.connection.driver_connection
            self._variables = int(raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
        # Postings first: the header's trigger checks them. The statements are built (and
        # their parameters flattened) on the helper thread.
        self._submit(
            _values_inserts(
                ((tables.postings, posting_rows), (tables.journal_entries, entry_rows)),
                self._variables,
            )
        )

    def apply_balance_deltas(self, deltas: dict[Any, list[int]]) -> None:
        if not self._background:
            super().apply_balance_deltas(deltas)
            return
        if deltas:
            rows = [[*k, v[0], v[1]] for k, v in deltas.items()]
            self._submit([(_BALANCE_UPSERT, (json.dumps(rows),))])

    def add_idempotency_records(self, rows: Sequence[dict[str, Any]]) -> None:
        if not self._background:
            super().add_idempotency_records(rows)
            return
        if rows:
            names = [c.name for c in tables.idempotency.columns]
            blob = json.dumps([[r.get(n) for n in names] for r in rows])
            self._submit([(_json_insert(tables.idempotency), (blob,))])

    def _cached(self, kind: str, key: str, load: Callable[[str], Any]) -> Any:
        found = self._cache.get((kind, key), _MISSING)
        if found is _MISSING:
            found = self._cache[(kind, key)] = load(key)
        return found

    def get_beneficiary(self, pseudonym: str) -> Beneficiary | None:
        found: Beneficiary | None = self._cached("beneficiary", pseudonym, super().get_beneficiary)
        return found

    def add_beneficiary(self, b: Beneficiary, key: bytes, ciphertext: bytes, at: str) -> None:
        super().add_beneficiary(b, key, ciphertext, at)
        self._cache[("beneficiary", b.id)] = b

    def get_pledge(self, pledge_id: str) -> Pledge | None:
        pledge: Pledge | None = self._cached("pledge", pledge_id, super().get_pledge)
        return pledge

    def add_pledge(self, p: Pledge, at: str) -> None:
        super().add_pledge(p, at)
        self._cache[("pledge", p.id)] = p

    def get_award(self, award_id: str) -> Award | None:
        award: Award | None = self._cached("award", award_id, super().get_award)
        return award

    def add_award(self, a: Award, at: str) -> None:
        super().add_award(a, at)
        self._cache[("award", a.id)] = a

    def prefetch_keys(self, keys: Iterable[str]) -> None:
        """Read the idempotency records of many keys at once (missing ones are remembered too).

        Only the last call's keys are kept here: the unit of work remembers each key it looked
        up (`UnitOfWork.idempotency_record`), so a long import does not hold them twice.
        """
        self._keys = {}
        wanted = list(dict.fromkeys(keys))
        column = tables.idempotency.c.key
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for k in chunk:
                self._keys[k] = None
            for row in self.conn.execute(select(tables.idempotency).where(column.in_(chunk))):
                self._keys[row.key] = row

    def idempotency_record(self, key: str) -> Any:
        if key in self._keys:
            return self._keys[key]
        return super().idempotency_record(key)


#: Rows per multi-row INSERT of the background writer (fewer if SQLite allows fewer
#: parameters): few statements, so few hand-overs of the GIL between the two threads. The
#: driver keeps each distinct statement compiled (about 1.4 MiB per 1,000 rows of 13 columns),
#: so the rows that remain after full statements go in halves of it: a few sizes only.
VALUES_ROWS = 4000


@functools.lru_cache(maxsize=64)
def _values_insert(table: Any, rows: int) -> str:
    columns = [c.name for c in table.columns]
    one = f"({', '.join('?' * len(columns))})"
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {', '.join([one] * rows)}"


def _values_inserts(
    batches: Iterable[tuple[Any, Sequence[tuple[Any, ...]]]], variables: int
) -> Iterator[tuple[str, list[Any]]]:
    """Multi-row INSERTs of each table's rows (tuples in the table's column order), in order."""
    for table, rows in batches:
        per = max(1, min(VALUES_ROWS, variables // len(table.columns)))
        start, total = 0, len(rows)
        while start < total:
            size = per
            while size > total - start:
                size >>= 1  # sizes per, per/2, per/4, ... 1: at most 1 + log2(per) of them
            chunk = rows[start : start + size]
            start += size
            yield _values_insert(table, size), list(itertools.chain.from_iterable(chunk))


def _json_insert(table: Any) -> str:
    """INSERT of every row of a JSON array of arrays (in the table's column order)."""
    columns = [c.name for c in table.columns]
    values = ", ".join(f"json_extract(value, '$[{n}]')" for n in range(len(columns)))
    return f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {values} FROM json_each(?)"


_BALANCE_UPSERT = (
    "INSERT INTO balances (account, fund, currency, project, ref, amount, functional) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]'), "
    "json_extract(value, '$[5]'), json_extract(value, '$[6]') FROM json_each(?) WHERE true "
    "ON CONFLICT (account, fund, currency, project, ref) DO UPDATE SET "
    "amount = amount + excluded.amount, functional = functional + excluded.functional"
)

#: SQLite page cache of a bulk unit of work (KiB, as `PRAGMA cache_size` takes it negated): a
#: large transaction keeps more of its dirty pages in memory before spilling them to the WAL.
#: The cache fills up in any import of a few hundred thousand rows, so this is most of what an
#: import's memory grows by: 64 MiB keeps importing a million rows below 300 MiB of RSS.
BULK_CACHE_KIB = 64 * 1024


class BulkUnitOfWork(UnitOfWork):
    """A writing unit of work over a `CachingRepository`, for imports and other large batches.

    On SQLite it also writes its journal batches in the background (see `CachingRepository`)
    and uses a large page cache for the length of its transaction (the connection's own
    setting is restored afterwards); durability is unchanged (WAL, `synchronous=FULL`).
    """

    def __enter__(self) -> Self:
        super().__enter__()
        conn = self.repo.conn
        self._repo = CachingRepository(conn, background=True)
        self._committing = False
        self._cache_size: int | None = None
        if conn.dialect.name == "sqlite":
            raw: Any = conn.connection.driver_connection
            self._cache_size = int(raw.execute("PRAGMA cache_size").fetchone()[0])
            raw.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
        return self

    def __exit__(self, *exc: Any) -> None:
        repo = self._repo
        try:
            if isinstance(repo, CachingRepository):
                repo.close()
            if self._cache_size is not None and self._conn is not None:
                driver: Any = self._conn.connection.driver_connection
                driver.execute(f"PRAGMA cache_size = {self._cache_size}")
        finally:
            super().__exit__(*exc)

    def flush(self) -> None:
        super().flush()
        if self._committing:
            self.cache.wait()  # everything written before the head moves and the commit

    def commit(self) -> None:
        self._committing = True
        super().commit()

    @property
    def connection(self) -> Connection:
        self.cache.wait()
        return super().connection

    @property
    def cache(self) -> CachingRepository:
        repo = self.repo
        if not isinstance(repo, CachingRepository):  # pragma: no cover - set in __enter__
            raise RuntimeError("the unit of work is not open")
        return repo


# -- posting ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Outcome:
    op: str
    entry_id: str | None
    object_id: str | None


def _resolve(command: Command, outcomes: Mapping[str, _Outcome | None]) -> dict[str, Any]:
    kwargs = dict(command.kwargs)
    for name, label in command.refs.items():
        outcome = outcomes.get(label)
        if outcome is None:
            raise _Bad(f"{name} @{label} refers to a row that was not posted")
        wanted = {"pledge_id": "pledge", "award_id": "award"}.get(name)
        if wanted is not None and outcome.op != wanted:
            raise _Bad(f"{name} @{label} refers to a {outcome.op} row, not a {wanted}")
        value = outcome.entry_id if name == "entry_id" else outcome.object_id
        if value is None:
            raise _Bad(f"{name} @{label} refers to a row that posted no entry")
        kwargs[name] = value
    return kwargs


def _execute(uow: UnitOfWork, command: Command, kwargs: dict[str, Any], maker: str) -> _Outcome:
    op, key = command.op, command.key
    if op == "pledge":
        pledge, entry = services.record_pledge(uow, **kwargs, maker=maker, key=key)
        return _Outcome(op, entry.id if entry else None, pledge.id)
    if op == "award":
        award, entry = services.award_scholarship(uow, **kwargs, maker=maker, key=key)
        return _Outcome(op, entry.id, award.id)
    if op == "donation" and "campaign" in kwargs:
        return _campaign_gift(uow, kwargs, maker, key)
    posters: dict[str, Callable[..., Any]] = {
        "donation": services.record_donation,
        "in_kind": services.record_in_kind_donation,
        "disbursement": services.record_disbursement,
        "payout": services.pay_scholarship,
        "fee": services.record_fee,
        "transfer": services.transfer_between_funds,
        "reversal": services.reverse,
    }
    entry = posters[op](uow, **kwargs, maker=maker, key=key)
    return _Outcome(op, entry.id, None)


def _campaign_gift(
    uow: UnitOfWork, kwargs: dict[str, Any], maker: str, key: str | None
) -> _Outcome:
    """A gift tagged to a campaign, and its matcher's gift (`ledger.campaigns`); the receipts
    of both are issued later, as for every imported gift."""
    details = dict(kwargs)
    slug = str(details.pop("campaign"))
    check_campaign_gift(uow.connection, slug, details["fund"], details["received_on"])
    entry = services.record_donation(uow, **details, maker=maker, key=key, tags={"campaign": slug})
    match_gift(uow, slug, entry, maker=maker)
    return _Outcome("donation", entry.id, None)


class _PlainDonations:
    """Posts plain CNY gifts (no pledge, no idempotency key) as `services.record_donation` does.

    The entry is built by the service's own builder (`services.donation_entry`) and posted by
    the unit of work, which numbers, serialises (`ledger.chain.canonical_entry_bytes`), chains
    and queues it as for any entry (`UnitOfWork.post_untracked` for a row without a label, which
    nothing later in the file can name). Only the guards are leaner: reference checks that
    cannot change during an import (accounts, closed periods) are made once per file, and the
    cash check reads one balance. `post` returns None whenever anything is out of
    the ordinary (an unknown donor, a closed fund, a date in the future or in a closed period,
    ...): the caller then goes through the service, which posts the row or says what is wrong.
    """

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.cash = cash_account(FUNCTIONAL_CURRENCY)
        self.open_dates: dict[dt.date, bool] = {}
        self.usable: set[str] = set()
        self.tomorrow = uow.today() + dt.timedelta(days=1)

    def _account_ok(self, code: str) -> bool:
        return code in self.usable or self._check_account(code)

    def _check_account(self, code: str) -> bool:
        uow = self.uow
        account: Account | None = uow.cached("account", code, uow.repo.get_account)
        if account is None or not account.is_open:
            return False
        if account.currency and account.currency != FUNCTIONAL_CURRENCY:
            return False
        self.usable.add(code)
        return True

    def _date_ok(self, on: dt.date) -> bool:
        if on > self.tomorrow:
            return False
        ok = self.open_dates.get(on)
        if ok is None:
            closed, occurred = self.uow.closed_periods(), on.isoformat()
            ok = self.open_dates[on] = occurred[:7] not in closed and occurred[:4] not in closed
        return ok

    def start_window(self) -> None:
        """Read the clock for the next window of rows (a gift may be dated up to tomorrow)."""
        self.tomorrow = self.uow.today() + dt.timedelta(days=1)

    def post(self, kwargs: Mapping[str, Any], maker: str, label: str | None = None) -> str | None:
        """Post the gift and return its entry id, or None to leave the row to the service."""
        uow = self.uow
        amount: Money = kwargs["amount"]
        if kwargs["pledge_id"] is not None or amount.currency != FUNCTIONAL_CURRENCY:
            return None
        if "campaign" in kwargs:  # tagged and matched by `_campaign_gift`
            return None
        method = kwargs["method"]
        if method not in _METHODS:
            return None
        repo = uow.repo
        donor: Donor | None = uow.cached("donor", kwargs["donor_id"], repo.get_donor)
        fund: Fund | None = uow.cached("fund", kwargs["fund"], repo.get_fund)
        if donor is None or fund is None or not fund.is_open:
            return None
        if not self._date_ok(kwargs["received_on"]):
            return None
        minor = amount.minor
        if not 0 < minor <= MAX_MINOR:
            return None
        if uow.balance((self.cash, fund.code, FUNCTIONAL_CURRENCY, "", ""))[0] + minor < 0:
            return None  # cash below zero before the gift: the service says why
        entry = services.donation_entry(
            donor_id=donor.id,
            fund=fund,
            amount=amount,
            cny=minor,
            received_on=kwargs["received_on"],
            method=method,
            memo=kwargs["memo"],
            maker=maker,
        )
        debit, credit = entry.postings
        if not (self._account_ok(debit.account) and self._account_ok(credit.account)):
            return None
        if label is None:  # nothing later in the file can name this entry
            return uow.post_untracked(entry)
        return uow.post(entry).id


def post_commands(
    uow: UnitOfWork,
    commands: Iterable[Command],
    *,
    maker: str = "import",
    progress: Callable[[int], None] | None = None,
    every: int = 1000,
) -> tuple[int, list[Problem]]:
    """Post the commands in order inside `uow` (which the caller commits or not).

    `commands` may be a stream: they are taken a window at a time (their idempotency keys read
    together) and nothing is kept of a command once posted but its label's outcome.
    Returns the number of rows that were replays of earlier idempotency keys, and the problems
    (ledger refusals, with their line numbers). Once a row fails, the remaining rows are still
    tried so that more problems are reported; the caller must then not commit.
    """
    outcomes: dict[str, _Outcome | None] = {}
    problems: list[Problem] = []
    replayed = done = 0
    plain = _PlainDonations(uow)
    stream = iter(commands)
    while window := list(itertools.islice(stream, _WINDOW)):
        if isinstance(uow.repo, CachingRepository):
            uow.repo.prefetch_keys(c.key for c in window if c.key)
        plain.start_window()
        for command in window:
            done += 1
            if progress is not None and done % every == 0:
                progress(every)
            if command.op == "donation" and command.key is None and not command.refs:
                entry_id = plain.post(command.kwargs, maker, command.label)
                if entry_id is not None:
                    if command.label is not None:
                        outcomes[command.label] = _Outcome("donation", entry_id, None)
                    continue
            outcome: _Outcome | None = None
            try:
                kwargs = _resolve(command, outcomes)
                known = command.key is not None and uow.idempotency_record(command.key)
                outcome = _execute(uow, command, kwargs, maker)
                replayed += 1 if known else 0
            except _Bad as exc:
                problems.append(Problem(command.line, str(exc)))
            except LedgerError as exc:
                where = f"{exc.field}: " if exc.field else ""
                problems.append(Problem(command.line, f"{command.op}: {where}{exc.message}"))
            if command.label is not None:
                outcomes[command.label] = outcome
            if len(problems) >= MAX_PROBLEMS:
                break
        if len(problems) >= MAX_PROBLEMS:
            break
    if progress is not None:
        progress(done % every)
    return replayed, problems


#: Commands taken from the stream at a time (their idempotency keys are read together).
_WINDOW = 1000


def import_file(
    engine: Engine,
    path: Path,
    fmt: str | None = None,
    *,
    maker: str = "import",
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportResult:
    """Validate a whole file and post every row of it in one unit of work, or none.

    The file is read, validated and posted in one pass, row by row, so that memory does not
    grow with its length. A malformed row stops the posting (the unit of work will roll back)
    and the rest of the file is only validated: the file is then rejected with every malformed
    row, as if it had been validated before anything was posted. `progress(phase, total,
    advance)` is told of the posting (`total` counted from the file's lines) and, at the end,
    of the validated rows.

    Raises:
        ImportRejected: with line-numbered problems when any row is malformed or refused;
        LedgerError: when the file cannot be read.
    """
    started = time.perf_counter()
    stream = _Stream(iter_rows(path, fmt))
    total = _count_rows(path) if progress is not None else 0

    def advance(n: int) -> None:
        if progress is not None:
            progress("posting", total, n)

    with BulkUnitOfWork(engine) as uow:
        first = uow.sequence + 1
        replayed, refused = post_commands(uow, stream.well_formed(), maker=maker, progress=advance)
        stream.finish()  # validate what posting left (a malformed row stops it)
        if progress is not None:
            progress("validated", stream.rows, stream.rows)
        if stream.malformed.total:
            raise ImportRejected(stream.malformed.kept, total=stream.malformed.total)
        if refused:
            raise ImportRejected(refused)
        posted = uow.sequence - first + 1
        if not dry_run:
            uow.commit()
    return ImportResult(
        rows=stream.commands,
        entries=posted,
        replayed=replayed,
        seconds=time.perf_counter() - started,
        committed=not dry_run,
        first_sequence=first if posted else None,
        last_sequence=first + posted - 1 if posted else None,
    )


class _Stream:
    """A file's rows validated into commands one by one, counted as they pass."""

    def __init__(self, rows: Iterable[tuple[int, Mapping[str, Any] | Problem]]) -> None:
        self.rows = self.commands = 0
        self.malformed = _Problems()
        self._commands = iter_commands(self._counted(rows), self.malformed)

    def _counted(
        self, rows: Iterable[tuple[int, Mapping[str, Any] | Problem]]
    ) -> Iterator[tuple[int, Mapping[str, Any] | Problem]]:
        for row in rows:
            self.rows += 1
            yield row

    def well_formed(self) -> Iterator[Command]:
        """The commands, until the first malformed row."""
        malformed = self.malformed
        for command in self._commands:
            if malformed.total:
                return
            self.commands += 1
            yield command

    def finish(self) -> None:
        """Validate the rest of the file (its problems join `malformed`)."""
        for _command in self._commands:
            self.commands += 1
