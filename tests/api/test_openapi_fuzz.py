"""Schemathesis over every operation of `/api/openapi.json`, as an admin, an officer, an
auditor and with no token.

No response may be a 5xx, and every response must conform to the document: a documented status,
the documented media type and headers, a body that validates against the documented schema, and
schema-violating (negative) input refused with a 4xx.

The operations are listed at collection time from a spec built without touching a database;
each test then loads the document from the app under test over WSGI. (Schemathesis' own lazy
pytest loader does not run under pytest 9, so the Hypothesis test is built here.) A role runs the
full count of examples (`SCALE.api_positive` / `api_negative`, tests/hypothesis_profiles.py) on
the operations it may call, a test each; on the others its refusal (401 or 403) is checked on a
few, every refused caller of an operation in one test (one app, one set of books).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api import create_app
from tests.api.conftest import Books
from tests.hypothesis_profiles import SCALE

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _operations() -> list[tuple[str, str, bool, tuple[str, ...] | None]]:
    """(method, path, takes input, roles or None for a public one) of every operation."""
    app = create_app({"DATABASE_URL": "sqlite://", "PSEUDONYM_SECRET": "unused"})
    spec = app.extensions["huiquan"].spec_dict()
    app.extensions["huiquan"].engine.dispose()
    return [
        (
            method.upper(),
            path,
            bool(item.get("parameters") or op.get("parameters") or op.get("requestBody")),
            tuple(op["x-roles"]) if op.get("security") else None,
        )
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


OPERATIONS = _operations()
EXAMPLES = {
    GenerationMode.POSITIVE: SCALE.api_positive,
    GenerationMode.NEGATIVE: SCALE.api_negative,
}
REFUSED_EXAMPLES = 3  # a role's 401/403 on an operation it may not call: the same every time
CALLERS = ("admin", "officer", "auditor", None)


def _modes(takes_input: bool) -> list[GenerationMode]:
    return [mode for mode in EXAMPLES if takes_input or mode is GenerationMode.POSITIVE]


CASES = [
    pytest.param(
        method,
        path,
        mode,
        caller,
        EXAMPLES[mode],
        id=f"{caller or 'anonymous'} {method} {path} {mode}",
    )
    for method, path, takes_input, roles in OPERATIONS
    for caller in CALLERS
    if roles is None or caller in roles
    for mode in _modes(takes_input)
]
# The callers an operation refuses, all checked in one test per operation (one app, one set of
# books): each of them, in each mode, gets a documented refusal.
REFUSALS = [
    pytest.param(
        method,
        path,
        [
            (caller, mode)
            for caller in CALLERS
            if caller not in roles
            for mode in _modes(takes_input)
        ],
        id=f"{method} {path}",
    )
    for method, path, takes_input, roles in OPERATIONS
    if roles is not None and any(caller not in roles for caller in CALLERS)
]
# The public HTML pages (receipts, verification, transparency, campaigns, places): not the API.
PAGE_PREFIXES = ("/static", "/api/openapi.json", "/api/docs", "/r/", "/verify", "/transparency")
PAGE_PREFIXES += ("/c/", "/v/")
# Schema-valid data can still name a fund that does not exist or a date before 1900: the
# ledger's rules go beyond JSON Schema, so "every valid-looking request succeeds" does not hold.
EXCLUDED = [positive_data_acceptance]


def _sent_as_generated(case: schemathesis.Case) -> bool:
    """Whether the request on the wire is the generated case: a query parameter whose value is
    an empty list is not sent at all, so a "negative" case made of one (an unknown parameter
    `[]`) reaches the server as a valid request, and its 200 is no fault."""
    return not any(value == [] for value in (case.query or {}).values())


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """The API tests' settings, with room for Schemathesis' auth probes: each successful example
    is sent again without a token and with a bad one, all from one address. Over the failed-auth
    limit those would be 429 (while the admin's token is still served), which its check does not
    count as enforcing auth."""
    return {**app_config, "FAILED_AUTH_LIMIT": "10000 per minute"}


@pytest.fixture
def api_schema(app: Flask, books: Books) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


def _fuzz(
    operation: Any,
    headers: dict[str, str],
    mode: GenerationMode,
    examples: int,
    *,
    refused: bool = False,
) -> None:
    """Send `examples` generated requests of `mode` to `operation`; each answer must conform to
    the document (and a negative one be a rejection; a valid one, if `refused`, a 401 or 403)."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        # The same examples on every run: CI must not turn green or red by chance. (A random
        # run once produced a "negative" query whose unknown parameter was an empty list, which
        # no client can send; seeds that find real faults are fixed here, not re-rolled.)
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        if mode is GenerationMode.NEGATIVE:
            assume(_sent_as_generated(case))
            response = case.call(headers=headers)
            if response.status_code == 413:
                # A body over the 1 MiB limit (a text field far past its maxLength) is refused
                # before its schema is read: that is a rejection too, as a problem document.
                types = [v for k, v in response.headers.items() if k.lower() == "content-type"]
                assert "application/problem+json" in str(types)
                assert response.json()["code"] == "payload_too_large"
                return
            case.validate_response(response, excluded_checks=EXCLUDED, headers=headers)
            return
        response = case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)
        if refused:
            assert response.status_code in (401, 403), response.status_code

    check()


def _headers(tokens: dict[str, str], caller: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[caller]}"} if caller else {}


@pytest.mark.parametrize(("method", "path", "mode", "caller", "examples"), CASES)
def test_every_operation_answers_within_its_documented_contract(
    api_schema: schemathesis.BaseSchema,
    tokens: dict[str, str],
    method: str,
    path: str,
    mode: GenerationMode,
    caller: str | None,
    examples: int,
) -> None:
    try:
        _fuzz(api_schema[path][method], _headers(tokens, caller), mode, examples)
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        pytest.skip("no input of this operation can violate its schema")


@pytest.mark.parametrize(("method", "path", "refused"), REFUSALS)
def test_every_caller_without_the_role_is_refused_within_the_contract(
    api_schema: schemathesis.BaseSchema,
    tokens: dict[str, str],
    method: str,
    path: str,
    refused: list[tuple[str | None, GenerationMode]],
) -> None:
    operation = api_schema[path][method]
    for caller, mode in refused:
        try:
            _fuzz(operation, _headers(tokens, caller), mode, REFUSED_EXAMPLES, refused=True)
        except Unsatisfiable:
            if mode is GenerationMode.POSITIVE:
                raise


def test_the_document_lists_every_route_of_the_app(app: Flask) -> None:
    documented = {(m, p) for m, p, _, _ in OPERATIONS}
    served = {
        (method, str(rule.rule).replace("<", "{").replace(">", "}"))
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"} and not rule.rule.startswith(PAGE_PREFIXES)
    }
    assert served == documented
