"""`huiquan token create --expires-in DAYS`, and books upgraded from revision 0003: older tokens
get an expiry, older links keep their hashes and gain a column for their sealed token."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, select, text

from ledger.storage.db import migrate
from ledger.storage.tables import api_tokens
from tests.integration.test_cli_support import huiquan


def expiries(engine: Engine) -> dict[str, dt.timedelta]:
    now = dt.datetime.now(dt.UTC)
    with engine.connect() as conn:
        rows = conn.execute(select(api_tokens.c.name, api_tokens.c.expires_at)).all()
    return {name: dt.datetime.fromisoformat(at) - now for name, at in rows}


def test_token_create_takes_a_lifetime_in_days_and_lists_the_expiry(
    database_url: str, tmp_path: Path, engine: Engine
) -> None:
    home = tmp_path / "home"
    made = huiquan(
        database_url,
        home,
        "token",
        "create",
        "--role",
        "officer",
        "--name",
        "demo",
        "--expires-in",
        "1",
    )
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("hq_") and "valid for 1 days" in made.stderr
    lifetime = expiries(engine)["demo"]
    assert dt.timedelta(hours=23) < lifetime <= dt.timedelta(days=1)

    plain = huiquan(database_url, home, "token", "create", "--role", "auditor", "--name", "ops")
    assert plain.exit_code == 0, plain.output
    assert dt.timedelta(days=89) < expiries(engine)["ops"] <= dt.timedelta(days=90)

    listed = huiquan(database_url, home, "token", "list")
    assert "expires" in listed.output and "demo" in listed.output


def test_token_create_refuses_a_lifetime_out_of_range_and_makes_nothing(
    database_url: str, tmp_path: Path, engine: Engine
) -> None:
    refused = huiquan(
        database_url, tmp_path / "home", "token", "create", "--role", "admin", "--name", "x",
        "--expires-in", "0",
    )  # fmt: skip
    assert refused.exit_code == 2 and "--expires-in" in refused.output
    assert "Traceback" not in refused.output
    assert expiries(engine) == {}


def test_upgrading_from_0003_gives_older_tokens_ninety_days_and_keeps_older_links(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE api_tokens DROP COLUMN expires_at")
        conn.exec_driver_sql("ALTER TABLE receipt_links DROP COLUMN sealed")
        conn.exec_driver_sql(
            "INSERT INTO api_tokens (id, name, role, token_hash, created_at) "
            "VALUES ('t1', 'old', 'auditor', 'h1', '2026-01-01T00:00:00+00:00')"
        )
        conn.exec_driver_sql(
            "INSERT INTO receipt_links (token_hash, serial, created_at) "
            "VALUES ('l1', 'HQ-2026-000001', '2026-01-01T00:00:00+00:00')"
        )
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0003_cosignatures'")
    migrate(engine)
    migrate(engine)  # at head: nothing to do
    assert dt.timedelta(days=89) < expiries(engine)["old"] <= dt.timedelta(days=90)
    with engine.connect() as conn:
        link = conn.execute(text("SELECT token_hash, sealed FROM receipt_links")).one()
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    assert tuple(link) == ("l1", None) and version == "0004_links_and_tokens"
