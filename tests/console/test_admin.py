"""The administrator's page shows when the last scheduled backup was made and whether its drill
restored it, from the status file the schedule writes; admins only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyrage
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.console.conftest import sign_in
from usecases.backup import STATUS_FILE, scheduled_backup_step


@pytest.fixture
def home(app: Flask) -> Path:
    folder: Path = app.extensions["huiquan"].books.home
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "pseudonym.key").exists():
        (folder / "pseudonym.key").write_bytes(os.urandom(32))
    return folder


def _page(client: FlaskClient, lang: str = "en") -> str:
    client.get(f"/lang/{lang}")
    response = client.get("/console/admin/")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_only_an_admin_sees_the_page(client: FlaskClient, users: dict[str, str]) -> None:
    assert client.get("/console/admin/").status_code == 302  # to sign in
    sign_in(client, users["officer"])
    assert client.get("/console/admin/").status_code == 403
    assert "/console/admin/" not in client.get("/console/").get_data(as_text=True)


def test_without_a_schedule_the_page_says_no_backup_has_run(
    client: FlaskClient, users: dict[str, str], home: Path
) -> None:
    sign_in(client, users["admin"])
    assert "/console/admin/" in client.get("/console/").get_data(as_text=True)  # in the menu
    page = _page(client)
    assert "No scheduled backup has run yet" in page
    assert "The keys were never exported" in page
    assert "尚未运行过定时备份" in _page(client, "zh-Hans")


def test_after_a_scheduled_backup_the_page_shows_its_time_and_its_drill_passed(
    client: FlaskClient, users: dict[str, str], home: Path, database_url: str, tmp_path: Path
) -> None:
    key = pyrage.x25519.Identity.generate()
    status = scheduled_backup_step(
        home,
        database_url,
        tmp_path / "backups",
        2,
        recipients=[str(key.to_public())],
        identities=[str(key)],
    )
    assert status["drill"]["ok"] is True, status
    sign_in(client, users["admin"])
    page = _page(client)
    made = status["last_backup_at"][:16].replace("T", " ")
    assert made in page
    assert "passed: it restored and verified clean" in page
    assert Path(status["archive"]).name in page
    assert str(tmp_path) not in page  # the archive's name, not where the server keeps it
    assert "演练通过" in _page(client, "zh-Hans")


def test_a_failed_drill_and_a_failed_attempt_are_shown(
    client: FlaskClient, users: dict[str, str], home: Path
) -> None:
    (home / STATUS_FILE).write_text(
        json.dumps(
            {
                "last_attempt_at": "2026-06-02T03:00:00+00:00",
                "last_backup_at": "2026-06-01T03:00:00+00:00",
                "archive": "/srv/backups/huiquan-20260601T030000000000Z.hqbak",
                "bytes": 2_500_000,
                "journal_size": 12_345,
                "drill": {"ok": False, "detail": "member home/pseudonym.key does not match"},
                "error": "no space left on device",
            }
        ),
        encoding="utf-8",
    )
    sign_in(client, users["admin"])
    page = _page(client)
    assert "2026-06-01 03:00" in page
    assert "FAILED" in page and "member home/pseudonym.key does not match" in page
    assert "The last attempt failed: no space left on device" in page
    assert "12,345" in page and "2.5 MB" in page


def test_an_unreadable_status_file_is_said_plainly(
    client: FlaskClient, users: dict[str, str], home: Path
) -> None:
    (home / STATUS_FILE).write_text("{not json", encoding="utf-8")
    sign_in(client, users["admin"])
    assert "The backup status file cannot be read" in _page(client)
