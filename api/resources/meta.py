"""The service itself: health, the problem catalogue and the human API page (all public)."""

from __future__ import annotations

from typing import Any

import flask
from flask import current_app, render_template
from sqlalchemy.exc import SQLAlchemyError

from api.blueprint import Blueprint
from api.errors import CATALOGUE, DEFAULT_TYPE_BASE, ApiProblem
from api.resources.common import huiquan, operation
from api.schemas import HealthOut, ProblemCatalogue

blp = Blueprint("service", __name__, description="Health and the problem catalogue (public).")
pages = flask.Blueprint("pages", __name__)

METHODS = ("get", "post", "put", "patch", "delete")


@blp.route("/healthz", methods=["GET"])
@operation(blp, roles=None, problems=("service_unavailable",))
@blp.response(200, HealthOut)
def health() -> dict[str, Any]:
    """The service and database state (one `SELECT 1`); 503 when the database is unreachable."""
    state = huiquan()
    try:
        with state.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError:
        raise ApiProblem(
            "service_unavailable",
            "The database cannot be reached.",
            headers={"Retry-After": "1"},
        ) from None
    return {
        "status": "ok",
        "database": "ok",
        "engine": state.engine.dialect.name,
        "version": state.version,
    }


@blp.route("/api/v1/problems", methods=["GET"])
@operation(blp, roles=None)
@blp.response(200, ProblemCatalogue)
def problems() -> dict[str, Any]:
    """The catalogue of problem codes: each code's status, title and when it is answered."""
    base = current_app.config.get("PROBLEM_TYPE_BASE", DEFAULT_TYPE_BASE)
    return {
        "items": [
            {
                "code": p.code,
                "status": p.status,
                "title": p.title,
                "when": p.when,
                "type": f"{base}{p.code}",
            }
            for p in CATALOGUE
        ]
    }


def _responses(spec: dict[str, Any], op: dict[str, Any]) -> list[tuple[str, str]]:
    named = spec.get("components", {}).get("responses", {})
    found = []
    for status, response in sorted(op.get("responses", {}).items()):
        if "$ref" in response:
            response = named.get(response["$ref"].rsplit("/", 1)[-1], {})
        found.append((str(status), str(response.get("description", ""))))
    return found


def _operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    schemas = spec.get("components", {}).get("schemas", {})
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref", "")
            name = ref.rsplit("/", 1)[-1]
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "roles": op.get("x-roles") or ["public"],
                    "tag": (op.get("tags") or [""])[0],
                    "parameters": [
                        p
                        for p in op.get("parameters", []) + item.get("parameters", [])
                        if "name" in p
                    ],
                    "body": name,
                    "fields": schemas.get(name, {}).get("properties", {}),
                    "required": schemas.get(name, {}).get("required", []),
                    "responses": _responses(spec, op),
                }
            )
    return found


@pages.route("/api/docs")
def docs() -> str:
    """A self-contained page listing every operation, rendered from the OpenAPI document."""
    spec = huiquan().spec_dict()
    return render_template(
        "docs.html", spec=spec, operations=_operations(spec), catalogue=CATALOGUE
    )
