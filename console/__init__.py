"""The web console: a public start page, sign-in, and officers' pages and forms over the use cases.

Server-rendered (Flask + Jinja2), no JavaScript needed; zh-Hans by default, English on request.
`init_app(app, books)` installs it on an application that already serves the API (see
`web.app`); console never imports `api` or `cli`, and they never import it.

Public names other areas build on (kept stable): `init_app`; `console.shell.make_blueprint`
(a blueprint with the signed-in user, CSRF and origin checks and HTML error pages);
`console.auth.login_required`, `current_user`, `current_actor`, `WRITERS`, `READERS`, `ADMIN`,
`APPROVERS`; `console.forms.Form`, `Field`; `console.i18n.money`, `day` (also the Jinja filters
`money` and `day`); the templates `console/base.html` (blocks `title`, `content`,
`extra_menu`) and `console/_fields.html` (macros `field`, `form_body`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from ledger.keyfile import secret_key_file
from usecases.books import Books

__all__ = ["DEFAULTS", "init_app"]

DEFAULTS: dict[str, Any] = {
    "SESSION_COOKIE_NAME": "hq_console",
    "CONSOLE_IDLE_SECONDS": 30 * 60,
    "CONSOLE_MAX_SECONDS": 12 * 3600,
    "CONSOLE_LOGIN_FLOOR_SECONDS": 0.4,
    "CONSOLE_LOGIN_LIMIT_PER_USER": "5 per 15 minutes",
    "CONSOLE_LOGIN_LIMIT_PER_ADDRESS": "30 per 15 minutes",
    "CONSOLE_SESSION_DIR": None,
    "SECRET_KEY": None,
}


def init_app(app: Flask, books: Books) -> None:
    """Install the console on `app`, recording in `books`."""
    # officers and approvals put their routes on the console blueprint as they are imported
    from console import (  # noqa: F401
        apidocs,
        approvals,
        auditor,
        community,
        delivery,
        lists,
        officers,
        pages,
        programmes,
    )
    from console.i18n import init_i18n
    from console.security import init_security
    from console.sessions import FileSessionStore, ServerSessionInterface
    from console.state import ConsoleState
    from console.throttle import LoginThrottle

    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
        if app.config[name] is None and value is not None:
            app.config[name] = value
    if app.config["SESSION_COOKIE_NAME"] == "session":  # Flask's default: name ours
        app.config["SESSION_COOKIE_NAME"] = DEFAULTS["SESSION_COOKIE_NAME"]
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(books.home)
    folder = Path(app.config["CONSOLE_SESSION_DIR"] or books.home / "console-sessions")
    store = FileSessionStore(folder)
    app.session_interface = ServerSessionInterface(store)
    throttle = LoginThrottle(
        app.config.get("RATELIMIT_STORAGE_URI", "memory://"),
        app.config["CONSOLE_LOGIN_LIMIT_PER_USER"],
        app.config["CONSOLE_LOGIN_LIMIT_PER_ADDRESS"],
    )
    app.extensions["console"] = ConsoleState(books=books, sessions=store, throttle=throttle)
    init_i18n(app)
    init_security(app)
    app.register_blueprint(pages.bp)
    apidocs.init_app(app)
    lists.init_app(app)
    auditor.init_app(app)
    delivery.init_app(app)

    from console import office

    office.init_app(app)

    from console import admin

    admin.init_app(app)
    community.init_app(app)
    from console import erasure

    erasure.init_app(app)
    app.jinja_env.globals["url_for"] = _url_for_of(app)


def _url_for_of(app: Flask) -> Any:
    """Templates' `url_for`: a link without arguments (the menu's, a list's base) is built
    once per endpoint and script root, not on every page; any other goes to Flask's."""
    from flask import request

    built: dict[tuple[str, str], str] = {}

    def url_for(endpoint: str, **values: Any) -> str:
        if values or endpoint.startswith("."):
            return app.url_for(endpoint, **values)
        key = (endpoint, request.script_root)
        found = built.get(key)
        if found is None:
            found = built[key] = app.url_for(endpoint)
        return found

    return url_for


def _secret_key(home: Path) -> bytes:
    """The key that signs CSRF tokens: `home/console.key` (32 random bytes, 0600), made once."""
    return secret_key_file(home / "console.key", folder_mode=0o777)
