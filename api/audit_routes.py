"""The audit routes' old entry points, kept until `create_app` registers `api.resources.audits`.

The routes, their schemas and their documentation live in `api.resources.audits`; `create_app`
should call ``api.resources.audits.register(app, api)`` (or list `audits` among the resources)
instead of ``app.register_blueprint(make_blueprint())`` + ``document(api.spec)``.
"""

from __future__ import annotations

from typing import Any

import flask

from api.resources.audits import AUDITORS, content_security_policy, register

__all__ = ["AUDITORS", "content_security_policy", "document", "make_blueprint"]


def make_blueprint() -> flask.Blueprint:
    """A blueprint that, once registered on the app, registers the audit routes and their docs."""
    shim = flask.Blueprint("audit_routes", __name__)
    shim.record_once(lambda state: register(state.app, state.app.extensions["huiquan"].api))
    return shim


def document(spec: Any) -> None:
    """Nothing left to do: the routes are documented from their schemas when registered."""
