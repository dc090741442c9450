"""Fixtures for the backup tests: a home with its keys, age identities, and empty restore targets
(a new folder; on PostgreSQL also a new, empty database, dropped afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pyrage
import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from ledger.storage.unit_of_work import UnitOfWork
from ledger.tlog.keys import ensure_signing_key
from ledger.tlog.proofs import make_checkpoint
from tests.conftest import engine_kind


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with a pseudonym key, a signing key and one evidence file."""
    folder = tmp_path / "home"
    folder.mkdir()
    (folder / "pseudonym.key").write_bytes(bytes(range(32)))
    ensure_signing_key(folder)
    (folder / "evidence" / "2026").mkdir(parents=True)
    (folder / "evidence" / "2026" / "invoice-凭证.pdf").write_bytes(b"%PDF-1.4 evidence\n")
    return folder


@pytest.fixture(scope="session")
def identity() -> tuple[str, str]:
    """(age secret key, age recipient): opens archives without scrypt's seconds."""
    key = pyrage.x25519.Identity.generate()
    return str(key), str(key.to_public())


def checkpoint(engine: Engine, home: Path) -> None:
    """Sign a checkpoint of the journal as it stands."""
    with UnitOfWork(engine) as uow:
        make_checkpoint(uow.connection, ensure_signing_key(home))
        uow.commit()


@pytest.fixture(scope="session")
def restore_database(pg_url: str) -> Iterator[str]:
    """One database per worker that restores go into, emptied before each use (creating and
    dropping databases costs seconds on PostgreSQL)."""
    base = make_url(pg_url)
    name = f"{base.database}_restored"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    yield base.set(database=name).render_as_string(hide_password=False)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _empty(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture
def target(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], tuple[Path, str | None]]:
    """Make an empty restore target: (a home folder that does not exist yet, and on PostgreSQL
    the URL of an empty database, or None on SQLite). On PostgreSQL each call empties the one
    restore database again, so use one target at a time."""

    def make() -> tuple[Path, str | None]:
        folder = tmp_path / f"restored-{uuid.uuid4().hex[:8]}"
        if engine_kind() != "postgresql":
            return folder, None
        url: str = request.getfixturevalue("restore_database")
        _empty(url)
        return folder, url

    return make
