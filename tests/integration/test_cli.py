"""The `huiquan` commands on a real database: init, balances, periods, tokens, serve, errors."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cli import serve as cli_module
from ledger.storage.db import make_engine
from tests.builders import Books, cny
from tests.integration.test_cli_support import huiquan, one_error_line


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def books(engine):
    b = Books(engine)
    b.fund("LUHUO")
    b.project("CLINIC")
    return b


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- init -------------------------------------------------------------------------------------
def test_init_twice_creates_then_keeps_the_schema_chart_and_pseudonym_key(tmp_path, home):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = huiquan(url, home, "init")
    assert first.exit_code == 0, first.output
    assert "schema: created to revision" in first.stdout
    assert "pseudonym key: created" in first.stdout
    key = home / "pseudonym.key"
    secret = key.read_bytes()
    assert len(secret) == 32
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    second = huiquan(url, home, "init")
    assert second.exit_code == 0, second.output
    assert "schema: already at revision" in second.stdout
    assert "(0 added)" in second.stdout
    assert "pseudonym key: kept" in second.stdout
    assert key.read_bytes() == secret


def test_init_on_the_test_database_is_idempotent(database_url, home):
    result = huiquan(database_url, home, "init")
    assert result.exit_code == 0, result.output
    assert "already at revision" in result.stdout
    assert "(0 added)" in result.stdout


# -- balances ---------------------------------------------------------------------------------
def test_balance_as_of_a_date_sums_only_the_postings_up_to_that_day(
    database_url, home, books, tmp_path
):
    donor = books.donor()
    books.donate("1000", donor=donor, on=books_day("2024-03-01"))
    books.donate("500", donor=donor, on=books_day("2024-06-01"))
    books.disburse("200", on=books_day("2024-07-01"))

    def cash(*extra: str) -> dict:
        result = huiquan(
            database_url,
            home,
            "balance",
            "--fund",
            "LUHUO",
            "--account",
            "1002-CNY",
            "--format",
            "json",
            *extra,
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)["total"]

    assert cash("--as-of", "2024-02-29") == {}
    assert cash("--as-of", "2024-04-30") == {"CNY": "1000.00", "CNY-value": "1000.00"}
    assert cash("--as-of", "2024-06-30")["CNY"] == "1500.00"
    assert cash()["CNY"] == "1300.00"


def books_day(text: str):
    import datetime as dt

    return dt.date.fromisoformat(text)


def test_balance_of_a_fund_shows_its_summary_and_a_table(database_url, home, books):
    books.donate("880.50", donor=books.donor())
    result = huiquan(database_url, home, "balance", "--fund", "LUHUO")
    assert result.exit_code == 0, result.output
    assert "1002-CNY" in result.stdout
    assert "880.50 Dr" in result.stdout
    assert "fund LUHUO: cash 880.50 CNY; raised 880.50 CNY" in result.stdout


def test_trial_balance_csv_has_a_totals_row_whose_debits_equal_its_credits(
    database_url, home, books
):
    books.donate("1200", donor=books.donor())
    books.disburse("300")
    result = huiquan(database_url, home, "trial-balance", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "account,name_cn,name_us,debit,credit"
    total = lines[-1].split(",")
    assert total[0] == "TOTAL"
    assert total[3] == total[4] == "1500.00"


def test_trial_balance_json_amounts_are_decimal_strings(database_url, home, books):
    books.donate("99.99", donor=books.donor())
    result = huiquan(database_url, home, "trial-balance", "--format", "json")
    data = json.loads(result.stdout)
    assert data["balanced"] is True
    assert data["total_debit"] == data["total_credit"] == "99.99"
    assert all(isinstance(r["debit"], str) for r in data["rows"])


# -- periods ----------------------------------------------------------------------------------
def test_after_closing_a_month_a_donation_dated_inside_it_is_refused(
    database_url, home, books, tmp_path
):
    donor = books.donor()
    closed = huiquan(database_url, home, "close-period", "2024-05")
    assert closed.exit_code == 0, closed.output
    assert "closed period 2024-05" in closed.stdout

    inside = write(
        tmp_path / "may.csv",
        f"op,date,donor_id,fund,amount\ndonation,2024-05-10,{donor},LUHUO,100\n",
    )
    refused = huiquan(database_url, home, "import", str(inside))
    error = one_error_line(refused)
    assert "nothing was posted" in error
    assert "line 2: donation: date: the period of 2024-05-10 is closed" in refused.stderr

    after = write(
        tmp_path / "june.csv",
        f"op,date,donor_id,fund,amount\ndonation,2024-06-01,{donor},LUHUO,100\n",
    )
    assert huiquan(database_url, home, "import", str(after)).exit_code == 0


def test_closing_a_period_twice_is_one_error_line(database_url, home):
    assert huiquan(database_url, home, "close-period", "2025").exit_code == 0
    again = huiquan(database_url, home, "close-period", "2025")
    assert one_error_line(again) == "error: period 2025 is already closed"


# -- tokens -----------------------------------------------------------------------------------
def test_a_token_is_printed_once_listed_by_name_and_revoked(database_url, home):
    created = huiquan(database_url, home, "token", "create", "--role", "officer", "--name", "ops")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("hq_")

    listed = huiquan(database_url, home, "token", "list")
    assert "ops" in listed.stdout
    assert "officer" in listed.stdout
    assert secret not in listed.stdout

    assert huiquan(database_url, home, "token", "revoke", "ops").exit_code == 0
    again = huiquan(database_url, home, "token", "revoke", "ops")
    assert one_error_line(again) == "error: no active token named 'ops'"


# -- serve ------------------------------------------------------------------------------------
def test_serve_runs_gunicorn_on_the_bind_address_with_the_database_url(
    database_url, home, monkeypatch
):
    seen: dict = {}

    class FakeServer:
        def run(self) -> None:
            seen["url"] = os.environ["HUIQUAN_DATABASE_URL"]

    def fake_app(options: dict) -> FakeServer:
        seen["options"] = options
        return FakeServer()

    monkeypatch.setattr(cli_module, "_gunicorn_app", fake_app)
    monkeypatch.setenv("HUIQUAN_DATABASE_URL", "unused")
    monkeypatch.setenv("HUIQUAN_HOME", str(home))
    result = huiquan(
        database_url, home, "serve", "--bind", "127.0.0.1:8123", "--workers", "3", "--threads", "5"
    )
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123" in result.stdout
    assert seen["options"]["bind"] == "127.0.0.1:8123"
    assert seen["options"]["workers"] == 3
    assert seen["options"]["threads"] == 5
    assert seen["options"]["worker_class"] == "gthread"
    assert seen["options"]["reuse_port"] is True
    assert seen["url"] == database_url
    assert "warning" not in result.output  # 3 x 5 connections fit anywhere


@pytest.mark.postgres_only
def test_serve_warns_when_the_pools_could_ask_postgresql_for_more_than_it_takes(
    database_url, home, monkeypatch
):
    class FakeServer:
        def run(self) -> None:
            pass

    monkeypatch.setattr(cli_module, "_gunicorn_app", lambda options: FakeServer())
    monkeypatch.setenv("HUIQUAN_HOME", str(home))
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            limit = int(conn.exec_driver_sql("SHOW max_connections").scalar_one())
    finally:
        engine.dispose()
    workers = limit // 16 + 1  # x 16 threads: more than the server takes
    result = huiquan(database_url, home, "serve", "--workers", str(workers), "--threads", "16")
    assert result.exit_code == 0, result.output  # a warning, not a refusal
    assert f"may hold {workers * 16} PostgreSQL connections" in result.stderr
    assert f"max_connections {limit}" in result.stderr


def test_the_connection_warning_counts_a_connection_per_thread_against_the_usable_limit():
    assert cli_module._connection_warning(2, 16, None) is None  # SQLite, or not readable
    assert cli_module._connection_warning(2, 16, (100, 3)) is None
    assert cli_module._connection_warning(6, 16, (100, 3)) is None  # 96 of 97: they fit
    assert cli_module._connection_warning(7, 16, (100, 3)) == (
        "7 workers x 16 threads may hold 112 PostgreSQL connections, but the server takes 97 "
        "(max_connections 100 - 3 reserved); under load requests would fail. Raise "
        "max_connections, or use fewer workers or threads."
    )


# -- errors -----------------------------------------------------------------------------------
def test_an_unknown_account_is_one_error_line(database_url, home):
    result = huiquan(database_url, home, "balance", "--account", "9999")
    assert result.exit_code == 1
    assert one_error_line(result) == "error: no account '9999'"
    assert result.stdout == ""


def test_a_usage_mistake_is_one_error_line_with_exit_code_2(database_url, home):
    result = huiquan(database_url, home, "trial-balance", "--format", "xml")
    assert result.exit_code == 2
    assert one_error_line(result).startswith("error: Invalid value for '--format'")


def test_an_uninitialised_database_says_to_run_init(tmp_path, home):
    result = huiquan(f"sqlite:///{tmp_path / 'empty.db'}", home, "verify", "--no-progress")
    assert "run `huiquan init` first" in one_error_line(result)


def test_the_installed_console_script_prints_no_traceback(tmp_path):
    script = Path(sys.executable).with_name("huiquan")
    if not script.exists():
        pytest.skip("the console script is not installed in this environment")
    url = f"sqlite:///{tmp_path / 'nothing.db'}"
    done = subprocess.run(
        [str(script), "--database-url", url, "balance", "--as-of", "not-a-date"],
        capture_output=True,
        text=True,
        env={**os.environ, "HUIQUAN_HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: ")
    assert "Traceback" not in done.stderr


def test_database_url_is_also_accepted_after_the_command(database_url, home):
    runner_result = huiquan(
        "sqlite:////nonexistent/dir/x.db", home, "trial-balance", "--database-url", database_url
    )
    assert runner_result.exit_code == 0, runner_result.output
    assert "TOTAL" in runner_result.stdout


def test_amounts_in_the_builders_are_money(books):
    # guards the helpers above: the builders take decimal strings
    assert cny("1.50").minor == 150
