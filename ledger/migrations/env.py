"""Alembic environment: runs migrations on the connection handed over by
`ledger.storage.db.migrate`, or on `$HUIQUAN_DATABASE_URL` / the embedded default when run from
the alembic command line."""

from __future__ import annotations

from alembic import context

from ledger.storage import tables
from ledger.storage.db import make_engine

target_metadata = tables.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine()
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
