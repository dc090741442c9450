"""The importer streams a file: memory does not grow with its length; still all or nothing.

A file is read, validated and posted row by row in one unit of work; a malformed row anywhere
stops the posting and the file is rejected with every malformed row, exactly as if it had been
validated whole before anything was posted.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

import ledger.importer as importer
from ledger.importer import ImportRejected, import_file
from ledger.storage.unit_of_work import read_only
from tests.builders import Books


@pytest.fixture
def books(engine):
    b = Books(engine)
    b.fund("LUHUO")
    b.donor(donor_id="D-1")
    return b


def _gifts(path: Path, count: int, *, extra: str = "") -> Path:
    rows = "".join(
        f"donation,2025-01-{1 + n % 28:02d},D-1,LUHUO,{1 + n % 90}.5\n" for n in range(count)
    )
    path.write_text("op,date,donor_id,fund,amount\n" + rows + extra, encoding="utf-8")
    return path


def _sequence(engine) -> int:
    with read_only(engine) as repo:
        return repo.head()[0]


def test_a_malformed_row_after_thousands_of_good_ones_posts_nothing(books, engine, tmp_path):
    path = _gifts(tmp_path / "g.csv", 2500, extra="donation,2025-13-01,D-1,LUHUO,1\n")
    before = _sequence(engine)
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, path)
    assert [str(p) for p in caught.value.problems] == [
        "line 2502: date '2025-13-01' is not a valid date"
    ]
    assert _sequence(engine) == before


def test_malformed_rows_are_reported_alone_even_after_a_refused_row(books, engine, tmp_path):
    # Validated whole first, this file is rejected for its malformed rows only: the refusal
    # (an unknown donor) before them is not reported, as it never was.
    path = _gifts(
        tmp_path / "g.csv",
        3,
        extra=(
            "donation,2025-01-05,D-404,LUHUO,1\n"
            "donation,2025-01-05,D-1,LUHUO,abc\n"
            "donation,2025-01-05,D-1,LUHUO,2\n"
            "refund,2025-01-05,D-1,LUHUO,2\n"
        ),
    )
    with pytest.raises(ImportRejected) as caught:
        import_file(engine, path)
    assert [p.line for p in caught.value.problems] == [6, 8]
    assert caught.value.total == 2
    assert _sequence(engine) == 0


def test_the_file_is_never_read_into_a_list(books, engine, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the importer must stream the file")

    monkeypatch.setattr(importer, "read_file", refuse)
    monkeypatch.setattr(importer, "parse_rows", refuse)
    result = import_file(engine, _gifts(tmp_path / "g.csv", 100))
    assert (result.rows, result.entries) == (100, 100)


def _peak_bytes(engine, path: Path) -> int:
    tracemalloc.start()
    try:
        import_file(engine, path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_importing_four_times_the_rows_does_not_take_four_times_the_memory(books, engine, tmp_path):
    _peak_bytes(engine, _gifts(tmp_path / "warm.csv", 500))  # caches, statements, chart
    small = _peak_bytes(engine, _gifts(tmp_path / "small.csv", 3000))
    large = _peak_bytes(engine, _gifts(tmp_path / "large.csv", 12000))
    # Kept per row, 9,000 more rows would cost well over 1 KiB each (a dict, a command, its
    # Money and its entry); streamed, the peak is that of a few batches, whatever the length.
    print(f"peak {small:,} bytes for 3,000 rows, {large:,} for 12,000")
    assert large < small + 9000 * 256, (small, large)
