"""`verify_books` finds rows changed behind the triggers' back and names the first bad one."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.integrity import verify_books
from ledger.unit_of_work import read_only
from tests.builders import Books
from tests.conftest import engine_kind


@pytest.fixture
def books(engine):
    b = Books(engine)
    b.fund("LUHUO")
    b.project("CLINIC")
    donor = b.donor()
    for n in range(1, 9):
        b.donate(f"{n}00", donor=donor)
    return engine


def behind_the_triggers(engine, *statements: str) -> None:
    """Change rows the way an attacker with database access would: triggers off."""
    with engine.begin() as conn:
        if engine_kind() == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            for name in (
                conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
                .scalars()
                .all()
            ):
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        for statement in statements:
            conn.exec_driver_sql(statement)


def report(engine):
    with read_only(engine) as repo:
        return verify_books(repo)


def test_an_amount_changed_behind_the_triggers_is_found_at_its_sequence(books):
    behind_the_triggers(
        books,
        "UPDATE postings SET amount = amount + 100, functional = functional + 100 "
        "WHERE sequence = 5 AND line = 1",
        "UPDATE postings SET amount = amount - 100, functional = functional - 100 "
        "WHERE sequence = 5 AND line = 2",
    )
    found = report(books)
    assert not found.ok
    assert found.first_bad_sequence == 5
    assert any(f.check == "hash" and f.sequence == 5 for f in found.findings)
    assert any(f.check == "balances" for f in found.findings)


def test_a_memo_rewritten_and_rehashed_breaks_the_chain_after_it(books):
    with books.connect() as conn:
        h = conn.execute(text("SELECT hash FROM journal_entries WHERE sequence = 3")).scalar_one()
    forged = "f" * 64
    behind_the_triggers(
        books,
        f"UPDATE journal_entries SET memo = 'x', hash = '{forged}' WHERE sequence = 3",
    )
    found = report(books)
    assert found.first_bad_sequence == 3
    assert any(f.check == "chain" and f.sequence == 4 for f in found.findings), h


def test_a_deleted_tail_is_found(books):
    behind_the_triggers(
        books,
        "DELETE FROM postings WHERE sequence > 6",
        "DELETE FROM journal_entries WHERE sequence > 6",
    )
    found = report(books)
    assert any(f.check == "head" for f in found.findings)
    assert found.first_bad_sequence == 7


def test_a_deleted_middle_entry_is_a_gap(books):
    behind_the_triggers(
        books,
        "DELETE FROM postings WHERE sequence = 4",
        "DELETE FROM journal_entries WHERE sequence = 4",
    )
    found = report(books)
    assert found.first_bad_sequence == 5
    assert any(f.check == "gap" for f in found.findings)


def test_a_balance_row_out_of_step_with_the_journal_is_found(books):
    with books.begin() as conn:
        conn.execute(text("UPDATE balances SET amount = amount + 1 WHERE account = '1002-CNY'"))
    found = report(books)
    assert [f.check for f in found.findings] == ["balances"]


def test_honest_books_verify_and_the_merkle_root_is_stable(books):
    first, second = report(books), report(books)
    assert first.ok and second.ok
    assert first.merkle_root == second.merkle_root and first.entries == 8
