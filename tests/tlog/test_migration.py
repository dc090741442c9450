"""Revision 0003 adds the `cosignatures` table with its append-only guards, on books already at
0002, and can run again over a table that is already there."""

from __future__ import annotations

import pytest
from sqlalchemy import exc, text

from ledger.storage.db import head_revision, migrate
from tests.conftest import engine_kind

BACK_TO_0002 = "UPDATE alembic_version SET version_num = '0002_postings_fund_account'"


def test_revision_0003_adds_an_append_only_cosignatures_table(engine):
    with engine.begin() as conn:
        if engine_kind() == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS cosignatures_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS cosignatures_no_delete")
        conn.exec_driver_sql("DROP TABLE cosignatures")
        conn.exec_driver_sql(
            "UPDATE alembic_version SET version_num = '0002_postings_fund_account'"
        )
    migrate(engine)
    migrate(engine)  # at head: nothing to do
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cosignatures (size, witness, key_id, cosigned_at, line, received_at) "
                "VALUES (1, 'w', '00000000', 0, 'l', 't')"
            )
        )
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
            head_revision()
        )
    for statement in ("UPDATE cosignatures SET line = 'x'", "DELETE FROM cosignatures"):
        with engine.connect() as conn, pytest.raises(exc.DBAPIError, match="append-only"):
            conn.execute(text(statement))
    # Again over the existing table (revision 0001 may create it from `tables` one day).
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE alembic_version SET version_num = '0002_postings_fund_account'"
        )
    migrate(engine)
