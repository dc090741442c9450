"""`huiquan user` and `huiquan policy` from the command line: passwords never on argv."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select, text

from ledger.storage import tables
from tests.integration.test_cli_support import huiquan


def actions(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT action, outcome FROM audit_events ORDER BY sequence"))
        return [(a, o) for a, o in rows]


def test_an_admin_creates_and_disables_a_user_with_a_password_from_a_file(
    database_url, engine, tmp_path: Path
):
    home = tmp_path / "home"
    secret = tmp_path / "pw.txt"
    secret.write_text("长城长城长城长城长城\n", encoding="utf-8")
    made = huiquan(
        database_url,
        home,
        *("user", "create", "--login", "zhang", "--name", "张三"),
        *("--role", "officer", "--role", "approver", "--password-file", str(secret)),
    )
    assert made.exit_code == 0, made.output
    assert "长城" not in made.output
    listed = huiquan(database_url, home, "user", "list")
    assert "张三" in listed.output and "approver,officer" in listed.output
    assert huiquan(database_url, home, "user", "disable", "zhang").exit_code == 0
    with engine.connect() as conn:
        row = conn.execute(select(tables.users).where(tables.users.c.login == "zhang")).one()
    assert row.status == "disabled" and row.password_hash.startswith("$argon2id$")
    assert ("huiquan user create", "success") in actions(engine)
    assert ("huiquan user disable", "success") in actions(engine)
    unknown = huiquan(database_url, home, "user", "disable", "nobody")
    assert unknown.exit_code == 1


def test_a_policy_set_from_the_command_line_governs_the_fund(database_url, engine, tmp_path):
    home = tmp_path / "home"
    answer = huiquan(
        database_url,
        home,
        *("policy", "set", "*", "--threshold", "disbursement=5000", "--approvers", "2"),
    )
    assert answer.exit_code == 0, answer.output
    assert "* disbursement: needs approval >= 5000" in answer.output
    assert "approvers: 2" in huiquan(database_url, home, "policy", "show", "ANY").output
    bad = huiquan(database_url, home, "policy", "set", "*", "--threshold", "payroll=1")
    assert bad.exit_code == 1 and "payroll" in bad.output
    assert ("huiquan policy set", "success") in actions(engine)
