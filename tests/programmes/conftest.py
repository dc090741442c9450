"""Fixtures of the places and programmes tests: the API fixtures, and the demo's places."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import (  # noqa: F401 - fixtures shared with the API tests
    Books,
    Caller,
    admin,
    anonymous,
    app,
    app_config,
    auditor,
    books,
    client,
    officer,
    tokens,
)

PLACES = Path(__file__).parents[2] / "cli" / "demo_data" / "places.json"


def demo_places() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(PLACES.read_text(encoding="utf-8"))["places"]
    return rows


@pytest.fixture
def placed(admin: Caller) -> list[dict[str, Any]]:  # noqa: F811 - the shared fixture
    """The demo's counties, towns and villages, added through the API, parents first."""
    rows = demo_places()
    for row in sorted(rows, key=lambda r: len(r["code"])):
        admin.created("/api/v1/places", row)
    return rows
