"""The role matrix: every route of the API, called anonymously and with each role's token.

Anonymous callers get 401 on every protected route; a role that may not call a route gets 403;
a role that may gets past authorisation (whatever the empty test body then earns).
"""

from __future__ import annotations

import pytest
from flask import Flask

from tests.api.conftest import ROLES as FIXTURE_ROLES
from tests.api.conftest import Caller
from usecases.tokens import create_token

ROLES = (*FIXTURE_ROLES, "approver")
ADMIN = {"admin"}
WRITE = {"admin", "officer"}
READ = {"admin", "officer", "auditor", "approver"}
AUDIT = {"admin", "auditor"}
PUBLIC = None
# The programmes (api/resources/community.py): moderators read needs and moderate them.
MODERATE = {"admin", "moderator"}
READ_MOD = READ | {"moderator"}
WRITE_MOD = WRITE | {"moderator"}

ROUTES: list[tuple[str, str, set[str] | None]] = [
    ("POST", "/api/v1/funds", ADMIN),
    ("GET", "/api/v1/funds", READ),
    ("GET", "/api/v1/funds/{code}", READ),
    ("POST", "/api/v1/donors", WRITE),
    ("GET", "/api/v1/donors", READ),
    ("GET", "/api/v1/donors/{id}", READ),
    ("GET", "/api/v1/donors/search", READ),
    ("POST", "/api/v1/projects", ADMIN),
    ("GET", "/api/v1/projects", READ),
    ("GET", "/api/v1/projects/{code}", READ),
    ("POST", "/api/v1/beneficiaries", WRITE),
    ("GET", "/api/v1/beneficiaries", READ),
    ("POST", "/api/v1/pledges", WRITE),
    ("GET", "/api/v1/pledges", READ),
    ("POST", "/api/v1/donations", WRITE),
    ("GET", "/api/v1/donations", READ),
    ("POST", "/api/v1/in-kind-donations", WRITE),
    ("GET", "/api/v1/in-kind-donations", READ),
    ("POST", "/api/v1/disbursements", WRITE),
    ("GET", "/api/v1/disbursements", READ),
    ("POST", "/api/v1/scholarship-awards", WRITE),
    ("GET", "/api/v1/scholarship-awards", READ),
    ("POST", "/api/v1/scholarship-payouts", WRITE),
    ("GET", "/api/v1/scholarship-payouts", READ),
    ("GET", "/api/v1/entries", READ),
    ("GET", "/api/v1/entries/{id}", READ),
    ("POST", "/api/v1/entries/{id}/reversal", WRITE),
    ("GET", "/api/v1/trial-balance", READ),
    ("GET", "/api/v1/accounts", READ),
    ("POST", "/api/v1/accounts", ADMIN),
    ("POST", "/api/v1/accounts/{code}/close", ADMIN),
    ("POST", "/api/v1/accounts/{code}/open", ADMIN),
    ("GET", "/api/v1/periods", READ),
    ("POST", "/api/v1/periods/{period}/close", ADMIN),
    ("POST", "/api/v1/tokens", ADMIN),
    ("GET", "/api/v1/tokens", ADMIN),
    ("DELETE", "/api/v1/tokens/{name}", ADMIN),
    ("POST", "/api/v1/users", ADMIN),
    ("GET", "/api/v1/users", ADMIN),
    ("GET", "/api/v1/users/{id}", ADMIN),
    ("POST", "/api/v1/users/{id}/disable", ADMIN),
    ("PUT", "/api/v1/users/{id}/roles", ADMIN),
    ("GET", "/api/v1/receipts", READ),
    ("GET", "/api/v1/approval-requests", READ),
    ("GET", "/api/v1/approval-requests/{id}", READ),
    ("POST", "/api/v1/approval-requests/{id}/approve", {"approver"}),
    ("POST", "/api/v1/approval-requests/{id}/reject", {"approver"}),
    ("POST", "/api/v1/approval-requests/{id}/withdraw", WRITE),
    ("GET", "/api/v1/funds/{code}/approval-policy", READ),
    ("PUT", "/api/v1/funds/{code}/approval-policy", ADMIN),
    ("GET", "/api/v1/funds/{code}/purposes", READ),
    ("PUT", "/api/v1/funds/{code}/purposes", ADMIN),
    ("PUT", "/api/v1/projects/{code}/budget", ADMIN),
    ("GET", "/api/v1/receipts/{serial}", READ),
    ("POST", "/api/v1/receipts/{serial}/void", WRITE),
    ("POST", "/api/v1/receipts/{serial}/link", WRITE),
    ("POST", "/api/v1/receipts/{serial}/fiscal-reference", WRITE),
    ("POST", "/api/v1/issuers", ADMIN),
    ("GET", "/api/v1/issuers", READ),
    ("PUT", "/api/v1/funds/{code}/issuer", ADMIN),
    ("POST", "/api/v1/donors/{id}/annual-receipts/{year}", WRITE),
    ("GET", "/api/v1/audit/events", AUDIT),
    ("GET", "/api/v1/exports/journal.csv", AUDIT),
    ("GET", "/api/v1/exports/journal.jsonl", AUDIT),
    ("GET", "/api/v1/exports/journal.xlsx", AUDIT),
    ("GET", "/api/v1/exports/iati.xml", AUDIT),
    ("GET", "/api/v1/exports/grants.csv", AUDIT),
    ("GET", "/api/v1/statements/{kind}", READ),
    ("POST", "/api/v1/entries/{entry_id}/evidence", WRITE),
    ("GET", "/api/v1/entries/{entry_id}/evidence", READ),
    ("POST", "/api/v1/evidence/{attachment_id}/supersede", WRITE),
    ("GET", "/api/v1/evidence/{ref}", READ),
    ("POST", "/api/v1/approval-requests/{request_id}/evidence", WRITE),
    ("GET", "/api/v1/approval-requests/{request_id}/evidence", READ),
    ("POST", "/api/v1/entries/{entry_id}/acknowledgment", WRITE),
    ("POST", "/api/v1/in-kind-donations/{gift_id}/handovers", WRITE),
    ("POST", "/api/v1/bank-statements", WRITE),
    ("GET", "/api/v1/bank-statements", READ),
    ("GET", "/api/v1/bank-statements/{statement_id}", READ),
    ("POST", "/api/v1/bank-statements/{statement_id}/lines/{line}/match", WRITE),
    ("POST", "/api/v1/bank-statements/{statement_id}/lines/{line}/fee", WRITE),
    ("PUT", "/api/v1/donors/{id}/email", WRITE),
    ("GET", "/api/v1/donors/{id}/email", WRITE),
    ("POST", "/api/v1/webhooks", ADMIN),
    ("GET", "/api/v1/webhooks", ADMIN),
    ("POST", "/api/v1/webhooks/{id}/disable", ADMIN),
    ("GET", "/api/v1/deliveries", WRITE),
    ("GET", "/api/v1/deliveries/{id}", WRITE),
    ("POST", "/api/v1/deliveries/{id}/replay", WRITE),
    ("GET", "/api/v1/checkpoints", PUBLIC),
    ("GET", "/api/v1/checkpoints/latest", PUBLIC),
    ("POST", "/api/v1/checkpoints/{size}/cosignatures", PUBLIC),
    ("GET", "/api/v1/checkpoints/{size}/witnessed", PUBLIC),
    ("GET", "/api/v1/proofs/consistency", PUBLIC),
    ("GET", "/api/v1/proofs/inclusion/{entry_id}", PUBLIC),
    ("GET", "/transparency", PUBLIC),
    ("GET", "/transparency.csv", PUBLIC),
    ("GET", "/healthz", PUBLIC),
    ("GET", "/api/v1/problems", PUBLIC),
    ("GET", "/api/openapi.json", PUBLIC),
    ("GET", "/api/docs", PUBLIC),
    ("POST", "/api/v1/needs", WRITE_MOD),
    ("GET", "/api/v1/needs", READ_MOD),
    ("GET", "/api/v1/needs/{id}", READ_MOD),
    ("POST", "/api/v1/needs/{id}/publish", MODERATE),
    ("POST", "/api/v1/needs/{id}/decline", MODERATE),
    ("POST", "/api/v1/needs/{id}/edit", MODERATE),
    ("POST", "/api/v1/needs/{id}/report", MODERATE),
    ("POST", "/api/v1/offers", WRITE),
    ("GET", "/api/v1/offers", READ_MOD),
    ("POST", "/api/v1/offers/{id}/deliveries", WRITE),
    ("POST", "/api/v1/offers/{id}/hours", WRITE),
    ("POST", "/api/v1/services", WRITE),
    ("GET", "/api/v1/services", READ_MOD),
    ("GET", "/api/v1/services/{id}", READ_MOD),
    ("POST", "/api/v1/services/{id}/signups", WRITE),
    ("GET", "/api/v1/services/{id}/signups", WRITE),
    ("POST", "/api/v1/signups/{id}/attendance", WRITE),
    ("POST", "/api/v1/needs/{id}/contact/erase", WRITE_MOD),
    ("POST", "/api/v1/signups/{id}/contact/erase", WRITE_MOD),
    ("POST", "/api/v1/donors/{id}/email/erase", WRITE),
    ("POST", "/api/v1/recurring-pledges", WRITE),
    ("GET", "/api/v1/recurring-pledges", READ),
    ("GET", "/api/v1/recurring-pledges/reminders", READ),
    ("POST", "/api/v1/places", ADMIN),
    ("GET", "/api/v1/places", PUBLIC),
    ("GET", "/api/v1/places/{code}", PUBLIC),
    ("POST", "/api/v1/campaigns", WRITE),
    ("GET", "/api/v1/campaigns", READ),
    ("GET", "/api/v1/campaigns/{slug}", READ),
    ("PATCH", "/api/v1/campaigns/{slug}", WRITE),
    ("POST", "/api/v1/campaigns/{slug}/matcher", WRITE),
    ("POST", "/api/v1/campaigns/{slug}/updates", WRITE),
    ("POST", "/api/v1/photos", WRITE),
    ("POST", "/api/v1/chiefs", WRITE),
    ("GET", "/api/v1/chiefs", READ),
    ("GET", "/api/v1/chiefs/{chief_id}/summary/{year}", READ),
    ("GET", "/c/", PUBLIC),
    ("GET", "/c/{slug}", PUBLIC),
    ("GET", "/c/photos/{digest}", PUBLIC),
    ("GET", "/v/{code}", PUBLIC),
]

