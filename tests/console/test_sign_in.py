"""Signing in and out: sessions, CSRF, cross-site posts, throttling, no user enumeration."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.console.conftest import PASSWORD, csrf_of, sign_in


def test_the_landing_page_is_public_in_chinese_with_the_funds_and_the_ways_in(
    client: FlaskClient, seeded: object
) -> None:
    page = client.get("/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="zh-Hans">' in text
    assert "锦炉爱心助学基金" in text and "综合基金" in text
    for link in ('href="/transparency"', 'href="/verify"', 'href="/console/login"'):
        assert link in text
    assert "Set-Cookie" not in page.headers  # no session for a visitor who only reads


def test_english_is_a_choice_remembered_in_a_cookie(client: FlaskClient) -> None:
    switched = client.get("/lang/en?next=/console/login")
    assert switched.status_code == 302 and switched.headers["Location"] == "/console/login"
    page = client.get("/console/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in to the console" in page
    assert client.get("/lang/en?next=https://evil.example/").headers["Location"] == "/"


@pytest.mark.parametrize("path", ["/", "/console/login", "/api/docs"])
def test_every_page_sends_the_receipt_pages_protections(client: FlaskClient, path: str) -> None:
    headers = client.get(path).headers
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


def test_a_signed_in_officer_gets_a_new_httponly_lax_session(
    client: FlaskClient, users: dict[str, str]
) -> None:
    client.get("/console/login")
    before = client.get_cookie("hq_console")
    assert before is not None
    signed = sign_in(client, users["officer"])
    assert signed.status_code == 302 and signed.headers["Location"] == "/console/"
    cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    after = client.get_cookie("hq_console")
    assert after is not None and after.value != before.value  # no session fixation
    home = client.get("/console/")
    assert home.status_code == 200 and "王经办" in home.get_data(as_text=True)
    assert home.headers["Cache-Control"] == "private, no-store"


def test_the_cookie_is_secure_over_https(client: FlaskClient, users: dict[str, str]) -> None:
    page = client.get("/console/login", base_url="https://localhost")
    response = client.post(
        "/console/login",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/console/login"},
        data={"login": users["officer"], "password": PASSWORD, "csrf_token": csrf_of(page)},
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_unknown_login_and_wrong_password_answer_alike(
    client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, "warm.up", "guess")  # the first unknown login makes the dummy hash
    timings: dict[str, list[float]] = {"known": [], "unknown": []}
    bodies = {}
    for _ in range(2):
        for kind, login in (("known", users["officer"]), ("unknown", "nobody.here")):
            started = time.perf_counter()
            response = sign_in(client, login, "wrong password")
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 401
            text = response.get_data(as_text=True).replace(login, "LOGIN")
            bodies[kind] = re.sub(r'name="csrf_token" value="[^"]+"', "", text)
    assert bodies["known"] == bodies["unknown"]
    assert "登录名或密码不正确。" in bodies["known"]
    known, unknown = min(timings["known"]), min(timings["unknown"])
    assert min(known, unknown) >= 0.05
    assert max(known, unknown) / min(known, unknown) < 2, timings


def test_failed_attempts_are_throttled_per_login_even_with_the_right_password_after(
    client: FlaskClient, users: dict[str, str]
) -> None:
    for _ in range(5):
        assert sign_in(client, users["officer"], "guess").status_code == 401
    refused = sign_in(client, users["officer"], PASSWORD)
    assert refused.status_code == 429
    assert "尝试次数过多" in refused.get_data(as_text=True)
    assert client.get("/console/").status_code == 302  # still not signed in
    assert sign_in(client, users["admin"], PASSWORD).status_code == 302  # others may


def test_an_unknown_login_is_throttled_like_a_known_one(client: FlaskClient) -> None:
    for _ in range(5):
        assert sign_in(client, "nobody.here", "guess").status_code == 401
    assert sign_in(client, "nobody.here", "guess").status_code == 429


def test_a_post_without_csrf_token_is_refused(client: FlaskClient, users: dict[str, str]) -> None:
    client.get("/console/login")
    response = client.post("/console/login", data={"login": users["officer"], "password": PASSWORD})
    assert response.status_code == 400
    assert "此表单已过期或并非来自本站" in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_a_cross_site_post_is_refused_even_with_a_token(
    client: FlaskClient, users: dict[str, str]
) -> None:
    page = client.get("/console/login")
    data = {"login": users["officer"], "password": PASSWORD, "csrf_token": csrf_of(page)}
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = client.post("/console/login", data=data, headers=headers)
        assert response.status_code == 403
        assert "Traceback" not in response.get_data(as_text=True)
    assert client.get("/console/").status_code == 302


def test_after_sign_out_a_copied_cookie_opens_nothing(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["officer"])
    copied = client.get_cookie("hq_console")
    assert copied is not None
    home = client.get("/console/")
    out = client.post("/console/logout", data={"csrf_token": csrf_of(home)})
    assert out.status_code == 302 and "bye=1" in out.headers["Location"]
    thief = app.test_client()
    thief.set_cookie("hq_console", copied.value)
    assert thief.get("/console/").status_code == 302


def test_an_idle_session_ends(app: Flask, client: FlaskClient, users: dict[str, str]) -> None:
    sign_in(client, users["officer"])
    assert client.get("/console/").status_code == 200
    app.config["CONSOLE_IDLE_SECONDS"] = 0
    time.sleep(0.01)
    response = client.get("/console/")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_sign_in_goes_back_only_to_a_page_of_this_site(
    client: FlaskClient, users: dict[str, str]
) -> None:
    page = client.get("/console/login?next=//evil.example/x")
    data = {
        "login": users["officer"],
        "password": PASSWORD,
        "csrf_token": csrf_of(page),
        "next": "//evil.example/x",
    }
    assert client.post("/console/login", data=data).headers["Location"] == "/console/"


def test_roles_decide_what_a_person_may_open(client: FlaskClient, users: dict[str, str]) -> None:
    sign_in(client, users["auditor"])
    assert client.get("/console/").status_code == 200
    refused = client.get("/console/gifts/new")
    assert refused.status_code == 403 and "您无权进行此操作" in refused.get_data(as_text=True)
    client.post("/console/logout", data={"csrf_token": csrf_of(client.get("/console/"))})
    sign_in(client, users["officer"])
    assert client.get("/console/gifts/new").status_code == 200
    assert client.get("/console/periods/close").status_code == 403


def test_a_disabled_users_session_ends_at_their_next_click(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    from usecases.unit import SYSTEM
    from usecases.users import disable_user, user_by_login

    books = app.extensions["huiquan"].books
    sign_in(client, users["officer"])
    assert client.get("/console/").status_code == 200
    disable_user(books, user_by_login(books, users["officer"]).id, by=SYSTEM)
    assert client.get("/console/").status_code == 302
    assert sign_in(client, users["officer"]).status_code == 401


def test_expired_session_records_are_swept(app: Flask, tmp_path: object) -> None:
    from console.sessions import FileSessionStore

    store: FileSessionStore = app.extensions["console"].sessions
    store.save("a" * 64, {"data": {}, "created": 0, "seen": 0, "expires": 1})
    store.save("b" * 64, {"data": {}, "created": 0, "seen": 0, "expires": time.time() + 60})
    assert store.prune() == 1
    assert store.load("a" * 64) is None and store.load("b" * 64) is not None


def test_an_unexpected_failure_shows_a_page_without_a_trace(
    app: Flask, client: FlaskClient, users: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from console import reads

    def broken(*_: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(reads, "funds", broken)
    sign_in(client, users["officer"])
    response = client.get("/console/")
    text = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "我们这边出了问题" in text and "secret internals" not in text and "Traceback" not in text
