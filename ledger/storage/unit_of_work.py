"""The unit of work: one database transaction in which entries are numbered, chained and posted.

Invariants owned here:
- A writing unit of work locks the chain head before it reads anything (`BEGIN IMMEDIATE` on
  SQLite, `SELECT ... FOR UPDATE` on PostgreSQL). Writers are therefore serialised, which makes
  sequence numbers gapless and every "would this overdraw the fund?" check race-free.
- Balances are read through the unit of work, which overlays what this transaction has already
  posted but not yet flushed; journal rows are flushed in batches (executemany) and always
  before commit. Nothing is visible to others until `commit`; leaving without commit rolls back.
- `post` assigns the next sequence number, the timestamp, the period and the hashes; it does not
  decide whether an entry is *allowed* (that is the services' job); it only refuses an entry that
  does not balance.
"""

from __future__ import annotations

import datetime as dt
import operator
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, NamedTuple, Self, TypeVar

from sqlalchemy import Connection, Engine, event

from ledger.chain import canonical_data, canonical_entry_bytes, chain_hash, leaf_hash_hex
from ledger.entries import JournalEntry, PostedEntry, check_balanced
from ledger.storage.fastsql import WRITE_HOOK, is_read
from ledger.storage.repository import (
    ACCOUNT_QUERY,
    CLOSED_PERIODS,
    SET_HEAD,
    BalanceKey,
    SqlRepository,
    account_of,
)

__all__ = ["Clock", "UnitOfWork", "read_only", "utc_now", "uuid7_text"]

