"""Bank reconciliation: import a statement per fund and bank account, match it, report it.

Invariants owned here:
- A statement is kept as records (the file's SHA-256, its lines, balances and period); the same
  file imported again for the same fund and account finds the first import and records and
  posts nothing (`Imported.created` is False).
- Matching (`ledger.reconcile.match_lines`) runs at import over the fund's postings to that
  cash account dated from `WINDOW_DAYS` before the statement's first day to its last, leaving
  out postings matched before; every match is one to one, on both sides, across statements
  (a unique key in the database).
- An officer matches an unmatched line by hand (to an entry with a posting of that amount to
  the account), or records the missing entry from a debit line (a bank fee, Dr 5301 / Cr 1002),
  which is matched to the line in the same unit of work.
- The report: opening and closing balances (the bank's), the books' balance at the last day,
  matched lines, unmatched lines and postings, and the difference (closing less books), which
  is zero when the account is reconciled.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger import services
from ledger.accounts import CASH_PREFIX
from ledger.bank_statements import read_statement
from ledger.errors import AlreadyExists, InvalidEntry, NotFound, UnknownFund
from ledger.money import Money
from ledger.reconcile import BookPosting, Line, match_lines
from ledger.storage import evidence_store as records
from ledger.storage.unit_of_work import UnitOfWork
from usecases.books import Books
from usecases.reference import _once as remember_once
from usecases.unit import Actor, AuditFacts, read, write

__all__ = [
    "WINDOW_DAYS",
    "Imported",
    "import_statement",
    "match_by_hand",
    "reconciliation_report",
    "record_fee_from_line",
    "statements",
]

WINDOW_DAYS = 3
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Imported:
    statement_id: str
    created: bool
    lines: int
    matched: int


def _currency_of(account: str) -> str:
    prefix, _, currency = account.partition("-")
    if f"{prefix}-" != CASH_PREFIX or len(currency) != 3:
        raise InvalidEntry("account must be a cash account such as 1002-CNY", field="account")
    return currency


def import_statement(
    books: Books,
    data: bytes,
    *,
    fund: str,
    account: str,
    by: Actor,
    layout: Mapping[str, Any] | None = None,
    audit: AuditFacts | None = None,
    progress: Progress | None = None,
) -> Imported:
    """Import a camt.053 or CSV statement for `fund`'s `account`, and match it.

    Raises:
        StatementRejected: the file cannot be read (every problem listed). UnknownFund,
        InvalidEntry: a wrong account or a statement in another currency.
    """
    currency = _currency_of(account)
    statement = read_statement(data, layout)
    if statement.currency != currency:
        raise InvalidEntry(f"the statement is in {statement.currency}, not {currency}")
    sha = hashlib.sha256(data).hexdigest()
    first, last = statement.period

    def work(uow: UnitOfWork) -> Imported:
        if uow.repo.get_fund(fund) is None:
            raise UnknownFund(f"no fund {fund!r}", field="fund")
        existing = records.statement_with_file(uow.connection, fund, account, sha)
        if existing is not None:
            return Imported(existing, False, len(statement.lines), 0)
        statement_id = f"BS-{uuid.uuid4().hex[:16]}"
        row = {
            "id": statement_id,
            "fund": fund,
            "account": account,
            "format": statement.format,
            "sha256": sha,
            "statement_ref": statement.statement_ref,
            "currency": currency,
            "from_date": first.isoformat(),
            "to_date": last.isoformat(),
            "opening_minor": statement.opening,
            "closing_minor": statement.closing,
            "lines": len(statement.lines),
            "imported_by": by.name,
            "imported_at": uow.now(),
        }
        lines = [
            {
                "statement_id": statement_id,
                "line": ln.line,
                "booked_on": ln.booked_on.isoformat(),
                "amount": ln.amount,
                "currency": ln.currency,
                "counterparty": ln.counterparty,
                "reference": ln.reference,
                "balance": ln.balance,
                "bank_ref": ln.bank_ref,
            }
            for ln in statement.lines
        ]
        records.add_statement(uow.connection, row, lines)
        found = _auto_match(uow, statement_id, fund, account, currency, first, last, by, progress)
        if audit is not None:
            audit.target = f"bank-statement:{statement_id}"
        return Imported(statement_id, True, len(lines), found)

    return write(books, work, audit=audit)


def _book_postings(
    uow: UnitOfWork, fund: str, account: str, currency: str, since: str, until: str
) -> list[BookPosting]:
    matched = records.matched_postings(uow.connection, fund, account)
    return [
        BookPosting(seq, line, entry_id, dt.date.fromisoformat(on), amount, memo)
        for seq, line, entry_id, on, amount, memo in records.cash_postings(
            uow.connection, fund, account, currency, until, since
        )
        if (seq, line) not in matched
    ]


def _auto_match(
    uow: UnitOfWork,
    statement_id: str,
    fund: str,
    account: str,
    currency: str,
    first: dt.date,
    last: dt.date,
    by: Actor,
    progress: Progress | None,
) -> int:
    since = (first - dt.timedelta(days=WINDOW_DAYS)).isoformat()
    book = _book_postings(uow, fund, account, currency, since, last.isoformat())
    lines = [
        Line(r["line"], dt.date.fromisoformat(r["booked_on"]), r["amount"], r["reference"])
        for r in records.statement_lines(uow.connection, statement_id)
    ]
    found = match_lines(lines, book, window_days=WINDOW_DAYS)
    now = uow.now()
    rows = [
        {
            "statement_id": statement_id,
            "line": m.line,
            "posting_sequence": m.posting.sequence,
            "posting_line": m.posting.line,
            "entry_id": m.posting.entry_id,
            "how": m.how,
            "matched_by": by.name,
            "matched_at": now,
        }
        for m in found
    ]
    step = 1000
    for start in range(0, len(rows), step):
        records.add_matches(uow.connection, rows[start : start + step])
        if progress is not None:
            progress(min(start + step, len(rows)), len(rows))
    return len(rows)


def _once(
    uow: UnitOfWork,
    books: Books,
    key: str | None,
    operation: str,
    body: dict[str, Any],
    make: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """`make()` once per idempotency key (`usecases.reference._once`): a retry answers the
    match the first call made."""
    made: list[dict[str, Any]] = []

    def create() -> str:
        made.append(make())
        return f"{body['statement']}:{body['line']}"

    remember_once(uow, books, key, operation, body, create)
    if made:
        return made[0]
    return records.statement_matches(uow.connection, body["statement"])[body["line"]]


def _open_line(
    uow: UnitOfWork, statement_id: str, line: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    statement = records.get_statement(uow.connection, statement_id)
    if statement is None:
        raise NotFound(f"no bank statement {statement_id!r}")
    row = next(
        (r for r in records.statement_lines(uow.connection, statement_id) if r["line"] == line),
        None,
    )
    if row is None:
        raise NotFound(f"statement {statement_id} has no line {line}")
    if line in records.statement_matches(uow.connection, statement_id):
        raise AlreadyExists(f"line {line} is matched already")
    return statement, row


def match_by_hand(
    books: Books,
    statement_id: str,
    line: int,
    *,
    entry_id: str,
    by: Actor,
    audit: AuditFacts | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Match a line to an entry's unmatched posting of the same amount to the account.

    Raises:
        NotFound: no statement, line or entry. AlreadyExists: the line is matched.
        InvalidEntry: the entry has no such posting free.
    """

    body = {"statement": statement_id, "line": line, "entry_id": entry_id}

    def work(uow: UnitOfWork) -> dict[str, Any]:
        return _once(uow, books, key, "bank-match", body, lambda: make(uow))

    def make(uow: UnitOfWork) -> dict[str, Any]:
        statement, row = _open_line(uow, statement_id, line)
        entry = uow.entry(entry_id)
        if entry is None:
            raise NotFound(f"no entry {entry_id!r}", field="entry_id")
        taken = records.matched_postings(uow.connection, statement["fund"], statement["account"])
        for n, p in enumerate(entry.postings, 1):
            if (
                p.account == statement["account"]
                and p.fund == statement["fund"]
                and p.amount == row["amount"]
                and (entry.sequence, n) not in taken
            ):
                return _matched(uow, statement_id, line, entry.sequence, n, entry_id, "manual", by)
        raise InvalidEntry(
            f"entry {entry_id} has no unmatched {statement['account']} posting of the line's "
            "amount in this fund",
            field="entry_id",
        )

    return write(books, work, audit=audit, key=key)


