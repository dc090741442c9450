"""The API's blueprint: flask-smorest's, with a query-string parser that refuses a parameter
given more than once unless its field takes several values.

Without it a repeated parameter (`?status=open&status=closed`) would quietly mean its first
value: a client that meant both would get an answer to a question it did not ask.
"""

from __future__ import annotations

from typing import Any

import flask
import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy

__all__ = ["Blueprint"]


class _OneValueEach(FlaskParser):
    def load_querystring(self, req: flask.Request, schema: ma.Schema) -> Any:
        proxy = MultiDictProxy(req.args, schema)
        repeated = {
            name: ["given more than once; give it once"]
            for name in req.args
            if name not in proxy.multiple_keys and len(req.args.getlist(name)) > 1
        }
        if repeated:
            raise ma.ValidationError(repeated)
        return proxy


class Blueprint(flask_smorest.Blueprint):
    """A resource's blueprint (see the module docstring)."""

    ARGUMENTS_PARSER = _OneValueEach()
