"""API tokens that stop working when they should: revoked (in every worker at once), expired;
and a failed-authentication limit that slows the failing client, not its neighbours."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from api import create_app
from ledger.errors import InvalidEntry
from ledger.storage.tables import api_tokens
from tests.api.test_problems import problem
from usecases.tokens import check_token, create_token, revoke_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def second_worker(app_config: dict[str, Any]) -> Iterator[Flask]:
    """Another worker process's app: its own engine and state, the same database and home."""
    other = create_app(app_config)
    yield other
    other.extensions["huiquan"].engine.dispose()


def donor_body(name: str) -> dict[str, Any]:
    return {"name": name}


# -- revocation ----------------------------------------------------------------------------------
def test_a_token_revoked_through_one_worker_is_refused_by_another_on_its_very_next_request(
    app: Flask, second_worker: Flask, tokens: dict[str, str]
) -> None:
    first, second = app.test_client(), second_worker.test_client()
    officer = bearer(tokens["officer"])
    # The second worker has just served the token (a reading and a writing request).
    assert second.get("/api/v1/funds", headers=officer).status_code == 200
    assert (
        second.post("/api/v1/donors", json=donor_body("王芳"), headers=officer).status_code == 201
    )

    revoked = first.delete("/api/v1/tokens/officer-1", headers=bearer(tokens["admin"]))
    assert revoked.status_code == 204

    refused = second.post("/api/v1/donors", json=donor_body("李娜"), headers=officer)
    body = problem(refused, 401, "unauthorized")
    assert "revoked" in body["detail"]
    problem(second.get("/api/v1/funds", headers=officer), 401, "unauthorized")
    problem(first.get("/api/v1/funds", headers=officer), 401, "unauthorized")


def test_a_token_revoked_from_the_command_line_is_refused_by_every_worker_at_once(
    app: Flask, second_worker: Flask, tokens: dict[str, str]
) -> None:
    auditor = bearer(tokens["auditor"])
    for worker in (app, second_worker):
        assert worker.test_client().get("/api/v1/funds", headers=auditor).status_code == 200
    revoke_token(app.extensions["huiquan"].engine, "auditor-1")  # what `huiquan token revoke` does
    for worker in (app, second_worker):
        problem(worker.test_client().get("/api/v1/funds", headers=auditor), 401, "unauthorized")


# -- expiry --------------------------------------------------------------------------------------
def test_a_new_token_expires_in_ninety_days_unless_told_otherwise(app: Flask) -> None:
    engine = app.extensions["huiquan"].engine
    create_token(engine, role="auditor", name="default")
    create_token(engine, role="auditor", name="demo", expires_in_days=1)
    with engine.connect() as conn:
        rows = dict(conn.execute(select(api_tokens.c.name, api_tokens.c.expires_at)).all())
    now = dt.datetime.now(dt.UTC)
    lifetime = {name: dt.datetime.fromisoformat(at) - now for name, at in rows.items()}
    assert dt.timedelta(days=89, hours=23) < lifetime["default"] <= dt.timedelta(days=90)
    assert dt.timedelta(hours=23) < lifetime["demo"] <= dt.timedelta(days=1)


