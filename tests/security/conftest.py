"""A database of our own, owned by an owner role of our own, and a service role granted on it.

Roles are cluster-wide and the server is shared by other test runs: every name carries the pid
and a random suffix, and everything is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from ledger.storage.db import init_books, make_engine
from ledger.storage.roles import grant_service_role
from tests.conftest import DEFAULT_PG


@dataclass(frozen=True)
class Cluster:
    owner_url: str
    service_url: str
    service: str
    owner: str
    admin_url: str  # the superuser, in our database


def admin_engine() -> Engine:
    return create_engine(
        os.environ.get("HUIQUAN_TEST_DATABASE_URL", DEFAULT_PG), isolation_level="AUTOCOMMIT"
    )


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    tag = f"{os.getpid()}_{uuid.uuid4().hex[:8]}"
    owner, service, database = f"hq_owner_{tag}", f"hq_service_{tag}", f"hq_roles_{tag}"
    admin = admin_engine()
    base = make_url(admin.url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {owner} LOGIN CREATEROLE")
        conn.exec_driver_sql(f"CREATE DATABASE {database} OWNER {owner}")
    owner_url = base.set(username=owner, database=database).render_as_string(False)
    service_url = base.set(username=service, database=database).render_as_string(False)
    owner_engine = make_engine(owner_url)
    try:
        init_books(owner_engine)
        assert grant_service_role(owner_engine, service) is True
        admin_url = base.set(database=database).render_as_string(False)
        yield Cluster(owner_url, service_url, service, owner, admin_url)
    finally:
        owner_engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {service}")
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {owner}")
        admin.dispose()


@pytest.fixture
def owner_engine(cluster: Cluster) -> Iterator[Engine]:
    engine = make_engine(cluster.owner_url)
    yield engine
    engine.dispose()


@pytest.fixture
def service_engine(cluster: Cluster) -> Iterator[Engine]:
    engine = make_engine(cluster.service_url)
    yield engine
    engine.dispose()


def unique(prefix: str) -> str:
    """A role name no other test run uses."""
    return f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"


@pytest.fixture
def fresh_role(cluster: Cluster) -> Iterator[str]:
    """The name of a role that does not exist yet; dropped after the test if it was created."""
    name = unique("hq_fresh")
    yield name
    admin = admin_engine()
    inside = create_engine(cluster.admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn, inside.connect() as there:
        if conn.exec_driver_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'").first():
            there.exec_driver_sql(f"DROP OWNED BY {name}")  # its grants in our database
            conn.exec_driver_sql(f"DROP ROLE {name}")
    inside.dispose()
    admin.dispose()
