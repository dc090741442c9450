"""Shared fixtures: a fresh, migrated and seeded database per test, on SQLite or PostgreSQL.

The engine is chosen by `HUIQUAN_TEST_DB` (`sqlite`, the default, or `postgresql`, which uses
`HUIQUAN_TEST_DATABASE_URL`, default `postgresql+psycopg://postgres@127.0.0.1:5432/test`).
On PostgreSQL each xdist worker gets its own database, migrated once; between tests every table
is emptied with triggers suspended (`session_replication_role = replica`, a superuser-only switch
that the service never uses) and the chart is seeded again.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ledger import services
from ledger.storage import tables
from ledger.storage.db import init_books, make_engine, seed
from ledger.storage.fastsql import Raw
from ledger.storage.unit_of_work import UnitOfWork
from tests import hypothesis_profiles

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def engine_kind() -> str:
    return os.environ.get("HUIQUAN_TEST_DB", "sqlite")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    base = make_url(os.environ.get("HUIQUAN_TEST_DATABASE_URL", DEFAULT_PG))
    # Per worker and per run: two test runs on one machine must not drop each other's database.
    name = f"{base.database}_{_worker()}_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    init_books(engine)
    engine.dispose()
    yield url
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "books.db"
    engine = make_engine(f"sqlite:///{path}")
    init_books(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def _reset_pg(engine: Engine) -> None:
    names = ", ".join(t.name for t in tables.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        # A connection an earlier test left open in a transaction would block TRUNCATE for
        # ever: fail this test's set-up loudly instead of hanging the run.
        conn.exec_driver_sql("SET LOCAL lock_timeout = '120s'")
        conn.exec_driver_sql(f"TRUNCATE {names}")
    seed(engine)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated and seeded database for this test."""
    if engine_kind() == "postgresql":
        url: str = request.getfixturevalue("pg_url")
        engine = make_engine(url)
        _reset_pg(engine)
        engine.dispose()
        yield url
        return
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "books.db"
    shutil.copyfile(template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def opened(engine: Engine) -> Engine:
    """The test's books with fund F (unrestricted) and one donor."""
    init_books(engine)
    with UnitOfWork(engine) as uow:
        services.open_fund(uow, code="F", name="Fund", restricted=False)
        services.register_donor(uow, name="Donor")
        uow.commit()
    return engine


@pytest.fixture
def uow(engine: Engine) -> Iterator[UnitOfWork]:
    """An open writing unit of work (the test commits when it wants to)."""
    with UnitOfWork(engine) as unit:
        yield unit


def pytest_configure(config: pytest.Config) -> None:
    hypothesis_profiles.load()  # `dev`, or `ci` under `make test` (tests/hypothesis_profiles.py)


def pytest_report_header(config: pytest.Config) -> str:
    scale = hypothesis_profiles.SCALE
    return (
        f"hypothesis profile: {hypothesis_profiles.PROFILE} (state machine "
        f"{scale.machine_examples} x {scale.machine_steps} = {scale.machine_total_steps} steps)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Engine-only tests are deselected (not skipped) in the other engine's pass: PostgreSQL-only
    # ones run in the PostgreSQL pass, SQLite-only ones (pragmas, files) in the SQLite pass.
    other = "sqlite_only" if engine_kind() == "postgresql" else "postgres_only"
    deselected = [item for item in items if other in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if other not in item.keywords]


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The text of every statement sent through `Raw.run` from now on."""
    seen: list[str] = []
    original = Raw.run

    def spy(self: Raw, sql: str, params: Any = ()) -> Any:
        seen.append(sql)
        return original(self, sql, params)

    monkeypatch.setattr(Raw, "run", spy)
    return seen
