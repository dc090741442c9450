"""Hand-written SQL on the driver connection, for the hot write path.

Every API write runs a dozen short statements inside the books' single writer lock. Built as
SQLAlchemy Core expressions, each one costs about 100 µs of Python (building the expression,
its cache key, the execution context) for a few microseconds of work in SQLite; that, not the
database, bounded the ledger at under 300 writes a second. The statements here are plain SQL
strings in the dialect both engines share (`?` placeholders, rewritten to `%s` for psycopg),
run on the driver connection that the SQLAlchemy `Connection` holds, so they stay inside its
transaction (begun first if it was not yet). psycopg prepares a statement on the server after
a few executions.

Invariants owned here:
- Only statements whose text is valid on SQLite and PostgreSQL alike go through `run`.
- Values are always bound as parameters, never formatted into the text.
- Results are plain driver tuples; callers convert (SQLite hands booleans back as 0/1).
- Driver errors are raised as SQLAlchemy's (`IntegrityError`, ...), as from `Connection.execute`.
- On PostgreSQL, `many` sends the rows of a plain `INSERT INTO t (columns) VALUES (?, ...)` as
  one statement (`json_populate_recordset` over the rows as one JSON parameter, typed by the
  table's own row type) instead of one statement per row: the same rows, triggers and errors,
  for one statement's cost in psycopg and the server. Anything else (an upsert, a value JSON
  cannot carry exactly) goes through `executemany`.
- Before any statement that is not a plain `SELECT`, the connection's write hook runs if one
  is set (`WRITE_HOOK` in `Connection.info`; SQLAlchemy's own statements get the same check
  from `ledger.storage.unit_of_work`): that is how `UnitOfWork.attempt` takes its savepoint
  only when an operation first writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

__all__ = ["WRITE_HOOK", "Raw", "is_read"]

WRITE_HOOK = "huiquan_before_write"


def is_read(sql: str) -> bool:
    """Whether a statement only reads (a plain SELECT); anything else counts as a write."""
    return sql.lstrip()[:6].upper() == "SELECT"


_PSYCOPG: dict[str, str] = {}
#: A plain multi-column INSERT of one row of `?` placeholders, nothing after it.
_PLAIN_INSERT = re.compile(r"INSERT INTO (\w+) \(([\w, \"]+)\) VALUES \((\?(?:, \?)*)\)")
#: sql -> (set-based statement, column names), or None where `many` must use executemany.
_SET_INSERTS: dict[str, tuple[str, tuple[str, ...]] | None] = {}
#: Value types a JSON document carries exactly and PostgreSQL reads back by the column's type.
_JSON_EXACT = (str, int, bool, type(None))


def _set_insert(sql: str) -> tuple[str, tuple[str, ...]] | None:
    """The one-statement form of a plain INSERT (PostgreSQL), or None (cached)."""
    if sql in _SET_INSERTS:
        return _SET_INSERTS[sql]
    found = _PLAIN_INSERT.fullmatch(sql.strip())
    shape: tuple[str, tuple[str, ...]] | None = None
    if found:
        table, listed = found.group(1), found.group(2)
        columns = tuple(c.strip().strip('"') for c in listed.split(","))
        if len(columns) == found.group(3).count("?"):
            shape = (
                f"INSERT INTO {table} ({listed}) SELECT {listed} "
                f"FROM json_populate_recordset(NULL::{table}, %s)",
                columns,
            )
    _SET_INSERTS[sql] = shape
    return shape


class Raw:
    """The driver connection behind `conn`, with statement text adapted to its paramstyle."""

    __slots__ = ("_error", "_info", "driver", "postgresql", "qmark")

    def __init__(self, conn: Connection) -> None:
        if not conn.in_transaction():
            # What SQLAlchemy's autobegin would do on its first statement (on SQLite our
            # "begin" hook issues BEGIN): the driver runs in autocommit mode, so a statement
            # sent before any SQLAlchemy one would otherwise run in no transaction at all.
            conn.begin()
        self.driver: Any = conn.connection.driver_connection
        self.qmark = conn.dialect.paramstyle == "qmark"
        self.postgresql = conn.dialect.name == "postgresql"
        self._error: type[Exception] = conn.dialect.loaded_dbapi.Error
        self._info: dict[Any, Any] = conn.info

    def _text(self, sql: str) -> str:
        if self.qmark:
            return sql
        text = _PSYCOPG.get(sql)
        if text is None:
            text = _PSYCOPG[sql] = sql.replace("?", "%s")
        return text

    def run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Execute one statement; the driver's cursor (fetchone/fetchall/rowcount)."""
        hook = self._info.get(WRITE_HOOK)
        if hook is not None and not sql.startswith("SELECT"):
            hook()
        try:
            return self.driver.execute(self._text(sql), params)
        except self._error as err:
            raise DBAPIError.instance(sql, params, err, self._error) from err

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, or None."""
        row: tuple[Any, ...] | None = self.run(sql, params).fetchone()
        return row

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """Send the statements run inside without waiting for each result (PostgreSQL).

        psycopg's pipeline mode: the writes of a flush reach the server in one round trip
        instead of one per statement; a failure is raised, as SQLAlchemy's, by the end of the
        block at the latest. On SQLite, which has no round trips, it does nothing.
        """
        if not self.postgresql:
            yield
            return
        try:
            with self.driver.pipeline():
                yield
        except self._error as err:
            raise DBAPIError.instance("(pipeline)", (), err, self._error) from err

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Execute one statement for each parameter row (a plain INSERT on PostgreSQL: once
        for all the rows, in their order)."""
        if not rows:
            return
        hook = self._info.get(WRITE_HOOK)
        if hook is not None:
            hook()
        if self.postgresql and len(rows) > 1:
            shape = _set_insert(sql)
            if shape is not None and all(type(v) in _JSON_EXACT for row in rows for v in row):
                statement, columns = shape
                document = json.dumps([dict(zip(columns, row, strict=True)) for row in rows])
                try:
                    self.driver.execute(statement, (document,), prepare=True)
                except self._error as err:
                    raise DBAPIError.instance(sql, rows, err, self._error, ismulti=True) from err
                return
        cursor = self.driver.cursor()
        try:
            cursor.executemany(self._text(sql), rows)
        except self._error as err:
            raise DBAPIError.instance(sql, rows, err, self._error, ismulti=True) from err
        finally:
            cursor.close()
