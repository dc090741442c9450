"""The importer's bulk path: its shortcuts post exactly what the general path posts.

Plain CNY donations are parsed and posted by a leaner path (`ledger.importer._plain_donation`,
`_PlainDonations`, which builds its entries with `services.donation_entry`), and on SQLite a
bulk unit of work writes its batches in the background.
These tests hold both to the general path: same commands, same entries, same chain, same
errors, and a background failure still leaves nothing behind.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

import ledger.importer as importer
from ledger.chain import canonical_entry_bytes, chain_hash
from ledger.entries import EntryKind, JournalEntry, Posting
from ledger.errors import UnbalancedEntry
from ledger.importer import BulkUnitOfWork, ImportRejected, import_file, parse_rows, read_file
from ledger.integrity import verify_books
from ledger.storage import tables
from ledger.storage.db import head_revision, migrate
from ledger.storage.unit_of_work import read_only
from tests.builders import Books

ROWS = (
    "op,date,donor_id,fund,amount,currency,method,memo,key,label\n"
    "donation,2025-01-05,D-1,LUHUO,10000,,,年初捐赠,,\n"
    'donation, 2025-01-06 , D-1 ,JIN, 12.5 ,cny,cash,"he said ""谢谢""\\n",,first\n'
    "donation,2025-01-07,D-HK,LUHUO,0.01,CNY,online,,k-1,\n"
    "donation,2025-01-08,D-HK,JIN,7,,bank,,,\n"
)


@pytest.fixture
def books(engine):
    b = Books(engine)
    b.fund("LUHUO")
    b.fund("JIN", restricted=False)
    b.donor(donor_id="D-1")
    b.donor("香港同乡会", donor_id="D-HK", kind="organisation", language="zh-Hant")
    return b


def _general_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "_plain_donation", lambda line, row, labels: None)
    monkeypatch.setattr(importer._PlainDonations, "post", lambda self, *args: None)


def _journal(engine) -> list[tuple]:
    with read_only(engine) as repo:
        rows = []
        for head, lines in repo.iter_journal_raw():
            h = dict(zip([c.name for c in tables.journal_entries.columns], head, strict=True))
            lines = tuple((r[0], *r[2:]) for r in lines)  # all but the sequence number
            rows.append((h["kind"], h["occurred_on"], h["memo"], h["maker"], h["data"], lines))
        return rows


def test_the_plain_donation_shortcut_parses_like_the_general_rules(tmp_path, monkeypatch):
    odd = (
        "op,date,donor_id,fund,amount,currency,method,memo,key,label\n"
        "donation,2025-1-05,D-1,LUHUO,10,,,,,\n"
        "donation,2025-02-30,D-1,LUHUO,10,,,,,\n"
        "donation,2025-01-05,D-1,LUHUO,0,,,,,\n"
        "donation,2025-01-05,D-1,LUHUO,1.234,,,,,\n"
        "donation,2025-01-05,D-1,LUHUO,10000000000000,,,,,\n"
        "donation,2025-01-05,D-1,LUHUO,10,USD,,,,\n"
        "donation,2025-01-05,D-1,LUHUO,10,,cheque,,,\n"
        "donation,2025-01-05,D-1,LUHUO,10,,,,,first\n"
        "Donation,2025-01-05,D-1,LUHUO,10,,,,,\n"
        f"donation,2025-01-05,D-1,LUHUO,10,,,,{'k' * 201},\n"
    )
    path = tmp_path / "rows.csv"
    path.write_text(ROWS + odd.split("\n", 1)[1], encoding="utf-8")
    fast = parse_rows(read_file(path))
    _general_only(monkeypatch)
    slow = parse_rows(read_file(path))
    assert fast == slow
    assert len(fast[0]) == 5 and len(fast[1]) == 9


def test_plain_donations_post_the_entries_the_services_post(books, engine, tmp_path, monkeypatch):
    path = tmp_path / "gifts.csv"
    path.write_text(ROWS, encoding="utf-8")
    result = import_file(engine, path, maker="import")
    assert result.entries == 4
    fast = _journal(engine)
    with read_only(engine) as repo:
        assert verify_books(repo).ok
        for head, lines in repo.iter_journal_raw():
            entry = dict(zip([c.name for c in tables.journal_entries.columns], head, strict=True))
            canonical = canonical_entry_bytes(
                entry["id"],
                entry["sequence"],
                entry["kind"],
                entry["occurred_on"],
                entry["recorded_at"],
                entry["period"],
                entry["memo"],
                entry["maker"],
                entry["reverses"],
                entry["data"],
                [(r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11]) for r in lines],
            )
            assert chain_hash(entry["prev_hash"], canonical) == entry["hash"]

    other = tmp_path / "again.csv"
    other.write_text(ROWS.replace("k-1", "k-2"), encoding="utf-8")
    _general_only(monkeypatch)
    import_file(engine, other, maker="import")
    assert _journal(engine)[4:] == fast


MIXED = (
    "op,date,donor_id,fund,amount,currency,method,memo,key,label,entry_id,reason\n"
    "donation,2025-01-05,D-1,LUHUO,100,,,,,,,\n"
    "donation,2025-01-05,D-HK,JIN,2.5,,cash,第二笔,,,,\n"
    "donation,2025-01-06,D-1,LUHUO,30,,,,,gift,,\n"
    "donation,2025-01-06,D-HK,LUHUO,40,,online,,k-9,,,\n"
    "donation,2025-01-07,D-1,JIN,50,,,,,,,\n"
    "reversal,2025-01-08,,,,,,,,,@gift,wrong donor\n"
    "donation,2025-01-09,D-1,LUHUO,60,,,,,,,\n"
    "donation,2025-01-09,D-HK,JIN,70,,,,,,,\n"
    "donation,2025-01-10,D-1,LUHUO,80,,,,,again,,\n"
    "donation,2025-01-10,D-1,JIN,90.05,,,,,,,\n"
)


def _post_in_small_batches(engine, path: Path) -> None:
    commands, problems = parse_rows(read_file(path))
    assert not problems
    with BulkUnitOfWork(engine, flush_every=3) as uow:
        uow.cache._variables = 30  # two rows per INSERT on SQLite: statements split a batch
        replayed, refused = importer.post_commands(uow, commands)
        assert (replayed, refused) == (0, [])
        uow.commit()


def test_rows_queued_directly_and_through_entries_interleave_across_batches(
    books, engine, tmp_path, monkeypatch
):
    # Unlabelled plain gifts are queued as bare rows; labelled ones, keyed rows and the
    # reversal of a labelled gift go through entry objects. Both kinds share the batches.
    _post_in_small_batches(engine, _write(tmp_path / "mixed.csv", MIXED))
    fast = _journal(engine)
    assert len(fast) == 10
    with read_only(engine) as repo:
        assert verify_books(repo).ok  # chain, per-entry balance and the balances table

    _general_only(monkeypatch)
    _post_in_small_batches(engine, _write(tmp_path / "again.csv", MIXED.replace("k-9", "k-8")))
    again = _journal(engine)[10:]
    shift = '"reverses_sequence":3}', '"reverses_sequence":13}'  # the second file's gift
    assert fast[5][4].endswith(shift[0])
    assert again == [
        (*e[:4], e[4].replace(*shift), e[5]) if e[0] == "reversal" else e for e in fast
    ]
    with read_only(engine) as repo:
        assert verify_books(repo).ok


def test_values_inserts_split_rows_by_the_parameter_limit():
    rows = [(n, f"r{n}") for n in range(8)]

    class Table:
        name = "t"
        columns = [type("C", (), {"name": "a"}), type("C", (), {"name": "b"})]

    statements = list(importer._values_inserts([(Table, rows), (Table, [])], variables=11))
    assert [sql.count("(?, ?)") for sql, _ in statements] == [5, 2, 1]  # 5, 5 >> 1, 5 >> 2
    assert [p for _, params in statements for p in params] == [v for r in rows for v in r]


def test_a_refused_plain_donation_is_reported_as_the_service_reports_it(books, engine, tmp_path):
    path = tmp_path / "gifts.csv"
    path.write_text(
        ROWS + "donation,2025-01-09,D-404,LUHUO,10,,,,,\ndonation,2099-01-01,D-1,LUHUO,10,,,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, path)
    assert [str(p) for p in caught.value.problems] == [
        "line 6: donation: donor_id: no donor 'D-404'",
        "line 7: donation: date: 2099-01-01 is in the future",
    ]
    assert _journal(engine) == []


def test_a_failed_background_write_surfaces_and_nothing_is_committed(books, engine, tmp_path):
    commands, problems = parse_rows(read_file(_write(tmp_path / "g.csv", ROWS)))
    assert not problems
    with pytest.raises(Exception, match=r"UNIQUE|unique|duplicate"):
        with BulkUnitOfWork(engine) as uow:
            # A stray line for the next entry: its own postings then collide with it.
            uow.connection.execute(
                text(
                    "INSERT INTO postings (sequence, line, entry_id, occurred_on, account, fund, "
                    "amount, currency, functional, project, party, functional_class, ref) "
                    "VALUES (:s, 1, 'x', '2025-01-01', '1002-CNY', 'LUHUO', 1, 'CNY', 1, "
                    "'', '', '', '')"
                ),
                {"s": uow.sequence + 1},
            )
            importer.post_commands(uow, commands)
            uow.commit()
    assert _journal(engine) == []
    with read_only(engine) as repo:
        assert verify_books(repo).ok


def _write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def test_revision_0002_replaces_the_two_postings_indexes(engine):
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_postings_fund_account")
        conn.exec_driver_sql("CREATE INDEX ix_postings_fund_date ON postings (fund, occurred_on)")
        conn.exec_driver_sql(
            "CREATE INDEX ix_postings_account_fund ON postings (account, fund, currency, "
            "occurred_on)"
        )
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001_books'")
    migrate(engine)
    with engine.connect() as conn:
        names = set(
            conn.exec_driver_sql(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'postings'"
                if conn.dialect.name == "postgresql"
                else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'postings'"
            ).scalars()
        )
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert "ix_postings_fund_account" in names
    assert not names & {"ix_postings_fund_date", "ix_postings_account_fund"}
    assert version == head_revision()  # 0002 and every later revision ran


@pytest.mark.sqlite_only
def test_the_bulk_unit_of_work_gives_back_the_connection_as_it_found_it(engine):
    with engine.connect() as conn:
        before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    with BulkUnitOfWork(engine) as uow:
        inside = uow.connection.exec_driver_sql("PRAGMA cache_size").scalar()
    with engine.connect() as conn:
        after = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    assert inside == -importer.BULK_CACHE_KIB
    assert before == after != inside


def test_entries_posted_untracked_must_balance(books, engine):
    # The bulk path's `post_untracked` checks its entries as `post` does.
    with BulkUnitOfWork(engine) as uow:
        seq = uow.sequence + 1
        line = Posting("1002-CNY", "LUHUO", 100, "CNY", 100)
        other = Posting("4101-R", "JIN", -100, "CNY", -100)
        for bad in (other, Posting("1002-CNY", "LUHUO", -99, "CNY", -100)):
            entry = JournalEntry(EntryKind.DONATION, date(2025, 1, 5), (line, bad))
            with pytest.raises(UnbalancedEntry):
                uow.post_untracked(entry)
        assert uow.sequence == seq - 1
