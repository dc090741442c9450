"""The console's blueprints share one shell: the signed-in person, CSRF and origin checks,
HTML error pages (never a stack trace), and the audit facts of a write.

`make_blueprint(name, import_name)` gives a blueprint with all of it installed; every console
area (officers' forms here, lists and auditors' pages elsewhere) is built from one.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from console.auth import load_user
from console.security import check_post
from usecases.unit import AuditFacts

__all__ = ["audit_facts", "make_blueprint"]

log = logging.getLogger("huiquan.console")

TITLES = {
    400: _l("This request could not be understood"),
    403: _l("You may not do this"),
    404: _l("This page does not exist"),
    405: _l("This request could not be understood"),
    413: _l("What was sent is too large"),
    429: _l("Too many attempts"),
}


def error_page(exc: Exception) -> tuple[str, int]:
    """An HTML error page in the user's language; an unexpected error is logged, not shown."""
    if isinstance(exc, CSRFError):
        status = 400
        detail = _l(
            "This form has expired or did not come from this site."
            " Reload the page and send it again."
        )
    elif isinstance(exc, HTTPException):
        status = exc.code or 500
        detail = None
    else:
        log.exception("unhandled console error", extra={"request_id": g.get("request_id", "")})
        status, detail = 500, None
    title = TITLES.get(status, _l("Something went wrong on our side"))
    return (
        render_template(
            "console/error.html",
            status=status,
            title=title,
            detail=detail,
            request_id=g.get("request_id", ""),
        ),
        status,
    )


def make_blueprint(
    name: str, import_name: str, url_prefix: str | None = None, **options: Any
) -> Blueprint:
    """A console blueprint: user loaded, posts checked, errors rendered as pages.

    Templates are looked up in the `templates/` folder beside `import_name`'s module (and in
    every other blueprint's): `console/base.html` is the layout to extend.
    """
    options.setdefault("template_folder", "templates")
    bp = Blueprint(name, import_name, url_prefix=url_prefix, **options)
    bp.before_request(load_user)
    bp.before_request(check_post)
    bp.register_error_handler(HTTPException, error_page)
    bp.register_error_handler(Exception, error_page)
    return bp


def audit_facts(action: str, key: str = "") -> AuditFacts:
    """The audit event of this request's write (one object per request)."""
    facts: AuditFacts | None = g.get("audit_facts")
    if facts is None:
        user = g.get("console_user")
        facts = g.audit_facts = AuditFacts(
            actor=user.name if user else "anonymous",
            role=",".join(user.roles) if user else "",
            action=f"console {action}",
            target=request.path[:200],
            request_id=g.get("request_id", ""),
            idempotency_key=key[:200],
            client=(request.remote_addr or "")[:64],
        )
    return facts
