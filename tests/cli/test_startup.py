"""Start-up: `--version` and `--help` load no database library; a read command loads no web,
template or PDF library (the figures are in the commit messages, not asserted here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cli

ROOT = Path(cli.__file__).resolve().parents[1]
WEB_AND_DOCUMENTS = {"flask", "werkzeug", "marshmallow", "flask_smorest", "weasyprint", "jinja2"}

# Runs `huiquan ARGS...` in-process, then prints the top-level packages it imported.
SCRIPT = """
import json, sys
from cli.main import cli
code = cli.main(args=sys.argv[1:], prog_name="huiquan", standalone_mode=False)
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def run(*args: str, home: Path) -> tuple[int, set[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HUIQUAN_HOME": str(home)}
    env.pop("HUIQUAN_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=home.parent,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    *output, last = done.stdout.splitlines()
    report = json.loads(last)
    return report["code"], set(report["modules"]), "\n".join(output)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    code, _modules, _out = run("init", home=home)
    assert code == 0
    return home


def test_version_and_help_load_no_database_library(tmp_path: Path) -> None:
    for args in (("--version",), ("--help",), ("balance", "--help"), ("demo", "--help")):
        code, modules, out = run(*args, home=tmp_path / "unused")
        assert code == 0 and out
        assert "sqlalchemy" not in modules, args
        assert not modules & WEB_AND_DOCUMENTS, args


def test_the_import_help_lists_the_importers_columns_without_web_libraries(tmp_path: Path) -> None:
    code, modules, out = run("import", "--help", home=tmp_path / "unused")
    assert code == 0
    assert "donation: cash/bank gift" in out and "reversal: reverses an entry" in out
    assert not modules & WEB_AND_DOCUMENTS


def test_balance_reads_the_books_without_web_template_or_pdf_libraries(home: Path) -> None:
    code, modules, out = run("balance", "--format", "json", home=home)
    assert code == 0
    assert json.loads(out)["by_account"] == []
    assert "sqlalchemy" in modules and "ledger" in modules  # it did read the books
    assert not modules & WEB_AND_DOCUMENTS
    assert not modules & {"audits", "receipts", "usecases", "api", "alembic"}


def test_trial_balance_and_verify_load_no_web_template_or_pdf_library(home: Path) -> None:
    for args in (("trial-balance", "--format", "json"), ("verify", "--no-progress")):
        code, modules, _out = run(*args, home=home)
        assert code == 0, args
        assert not modules & WEB_AND_DOCUMENTS, args


def test_the_option_values_for_a_cheap_help_are_the_originals_not_copies() -> None:
    from audits.statements import KINDS
    from cli.audit import DEFAULT_ORIGIN, STATEMENT_KINDS
    from ledger.tlog.proofs import DEFAULT_ORIGIN as ORIGIN

    assert STATEMENT_KINDS is KINDS
    assert DEFAULT_ORIGIN is ORIGIN


def test_every_command_of_the_group_is_found_under_its_name() -> None:
    import click

    from cli.main import COMMANDS, cli

    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name
