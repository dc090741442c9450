"""Reading and writing the books' tables (SQLAlchemy Core, 2.0-style `select()`).

Invariants owned here:
- The repository never commits; the unit of work owns the transaction.
- Journal rows are only ever INSERTed; `balances` rows are upserted with deltas.
- Reads of a current balance touch the `balances` table only (one indexed row per key), never
  the journal; balances *as of* a past date are summed from postings, with an index on
  (fund, account, currency, occurred_on) when a fund is named.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from ledger.accounts import Account, AccountType
from ledger.entries import EntryKind, PostedEntry, Posting
from ledger.model import Award, Beneficiary, Donor, DonorKind, Fund, Pledge, Project
from ledger.storage import tables as t
from ledger.storage.fastsql import Raw

__all__ = ["CLOSED_PERIODS", "SET_HEAD", "BalanceKey", "SqlRepository"]

_IDEMPOTENCY_COLUMNS = ("key", "fingerprint", "operation", "entry_id", "object_id", "created_at")

ACCOUNT_QUERY = "SELECT code, name_cn, name_us, type, currency, is_open FROM accounts"
_FUND_SQL = "SELECT code, name, restricted, purpose, is_open FROM funds"
_DONOR_SQL = "SELECT id, kind, name, language, anonymous, region FROM donors"


def account_of(row: Sequence[Any]) -> Account:
    return Account(row[0], row[1], row[2], AccountType(row[3]), row[4], bool(row[5]))


def _fund_of(row: Sequence[Any]) -> Fund:
    return Fund(row[0], row[1], bool(row[2]), row[3], bool(row[4]))


def _donor_of(row: Sequence[Any]) -> Donor:
    return Donor(row[0], DonorKind(row[1]), row[2], row[3], bool(row[4]), row[5])


def _chunks(ids: Sequence[str], size: int = 100) -> Iterator[tuple[str, ...]]:
    for start in range(0, len(ids), size):
        yield tuple(ids[start : start + size])


#: What `read_ahead` reads of each kind: (query, its key column, row -> record).
_REFERENCE: dict[str, tuple[str, str, Any]] = {
    "account": (ACCOUNT_QUERY, "code", account_of),
    "fund": (_FUND_SQL, "code", _fund_of),
    "donor": (_DONOR_SQL, "id", _donor_of),
}

BalanceKey = tuple[str, str, str, str, str]  # account, fund, currency, project, ref


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def _date(s: str | None) -> dt.date | None:
    return dt.date.fromisoformat(s) if s else None


class SqlRepository:
    """All SQL of the books, over one connection inside a transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._raw: Raw | None = None

    @property
    def raw(self) -> Raw:
        """Plain SQL on the driver connection (`ledger.storage.fastsql`), for the hot write path."""
        if self._raw is None or not self.conn.in_transaction():  # (re)begins after a rollback
            self._raw = Raw(self.conn)
        return self._raw

    # -- chain head ------------------------------------------------------------------------
    def lock_head_and_read(
        self, queries: Mapping[str, tuple[str, Sequence[Any]]]
    ) -> tuple[int, str, dict[str, list[tuple[Any, ...]]]]:
        """Lock the chain head, then run `queries` (plain SQL for `Raw`, read only) under it.

        (sequence, hash, {name: rows}). On PostgreSQL the lock and the reads go in one round
        trip (a pipeline): what a writing transaction reads first anyway, at no extra wait.
        """
        raw = self.raw
        lock = " FOR UPDATE" if raw.postgresql else ""
        with raw.pipeline():
            head = raw.run(f"SELECT sequence, hash FROM chain_head WHERE id = 1{lock}")
            cursors = {name: raw.run(sql, params) for name, (sql, params) in queries.items()}
        row = head.fetchone()
        if row is None:
            raise LookupError("the books are not initialised: no chain head")
        return int(row[0]), str(row[1]), {name: c.fetchall() for name, c in cursors.items()}

    def head(self) -> tuple[int, str]:
        """The chain head (sequence, hash) without locking it."""
        row = self.conn.execute(select(t.chain_head.c.sequence, t.chain_head.c.hash)).one()
        return int(row.sequence), str(row.hash)

    def set_head(self, sequence: int, hash_: str) -> None:
        self.raw.run(SET_HEAD, (sequence, hash_))

    # -- accounts --------------------------------------------------------------------------
    def get_account(self, code: str) -> Account | None:
        row = self.raw.one(f"{ACCOUNT_QUERY} WHERE code = ?", (code,))
        return None if row is None else account_of(row)

    def list_accounts(self) -> list[Account]:
        rows = self.conn.execute(select(t.accounts).order_by(t.accounts.c.code))
        return [self._account(r) for r in rows]

    @staticmethod
    def _account(row: Any) -> Account:
        return Account(
            row.code, row.name_cn, row.name_us, AccountType(row.type), row.currency, row.is_open
        )

    def set_account_open(self, code: str, is_open: bool, at: str) -> None:
        self.conn.execute(
            update(t.accounts)
            .where(t.accounts.c.code == code)
            .values(is_open=is_open, closed_at=None if is_open else at)
        )

    def add_account(self, account: Account, at: str) -> None:
        self.conn.execute(
            insert(t.accounts).values(
                code=account.code,
                name_cn=account.name_cn,
                name_us=account.name_us,
                type=account.type.value,
                normal_side=account.normal_side.value,
                currency=account.currency,
                is_open=True,
                opened_at=at,
            )
        )

    # -- funds, donors, projects, beneficiaries -----------------------------------------------
    def get_fund(self, code: str) -> Fund | None:
        row = self.raw.one(f"{_FUND_SQL} WHERE code = ?", (code,))
        return None if row is None else _fund_of(row)

    def list_funds(self) -> list[Fund]:
        rows = self.conn.execute(select(t.funds).order_by(t.funds.c.code))
        return [Fund(r.code, r.name, r.restricted, r.purpose, r.is_open) for r in rows]

    def add_fund(self, fund: Fund, at: str) -> None:
        self.conn.execute(
            insert(t.funds).values(
                code=fund.code,
                name=fund.name,
                restricted=fund.restricted,
                purpose=fund.purpose,
                is_open=fund.is_open,
                created_at=at,
            )
        )

    def get_donor(self, donor_id: str) -> Donor | None:
        row = self.raw.one(f"{_DONOR_SQL} WHERE id = ?", (donor_id,))
        return None if row is None else _donor_of(row)

    @staticmethod
    def _donor(r: Any) -> Donor:
        return Donor(r.id, DonorKind(r.kind), r.name, r.language, r.anonymous, r.region)

    def list_donors(self, after: str | None, limit: int) -> list[Donor]:
        query = select(t.donors).order_by(t.donors.c.id).limit(limit)
        if after:
            query = query.where(t.donors.c.id > after)
        return [self._donor(r) for r in self.conn.execute(query)]

    def add_donor(self, donor: Donor, at: str) -> None:
        self.conn.execute(
            insert(t.donors).values(
                id=donor.id,
                kind=donor.kind.value,
                name=donor.name,
                language=donor.language,
                anonymous=donor.anonymous,
                region=donor.region,
                created_at=at,
            )
        )

    def get_project(self, code: str) -> Project | None:
        """A project, with its budget as last changed (`project_budgets`), if it was."""
        row = self.conn.execute(select(t.projects).where(t.projects.c.code == code)).first()
        return None if row is None else self._project(row, self._budgets(code))

    def _budgets(self, code: str | None = None) -> dict[str, tuple[int, str]]:
        """{project: (budget, currency)} of the newest `project_budgets` version of each."""
        b = t.project_budgets
        newest = select(b.c.project, func.max(b.c.version).label("version")).group_by(b.c.project)
        if code is not None:
            newest = newest.where(b.c.project == code)
        latest = newest.subquery()
        rows = self.conn.execute(
            select(b.c.project, b.c.budget_minor, b.c.currency).join(
                latest, and_(b.c.project == latest.c.project, b.c.version == latest.c.version)
            )
        )
        return {r.project: (int(r.budget_minor), r.currency) for r in rows}

    @staticmethod
    def _project(r: Any, budgets: Mapping[str, tuple[int, str]]) -> Project:
        budget, currency = budgets.get(r.code, (r.budget_minor, r.currency))
        return Project(r.code, r.name, r.fund, r.county, r.town, budget, currency)

    def list_projects(self, fund: str | None = None) -> list[Project]:
        query = select(t.projects).order_by(t.projects.c.code)
        if fund:
            query = query.where(t.projects.c.fund == fund)
        budgets = self._budgets()
        return [self._project(r, budgets) for r in self.conn.execute(query)]

    def add_project_budget(self, row: Mapping[str, Any]) -> int:
        """Append a project's new budget (project, budget_minor, currency, reason, set_at,
        set_by) as its next version; returns the version."""
        b = t.project_budgets
        latest = self.conn.execute(
            select(func.max(b.c.version)).where(b.c.project == row["project"])
        ).scalar()
        version = int(latest or 0) + 1
        self.conn.execute(insert(b).values(**row, version=version))
        return version

    def fund_purposes(self, code: str) -> str | None:
        """The JSON of a fund's newest purposes version, or None if it never stated them."""
        row = self.raw.one(
            "SELECT purposes FROM fund_purposes WHERE fund = ? ORDER BY version DESC LIMIT 1",
            (code,),
        )
        return None if row is None else str(row[0])

    def add_fund_purposes(self, fund: str, purposes: str, at: str, by: str) -> int:
        """Append a fund's purposes (JSON) as its next version; returns the version."""
        p = t.fund_purposes
        latest = self.conn.execute(select(func.max(p.c.version)).where(p.c.fund == fund)).scalar()
        version = int(latest or 0) + 1
        self.conn.execute(
            insert(p).values(fund=fund, version=version, purposes=purposes, set_at=at, set_by=by)
        )
        return version

    def total(
        self, account: str, fund: str, currency: str | None = None, project: str | None = None
    ) -> tuple[int, int]:
        """(amount, functional) of `account` in `fund` summed over every balance row (all refs;
        all currencies and projects unless named)."""
        sql = (
            "SELECT COALESCE(SUM(amount), 0), COALESCE(SUM(functional), 0) FROM balances "
            "WHERE account = ? AND fund = ?"
        )
        args: list[Any] = [account, fund]
        if currency is not None:
            sql, args = sql + " AND currency = ?", [*args, currency]
        if project is not None:
            sql, args = sql + " AND project = ?", [*args, project]
        row = self.raw.one(sql, tuple(args))
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def add_project(self, p: Project, at: str) -> None:
        self.conn.execute(
            insert(t.projects).values(
                code=p.code,
                name=p.name,
                fund=p.fund,
                county=p.county,
                town=p.town,
                budget_minor=p.budget_minor,
                currency=p.currency,
                created_at=at,
            )
        )

    def get_beneficiary(self, pseudonym: str) -> Beneficiary | None:
        row = self.conn.execute(
            select(t.beneficiaries).where(t.beneficiaries.c.id == pseudonym)
        ).first()
        return None if row is None else Beneficiary(row.id, row.cohort, row.county)

    def list_beneficiaries(self) -> list[Beneficiary]:
        rows = self.conn.execute(select(t.beneficiaries).order_by(t.beneficiaries.c.id))
        return [Beneficiary(r.id, r.cohort, r.county) for r in rows]

    def add_beneficiary(self, b: Beneficiary, key: bytes, ciphertext: bytes, at: str) -> None:
        self.conn.execute(
            insert(t.beneficiaries).values(id=b.id, cohort=b.cohort, county=b.county, created_at=at)
        )
        self.conn.execute(
            insert(t.beneficiary_personal).values(
                beneficiary_id=b.id, key=key, ciphertext=ciphertext
            )
        )

    def personal_record(self, pseudonym: str) -> tuple[bytes | None, bytes] | None:
        row = self.conn.execute(
            select(t.beneficiary_personal).where(
                t.beneficiary_personal.c.beneficiary_id == pseudonym
            )
        ).first()
        return None if row is None else (row.key, row.ciphertext)

    def destroy_personal_key(self, pseudonym: str) -> None:
        self.conn.execute(
            update(t.beneficiary_personal)
            .where(t.beneficiary_personal.c.beneficiary_id == pseudonym)
            .values(key=None)
        )

    # -- pledges and awards --------------------------------------------------------------------
    def add_pledge(self, p: Pledge, at: str) -> None:
        self.conn.execute(
            insert(t.pledges).values(
                id=p.id,
                donor_id=p.donor_id,
                fund=p.fund,
                amount_minor=p.amount_minor,
                currency=p.currency,
                due_on=_iso(p.due_on),
                conditional=p.conditional,
                entry_id=p.entry_id,
                created_at=at,
            )
        )

    def get_pledge(self, pledge_id: str) -> Pledge | None:
        row = self.conn.execute(select(t.pledges).where(t.pledges.c.id == pledge_id)).first()
        if row is None:
            return None
        return Pledge(
            row.id,
            row.donor_id,
            row.fund,
            row.amount_minor,
            row.currency,
            _date(row.due_on),
            row.conditional,
            row.entry_id,
        )

    def list_pledges(self, fund: str | None = None) -> list[Pledge]:
        query = select(t.pledges).order_by(t.pledges.c.created_at, t.pledges.c.id)
        if fund:
            query = query.where(t.pledges.c.fund == fund)
        return [
            Pledge(
                r.id,
                r.donor_id,
                r.fund,
                r.amount_minor,
                r.currency,
                _date(r.due_on),
                r.conditional,
                r.entry_id,
            )
            for r in self.conn.execute(query)
        ]

    def add_award(self, a: Award, at: str) -> None:
        self.conn.execute(
            insert(t.award_table).values(
                id=a.id,
                fund=a.fund,
                beneficiary_id=a.beneficiary_id,
                amount_minor=a.amount_minor,
                currency=a.currency,
                term=a.term,
                entry_id=a.entry_id,
                created_at=at,
            )
        )

    def handovers_of(self, gift_entry_id: str) -> list[tuple[str, int]]:
        """(quantity, value in CNY minor units) of each handover of an in-kind gift."""
        h = t.in_kind_handovers.c
        rows = self.conn.execute(
            select(h.quantity, h.value_minor).where(h.gift_entry_id == gift_entry_id)
        )
        return [(str(q), int(v)) for q, v in rows]

    def add_handover(self, row: Mapping[str, Any]) -> None:
        self.conn.execute(insert(t.in_kind_handovers).values(**row))

    def get_award(self, award_id: str) -> Award | None:
        row = self.conn.execute(select(t.award_table).where(t.award_table.c.id == award_id)).first()
        if row is None:
            return None
        return Award(
            row.id,
            row.fund,
            row.beneficiary_id,
            row.amount_minor,
            row.currency,
            row.term,
            row.entry_id,
        )

    # -- periods and idempotency ---------------------------------------------------------------
    def closed_periods(self) -> set[str]:
        return {str(r[0]) for r in self.raw.run(CLOSED_PERIODS).fetchall()}

    def close_period(self, period: str, at: str, by: str) -> None:
        self.conn.execute(
            insert(t.closed_periods).values(period=period, closed_at=at, closed_by=by)
        )

    def idempotency_record(self, key: str) -> dict[str, Any] | None:
        """The stored record of a client key (a dict of its columns), or None."""
        row = self.raw.one(
            'SELECT "key", fingerprint, operation, entry_id, object_id, created_at '
            'FROM idempotency_keys WHERE "key" = ?',
            (key,),
        )
        return None if row is None else dict(zip(_IDEMPOTENCY_COLUMNS, row, strict=True))

    def read_ahead(
        self, keys: Sequence[str], wanted: Mapping[str, Sequence[str]]
    ) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], Any]]:
        """The stored records of client `keys` ({key: a dict of its columns}) and the reference
        records in `wanted` ({(kind, id): record}; `wanted` maps a kind, "account", "fund" or
        "donor", to ids), those found only: one query per table (per 100 ids), all sent in one
        round trip on PostgreSQL (a pipeline)."""
        raw = self.raw
        stored, references = [], []
        with raw.pipeline():
            for chunk in _chunks(keys):
                stored.append(
                    raw.run(
                        'SELECT "key", fingerprint, operation, entry_id, object_id, created_at '
                        f'FROM idempotency_keys WHERE "key" IN ({", ".join("?" * len(chunk))})',
                        chunk,
                    )
                )
            for kind, ids in wanted.items():
                sql, column, make = _REFERENCE[kind]
                for chunk in _chunks(ids):
                    query = f"{sql} WHERE {column} IN ({', '.join('?' * len(chunk))})"
                    references.append((kind, make, raw.run(query, chunk)))
        found = {
            row[0]: dict(zip(_IDEMPOTENCY_COLUMNS, row, strict=True))
            for cursor in stored
            for row in cursor.fetchall()
        }
        records = {
            (kind, row[0]): make(row) for kind, make, c in references for row in c.fetchall()
        }
        return found, records

    def add_idempotency_records(self, rows: Sequence[dict[str, Any]]) -> None:
        self.raw.many(
            'INSERT INTO idempotency_keys ("key", fingerprint, operation, entry_id, object_id, '
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [tuple(r[c] for c in _IDEMPOTENCY_COLUMNS) for r in rows],
        )

    # -- balances ------------------------------------------------------------------------------
    def balance_row(self, key: BalanceKey) -> tuple[int, int]:
        """Current (amount, functional) of one balance key; (0, 0) if it was never posted to."""
        row = self.raw.one(
            "SELECT amount, functional FROM balances WHERE account = ? AND fund = ? "
            "AND currency = ? AND project = ? AND ref = ?",
            key,
        )
        return (0, 0) if row is None else (int(row[0]), int(row[1]))

    def balances_where(self, **filters: str) -> list[Any]:
        b = t.balances.c
        conditions = [getattr(b, name) == value for name, value in filters.items()]
        return list(self.conn.execute(select(t.balances).where(and_(True, *conditions))))

    def apply_balance_deltas(self, deltas: dict[BalanceKey, list[int]]) -> None:
        """Add (amount, functional) deltas to the balance rows, creating missing rows."""
        self.raw.many(
            "INSERT INTO balances (account, fund, currency, project, ref, amount, functional) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account, fund, currency, project, ref) DO UPDATE SET "
            "amount = balances.amount + excluded.amount, "
            "functional = balances.functional + excluded.functional",
            [(*k, v[0], v[1]) for k, v in deltas.items()],
        )

    def balance_as_of(
        self,
        as_of: dt.date,
        *,
        account: str | None = None,
        fund: str | None = None,
        project: str | None = None,
        currency: str | None = None,
    ) -> list[Any]:
        """Sums of postings dated on or before `as_of`, grouped by account, fund and currency."""
        p = t.postings.c
        query = (
            select(
                p.account,
                p.fund,
                p.currency,
                func.sum(p.amount).label("amount"),
                func.sum(p.functional).label("functional"),
            )
            .where(p.occurred_on <= as_of.isoformat())
            .group_by(p.account, p.fund, p.currency)
        )
        if account:
            query = query.where(p.account == account)
        if fund:
            query = query.where(p.fund == fund)
        if project:
            query = query.where(p.project == project)
        if currency:
            query = query.where(p.currency == currency)
        return list(self.conn.execute(query))

    # -- the journal ---------------------------------------------------------------------------
    def insert_journal(
        self, entry_rows: Sequence[tuple[Any, ...]], posting_rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """Insert postings first, then headers (whose trigger checks the balance).

        Rows are tuples in the tables' column order, handed straight to the driver's
        executemany: they are plain strings and integers already, and this is the hot path of
        every import.
        """
        for table, rows in ((t.postings, posting_rows), (t.journal_entries, entry_rows)):
            if rows:
                self.raw.many(_insert_sql(table), rows)

    def get_entry(self, entry_id: str) -> PostedEntry | None:
        row = self.conn.execute(
            select(t.journal_entries).where(t.journal_entries.c.id == entry_id)
        ).first()
        return None if row is None else self._entries([row])[0]

    def get_entry_by_sequence(self, sequence: int) -> PostedEntry | None:
        row = self.conn.execute(
            select(t.journal_entries).where(t.journal_entries.c.sequence == sequence)
        ).first()
        return None if row is None else self._entries([row])[0]

    def reversal_of(self, entry_id: str) -> str | None:
        return self.conn.scalar(
            select(t.journal_entries.c.id).where(t.journal_entries.c.reverses == entry_id)
        )

    def list_entries(
        self,
        *,
        after_sequence: int = 0,
        limit: int = 50,
        fund: str | None = None,
        project: str | None = None,
        party: str | None = None,
        kind: str | None = None,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
    ) -> list[PostedEntry]:
        e = t.journal_entries.c
        query = select(t.journal_entries).where(e.sequence > after_sequence)
        if kind:
            query = query.where(e.kind == kind)
        if date_from:
            query = query.where(e.occurred_on >= date_from.isoformat())
        if date_to:
            query = query.where(e.occurred_on <= date_to.isoformat())
        p = t.postings.c
        for column, value in (("fund", fund), ("project", project), ("party", party)):
            if value:
                query = query.where(e.id.in_(select(p.entry_id).where(getattr(p, column) == value)))
        query = query.order_by(e.sequence).limit(limit)
        return self._entries(list(self.conn.execute(query)))

    def _entries(self, rows: Sequence[Any]) -> list[PostedEntry]:
        if not rows:
            return []
        seqs = [r.sequence for r in rows]
        lines: dict[str, list[Posting]] = {r.id: [] for r in rows}
        p = t.postings.c
        for pr in self.conn.execute(
            select(t.postings).where(p.sequence.in_(seqs)).order_by(p.sequence, p.line)
        ):
            lines[pr.entry_id].append(_posting(pr))
        return [_posted(r, tuple(lines[r.id])) for r in rows]

    def iter_journal_raw(self, batch: int = 20_000) -> Iterator[tuple[Any, list[Any]]]:
        """Every entry as a plain tuple in column order, with its postings' tuples, streamed.

        Two ordered streams (entries by sequence; postings by sequence and line) are merged in
        one pass; each stream is read with a server-side cursor where the engine has one.
        """
        e_cols = ", ".join(c.name for c in t.journal_entries.columns)
        p_cols = (
            "line, sequence, occurred_on, account, fund, amount, currency, functional, "
            "project, party, functional_class, ref"
        )
        heads_sql = f"SELECT {e_cols} FROM journal_entries ORDER BY sequence"
        lines_sql = f"SELECT {p_cols} FROM postings ORDER BY sequence, line"
        heads: Iterator[Any]
        lines: Iterator[Any]
        if self.conn.dialect.name == "sqlite":
            # Plain driver cursors: verify reads millions of rows and needs no Row objects.
            raw = self.conn.connection.driver_connection
            heads, lines = _fetch(raw, heads_sql, batch), _fetch(raw, lines_sql, batch)
        else:
            conn = self.conn.execution_options(stream_results=True, yield_per=batch)
            heads = iter(conn.exec_driver_sql(heads_sql))
            lines = iter(conn.exec_driver_sql(lines_sql))
        pending = next(lines, None)
        for head in heads:
            seq = head[1]
            group = []
            while pending is not None and pending[1] < seq:
                pending = next(lines, None)  # postings without an entry: caught by balances
            while pending is not None and pending[1] == seq:
                group.append(tuple(pending))
                pending = next(lines, None)
            yield tuple(head), group

    def journal_sums(self) -> Iterable[Any]:
        """Sums of all postings per balance key, for checking `balances` against the journal."""
        p = t.postings.c
        return self.conn.execute(
            select(
                p.account,
                p.fund,
                p.currency,
                p.project,
                p.ref,
                func.sum(p.amount).label("amount"),
                func.sum(p.functional).label("functional"),
            ).group_by(p.account, p.fund, p.currency, p.project, p.ref)
        )

    def all_balances(self) -> Iterable[Any]:
        return self.conn.execute(select(t.balances))

    def driver(self) -> tuple[Any, str]:
        """The DB-API connection under `conn` and its placeholder (`?` or `%s`).

        It shares `conn`'s transaction, and on SQLite its read snapshot; `ledger.journal_scan`
        reads the journal through it without building Row objects.
        """
        raw = self.raw  # begins `conn`'s transaction if it has none
        return raw.driver, "?" if raw.qmark else "%s"

    def sqlite_file(self) -> str | None:
        """The file of a file-backed SQLite database; None on PostgreSQL or in memory."""
        if self.conn.dialect.name != "sqlite":
            return None
        for _n, name, file in self.conn.exec_driver_sql("PRAGMA database_list"):
            if name == "main":
                return str(file) or None
        return None


_INSERTS: dict[str, str] = {}

CLOSED_PERIODS = "SELECT period FROM closed_periods"

#: Moves the chain head (sequence, hash); `UnitOfWork.commit` queues it to its final flush.
SET_HEAD = "UPDATE chain_head SET sequence = ?, hash = ? WHERE id = 1"


def _insert_sql(table: Any) -> str:
    """INSERT of every column of `table`, in column order, with `?` placeholders (cached)."""
    sql = _INSERTS.get(table.name)
    if sql is None:
        columns = [c.name for c in table.columns]
        marks = ", ".join(["?"] * len(columns))
        sql = _INSERTS[table.name] = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
        )
    return sql


def _fetch(raw: Any, sql: str, batch: int) -> Iterator[tuple[Any, ...]]:
    cursor = raw.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()


def _posting(r: Any) -> Posting:
    return Posting(
        r.account,
        r.fund,
        int(r.amount),
        r.currency,
        int(r.functional),
        r.project,
        r.party,
        r.functional_class,
        r.ref,
    )


def _posted(r: Any, lines: tuple[Posting, ...]) -> PostedEntry:
    return PostedEntry(
        id=r.id,
        sequence=int(r.sequence),
        kind=EntryKind(r.kind),
        occurred_on=dt.date.fromisoformat(r.occurred_on),
        recorded_at=r.recorded_at,
        period=r.period,
        postings=lines,
        memo=r.memo,
        maker=r.maker,
        reverses=r.reverses,
        data=json.loads(r.data),
        prev_hash=r.prev_hash,
        hash=r.hash,
        leaf_hash=r.leaf_hash,
    )
