"""Engines and schema: where the books live, and how they are brought up to date.

Invariants owned here:
- The embedded default is SQLite at `$HUIQUAN_HOME/huiquan.db` (default `./var/huiquan.db`), in
  WAL mode with `synchronous=FULL`, foreign keys on and a 30 s busy timeout. Write transactions
  begin with `BEGIN IMMEDIATE`, so SQLite writers queue instead of failing mid-transaction.
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
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get("huiquan_write") else "DEFERRED"
    statement = f"BEGIN {mode}"
    try:
        conn.connection.driver_connection.execute(statement)
    except sqlite3.Error as err:  # e.g. locked past the busy timeout: raise it as SQLAlchemy's
        raise DBAPIError.instance(statement, (), err, sqlite3.Error) from err


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
