"""Engines and schema: where the books live, and how they are brought up to date.

Invariants owned here:
- The embedded default is SQLite at `$HUIQUAN_HOME/huiquan.db` (default `./var/huiquan.db`), in
  WAL mode with `synchronous=FULL`, foreign keys on, a 30 s busy timeout and `secure_delete`
  (a deleted row's bytes are zeroed). Write transactions begin with `BEGIN IMMEDIATE`, so
  SQLite writers queue instead of failing mid-transaction.
- PostgreSQL is used when `HUIQUAN_DATABASE_URL` is set (psycopg 3,
  `postgresql+psycopg://user@host/db`). Writers serialise on the chain-head row lock.
- The schema is created and upgraded by Alembic only (`migrate`); `init_books` also seeds the
  chart of accounts and the chain head, and is idempotent.
- Nothing here runs at import time.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from ledger.accounts import chart
from ledger.chain import GENESIS
from ledger.storage import tables

__all__ = [
    "checkpoint_wal",
    "database_url",
    "default_home",
    "init_books",
    "make_engine",
    "migrate",
    "seed",
]

MIGRATIONS = Path(__file__).parent.parent / "migrations"


def default_home() -> Path:
    """The folder of the embedded database and the signing keys (`$HUIQUAN_HOME`, or ./var)."""
    return Path(os.environ.get("HUIQUAN_HOME", "var")).resolve()


def database_url(url: str | None = None) -> str:
    """The database URL: the argument, `$HUIQUAN_DATABASE_URL`, or the embedded SQLite file."""
    if url:
        return url
    env = os.environ.get("HUIQUAN_DATABASE_URL")
    if env:
        return env
    return f"sqlite:///{default_home() / 'huiquan.db'}"


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event decide how a transaction starts (see `_sqlite_begin`).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # An erased contact's bytes are overwritten with zeros as its row is deleted, not left in
    # the page's free space (decision 0017); the books delete nothing else, so it costs little.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get("huiquan_write") else "DEFERRED"
    statement = f"BEGIN {mode}"
    try:
        conn.connection.driver_connection.execute(statement)
    except sqlite3.Error as err:  # e.g. locked past the busy timeout: raise it as SQLAlchemy's
        raise DBAPIError.instance(statement, (), err, sqlite3.Error) from err


def checkpoint_wal(engine: Engine) -> bool:
    """SQLite: copy the write-ahead log into the database file and empty it, without waiting
    for anyone; whether that was done (False: a reader or writer was busy, SQLite's own
    checkpoints will do it later). Erasure calls it so the erased rows' old pages leave the
    log at once (decision 0017). Nothing to do on PostgreSQL (True)."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute("PRAGMA busy_timeout=0")
        try:
            busy = raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            raw.execute("PRAGMA busy_timeout=30000")
    return int(busy) == 0


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine for `url` (or the configured default), with the pragmas described above."""
    resolved = make_url(database_url(url))
    if resolved.get_backend_name() == "sqlite":
        if resolved.database and resolved.database != ":memory:":
            Path(resolved.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(resolved, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(resolved, **kwargs)


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def head_revision() -> str:
    """The newest Alembic revision of the books' migrations."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:  # pragma: no cover - the migrations always have a head
        raise RuntimeError("the migrations have no head revision")
    return head


def seed(engine: Engine) -> None:
    """Seed the chart of accounts and the chain head where they are missing (idempotent)."""
    now = dt.datetime.now(dt.UTC).isoformat()
    with engine.begin() as conn:
        present = set(conn.scalars(select(tables.accounts.c.code)))
        rows = [
            {
                "code": a.code,
                "name_cn": a.name_cn,
                "name_us": a.name_us,
                "type": a.type.value,
                "normal_side": a.normal_side.value,
                "currency": a.currency,
                "is_open": True,
                "opened_at": now,
            }
            for a in chart()
            if a.code not in present
        ]
        if rows:
            conn.execute(insert(tables.accounts), rows)
        if conn.execute(select(tables.chain_head.c.id)).first() is None:
            conn.execute(insert(tables.chain_head).values(id=1, sequence=0, hash=GENESIS))


def init_books(engine: Engine) -> None:
    """Create or upgrade the schema and seed it: what `huiquan init` does."""
    migrate(engine)
    seed(engine)
