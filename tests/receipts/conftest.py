"""Fixtures of the receipt tests: the API test app with receipts plugged in, and a few gifts.

The API fixtures (`app_config`, `client`, `tokens`, `admin`, `officer`, `auditor`, `anonymous`,
`books`) are the HTTP API tests' own; `app` is rebuilt here so that receipts are wired whether
or not `create_app` calls `api.receipt_routes.init_app` yet (it is idempotent).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from api import create_app, receipt_routes
from tests.api import conftest as api_fixtures
from tests.api.conftest import TODAY, Books, Caller, donation

# The HTTP API tests' fixtures, shared (assigned, not imported, so arguments may reuse the names).
app_config = api_fixtures.app_config
client = api_fixtures.client
tokens = api_fixtures.tokens
admin = api_fixtures.admin
officer = api_fixtures.officer
auditor = api_fixtures.auditor
anonymous = api_fixtures.anonymous
books = api_fixtures.books

__all__ = ["BASE", "TODAY", "Books", "Caller", "donation", "give", "path_of"]


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app({**app_config, "PUBLIC_BASE_URL": "https://receipts.huiquan.example"})
    receipt_routes.init_app(app)
    yield app
    app.extensions["huiquan"].engine.dispose()


BASE = "https://receipts.huiquan.example"


def path_of(url: str) -> str:
    """The path of a receipt link, for the test client."""
    assert url.startswith(BASE), url
    return url.removeprefix(BASE)


def give(officer: Caller, books: Books, amount: str = "12000.00", **fields: Any) -> dict[str, Any]:
    """Record a CNY gift to the restricted fund; the donation's response body."""
    return officer.created("/api/v1/donations", donation(books, amount, **fields))


@pytest.fixture
def gift(officer: Caller, books: Books) -> dict[str, Any]:
    """A gift of 12,000.00 CNY to the girls' school fund, with its receipt."""
    return give(officer, books)


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The app served by a real HTTP server on a free loopback port, in a thread."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