def test_the_api_makes_a_token_of_a_given_lifetime_and_shows_when_each_expires(
    app: Flask,
) -> None:
    engine = app.extensions["huiquan"].engine
    admin = {"Authorization": f"Bearer {create_token(engine, role='admin', name='root')}"}
    client = app.test_client()
    made = client.post(
        "/api/v1/tokens",
        json={"name": "weekly-export", "role": "auditor", "expires_in_days": 7},
        headers=admin,
    )
    assert made.status_code == 201, made.get_json()
    left = dt.datetime.fromisoformat(made.get_json()["expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=6, hours=23) < left <= dt.timedelta(days=7)
    listed = {t["name"]: t for t in client.get("/api/v1/tokens", headers=admin).get_json()["items"]}
    assert listed["weekly-export"]["expires_at"] == made.get_json()["expires_at"]
    assert listed["root"]["expires_at"] is not None
    for days in (0, 3651, "7", 1.5):
        odd = client.post(
            "/api/v1/tokens",
            json={"name": "odd", "role": "auditor", "expires_in_days": days},
            headers=admin,
        )
        assert odd.status_code == 422 and "expires_in_days" in odd.get_json()["errors"]


@pytest.mark.parametrize("days", [0, -1, 3651])
def test_a_token_lifetime_outside_one_day_to_ten_years_is_refused_and_nothing_is_made(
    app: Flask, days: int
) -> None:
    engine = app.extensions["huiquan"].engine
    with pytest.raises(InvalidEntry) as refused:
        create_token(engine, role="auditor", name="odd", expires_in_days=days)
    assert refused.value.field == "expires_in_days"
    with engine.connect() as conn:
        assert conn.execute(select(api_tokens.c.id)).first() is None


def test_an_expired_token_is_refused_with_a_problem_that_says_it_expired(
    app: Flask, client: Any
) -> None:
    engine = app.extensions["huiquan"].engine
    token = create_token(engine, role="auditor", name="lapsed", expires_in_days=1)
    assert client.get("/api/v1/funds", headers=bearer(token)).status_code == 200
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    with engine.begin() as conn:
        conn.execute(
            update(api_tokens).where(api_tokens.c.name == "lapsed").values(expires_at=past)
        )

    response = client.get("/api/v1/funds", headers=bearer(token))
    body = problem(response, 401, "unauthorized")
    assert "expired" in body["detail"] and past in body["detail"]
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_is_refused_from_the_moment_it_expires(app: Flask) -> None:
    engine = app.extensions["huiquan"].engine
    token = create_token(engine, role="officer", name="clock", expires_in_days=30)
    now = dt.datetime.now(dt.UTC)
    assert check_token(engine, token, now=now + dt.timedelta(days=29)).info is not None
    late = check_token(engine, token, now=now + dt.timedelta(days=30, seconds=1))
    assert late.info is None and late.refusal == "expired"


# -- the failed-authentication limit -------------------------------------------------------------
def test_forty_bad_tokens_then_a_valid_one_from_the_same_address_is_served_and_the_next_bad_one_is_slowed(  # noqa: E501
    client: Any, tokens: dict[str, str]
) -> None:
    bad = bearer("hq_" + "x" * 43)
    statuses = [client.get("/api/v1/funds", headers=bad).status_code for _ in range(40)]
    assert statuses == [401] * 20 + [429] * 20  # the default limit: 20 failures a minute

    good = client.get("/api/v1/funds", headers=bearer(tokens["auditor"]))
    assert good.status_code == 200
    wrote = client.post(
        "/api/v1/donors", json=donor_body("张伟"), headers=bearer(tokens["officer"])
    )
    assert wrote.status_code == 201

    slowed = client.get("/api/v1/funds", headers=bad)
    problem(slowed, 429, "rate_limited")
    assert int(slowed.headers["Retry-After"]) > 0
    problem(client.get("/api/v1/funds"), 429, "rate_limited")  # no token at all fails too


@pytest.fixture
def behind_a_proxy(app_config: dict[str, Any]) -> Iterator[Flask]:
    proxied = create_app({**app_config, "PROXY_FIX_X_FOR": 1, "FAILED_AUTH_LIMIT": "3 per minute"})
    yield proxied
    proxied.extensions["huiquan"].engine.dispose()


def via_proxy(client: Any, client_address: str, headers: dict[str, str]) -> int:
    forwarded = {**headers, "X-Forwarded-For": client_address}
    environ = {"REMOTE_ADDR": "10.0.0.2"}  # the proxy
    return int(client.get("/api/v1/funds", headers=forwarded, environ_base=environ).status_code)


def test_behind_a_trusted_proxy_the_limit_counts_each_forwarded_client_on_its_own(
    behind_a_proxy: Flask, tokens: dict[str, str]
) -> None:
    client, bad = behind_a_proxy.test_client(), bearer("hq_wrong")
    assert [via_proxy(client, "203.0.113.5", bad) for _ in range(4)] == [401, 401, 401, 429]
    assert via_proxy(client, "203.0.113.6", bad) == 401  # another client, same proxy
    assert via_proxy(client, "203.0.113.5", bearer(tokens["auditor"])) == 200


def test_without_trusted_proxies_a_forged_forwarded_address_does_not_dodge_the_limit(
    app_config: dict[str, Any],
) -> None:
    direct = create_app({**app_config, "FAILED_AUTH_LIMIT": "3 per minute"})
    try:
        client, bad = direct.test_client(), bearer("hq_wrong")
        statuses = [via_proxy(client, f"198.51.100.{n}", bad) for n in range(4)]
        assert statuses == [401, 401, 401, 429]
    finally:
        direct.extensions["huiquan"].engine.dispose()


def test_huiquan_serve_takes_the_trusted_proxies_from_the_environment(
    app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tokens: dict[str, str]
) -> None:
    monkeypatch.setenv("HUIQUAN_PROXY_FIX_X_FOR", "1")
    monkeypatch.setenv("HUIQUAN_FAILED_AUTH_LIMIT", "2 per minute")
    served = create_app(app_config)  # as api.wsgi builds it: settings from the environment
    try:
        client, bad = served.test_client(), bearer("hq_wrong")
        assert [via_proxy(client, "203.0.113.7", bad) for _ in range(3)] == [401, 401, 429]
        assert via_proxy(client, "203.0.113.8", bad) == 401
    finally:
        served.extensions["huiquan"].engine.dispose()


@pytest.mark.parametrize("value", ["-1", "many", "11"])
def test_a_nonsensical_count_of_trusted_proxies_stops_the_app_from_starting(
    app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("HUIQUAN_PROXY_FIX_X_FOR", value)
    with pytest.raises(ValueError, match="PROXY_FIX_X_FOR"):
        create_app(app_config)
