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


def test_an_admin_changes_a_users_roles_from_the_command_line(database_url, engine, tmp_path):
    import json

    home = tmp_path / "home"
    made = huiquan(
        database_url,
        home,
        *("user", "create", "--login", "li", "--name", "李四", "--role", "officer"),
    )
    assert made.exit_code == 0, made.output
    changed = huiquan(
        database_url, home, *("user", "set-roles", "li", "--role", "approver", "--role", "auditor")
    )
    assert changed.exit_code == 0, changed.output
    assert "officer -> approver,auditor" in changed.output
    with engine.connect() as conn:
        row = conn.execute(select(tables.users).where(tables.users.c.login == "li")).one()
        details = conn.execute(
            text("SELECT detail FROM audit_events WHERE action = 'user.set_roles'")
        ).all()
    assert row.roles == "approver,auditor"
    assert [json.loads(d) for (d,) in details] == [
        {"old_roles": ["officer"], "new_roles": ["approver", "auditor"], "tokens_revoked": 0}
    ]
    assert ("huiquan user set-roles", "success") in actions(engine)
    again = huiquan(
        database_url, home, *("user", "set-roles", "li", "--role", "auditor", "--role", "approver")
    )
    assert again.exit_code == 0 and "already has roles approver,auditor" in again.output
    bad = huiquan(database_url, home, *("user", "set-roles", "li", "--role", "treasurer"))
    assert bad.exit_code != 0
    unknown = huiquan(database_url, home, *("user", "set-roles", "nobody", "--role", "officer"))
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


def test_an_admin_states_purposes_and_raises_a_budget_from_the_command_line(
    database_url, engine, tmp_path
):
    from tests.builders import Books

    books = Books(engine)
    books.fund("LUHUO")
    books.donor(donor_id="D-1")
    books.project("CLINIC")
    books.donate("500", donor="D-1")
    books.disburse("300")
    home = tmp_path / "home"
    answer = huiquan(
        database_url, home, "purposes", "set", "LUHUO", "--projects", "--county", "炉霍县"
    )
    assert answer.exit_code == 0, answer.output
    assert "LUHUO pays for: projects in 炉霍县" in answer.output
    assert "projects in 炉霍县" in huiquan(database_url, home, "purposes", "show", "LUHUO").output
    unknown = huiquan(database_url, home, "purposes", "show", "NOPE")
    assert unknown.exit_code == 1 and "no fund 'NOPE'" in unknown.output
    shown = huiquan(database_url, home, "budget", "show", "CLINIC")
    assert "CLINIC: no budget; spent 300.00 CNY" in shown.output
    raised = huiquan(database_url, home, "budget", "set", "CLINIC", "1000", "--reason", "第二期")
    assert raised.exit_code == 0, raised.output
    assert "CLINIC: budget 0.00 -> 1000.00 CNY (第二期)" in raised.output
    shown = huiquan(database_url, home, "budget", "show", "CLINIC")
    assert "budget 1000.00 CNY, spent 300.00 CNY, left 700.00 CNY" in shown.output
    below = huiquan(database_url, home, "budget", "set", "CLINIC", "100", "--reason", "削减")
    assert below.exit_code == 1 and "cannot be below" in below.output
    assert ("huiquan budget set", "success") in actions(engine)
    assert ("huiquan purposes set", "success") in actions(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(tables.project_budgets)).all()
    assert [(r.budget_minor, r.reason) for r in rows] == [(100_000, "第二期")]
