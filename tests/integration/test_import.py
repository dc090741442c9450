"""`huiquan import`: a file of operations is posted whole, or refused whole with line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.importer import ImportRejected, import_file
from ledger.integrity import verify_books
from ledger.storage.unit_of_work import read_only
from tests.builders import Books
from tests.integration.test_cli_support import head_sequence, huiquan, one_error_line


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def books(engine):
    b = Books(engine)
    b.fund("LUHUO")
    b.fund("JIN", restricted=False)
    b.project("CLINIC")
    b.donor(donor_id="D-1")
    b.donor("香港同乡会", donor_id="D-HK", kind="organisation", language="zh-Hant")
    b.girl = b.beneficiary()
    return b


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def every_operation_csv(girl: str) -> str:
    return (
        "op,date,donor_id,fund,amount,currency,fx_rate,fx_source,project,beneficiary_id,term,"
        "award_id,pledge_id,from_fund,to_fund,reason,entry_id,label,key,memo\n"
        "donation,2025-01-05,D-1,LUHUO,10000,,,,,,,,,,,,,,,年初捐赠\n"
        "donation,2025-01-06,D-HK,LUHUO,5000,HKD,0.9215,中国人民银行中间价,,,,,,,,,,,,\n"
        "pledge,2025-01-07,D-1,JIN,3000,,,,,,,,,,,,,p1,,\n"
        "donation,2025-02-07,D-1,JIN,1000,,,,,,,,@p1,,,,,,,认捐第1期\n"
        "disbursement,2025-02-10,,LUHUO,2500,,,,CLINIC,,,,,,,,,,,\n"
        f"award,2025-02-11,,LUHUO,1900,,,,,{girl},2025春,,,,,,,a1,,\n"
        "payout,2025-02-20,,,950,,,,,,,@a1,,,,,,,,\n"
        "fee,2025-02-28,,LUHUO,12.50,,,,,,,,,,,,,fee,,记错基金\n"
        "transfer,2025-03-01,,,500,,,,,,,,,JIN,LUHUO,理事会决议,,,,\n"
        "reversal,2025-03-02,,,,,,,,,,,,,,费用记错基金,@fee,,,\n"
    )


def test_a_good_file_posts_every_operation_and_the_books_verify(
    database_url, home, books, tmp_path
):
    path = write(tmp_path / "ops.csv", every_operation_csv(books.girl))
    result = huiquan(database_url, home, "import", str(path))
    assert result.exit_code == 0, result.output
    assert "posted 10 entries from 10 rows" in result.stdout
    assert head_sequence(books.engine) == 10
    with read_only(books.engine) as repo:
        assert verify_books(repo).ok


def test_a_file_with_one_bad_line_posts_nothing_and_names_that_line(
    database_url, home, books, tmp_path
):
    path = write(
        tmp_path / "ops.csv",
        "op,date,donor_id,fund,amount\n"
        "donation,2025-01-05,D-1,LUHUO,100\n"
        "donation,2025-01-06,D-1,LUHUO,12.345\n"
        "donation,2025-01-07,D-1,LUHUO,100\n",
    )
    result = huiquan(database_url, home, "import", str(path))
    assert one_error_line(result) == (
        "error: file rejected: 1 problem(s) on 1 line(s); nothing was posted"
    )
    assert "line 3: amount: CNY has 2 decimal places; '12.345' has 3" in result.stderr
    assert head_sequence(books.engine) == 0


def test_every_malformed_line_is_reported_in_one_run(database_url, home, books, tmp_path):
    path = write(
        tmp_path / "ops.jsonl",
        '{"op": "donation", "date": "2025-01-05", "donor_id": "D-1", "fund": "LUHUO", '
        '"amount": 100}\n'
        "\n"
        '{"op": "gift"}\n'
        "not json\n"
        '{"op": "donation", "date": "2025-02-30", "donor_id": "D-1", "fund": "LUHUO", '
        '"amount": "1"}\n'
        '{"op": "payout", "date": "2025-01-05", "award_id": "@nobody", "amount": "1"}\n'
        '{"op": "fee", "fund": "LUHUO", "amount": "1"}\n',
    )
    result = huiquan(database_url, home, "import", str(path))
    one_error_line(result)
    problems = [line for line in result.stderr.splitlines() if line.startswith("line ")]
    assert [p.split(":")[0] for p in problems] == [
        "line 1",
        "line 3",
        "line 4",
        "line 5",
        "line 6",
        "line 7",
    ]
    assert "not a JSON number" in problems[0]
    assert "op must be one of" in problems[1]
    assert "@nobody is not the label of an earlier row" in problems[4]
    assert "fee needs date" in problems[5]
    assert head_sequence(books.engine) == 0


def test_a_ledger_refusal_rejects_the_whole_file_with_its_line(database_url, home, books, tmp_path):
    path = write(
        tmp_path / "ops.csv",
        "op,date,donor_id,fund,project,amount\n"
        "donation,2025-01-05,D-1,LUHUO,,100\n"
        "disbursement,2025-01-06,,LUHUO,CLINIC,60\n"
        "disbursement,2025-01-07,,LUHUO,CLINIC,60\n"
        "donation,2025-01-08,D-404,LUHUO,,100\n",
    )
    result = huiquan(database_url, home, "import", str(path))
    assert "nothing was posted" in one_error_line(result)
    assert "line 4: disbursement: amount: fund LUHUO holds 40.00 CNY" in result.stderr
    assert "line 5: donation: donor_id: no donor 'D-404'" in result.stderr
    assert head_sequence(books.engine) == 0


def test_reimporting_a_file_with_idempotency_keys_posts_nothing_twice(
    database_url, home, books, tmp_path
):
    path = write(
        tmp_path / "ops.csv",
        "op,key,date,donor_id,fund,amount\n"
        + "".join(f"donation,bank-2025-{n},2025-01-0{n},D-1,LUHUO,{n}00\n" for n in range(1, 6)),
    )
    first = huiquan(database_url, home, "import", str(path))
    assert "posted 5 entries from 5 rows" in first.stdout
    second = huiquan(database_url, home, "import", str(path))
    assert second.exit_code == 0, second.output
    assert "posted 0 entries from 5 rows; 5 rows were already posted" in second.stdout
    assert head_sequence(books.engine) == 5


def test_a_reused_key_with_other_content_is_refused(database_url, home, books, tmp_path):
    first = write(
        tmp_path / "a.csv",
        "op,key,date,donor_id,fund,amount\ndonation,k1,2025-01-01,D-1,LUHUO,100\n",
    )
    assert huiquan(database_url, home, "import", str(first)).exit_code == 0
    other = write(
        tmp_path / "b.csv",
        "op,key,date,donor_id,fund,amount\ndonation,k1,2025-01-01,D-1,LUHUO,999\n",
    )
    result = huiquan(database_url, home, "import", str(other))
    assert "already used for a different request" in result.stderr
    assert head_sequence(books.engine) == 1


def test_a_dry_run_posts_nothing(database_url, home, books, tmp_path):
    path = write(tmp_path / "ops.csv", every_operation_csv(books.girl))
    result = huiquan(database_url, home, "import", "--dry-run", str(path))
    assert result.exit_code == 0, result.output
    assert "would post 10 entries" in result.stdout
    assert head_sequence(books.engine) == 0


def test_the_importer_api_raises_with_every_problem(books, tmp_path):
    path = write(tmp_path / "ops.jsonl", json.dumps({"op": "donation"}) + "\n")
    with pytest.raises(ImportRejected) as caught:
        import_file(books.engine, path)
    assert str(caught.value.problems[0]) == "line 1: donation needs date, donor_id, fund, amount"


def test_an_unknown_csv_column_is_reported_on_the_header_line(database_url, home, books, tmp_path):
    path = write(tmp_path / "ops.csv", "op,date,amount,colour\n")
    result = huiquan(database_url, home, "import", str(path))
    assert "line 1: unknown column(s) in the header: colour" in result.stderr


def test_a_jsonl_file_pays_a_pledge_it_records_with_a_progress_bar(
    database_url, home, books, tmp_path
):
    lines = [
        {
            "op": "pledge",
            "date": "2025-01-07",
            "donor_id": "D-1",
            "fund": "LUHUO",
            "amount": "3000",
            "label": "p",
        },
        {
            "op": "donation",
            "date": "2025-02-07",
            "donor_id": "D-1",
            "fund": "LUHUO",
            "amount": "1000",
            "pledge_id": "@p",
            "key": "bank-0207",
        },
        {
            "op": "donation",
            "date": "2025-03-07",
            "donor_id": "D-1",
            "fund": "LUHUO",
            "amount": "2500",
            "pledge_id": "@p",
        },
    ]
    path = write(tmp_path / "ops.ndjson", "".join(json.dumps(x) + "\n" for x in lines))
    result = huiquan(database_url, home, "import", "--progress", str(path))
    assert result.exit_code == 1
    assert "line 3: donation: amount: pledge" in result.stderr
    assert "would be paid beyond its amount" in result.stderr
    assert head_sequence(books.engine) == 0

    lines[2]["amount"] = "2000"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    result = huiquan(database_url, home, "import", "--progress", "--format", "jsonl", str(path))
    assert result.exit_code == 0, result.output
    assert "posted 3 entries from 3 rows" in result.stdout
    balance = huiquan(
        database_url, home, "balance", "--fund", "LUHUO", "--account", "1122", "--format", "json"
    )
    assert json.loads(balance.stdout)["total"]["CNY"] == "0.00"
