"""An import file is read into rows or line-numbered problems, whatever its bytes; text with a
control character is a problem on its line (issue #13, "Trust")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger.importer import ImportRejected, Problem, import_file, read_file
from tests.builders import Books
from tests.integration.test_cli_support import head_sequence


@pytest.fixture
def books(engine: Engine) -> Books:
    b = Books(engine)
    b.fund("LUHUO")
    b.donor(donor_id="D-1")
    return b


def _rejected(books: Books, path: Path) -> list[str]:
    with pytest.raises(ImportRejected) as caught:
        import_file(books.engine, path)
    assert head_sequence(books.engine) == 0
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("memo", ["esc\x1bhere", "c1\x85here", "del\x7f", "cr\rhere"])
def test_a_csv_memo_with_a_control_character_is_a_problem_on_its_line(
    books: Books, tmp_path: Path, memo: str
) -> None:
    path = tmp_path / "ops.csv"
    path.write_text(
        "op,date,donor_id,fund,amount,memo\n"
        "donation,2025-01-05,D-1,LUHUO,100,fine\n"
        f'donation,2025-01-06,D-1,LUHUO,100,"{memo}"\n',
        encoding="utf-8",
        newline="",
    )
    problems = _rejected(books, path)
    # The csv module counts a CR inside quotes as a line of the file too.
    line = 3 + memo.count("\r")
    assert len(problems) == 1
    assert problems[0].startswith(f"line {line}: memo must not contain control characters")


def test_a_memo_over_several_lines_is_taken(books: Books, tmp_path: Path) -> None:
    path = tmp_path / "ops.csv"
    path.write_text(
        'op,date,donor_id,fund,amount,memo\ndonation,2025-01-05,D-1,LUHUO,100,"a\n\tb"\n',
        encoding="utf-8",
    )
    assert import_file(books.engine, path).entries == 1


def test_a_jsonl_name_with_an_escaped_control_character_is_a_problem(
    books: Books, tmp_path: Path
) -> None:
    path = tmp_path / "ops.jsonl"
    rows = [
        {
            "op": "donation",
            "date": "2025-01-05",
            "donor_id": "D-1",
            "fund": "LUHUO",
            "amount": "1",
            "memo": "ok",
        },
        {
            "op": "donation",
            "date": "2025-01-05",
            "donor_id": "D-1\n",
            "fund": "LU\u001bHUO",
            "amount": "1",
        },
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    problems = _rejected(books, path)
    assert problems == ["line 2: fund must not contain control characters (U+001B at character 3)"]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"op": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
        ('{"op": "donation", "amount": ' + "9" * 4301 + "}", "digits"),
    ],
)
def test_a_jsonl_line_python_cannot_parse_is_a_problem_on_its_line(
    tmp_path: Path, line: str, says: str
) -> None:
    path = tmp_path / "ops.jsonl"
    path.write_text('{"op": "donation"}\n' + line + "\n", encoding="utf-8")
    rows = read_file(path)
    problem = rows[1][1]
    assert isinstance(problem, Problem) and problem.line == 2 and says in problem.message


def test_a_csv_field_over_the_csv_modules_limit_is_a_problem_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "ops.csv"
    path.write_text('op,memo\ndonation,"' + "x" * 200_000 + '"\n', encoding="utf-8")
    rows = read_file(path)
    problem = rows[-1][1]
    assert isinstance(problem, Problem) and "not readable as CSV" in problem.message
