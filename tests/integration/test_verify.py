"""`verify_books` finds rows changed behind the triggers' back and names the first bad one."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from ledger.integrity import verify_books
from ledger.storage.unit_of_work import read_only
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


TAMPERINGS = {
    "amount": (
        "UPDATE postings SET amount = amount + 100, functional = functional + 100 "
        "WHERE sequence = 5 AND line = 1",
    ),
    "rehashed memo": (
        "UPDATE journal_entries SET memo = 'x', hash = '" + "f" * 64 + "' WHERE sequence = 3",
    ),
    "deleted middle": (
        "DELETE FROM postings WHERE sequence = 4",
        "DELETE FROM journal_entries WHERE sequence = 4",
    ),
    "orphan posting": (
        "INSERT INTO postings SELECT 99, line, entry_id, occurred_on, account, fund, amount, "
        "currency, functional, project, party, functional_class, ref FROM postings "
        "WHERE sequence = 2",
    ),
}


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_the_parallel_scan_reports_exactly_what_the_serial_one_does(books, monkeypatch, tampering):
    import ledger.integrity

    behind_the_triggers(books, *TAMPERINGS[tampering])
    with read_only(books) as repo:
        serial = verify_books(repo, workers=0)
    assert serial.workers == 0 and not serial.ok

    # Ranges of two sequence numbers, a worker forced in at any size, and this process slowed
    # down so that the worker (a fresh interpreter) gets ranges to scan before it is done.
    real = ledger.integrity.scan_range

    def slow(*args, **kwargs):
        import time

        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(ledger.integrity, "scan_range", slow)
    with read_only(books) as repo:
        parallel = verify_books(repo, workers=1, parallel_threshold=0, chunk_entries=2)
    assert parallel.findings == serial.findings
    assert parallel.first_bad_sequence == serial.first_bad_sequence
    assert (parallel.entries, parallel.postings) == (serial.entries, serial.postings)
    assert (parallel.head_sequence, parallel.head_hash) == (serial.head_sequence, serial.head_hash)
    assert parallel.merkle_root == serial.merkle_root
    assert parallel.workers == (1 if engine_kind() == "sqlite" else 0)


@pytest.mark.parametrize("chunk", [1, 2, 4, 8, 16])
def test_the_merkle_root_and_findings_do_not_depend_on_the_ranges(books, chunk):
    behind_the_triggers(books, *TAMPERINGS["rehashed memo"])
    with read_only(books) as repo:
        whole = verify_books(repo, workers=0)
        ranged = verify_books(repo, workers=0, chunk_entries=chunk)
    assert ranged.findings == whole.findings and ranged.merkle_root == whole.merkle_root
