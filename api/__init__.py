"""The HTTP API of Huiquan Ledger: the composition root (Flask, marshmallow, the ledger).

Nothing is built at import time: `create_app` imports the application module when called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["create_app"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the API application; see `api.app` for the settings."""
    from api.app import create_app as build

    return build(config)
