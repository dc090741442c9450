"""Fixtures for the transparency-log tests: books with entries, keys in a home of their own,
and tampering the way an attacker with database access would (triggers off)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.chain import GENESIS, chain_hash, leaf_hash_hex
from ledger.storage.tables import cosignatures
from ledger.tlog.journal import iter_entry_objects
from ledger.tlog.keys import ensure_signing_key
from ledger.tlog.proofs import make_checkpoint
from tests.builders import Books
from tests.conftest import engine_kind


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


@pytest.fixture
def key(home):
    return ensure_signing_key(home)


@pytest.fixture
def books(engine):
    """Eight gifts posted; the test's engine with fund LUHUO."""
    b = Books(engine)
    b.fund("LUHUO")
    b.donor_id = b.donor()
    for n in range(1, 9):
        b.donate(f"{n}00", donor=b.donor_id)
    # `_reset_pg` empties the tables it knows; this one is not in `tables.metadata` yet.
    if engine_kind() == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.execute(cosignatures.delete())
    return b


def checkpoint(engine, key):
    with engine.begin() as conn:
        return make_checkpoint(conn, key)


def behind_the_triggers(engine, work) -> None:
    """Run `work(conn)` with the append-only guards off, as someone with database access can."""
    with engine.begin() as conn:
        if engine_kind() == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            names = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            for name in names.scalars().all():
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        work(conn)


def rehash_everything(conn) -> None:
    """Recompute every entry's chain hash and leaf hash from its content, and the chain head."""
    prev = GENESIS
    for head, _obj, canonical in iter_entry_objects(conn):
        h, leaf = chain_hash(prev, canonical), leaf_hash_hex(canonical)
        if (head.prev_hash, head.hash, head.leaf_hash) != (prev, h, leaf):
            conn.execute(
                text(
                    "UPDATE journal_entries SET prev_hash = :p, hash = :h, leaf_hash = :l "
                    "WHERE sequence = :s"
                ),
                {"p": prev, "h": h, "l": leaf, "s": head.sequence},
            )
        prev = h
    conn.execute(text("UPDATE chain_head SET hash = :h WHERE id = 1"), {"h": prev})


def rewrite_memo(engine, sequence: int, memo: str = "rewritten") -> None:
    def work(conn):
        conn.execute(
            text("UPDATE journal_entries SET memo = :m WHERE sequence = :s"),
            {"m": memo, "s": sequence},
        )
        rehash_everything(conn)

    behind_the_triggers(engine, work)


def delete_tail(engine, keep: int) -> None:
    def work(conn):
        conn.execute(text("DELETE FROM postings WHERE sequence > :k"), {"k": keep})
        conn.execute(text("DELETE FROM journal_entries WHERE sequence > :k"), {"k": keep})
        last = conn.execute(
            text("SELECT hash FROM journal_entries WHERE sequence = :k"), {"k": keep}
        ).scalar_one()
        conn.execute(
            text("UPDATE chain_head SET sequence = :k, hash = :h WHERE id = 1"),
            {"k": keep, "h": last},
        )
        conn.execute(text("DELETE FROM balances"))  # derived state, made to agree
        conn.execute(
            text(
                "INSERT INTO balances (account, fund, currency, project, ref, amount, functional) "
                "SELECT account, fund, currency, project, ref, SUM(amount), SUM(functional) "
                "FROM postings GROUP BY account, fund, currency, project, ref"
            )
        )

    behind_the_triggers(engine, work)
