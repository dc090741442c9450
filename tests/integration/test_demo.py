"""`huiquan demo` loads the platform's history; the books verify and catch tampering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from api import create_app
from tests.integration.test_cli_support import (
    behind_the_triggers,
    head_sequence,
    huiquan,
    one_error_line,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def demo(database_url, home, engine):
    result = huiquan(database_url, home, "demo", "--seed", "7")
    assert result.exit_code == 0, result.output
    return result


def test_demo_loads_thousands_of_entries_that_verify_and_balance(database_url, home, engine, demo):
    entries = head_sequence(engine)
    assert entries >= 4000
    assert f"{entries} entries" in demo.stdout
    assert "debits" in demo.stdout and "(equal)" in demo.stdout

    verified = huiquan(database_url, home, "verify", "--no-progress")
    assert verified.exit_code == 0, verified.output
    assert f"entries checked: {entries}" in verified.stdout
    assert "Merkle root: " in verified.stdout

    tb = json.loads(huiquan(database_url, home, "trial-balance", "--format", "json").stdout)
    assert tb["balanced"] and tb["total_debit"] == tb["total_credit"]


def test_demo_holds_the_history_of_the_platform(engine, demo):
    with engine.connect() as conn:
        funds = set(conn.execute(text("SELECT name FROM funds")).scalars())
        currencies = set(conn.execute(text("SELECT DISTINCT currency FROM postings")).scalars())
        girls = conn.execute(
            text("SELECT COUNT(*) FROM beneficiaries WHERE cohort LIKE '锦炉助学%'")
        ).scalar_one()
        shidu = conn.execute(
            text(
                "SELECT -SUM(amount) FROM postings WHERE fund = 'SHIDU-CARE' AND account = '4101-R'"
            )
        ).scalar_one()
        surgical = conn.execute(
            text("SELECT SUM(amount) FROM postings WHERE account = '1501' AND amount > 0")
        ).scalar_one()
        reversals = conn.execute(
            text("SELECT COUNT(*) FROM journal_entries WHERE kind = 'reversal'")
        ).scalar_one()
        names = " ".join(conn.execute(text("SELECT data FROM journal_entries")).scalars())
        first, last = conn.execute(
            text("SELECT MIN(occurred_on), MAX(occurred_on) FROM journal_entries")
        ).one()
    assert {"锦炉爱心助学基金", "炉霍结对帮扶", "锦基金", "女学教育基金", "失独家庭关爱"} <= funds
    assert {"CNY", "HKD", "MOP", "TWD", "USD"} <= currencies
    assert girls == 131
    assert int(shidu) == 45_000_000
    assert int(surgical) > 100_000_000
    assert reversals >= 2
    assert "DEMO-G0001" not in names  # personal data never enters the journal
    assert first >= "2024-01-01" and last <= "2026-10-31"


def test_every_demo_gift_that_stands_has_a_receipt_whose_printed_link_opens(
    database_url, home, engine, demo
):
    with engine.connect() as conn:
        gifts = set(
            conn.execute(
                text(
                    "SELECT id FROM journal_entries WHERE kind IN "
                    "('donation', 'pledge_payment', 'in_kind')"
                )
            ).scalars()
        )
        reversed_ids = set(
            conn.execute(
                text("SELECT reverses FROM journal_entries WHERE reverses IS NOT NULL")
            ).scalars()
        )
        receipted = list(conn.execute(text("SELECT entry_id FROM receipts")).scalars())
        links = conn.execute(text("SELECT COUNT(*) FROM receipt_links")).scalar_one()
    assert reversed_ids & gifts  # the demo reverses a gift, which gets no receipt
    assert sorted(receipted) == sorted(gifts - reversed_ids)  # one each, no more
    assert links == len(receipted)
    line = next(x for x in demo.stdout.splitlines() if x.startswith("receipts: "))
    assert f"receipts: {len(receipted)} issued" in line
    url = line.split("a donor's receipt: ")[1].split()[0]
    assert url.startswith("http://127.0.0.1:8000/r/")
    app = create_app({"DATABASE_URL": database_url, "HUIQUAN_HOME": str(home), "TESTING": True})
    try:
        page = app.test_client().get(url.removeprefix("http://127.0.0.1:8000"))
    finally:
        app.extensions["huiquan"].engine.dispose()
    assert page.status_code == 200
    serial = line.split("issued (")[1].split(" ..")[0]
    assert serial in page.get_data(as_text=True)


def test_demo_if_empty_does_nothing_on_books_that_hold_entries(database_url, home, engine, demo):
    entries = head_sequence(engine)
    again = huiquan(database_url, home, "demo", "--if-empty")
    assert again.exit_code == 0, again.output
    assert "demo not loaded" in again.stdout
    refused = huiquan(database_url, home, "demo")
    assert "already hold" in one_error_line(refused)
    assert head_sequence(engine) == entries


def test_verify_names_the_first_bad_sequence_after_an_amount_is_changed_behind_the_triggers(
    database_url, home, engine, demo
):
    with engine.connect() as conn:
        target = conn.execute(
            text(
                "SELECT sequence FROM postings WHERE currency = 'CNY' AND line = 1 "
                "AND sequence > 1000 ORDER BY sequence LIMIT 1"
            )
        ).scalar_one()
    behind_the_triggers(
        engine,
        "UPDATE postings SET amount = amount + 100, functional = functional + 100 "
        f"WHERE sequence = {target} AND line = 1",
    )
    result = huiquan(database_url, home, "verify", "--no-progress")
    assert result.exit_code == 1
    assert f"first bad sequence: {target}" in result.stdout
    assert f"sequence {target}: hash" in result.stdout
    assert one_error_line(result).startswith("error: the books do not verify")


def test_the_same_seed_plans_the_same_operations_and_another_seed_others():
    from cli.demo_plan import demo_plan, plan_operations
    from ledger.importer import parse_rows

    personal: set[str] = set()

    def rows(seed: int) -> list[dict]:
        plan = demo_plan(seed)
        for _cohort, _county, data in plan.girls + plan.students:
            personal.update(data.values())
        girls = [f"B-girl{n:04d}" for n in range(len(plan.girls))]
        students = [f"B-student{n:04d}" for n in range(len(plan.students))]
        return plan_operations(plan, girls, students)

    first, again, other = rows(7), rows(7), rows(8)
    assert first == again
    assert first != other
    assert len(first) >= 4000
    _commands, problems = parse_rows(list(enumerate(first, 1)))
    assert problems == []
    assert not any(str(value) in personal for row in first for value in row.values())
