"""Helpers for the CLI tests: run `huiquan` on the test database, change rows behind its back."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import Engine, text

from cli.main import cli
from tests.conftest import engine_kind


def huiquan(database_url: str, home: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run `huiquan --database-url URL ARGS...` with $HUIQUAN_HOME at `home`."""
    runner = CliRunner()
    return runner.invoke(
        cli,
        ["--database-url", database_url, *args],
        env={"HUIQUAN_HOME": str(home), **(env or {})},
        catch_exceptions=False,
    )


def one_error_line(result: Result) -> str:
    """The single `error:` line a failed command prints (and proof that nothing else leaked)."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def behind_the_triggers(engine: Engine, *statements: str) -> None:
    """Change journal rows the way someone with raw database access would: guards off."""
    with engine.begin() as conn:
        if engine_kind() == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            names = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE :p"),
                {"p": "postings_%"},
            ).scalars()
            for name in list(names):
                conn.exec_driver_sql(f"DROP TRIGGER {name}")
        for statement in statements:
            conn.exec_driver_sql(statement)


def head_sequence(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT sequence FROM chain_head WHERE id = 1")).scalar_one())