def _matched(
    uow: UnitOfWork,
    statement_id: str,
    line: int,
    seq: int,
    n: int,
    entry_id: str,
    how: str,
    by: Actor,
) -> dict[str, Any]:
    match = {
        "statement_id": statement_id,
        "line": line,
        "posting_sequence": seq,
        "posting_line": n,
        "entry_id": entry_id,
        "how": how,
        "matched_by": by.name,
        "matched_at": uow.now(),
    }
    records.add_matches(uow.connection, [match])
    return match


def record_fee_from_line(
    books: Books,
    statement_id: str,
    line: int,
    *,
    by: Actor,
    memo: str = "",
    audit: AuditFacts | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Record the entry a debit line shows and the books lack (a bank fee), matched to it.

    Raises:
        NotFound, AlreadyExists, InvalidEntry (a credit line), InsufficientFunds, PeriodClosed.
    """

    body = {"statement": statement_id, "line": line, "memo": memo}

    def work(uow: UnitOfWork) -> dict[str, Any]:
        return _once(uow, books, key, "bank-fee", body, lambda: make(uow))

    def make(uow: UnitOfWork) -> dict[str, Any]:
        statement, row = _open_line(uow, statement_id, line)
        if row["amount"] >= 0:
            raise InvalidEntry(
                "only a debit line is recorded as a fee; record a gift, then match it by hand",
                field="line",
            )
        entry = services.record_fee(
            uow,
            fund=statement["fund"],
            amount=Money(-row["amount"], row["currency"]),
            paid_on=dt.date.fromisoformat(row["booked_on"]),
            memo=memo
            or f"bank fee: {row['reference'] or row['bank_ref'] or 'statement line'}"[:200],
            maker=by.name,
        )
        n = next(i for i, p in enumerate(entry.postings, 1) if p.account == statement["account"])
        return _matched(uow, statement_id, line, entry.sequence, n, entry.id, "recorded", by)

    return write(books, work, audit=audit, key=key)


def statements(books: Books) -> list[dict[str, Any]]:
    """Every imported statement, oldest import first."""
    return read(books, lambda repo: records.list_statements(repo.conn))


def reconciliation_report(books: Books, statement_id: str) -> dict[str, Any]:
    """The statement's reconciliation (see the module docstring).

    Raises:
        NotFound: no such statement.
    """

    def work(repo: Any) -> dict[str, Any]:
        conn = repo.conn
        statement = records.get_statement(conn, statement_id)
        if statement is None:
            raise NotFound(f"no bank statement {statement_id!r}")
        fund, account, cur = statement["fund"], statement["account"], statement["currency"]
        lines = records.statement_lines(conn, statement_id)
        matches = records.statement_matches(conn, statement_id)
        books_balance = records.account_balance(conn, fund, account, cur, statement["to_date"])
        taken = records.matched_postings(conn, fund, account)
        open_postings = [
            {"entry_id": e, "sequence": s, "line": n, "date": on, "amount": amount, "memo": memo}
            for s, n, e, on, amount, memo in records.cash_postings(
                conn, fund, account, cur, statement["to_date"], statement["from_date"]
            )
            if (s, n) not in taken
        ]
        closing = statement["closing_minor"]
        return {
            "statement": statement,
            "books_balance": books_balance,
            "matched": [
                {**line, "match": matches[line["line"]]}
                for line in lines
                if line["line"] in matches
            ],
            "unmatched_lines": [line for line in lines if line["line"] not in matches],
            "unmatched_postings": open_postings,
            "difference": None if closing is None else closing - books_balance,
        }

    return read(books, work)