# Path values that name nothing, so an allowed call changes nothing.
PLACEHOLDERS = {
    "{code}": "NOPE-9",
    "{id}": "none",
    "{period}": "bad",
    "{name}": "nobody",
    "{serial}": "HQ-1999-000000",
    "{year}": "1999",
    "{kind}": "nope",
    "{entry_id}": "none",
    "{attachment_id}": "none",
    "{ref}": "none",
    "{gift_id}": "none",
    "{statement_id}": "none",
    "{line}": "1",
    "{slug}": "no-such-drive",
    "{chief_id}": "none",
    "{digest}": "0" * 64,
}


def concrete(path: str) -> str:
    for placeholder, value in PLACEHOLDERS.items():
        path = path.replace(placeholder, value)
    return path


def call(caller: Caller, method: str, path: str) -> int:
    url = concrete(path)
    if method == "GET":
        return caller.get(url).status_code
    if method == "DELETE":
        return caller.delete(url).status_code
    if method == "PUT":
        return caller.client.put(url, json={}, headers=caller.headers()).status_code
    if method == "PATCH":
        return caller.client.patch(url, json={}, headers=caller.headers()).status_code
    body = None if path.endswith("/close") or path.endswith("/open") else {}
    return caller.post(url, body).status_code


@pytest.fixture
def role_tokens(app: Flask, tokens: dict[str, str]) -> dict[str, str]:
    """The API fixtures' token per role, and an approver's."""
    engine = app.extensions["huiquan"].engine
    return {**tokens, "approver": create_token(engine, role="approver", name="approver-1")}


