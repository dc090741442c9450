"""The web application: the API's app (`api.app.create_app`) with the console installed on it.

Invariants owned here:
- One app, one engine, one `Books`: the console records in the very books the API does
  (`app.extensions["huiquan"].books`).
- `/api/docs` is the console's Swagger UI page (`console.apidocs`), not the API's hand-built list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

import console
from api.app import create_app as create_api_app
from console.apidocs import docs_page

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """The API and the console in one app (settings: `api.app`'s and `console.DEFAULTS`)."""
    app = create_api_app(config)
    console.init_app(app, app.extensions["huiquan"].books)
    if "pages.docs" in app.view_functions:  # until api drops its hand-built page
        app.view_functions["pages.docs"] = docs_page
    return app
