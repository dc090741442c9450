"""What every console page sends and checks: security headers, CSRF, same-origin posts.

Invariants owned here:
- Every HTML answer of the web app carries the receipt pages' protections: a
  Content-Security-Policy without inline script or style (scripts and styles only from this
  origin), `frame-ancestors 'none'`, `X-Content-Type-Options: nosniff`,
  `Referrer-Policy: no-referrer`; a page of a signed-in person is never stored by a cache.
- Every POST to the console carries a valid CSRF token (Flask-WTF, bound to the server-side
  session) and, when the browser says where it comes from (`Origin`, `Sec-Fetch-Site`), comes
  from this site: a cross-site post is refused before any view runs.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, abort, request, session
from flask_wtf.csrf import CSRFProtect

__all__ = ["CONTENT_SECURITY_POLICY", "check_post", "csrf", "secure_headers"]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)

csrf = CSRFProtect()


def _same_origin() -> bool:
    # Under `Referrer-Policy: no-referrer` a browser sends `Origin: null` with a form post (and
    # no Referer): then `Sec-Fetch-Site` says where the post came from, and the token decides.
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        here = urlsplit(request.host_url)
        there = urlsplit(origin)
        if (there.scheme, there.netloc) != (here.scheme, here.netloc):
            return False
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


def check_post() -> None:
    """Before a console view: refuse a cross-site or CSRF-less write (403 / 400)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if not _same_origin():
        abort(403)
    csrf.protect()


def secure_headers(response: Response) -> Response:
    """After every request: the page protections on any HTML answer that lacks them."""
    if response.mimetype != "text/html":
        return response
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if session.get("user") and "Cache-Control" not in headers:
        headers["Cache-Control"] = "private, no-store"
    return response


def init_security(app: Flask) -> None:
    # Only console views check CSRF (`check_post`): the JSON API authenticates by bearer token.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's own timeout governs
    # Flask-WTF's https check wants a Referer, which no-referrer pages never send; the origin
    # check above stands in for it.
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    csrf.init_app(app)
    app.after_request(secure_headers)
