"""API tokens: created (the secret shown once), listed and revoked by admins.

A replay of `POST /tokens` with the same `Idempotency-Key` and body answers 201 with the same
token record but `token: null`: only a hash of the secret is kept, so it cannot be shown again.
Two concurrent first uses of one key create one token; the other answers 409 `already_exists`.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from api.auth import ADMIN
from api.blueprint import Blueprint
from api.resources.common import books, idempotency_key, operation
from api.schemas import TokenCreatedOut, TokenIn, TokenList
from api.trail import audit_facts
from usecases import tokens

blp = Blueprint("tokens", __name__, url_prefix="/api/v1", description="API tokens.")


def present_token(info: tokens.TokenInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "name": info.name,
        "role": info.role,
        "user_id": info.user_id,
        "created_at": info.created_at,
        "revoked_at": info.revoked_at,
        "expires_at": info.expires_at,
    }


@blp.route("/tokens", methods=["POST"])
@operation(blp, roles=ADMIN, problems=("already_exists",), body=True, idempotent=True)
@blp.arguments(TokenIn())
@blp.response(201, TokenCreatedOut)
def create_token(data: dict[str, Any]) -> dict[str, Any]:
    """Create a token; the secret is in `token`, shown this once (only its hash is kept)."""
    key = idempotency_key("tokens")
    info, secret = tokens.issue_token(books(), key=key, audit=audit_facts(), **data)
    return {**present_token(info), "token": secret}


@blp.route("/tokens", methods=["GET"])
@operation(blp, roles=ADMIN)
@blp.response(200, TokenList)
def list_tokens() -> dict[str, Any]:
    """Every token ever created, oldest first, without secrets."""
    return {"items": [present_token(t) for t in tokens.list_tokens(books().engine)]}


@blp.route("/tokens/<name>", methods=["DELETE"])
@operation(blp, roles=ADMIN, problems=("not_found",))
@blp.response(204)
def revoke_token(name: str) -> Response:
    """Revoke a token by name; every worker refuses it from the next request on."""
    tokens.withdraw_token(books(), name, audit=audit_facts())
    return Response(status=204)
