"""The public landing page, the language switch, signing in and out, and the officers' home."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response

from console import reads
from console.auth import current_user, login_required, padded, safe_next
from console.i18n import COOKIE, LANGUAGES
from console.shell import make_blueprint
from console.state import books, state
from usecases import controls
from usecases.users import User, authenticate

__all__ = ["bp"]

bp = make_blueprint("console", __name__, static_folder="static", static_url_path="/console/static")

BAD_LOGIN = _l("The login or the password is not right.")
THROTTLED = _l("Too many attempts. Wait a few minutes, then try again.")


@bp.get("/")
def landing() -> str:
    """What the platform is, its funds, and the ways in (public)."""
    return render_template("console/landing.html", funds=reads.funds(books()))


@bp.get("/lang/<code>")
def switch_language(code: str) -> Response:
    """Remember the person's language (a cookie) and go back where they were."""
    target = safe_next(request.args.get("next"), url_for("console.landing"))
    response = redirect(target)
    if code in LANGUAGES:
        response.set_cookie(
            COOKIE,
            code,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure,
        )
    return response


def _login_page(status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template("console/login.html", **context), status


@bp.route("/console/login", methods=["GET", "POST"])
def login() -> Any:
    """Sign in with a login and password."""
    target = safe_next(request.values.get("next"), url_for("console.home"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(target)
        generate_csrf()
        return _login_page(next=target, login_name="", bye=request.args.get("bye") == "1")
    login_name = request.form.get("login", "").strip()[:200]
    password = request.form.get("password", "")[:1024]
    address = request.remote_addr or ""
    throttle = state().throttle
    if not throttle.allowed(login_name, address):
        return _login_page(429, next=target, login_name=login_name, error=THROTTLED)
    started = time.perf_counter()
    user = _authenticate(login_name, password) if login_name and password else None
    if user is None or not user.active:
        throttle.failed(login_name, address)
        padded(started, float(current_app.config["CONSOLE_LOGIN_FLOOR_SECONDS"]))
        return _login_page(401, next=target, login_name=login_name, error=BAD_LOGIN)
    throttle.succeeded(login_name)
    session.renew()  # type: ignore[attr-defined]
    session.pop("csrf_token", None)
    session["user"] = {"id": user.id}
    session["signed_in_at"] = int(time.time())
    padded(started, float(current_app.config["CONSOLE_LOGIN_FLOOR_SECONDS"]))
    return redirect(target)


def _authenticate(login_name: str, password: str) -> User | None:
    return authenticate(books(), login_name, password)


@bp.post("/console/logout")
def logout() -> Response:
    """End the session: its server-side record is deleted."""
    session.end()  # type: ignore[attr-defined]
    g.console_user = None
    return redirect(url_for("console.login", bye=1))


@bp.get("/console/")
@login_required()
def home() -> str:
    """The officers' home: every fund with its headline figures."""
    found = [reads.fund_page(books(), f.code) for f in reads.funds(books())]
    return render_template("console/home.html", pages=[p for p in found if p is not None])


@bp.get("/console/funds/<code>")
@login_required()
def fund(code: str) -> str:
    """A fund's dashboard: cash, net assets, pledges, what it may pay for, project budgets
    (an admin's links change them), latest entries."""
    from flask import abort

    from audits.charts import bar_chart

    page = reads.fund_page(books(), code)
    if page is None:
        abort(404)
    items = [(b.project.name[:14], b.spent) for b in page.budgets][:8] or [
        (str(_l("Raised")), page.summary.raised),
        (str(_l("Spent")), page.summary.disbursed),
    ]
    chart = bar_chart(str(_l("Spent by project (CNY)")), items)
    purposes = controls.fund_purposes(books(), code)
    changed = request.args.get("changed")
    return render_template(
        "console/fund.html",
        page=page,
        chart=chart,
        purposes=purposes,
        changed=changed if changed in ("purposes", "budget", "opened", "project") else None,
        changed_project=request.args.get("project", "")[:40],
    )
