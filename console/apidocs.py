"""The API page (`/api/docs`): Swagger UI, served from this server, under the console's CSP.

The renderer's files come from the `swagger-ui-bundle` package and are served here (no CDN);
a small static script (`static/apidocs.js`) starts it, so the page needs no inline script.
"Try it out" calls the same server, with the bearer token typed into "Authorize".
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, abort, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

__all__ = ["bp", "docs_page", "init_app"]

ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")

bp = Blueprint("apidocs", __name__, template_folder="templates")


def docs_page() -> str:
    """The interactive description of the HTTP API."""
    return render_template("console/apidocs.html", spec_url="/api/openapi.json")


@bp.get("/api/docs/assets/<name>")
def asset(name: str) -> Response:
    """One of Swagger UI's files, cached for a day."""
    if name not in ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name, max_age=86400)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    if "pages.docs" not in app.view_functions:
        app.add_url_rule("/api/docs", "apidocs.docs", docs_page)