Clock = Callable[[], dt.datetime]
_CLOSED = "huiquan:closed-periods"
_ACCOUNTS = "huiquan:accounts"
T = TypeVar("T")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def uuid7_text(millis: int, rand: int) -> str:
    """The UUIDv7-style id (RFC 9562 layout) of Unix time `millis` and 80 random bits `rand`."""
    value = (
        (millis << 80)
        | (0x7 << 76)
        | ((rand >> 62) & 0xFFF) << 64
        | (0b10 << 62)
        | (rand & ((1 << 62) - 1))
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MILLISECOND = dt.timedelta(milliseconds=1)
_RANDOM: list[bytes] = []
os.register_at_fork(after_in_child=_RANDOM.clear)  # a forked child draws its own


def _pooled_id(millis: int) -> str:
    """A UUIDv7-style id at `millis`, its random bits drawn from a pool (one system call for
    4,096 ids)."""
    try:
        rand = _RANDOM.pop()
    except IndexError:  # empty (or emptied by another thread meanwhile): refill
        pool = os.urandom(10 * 4096)
        _RANDOM.extend(pool[n : n + 10] for n in range(10, len(pool), 10))
        rand = pool[:10]
    return uuid7_text(millis, int.from_bytes(rand, "big"))


def _time_ordered_id() -> str:
    """A UUIDv7-style id: millisecond time first, so inserts stay in order."""
    return uuid7_text(time.time_ns() // 1_000_000, int.from_bytes(os.urandom(10), "big"))


@event.listens_for(Engine, "before_cursor_execute")
def _before_write(
    conn: Connection, cursor: Any, statement: str, params: Any, context: Any, many: bool
) -> None:
    """Run the connection's write hook (see `UnitOfWork.attempt`) before a statement that writes."""
    hook = conn.info.get(WRITE_HOOK)
    if hook is not None and not is_read(statement):
        hook()


#: A posting's fields in the order of `canonical_entry_bytes` and of the `postings` table.
_LINE = operator.attrgetter(
    "account",
    "fund",
    "amount",
    "currency",
    "functional",
    "project",
    "party",
    "functional_class",
    "ref",
)


class _Sealed(NamedTuple):
    """An entry numbered, stamped, serialised and chained, not yet queued."""

    sequence: int
    entry_id: str
    recorded_at: str
    occurred: str
    data_json: str
    digest: str
    leaf: str
    lines: list[tuple[Any, ...]]


class UnitOfWork:
    """A writing transaction over the books. Use as a context manager; call `commit()`.

    What a caller may use (services, use cases, the API, the CLI, receipts):

    - open and end: ``with UnitOfWork(engine) as uow: ... uow.commit()``; leaving without
      `commit` rolls back. `committed` says whether it did.
    - the clock: `now()` (ISO timestamp), `today()`, `clock`.
    - reading under the chain-head lock: `repo` (the SQL repository), `entry(id)` (posted in
      this transaction or before), `balance(key)` (with what this transaction posted),
      `cached(kind, key, load)` / `forget(kind, key)` for reference data, `closed_periods()`,
      `idempotency_record(key)`, `sequence` and `head_hash` (the chain head as posted so far),
      `posted` (entries posted in this transaction, by id; a long one forgets old ones),
      `reversed_ids`, `preloaded` (the `preload` queries' rows).
    - writing: `post(entry)`, `remember_key(record)`, and for outer layers writing their own
      rows in the same transaction `queue_row(sql, row)`, `before_commit(callback)`,
      `memo_of(name)`, `connection`, `flush()`.

    For group commit only (`ledger.storage.group_commit`): `attempt(work)` (several operations
    in one transaction, each undone alone if it fails) and `prefetch(keys, refs)`.
    For the importer's bulk path only: `post_untracked(entry)`.
    Everything else (queued rows, balance overlay, snapshots) is private.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Clock = utc_now,
        flush_every: int = 2000,
        preload: Mapping[str, tuple[str, Sequence[Any]]] | None = None,
        preload_accounts: bool = False,
    ) -> None:
        """`preload`: named read-only queries (plain SQL for `ledger.storage.fastsql.Raw`) run right
        after the chain head is locked, in the same round trip on PostgreSQL; their rows are in
        `preloaded[name]`. Outer layers use it for what they read once per transaction anyway
        (the audit trail's head, a receipt counter). `preload_accounts` reads the chart of
        accounts the same way, into the cache `cached` reads through: for a transaction that
        will post many entries on PostgreSQL, where each lookup would be a round trip."""
        self.engine = engine
        self.clock = clock
        self._flush_every = flush_every
        self._preload = dict(preload or {})
        self._preload_accounts = preload_accounts
        self._conn: Connection | None = None
        self._repo: SqlRepository | None = None

    def __enter__(self) -> Self:
        conn = self.engine.connect()
        conn.execution_options(huiquan_write=True)
        conn.begin()
        self._conn = conn
        self._repo = SqlRepository(conn)
        queries = {**self._preload, _CLOSED: (CLOSED_PERIODS, ())}
        if self._preload_accounts:
            queries[_ACCOUNTS] = (ACCOUNT_QUERY, ())
        self.sequence, self.head_hash, self.preloaded = self._repo.lock_head_and_read(queries)
        self._start_sequence = self.sequence
        self._deltas: dict[BalanceKey, list[int]] = defaultdict(lambda: [0, 0])
        self._overlay: dict[BalanceKey, list[int]] = {}
        self._entry_rows: list[tuple[Any, ...]] = []
        self._posting_rows: list[tuple[Any, ...]] = []
        self._idem_rows: list[dict[str, Any]] = []
        self._rows: dict[str, list[tuple[Any, ...]]] = {}
        self._pending_keys: dict[str, dict[str, Any]] = {}
        self._stored_keys: dict[str, dict[str, Any] | None] = {}  # read under the lock
        self.posted: dict[str, PostedEntry] = {}
        self.reversed_ids: set[str] = set()
        self._closed: set[str] = {str(r[0]) for r in self.preloaded.pop(_CLOSED)}
        self.committed = False
        self._ending = False  # set by `commit` for its final flush
        self._before_commit: list[Callable[[UnitOfWork], None]] = []
        self._cache: dict[tuple[str, str], Any] = {
            ("account", row[0]): account_of(row) for row in self.preloaded.pop(_ACCOUNTS, ())
        }
        self._memo: dict[str, dict[str, Any]] = {}
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            if not self.committed:
                conn.rollback()
        finally:
            conn.close()
            self._conn = None

    @property
    def repo(self) -> SqlRepository:
        if self._repo is None:
            raise RuntimeError("the unit of work is not open")
        return self._repo

    def now(self) -> str:
        return self.clock().astimezone(dt.UTC).isoformat(timespec="microseconds")

    def today(self) -> dt.date:
        return self.clock().astimezone(dt.UTC).date()

    # -- balances through the overlay ---------------------------------------------------------
    def balance(self, key: BalanceKey) -> tuple[int, int]:
        """The current (amount, functional) of a balance key, including unflushed postings."""
        cached = self._overlay.get(key)
        if cached is None:
            amount, functional = self.repo.balance_row(key)
            pending = self._deltas.get(key)  # posted in this transaction, not yet flushed
            if pending is not None:
                amount, functional = amount + pending[0], functional + pending[1]
            cached = self._overlay[key] = [amount, functional]
        return cached[0], cached[1]

    def total(
        self, account: str, fund: str, currency: str | None = None, project: str | None = None
    ) -> tuple[int, int]:
        """(amount, functional) of `account` in `fund` over all its balance keys (refs, and
        currencies and projects unless named), including unflushed postings."""
        amount, functional = self.repo.total(account, fund, currency, project)
        for key, (a, f) in self._deltas.items():
            if key[0] == account and key[1] == fund:
                if (currency is None or key[2] == currency) and (
                    project is None or key[3] == project
                ):
                    amount, functional = amount + a, functional + f
        return amount, functional

    def cached(self, kind: str, key: str, load: Callable[[str], Any]) -> Any:
        """Reference data (accounts, funds, donors, projects) read once per unit of work.

        Found records are kept; misses are not, so a record created later in the same unit of
        work is seen. Services that change a record call `forget`.
        """
        hit = self._cache.get((kind, key))
        if hit is None:
            hit = load(key)
            if hit is not None:
                self._cache[(kind, key)] = hit
        return hit

    def forget(self, kind: str, key: str) -> None:
        self._cache.pop((kind, key), None)

    def closed_periods(self) -> set[str]:
        """The closed periods (read with the chain-head lock; `close_period` adds to them)."""
        return self._closed

    # -- posting -----------------------------------------------------------------------------
    def _seal(self, entry: JournalEntry) -> _Sealed:
        """Check, number, stamp, serialise and chain an entry (nothing is queued yet)."""
        check_balanced(entry.postings)
        lines = list(map(_LINE, entry.postings))
        if self.clock is utc_now:  # one clock reading for the timestamp and the id's time
            now = dt.datetime.now(dt.UTC)
            entry_id = _pooled_id((now - _EPOCH) // _MILLISECOND)
            recorded_at = now.isoformat(timespec="microseconds")
        else:
            entry_id, recorded_at = _time_ordered_id(), self.now()
        sequence = self.sequence + 1
        occurred = entry.occurred_on.isoformat()
        data_json = canonical_data(entry.data)
        canonical = canonical_entry_bytes(
            entry_id,
            sequence,
            entry.kind.value,
            occurred,
            recorded_at,
            occurred[:7],
            entry.memo,
            entry.maker,
            entry.reverses,
            data_json,
            lines,
        )
        digest = chain_hash(self.head_hash, canonical)
        return _Sealed(
            sequence,
            entry_id,
            recorded_at,
            occurred,
            data_json,
            digest,
            leaf_hash_hex(canonical),
            lines,
        )

    def post(
        self, entry: JournalEntry, *, idempotency: Mapping[str, Any] | None = None
    ) -> PostedEntry:
        """Number, chain and queue one entry; return it as posted.

        Raises:
            UnbalancedEntry, InvalidEntry: when the postings cannot form an entry.
        """
        sealed = self._seal(entry)
        posted = PostedEntry(
            id=sealed.entry_id,
            sequence=sealed.sequence,
            kind=entry.kind,
            occurred_on=entry.occurred_on,
            recorded_at=sealed.recorded_at,
            period=sealed.occurred[:7],
            postings=entry.postings,
            memo=entry.memo,
            maker=entry.maker,
            reverses=entry.reverses,
            data=dict(entry.data),
            prev_hash=self.head_hash,
            hash=sealed.digest,
            leaf_hash=sealed.leaf,
        )
        self.posted[posted.id] = posted
        if posted.reverses:
            self.reversed_ids.add(posted.reverses)
        self._queue(entry, sealed)
        if idempotency is not None:
            row = {
                **idempotency,
                "entry_id": idempotency.get("entry_id", posted.id),
                "created_at": posted.recorded_at,
            }
            self.remember_key(row)
        return posted

    def post_untracked(self, entry: JournalEntry) -> str:
        """Post as `post` does, but keep no `PostedEntry` to look up later; return the entry id.

        For the importer's bulk path (thousands of entries per second): only an entry that
        nothing later in the transaction looks up by id (`entry`, `posted`) and that reverses
        nothing may take this path.

        Raises:
            UnbalancedEntry, InvalidEntry: when the postings cannot form an entry.
        """
        if entry.reverses is not None:
            raise ValueError("a reversal is posted with post(), so that it is remembered")
        sealed = self._seal(entry)
        self._queue(entry, sealed)
        return sealed.entry_id

    def _queue(self, entry: JournalEntry, sealed: _Sealed) -> None:
        """Move the head to a sealed entry, its balances in the overlay and the pending deltas,
        and queue its rows (flushed every `flush_every` entries)."""
        prev, self.sequence, self.head_hash = self.head_hash, sealed.sequence, sealed.digest
        overlay, deltas, rows = self._overlay, self._deltas, self._posting_rows
        sequence, entry_id, occurred = sealed.sequence, sealed.entry_id, sealed.occurred
        for n, line in enumerate(sealed.lines, 1):
            amount, functional = line[2], line[4]
            key = (line[0], line[1], line[3], line[5], line[8])  # see `BalanceKey`
            known = overlay.get(key)  # keys never read are read (with deltas) on demand
            if known is not None:
                known[0] += amount
                known[1] += functional
            delta = deltas[key]
            delta[0] += amount
            delta[1] += functional
            # Column order of `ledger.storage.tables.postings`: `_LINE` gives the posting's own.
            rows.append((sequence, n, entry_id, occurred, *line))
        # Column order of `ledger.storage.tables.journal_entries`.
        self._entry_rows.append(
            (
                sealed.entry_id,
                sealed.sequence,
                entry.kind.value,
                sealed.occurred,
                sealed.recorded_at,
                sealed.occurred[:7],
                entry.memo,
                entry.maker,
                entry.reverses,
                sealed.data_json,
                prev,
                sealed.digest,
                sealed.leaf,
            )
        )
        if len(self._entry_rows) >= self._flush_every:
            self.flush()

    def idempotency_record(self, key: str) -> dict[str, Any] | None:
        """The record of a client key: queued in this unit of work, or stored, or None.

        A stored record (or its absence) read once is remembered: the writer lock is held, so
        only this unit of work can add keys, and those are queued first.
        """
        found = self._pending_keys.get(key)
        if found is not None:
            return found
        if key in self._stored_keys:
            return self._stored_keys[key]
        record = self._stored_keys[key] = self.repo.idempotency_record(key)
        return record

    def prefetch(
        self, keys: Iterable[str] = (), refs: Mapping[str, Iterable[str]] | None = None
    ) -> None:
        """Read ahead, together, what several operations of this unit will look up one by one.

        `keys`: client keys (see `idempotency_record`); `refs`: reference records by kind
        ("account", "fund", "donor") and id, as `cached` would load them. Group commit passes
        those of the requests queued for the transaction: one round trip for all of them on
        PostgreSQL instead of one per lookup. A record found is cached as if `cached` had read
        it at this moment in this transaction (services that change one `forget` it, as ever);
        one not found is not remembered, so a record created later in the unit is still seen.
        """
        wanted = [k for k in keys if k not in self._stored_keys and k not in self._pending_keys]
        lookups = {
            kind: todo
            for kind, ids in (refs or {}).items()
            if (todo := sorted({i for i in ids if (kind, i) not in self._cache}))
        }
        if not wanted and not lookups:
            return
        found, records = self.repo.read_ahead(wanted, lookups)
        for key in wanted:
            self._stored_keys[key] = found.get(key)
        self._cache.update(records)

    def remember_key(self, row: dict[str, Any]) -> None:
        """Queue an idempotency record (key, fingerprint, operation, entry_id, object_id)."""
        row.setdefault("created_at", self.now())
        self._pending_keys[row["key"]] = row
        self._idem_rows.append(row)

    def flush(self) -> None:
        """Write queued journal rows, balance deltas and idempotency records (no commit).

        The final flush of `commit` on PostgreSQL ends with the COMMIT itself, in the same
        pipeline: a subclass that extends `flush` must not write after calling it.
        """
        repo = self.repo
        with repo.raw.pipeline():  # one round trip on PostgreSQL
            self._write_queued(repo)
            if self._ending and repo.raw.postgresql:
                repo.raw.run("COMMIT")

    def _write_queued(self, repo: SqlRepository) -> None:
        repo.insert_journal(self._entry_rows, self._posting_rows)
        repo.apply_balance_deltas(dict(self._deltas))
        repo.add_idempotency_records(self._idem_rows)
        for sql, rows in self._rows.items():
            repo.raw.many(sql, rows)
        self._entry_rows, self._posting_rows, self._idem_rows = [], [], []
        self._rows = {}
        self._deltas.clear()
        if len(self.posted) > 50_000:
            self.posted.clear()

    def entry(self, entry_id: str) -> PostedEntry | None:
        """An entry posted in this transaction or before."""
        return self.posted.get(entry_id) or self.repo.get_entry(entry_id)

    @property
    def connection(self) -> Connection:
        """The transaction's connection, for outer layers that write in the same transaction."""
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        return self._conn

    def queue_row(self, sql: str, row: tuple[Any, ...]) -> None:
        """Queue one row for a write statement of an outer layer, run at the next flush.

        `sql` is plain SQL for `ledger.storage.fastsql.Raw` (`?` placeholders) that needs no result,
        e.g. an INSERT; rows are written after the journal rows, in the order queued, with one
        executemany per statement (pipelined on PostgreSQL), inside this transaction.
        """
        self._rows.setdefault(sql, []).append(row)

    def memo_of(self, name: str) -> dict[str, Any]:
        """A named dict for outer layers to remember things for the rest of this transaction.

        It follows `attempt`: what an operation that failed put here is forgotten.
        """
        return self._memo.setdefault(name, {})

    def before_commit(self, callback: Callable[[UnitOfWork], None]) -> None:
        """Run `callback(self)` inside the transaction, just before it commits.

        Outer layers use this to write their own rows (audit events, receipts) atomically with
        the entries; the chain-head lock is held, so they may number their rows gaplessly too.
        Callbacks run before the final flush: rows this unit queued are not in the tables yet
        (its entries are in `posted`, its keys answer `idempotency_record`), and rows a callback
        queues are written with them.
        """
        self._before_commit.append(callback)

    def attempt(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run `work(self)` so that, if it raises, it leaves no trace in this unit of work.

        For several independent operations sharing one transaction (group commit): the database
        side is undone with a savepoint, this object's own queued rows, sequence, hashes,
        balance overlay and callbacks with a snapshot. The exception is re-raised.

        The savepoint is taken just before the operation's first statement that writes (a
        write hook on the connection, run by `ledger.storage.fastsql.Raw` and by SQLAlchemy's
        `before_cursor_execute`), so an operation that only reads and queues rows, such as a
        donation, costs no savepoint round trip at all; one that fails before writing has
        nothing to undo in the database.
        """
        raw = self.repo.raw
        snapshot = self._snapshot()
        info = self.connection.info
        taken = False

        def take_savepoint() -> None:
            nonlocal taken
            info.pop(WRITE_HOOK, None)
            raw.run("SAVEPOINT huiquan_attempt")
            taken = True

        info[WRITE_HOOK] = take_savepoint
        try:
            result = work(self)
        except BaseException:
            info.pop(WRITE_HOOK, None)
            if taken:
                # The newest savepoint of that name is this attempt's; earlier ones stay nested
                # (never released: a round trip each, and the commit ends them all).
                raw.run("ROLLBACK TO SAVEPOINT huiquan_attempt")
                raw.run("RELEASE SAVEPOINT huiquan_attempt")
            self._restore(snapshot)
            raise
        finally:
            info.pop(WRITE_HOOK, None)
        return result

    def _snapshot(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "head_hash": self.head_hash,
            "_deltas": {k: v[:] for k, v in self._deltas.items()},
            "_overlay": {k: v[:] for k, v in self._overlay.items()},
            "_entry_rows": self._entry_rows[:],
            "_posting_rows": self._posting_rows[:],
            "_idem_rows": self._idem_rows[:],
            "_rows": {sql: rows[:] for sql, rows in self._rows.items()},
            "_pending_keys": dict(self._pending_keys),
            "posted": dict(self.posted),
            "reversed_ids": set(self.reversed_ids),
            "_closed": set(self._closed),
            "_before_commit": self._before_commit[:],
            "_cache": dict(self._cache),
            "_memo": {name: dict(values) for name, values in self._memo.items()},
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        deltas = snapshot.pop("_deltas")
        for name, value in snapshot.items():
            setattr(self, name, value)
        self._deltas = defaultdict(lambda: [0, 0], deltas)

    def commit(self) -> None:
        """Run the before-commit callbacks, move the chain head, flush everything and commit
        (on PostgreSQL the COMMIT goes in the final flush's pipeline: one round trip)."""
        for callback in self._before_commit:
            callback(self)
        if self.sequence != self._start_sequence:
            # Queued last, so the final flush writes it after the rows (one round trip).
            self.queue_row(SET_HEAD, (self.sequence, self.head_hash))
        if self._conn is None:
            raise RuntimeError("the unit of work is not open")
        self._ending = True
        try:
            self.flush()
        finally:
            self._ending = False
        # On PostgreSQL the flush sent the COMMIT: the driver has no transaction open any more,
        # so this sends nothing (psycopg skips COMMIT when idle); on SQLite it commits.
        self._conn.commit()
        self.committed = True


class read_only:
    """A read transaction: a repository over a connection that is never committed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None

    def __enter__(self) -> SqlRepository:
        self._conn = self.engine.connect()
        return SqlRepository(self._conn)

    def __exit__(self, *exc: object) -> None:
        if self._conn is not None:
            self._conn.rollback()
            self._conn.close()
