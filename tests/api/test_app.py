"""The application itself: factory, request ids, request logs, secrets, the documents."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from api.app import JsonFormatter, create_app
from tests.api.conftest import Books, Caller, donation
from usecases.books import load_pseudonym_secret

ROOT = Path(__file__).parents[2]


def test_importing_api_builds_nothing() -> None:
    code = (
        "import sys, api; "
        "print(sorted(m for m in ('api.app', 'flask', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_wsgi_module_builds_the_app_from_the_environment(tmp_path: Path) -> None:
    env = {**os.environ, "HUIQUAN_HOME": str(tmp_path), "HUIQUAN_DATABASE_URL": ""}
    code = "from api.wsgi import app; print(app.extensions['huiquan'].engine.url.database)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(tmp_path / "huiquan.db")


# -- request ids --------------------------------------------------------------------------------
def test_every_response_carries_a_request_id(anonymous: Caller) -> None:
    first = anonymous.get("/healthz").headers["X-Request-Id"]
    second = anonymous.get("/healthz").headers["X-Request-Id"]
    assert first and second and first != second


def test_a_sane_incoming_request_id_is_kept_and_an_odd_one_replaced(client: Any) -> None:
    kept = client.get("/healthz", headers={"X-Request-Id": "edge-7f3a.1:2"})
    assert kept.headers["X-Request-Id"] == "edge-7f3a.1:2"
    for odd in ("has space", "x" * 65, "<script>"):
        replaced = client.get("/healthz", headers={"X-Request-Id": odd})
        assert replaced.headers["X-Request-Id"] not in (odd, "")


# -- the request log ----------------------------------------------------------------------------
def test_each_request_is_logged_once_as_json_without_its_body(
    officer: Caller, books: Books, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="huiquan.api.request"):
        response = officer.post(
            "/api/v1/donations",
            donation(books, memo="SECRET-MEMO"),
            headers={"X-Request-Id": "log-me-1"},
        )
    records = [r for r in caplog.records if r.name == "huiquan.api.request"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["method"] == "POST" and line["path"] == "/api/v1/donations"
    assert line["status"] == response.status_code == 201
    assert line["request_id"] == "log-me-1" and line["actor"] == "officer-1"
    assert isinstance(line["duration_ms"], float)
    assert "SECRET-MEMO" not in json.dumps(line) and "Bearer" not in json.dumps(line)


def test_the_log_goes_to_stderr_as_one_json_object_per_line(
    anonymous: Caller, capfd: pytest.CaptureFixture[str]
) -> None:
    anonymous.get("/healthz", headers={"X-Request-Id": "stderr-1"})
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if "stderr-1" in x]
    assert [(x["logger"], x["status"], x["actor"]) for x in lines] == [
        ("huiquan.api.request", 200, None)
    ]


# -- the pseudonym key --------------------------------------------------------------------------
def test_the_pseudonym_key_is_created_once_private_and_shared_by_racing_workers(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    keys: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: keys.append(load_pseudonym_secret(home))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 32
    key = home / "pseudonym.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert [p.name for p in home.iterdir()] == ["pseudonym.key"]


@pytest.fixture
def no_secret(app_config: dict[str, Any]) -> Path:
    app_config["PSEUDONYM_SECRET"] = None
    return Path(app_config["HUIQUAN_HOME"])


def test_without_a_configured_secret_the_key_file_is_made_on_first_use(
    no_secret: Path, officer: Caller
) -> None:
    key = no_secret / "pseudonym.key"
    assert not key.exists()  # nothing is read or made at start-up
    body = {"cohort": "c", "county": "k", "personal": {"name": "n", "id_number": "42"}}
    created = officer.created("/api/v1/beneficiaries", body)
    secret = key.read_bytes()
    expected = "B-" + hmac.new(secret, b"42", hashlib.sha256).hexdigest()[:16]
    assert created["id"] == expected


# -- the documents ------------------------------------------------------------------------------
def test_the_openapi_document_describes_security_errors_and_money(anonymous: Caller) -> None:
    spec = anonymous.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`hq_...`); the role decides what it may do.",
    }
    assert "insufficient_funds" in spec["info"]["description"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation.get("summary"), (method, path)
            assert "default" in operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert "application/problem+json" in response["content"], (method, path)
            if method == "post" and "requestBody" in operation:
                names = [p["name"] for p in operation.get("parameters", [])]
                assert "Idempotency-Key" in names, path
    amount = spec["components"]["schemas"]["DonationIn"]["properties"]["amount"]
    assert amount["type"] == "string" and amount["pattern"]
    assert spec["components"]["schemas"]["DonationIn"]["additionalProperties"] is False


def test_a_query_parameter_given_twice_is_refused_not_read_as_its_first_value(
    auditor: Caller,
) -> None:
    for query in (
        "/api/v1/needs?status=open&status=closed",
        "/api/v1/audit/events?after=1&after=2",
    ):
        answer = auditor.get(query)
        assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
        name = query.split("?")[1].split("=")[0]
        assert answer.get_json()["errors"] == {name: ["given more than once; give it once"]}
    assert auditor.get("/api/v1/needs?status=open").status_code == 200
    assert "given more than once" in auditor.get("/api/openapi.json").get_json()["info"][
        "description"
    ].replace("\n", " ")


def test_apps_in_one_process_share_one_openapi_document_built_once(
    app_config: dict[str, Any], tmp_path: Path
) -> None:
    import api.app as api_app

    api_app._DOCUMENTS.clear()
    first = create_app(app_config)
    again = create_app({**app_config, "HUIQUAN_HOME": str(tmp_path / "again")})
    retitled = create_app(
        {**app_config, "HUIQUAN_HOME": str(tmp_path / "other"), "API_TITLE": "Another title"}
    )
    try:
        documents = [
            a.test_client().get("/api/openapi.json").get_json() for a in (first, again, retitled)
        ]
        assert again.extensions["huiquan"].api.spec is first.extensions["huiquan"].api.spec
        assert documents[0] == documents[1]
        # every tag once: building a later app adds nothing to the shared document
        names = [tag["name"] for tag in documents[1]["tags"]]
        assert len(names) == len(set(names)) and {"receipts", "issuers"} <= set(names)
        # other spec settings get their own document, with every operation
        assert documents[2]["info"]["title"] == "Another title"
        assert documents[2]["paths"] == documents[0]["paths"]
        # the routes themselves are registered on every app
        assert again.test_client().get("/api/v1/funds").status_code == 401
    finally:
        for a in (first, again, retitled):
            a.extensions["huiquan"].engine.dispose()


def test_the_api_page_lists_every_operation_without_external_assets(
    anonymous: Caller, app: Flask
) -> None:
    page = anonymous.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for path in app.extensions["huiquan"].spec_dict()["paths"]:
        assert f"<code>{path}</code>" in html
    assert "<script" not in html and "https://cdn" not in html and 'rel="stylesheet"' not in html
    assert "insufficient_funds" in html


def _connections_opened(app: Flask, at_once: int, rounds: int) -> int:
    """Hold `at_once` pooled connections together, give them back, `rounds` times: how many
    database connections the pool had to open."""
    engine = app.extensions["huiquan"].engine
    opened: list[object] = []

    def count(*_: object) -> None:
        opened.append(1)

    event.listen(engine, "connect", count)
    try:
        engine.dispose()
        for _ in range(rounds):
            held = [engine.connect() for _ in range(at_once)]
            for conn in held:
                conn.close()
    finally:
        event.remove(engine, "connect", count)
    return len(opened)


def test_the_pool_keeps_a_connection_for_every_request_thread(app: Flask) -> None:
    # 16 request threads (serve's default) reading at once, again and again: each thread's
    # connection is opened once and kept, not opened and closed per request.
    assert app.extensions["huiquan"].engine.pool.size() == 16
    assert _connections_opened(app, at_once=16, rounds=3) == 16


def test_the_pool_size_follows_the_setting_then_the_environment(
    app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUIQUAN_DB_POOL_SIZE", "7")
    sized: list[int] = []
    for config in (
        {},
        {"DATABASE_POOL_SIZE": 9},
        {"DATABASE_POOL_SIZE": 9, "DATABASE_ENGINE_OPTIONS": {"pool_size": 3}},
    ):
        built = create_app({**app_config, **config})
        sized.append(built.extensions["huiquan"].engine.pool.size())
        built.extensions["huiquan"].engine.dispose()
    assert sized == [7, 9, 3]
