"""Receipt links that no key file can compute, that a replay shows again, and that no log keeps."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, select

from api import create_app
from ledger.storage.tables import audit_events, receipt_links
from tests.receipts.conftest import BASE, Books, Caller, donation, path_of
from usecases.receipt_desk import LINK_KEY_FILE

OLD_LABEL = b"huiquan receipt links v1"  # the derivation links used to come from


def token_of(answer: dict[str, Any]) -> str:
    url: str = answer["receipt"]["url"]
    return url.removeprefix(f"{BASE}/r/")


def old_scheme_token(pseudonym_key: bytes, serial: str, generation: int) -> str:
    """A link as it used to be made: HMAC of (serial, generation) under the pseudonym key."""
    key = hmac.new(pseudonym_key, OLD_LABEL, hashlib.sha256).digest()
    mac = hmac.new(key, f"{serial}\n{generation}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode("ascii")


def stored_hashes(app: Flask) -> set[str]:
    with app.extensions["huiquan"].engine.connect() as conn:
        return set(conn.scalars(select(receipt_links.c.token_hash)))


def test_no_live_link_can_be_computed_from_the_pseudonym_key(
    app: Flask, app_config: dict[str, Any], officer: Caller, gift: dict[str, Any], client: Any
) -> None:
    serial = gift["receipt"]["serial"]
    fresh = officer.created(f"/api/v1/receipts/{serial}/link", None)  # a second generation
    pseudonym_key = app_config["PSEUDONYM_SECRET"]
    guesses = [old_scheme_token(pseudonym_key, serial, n) for n in range(1, 6)]
    assert token_of(gift) not in guesses and token_of({"receipt": fresh}) not in guesses
    hashes = stored_hashes(app)
    assert not {hashlib.sha256(g.encode()).hexdigest() for g in guesses} & hashes
    for guess in guesses:
        assert client.get(f"/r/{guess}").status_code == 404
    assert client.get(path_of(fresh["url"])).status_code == 200


def test_the_link_key_is_a_key_file_of_its_own(
    app: Flask, app_config: dict[str, Any], gift: dict[str, Any]
) -> None:
    path = Path(app_config["HUIQUAN_HOME"]) / "keys" / LINK_KEY_FILE
    key = path.read_bytes()
    assert len(key) == 32 and key != app_config["PSEUDONYM_SECRET"][:32]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with app.extensions["huiquan"].engine.connect() as conn:
        sealed = conn.scalar(select(receipt_links.c.sealed))
    assert sealed and token_of(gift) not in sealed  # never kept in clear


def test_a_replay_on_another_worker_shows_the_very_link_the_first_answer_showed(
    app: Flask, app_config: dict[str, Any], officer: Caller, books: Books
) -> None:
    first = officer.post("/api/v1/donations", donation(books), key="gift-trust-1")
    assert first.status_code == 201
    other = create_app({**app_config, "PUBLIC_BASE_URL": BASE})  # a fresh process's desk
    try:
        replay = Caller(other.test_client(), officer.token).post(
            "/api/v1/donations", donation(books), key="gift-trust-1"
        )
        assert replay.get_json()["receipt"] == first.get_json()["receipt"]
        assert replay.get_data() == first.get_data()
    finally:
        other.extensions["huiquan"].engine.dispose()
    assert len(stored_hashes(app)) == 1


def test_a_link_sealed_under_a_lost_key_is_replaced_and_keeps_working(
    app: Flask, app_config: dict[str, Any], officer: Caller, books: Books, client: Any
) -> None:
    first = officer.post("/api/v1/donations", donation(books), key="gift-trust-2").get_json()
    path = Path(app_config["HUIQUAN_HOME"]) / "keys" / LINK_KEY_FILE
    path.unlink()  # e.g. a home restored without its keys: a new key is made
    other = create_app({**app_config, "PUBLIC_BASE_URL": BASE})
    try:
        caller = Caller(other.test_client(), officer.token)
        replay = caller.post("/api/v1/donations", donation(books), key="gift-trust-2").get_json()
        again = caller.post("/api/v1/donations", donation(books), key="gift-trust-2").get_json()
    finally:
        other.extensions["huiquan"].engine.dispose()
    assert replay["receipt"]["serial"] == first["receipt"]["serial"]
    assert replay["receipt"]["url"] != first["receipt"]["url"]
    assert again["receipt"] == replay["receipt"]  # stable again under the new key
    assert client.get(path_of(first["receipt"]["url"])).status_code == 200
    assert client.get(path_of(replay["receipt"]["url"])).status_code == 200


def test_a_link_made_before_links_were_sealed_keeps_working(
    app: Flask, gift: dict[str, Any], client: Any
) -> None:
    legacy = old_scheme_token(b"test-pseudonym-key-0123456789abcdef", gift["receipt"]["serial"], 9)
    with app.extensions["huiquan"].engine.begin() as conn:
        conn.execute(
            insert(receipt_links).values(
                token_hash=hashlib.sha256(legacy.encode()).hexdigest(),
                serial=gift["receipt"]["serial"],
                created_at="2026-01-01T00:00:00+00:00",
            )
        )
    assert client.get(f"/r/{legacy}").status_code == 200
    assert client.get(path_of(gift["receipt"]["url"])).status_code == 200


# -- logs and the audit trail --------------------------------------------------------------------
def test_the_request_log_shows_a_receipt_path_redacted_and_never_the_token(
    gift: dict[str, Any], client: Any, caplog: pytest.LogCaptureFixture, capsys: Any
) -> None:
    token = token_of(gift)
    capsys.readouterr()
    with caplog.at_level(logging.INFO, logger="huiquan.api.request"):
        assert client.get(f"/r/{token}").status_code == 200
        assert client.get(f"/r/{token}.json").status_code == 200
        assert client.get("/r/" + "A" * 32).status_code == 404
    paths = [r.path for r in caplog.records if r.name == "huiquan.api.request"]  # type: ignore[attr-defined]
    assert paths == ["/r/<redacted>"] * 3
    written = capsys.readouterr().err
    lines = [json.loads(line) for line in written.splitlines() if line.startswith("{")]
    assert [line["path"] for line in lines if line.get("logger") == "huiquan.api.request"] == [
        "/r/<redacted>"
    ] * 3
    assert token not in written and token not in caplog.text


def test_an_audit_event_about_a_receipt_link_names_no_token(
    app: Flask, gift: dict[str, Any], client: Any
) -> None:
    token = token_of(gift)
    refused = client.post(f"/r/{token}", json={})  # a refused write: it is audited
    assert refused.status_code == 405
    with app.extensions["huiquan"].engine.connect() as conn:
        rows = conn.execute(select(audit_events)).all()
    assert rows and not any(token in str(value) for row in rows for value in row)
    mine = [row for row in rows if row.outcome == "refused" and row.status == 405]
    assert [row.target for row in mine] == ["/r/<redacted>"]
