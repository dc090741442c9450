"""The programmes' public pages: campaigns (`/c/`, `/c/{slug}`), places (`/v/{code}`), photos.

Like the transparency page: server-rendered, no JavaScript, nothing loaded from elsewhere, a
Content-Security-Policy allowing only the page's own stylesheet (by hash) and its own photos.
Mobile first: one column at 390 px, nothing wider than the screen. Every figure is read from
the journal by the use cases. No beneficiary's personal data is in any of them; donors appear
as they chose (anonymous donors are never named).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import flask
from flask import Response, abort, render_template
from markupsafe import Markup

from api.state import books
from ledger.errors import NotFound
from ledger.money import format_minor
from ledger.text import digits
from usecases import campaigns, chiefs, places

__all__ = ["pages", "yuan"]

_TEMPLATES = Path(__file__).parents[1] / "templates"
pages = flask.Blueprint("programmes", __name__, template_folder=str(_TEMPLATES))
_DIGEST = re.compile(r"[0-9a-f]{64}")


def yuan(minor: int) -> str:
    """CNY minor units as yuan with thousands separators: 1234567 -> "12,345.67"."""
    text = format_minor(abs(minor), "CNY")
    whole, _, cents = text.partition(".")
    grouped = f"{int(whole):,}"
    return ("-" if minor < 0 else "") + grouped + (f".{cents}" if cents else "")


@cache
def _css() -> str:
    return (_TEMPLATES / "programmes.css").read_text(encoding="utf-8")


def content_security_policy() -> str:
    """Only the page's own stylesheet (by hash) and photos served here."""
    digest = base64.b64encode(hashlib.sha256(_css().encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )


def _page(template: str, **context: Any) -> Response:
    html = render_template(
        template,
        css=Markup(_css()),  # noqa: S704 - our own stylesheet
        yuan=yuan,
        **context,
    )
    return Response(
        html,
        mimetype="text/html",
        headers={
            "Content-Security-Policy": content_security_policy(),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "public, max-age=60",
        },
    )


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pages.route("/c/", methods=["GET"])
def campaign_index() -> Response:
    """Every public campaign, newest first, with its progress."""
    today = _today()
    views = [
        campaigns.overview(books(), c.slug, today=today, public=True)
        for c in campaigns.list_campaigns(books(), public=True)
    ]
    return _page("campaign_index.html", views=views)


@pages.route("/c/<slug>", methods=["GET"])
def campaign_page(slug: str) -> Response:
    """A campaign's public page: progress from the books, donors as they chose, updates, and
    where the money went."""
    try:
        view = campaigns.overview(books(), slug, today=_today(), public=True)
    except NotFound:
        abort(404)
    return _page("campaign.html", v=view, c=view.campaign, p=view.progress)


@pages.route("/c/photos/<digest>", methods=["GET"])
def campaign_photo(digest: str) -> Response:
    """A photo of a campaign (its bytes as uploaded, type judged from them)."""
    found = campaigns.photo(books(), digest) if _DIGEST.fullmatch(digest) else None
    if found is None:
        abort(404)
    media_type, content = found
    return Response(
        content,
        mimetype=media_type,
        headers={
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=31536000, immutable",
            "Content-Security-Policy": "default-src 'none'",
        },
    )


@pages.route("/v/<code>", methods=["GET"])
def place_page(code: str) -> Response:
    """A village's (or town's, or county's) public page: its projects, raised and spent there,
    honorary chiefs as they chose to be shown, campaigns and acknowledged payments."""
    if not digits(code) or len(code) not in (6, 9, 12):
        abort(404)
    try:
        view = chiefs.village_view(books(), code, today=_today())
    except NotFound:
        abort(404)
    children = places.list_places(books(), parent=code)
    return _page(
        "village.html",
        v=view,
        children=[(p, view.every_place.get(p.code, {})) for p in children],
        today=_today(),
    )