@pytest.mark.parametrize(
    ("method", "path", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES]
)
def test_route_answers_each_role_as_the_matrix_says(
    client: object,
    role_tokens: dict[str, str],
    method: str,
    path: str,
    allowed: set[str] | None,
) -> None:
    anonymous = call(Caller(client, None), method, path)  # type: ignore[arg-type]
    if allowed:
        assert anonymous == 401
    else:  # public: answered on its merits (a proof of nothing may be 404), never 401/403/5xx
        assert anonymous not in (401, 403) and anonymous < 500
    for role in ROLES:
        status = call(Caller(client, role_tokens[role]), method, path)  # type: ignore[arg-type]
        if allowed is None or role in allowed:
            assert status not in (401, 403), role
            assert status < 500, role
        else:
            assert status == 403, role


def test_the_matrix_covers_every_route_and_the_document_states_the_same_roles(
    app: Flask,
) -> None:
    served = {
        (method, str(rule.rule).replace("<", "{").replace(">", "}"))
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
        and not rule.rule.startswith(("/static", "/r/", "/verify"))
    }
    assert served == {(m, p) for m, p, _ in ROUTES}
    paths = app.extensions["huiquan"].spec_dict()["paths"]
    for method, path, allowed in ROUTES:
        if path in paths:
            operation = paths[path][method.lower()]
            assert set(operation.get("x-roles", [])) == (allowed or set())
            assert operation["security"] == ([{"bearerAuth": []}] if allowed else [])
