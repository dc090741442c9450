"""The CLI's audit trail records the commands that changed the books, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from tests.integration.test_cli_support import huiquan


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def events(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT action, outcome FROM audit_events ORDER BY sequence"))
        return [(action, outcome) for action, outcome in rows]


def test_help_and_read_only_flags_leave_the_audit_trail_unchanged(database_url, home, engine):
    before = events(engine)
    for args in (
        ("token", "create", "--help"),
        ("token", "revoke", "--help"),
        ("init", "--help"),
        ("import", "--help"),
        ("checkpoint", "--help"),
        ("checkpoint", "--show"),
        ("token", "create", "--role", "admin"),  # a usage mistake: the command never ran
        ("token", "list"),
        ("balance",),
    ):
        result = huiquan(database_url, home, *args)
        assert result.exit_code in (0, 2), result.output
    assert events(engine) == before


def test_a_command_that_changes_the_books_adds_one_event_and_a_refused_one_says_so(
    database_url, home, engine
):
    before = events(engine)
    created = huiquan(database_url, home, "token", "create", "--role", "admin", "--name", "ops")
    assert created.exit_code == 0, created.output
    assert events(engine) == [*before, ("huiquan token create", "success")]

    refused = huiquan(database_url, home, "token", "revoke", "nobody")
    assert refused.exit_code == 1
    assert events(engine)[len(before) + 1 :] == [("huiquan token revoke", "refused")]


def test_a_dry_run_import_changes_nothing_and_records_nothing(database_url, home, engine, tmp_path):
    huiquan(database_url, home, "checkpoint")  # something to compare against
    before = events(engine)
    assert before[-1] == ("huiquan checkpoint", "success")
    rows = tmp_path / "fee.csv"
    rows.write_text("op,date,fund,amount\nfee,2025-01-31,NOFUND,1.00\n", encoding="utf-8")
    result = huiquan(database_url, home, "import", "--dry-run", str(rows))
    assert result.exit_code == 1
    assert events(engine) == before
