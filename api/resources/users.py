"""Users: the people who act on the books, created, listed, given roles and disabled by admins.

A user's password (for the web console) is write-only: it is never answered. Disabling a user
stops their tokens at once in this process (other worker processes within the auth cache's TTL).
"""

from __future__ import annotations

from typing import Any

from api.auth import ADMIN
from api.blueprint import Blueprint
from api.resources.common import books, current_actor, idempotency_key, operation
from api.schemas import UserIn, UserList, UserOut, UserRolesIn
from api.trail import audit_facts
from usecases import users

blp = Blueprint("users", __name__, url_prefix="/api/v1", description="Users.")


def present_user(user: users.User) -> dict[str, Any]:
    return {
        "id": user.id,
        "login": user.login,
        "display_name": user.display_name,
        "roles": list(user.roles),
        "status": user.status,
    }


@blp.route("/users", methods=["POST"])
@operation(blp, roles=ADMIN, problems=("already_exists",), body=True, idempotent=True)
@blp.arguments(UserIn())
@blp.response(201, UserOut)
def create_user(data: dict[str, Any]) -> dict[str, Any]:
    """Create an active user; `display_name` signs their entries, receipts and audit events."""
    key = idempotency_key("users")
    user = users.create_user(books(), by=current_actor(), key=key, audit=audit_facts(), **data)
    return present_user(user)


@blp.route("/users", methods=["GET"])
@operation(blp, roles=ADMIN)
@blp.response(200, UserList)
def list_users() -> dict[str, Any]:
    """Every user, by login (never their passwords)."""
    return {"items": [present_user(u) for u in users.list_users(books())]}


@blp.route("/users/<id>", methods=["GET"])
@operation(blp, roles=ADMIN, problems=("not_found",))
@blp.response(200, UserOut)
def get_user(id: str) -> dict[str, Any]:
    """One user."""
    return present_user(users.get_user(books(), id))


@blp.route("/users/<id>/disable", methods=["POST"])
@operation(blp, roles=ADMIN, problems=("not_found",))
@blp.response(200, UserOut)
def disable_user(id: str) -> dict[str, Any]:
    """Disable a user: no console login, none of their tokens accepted. Idempotent."""
    user = users.disable_user(books(), id, by=current_actor(), audit=audit_facts())
    return present_user(user)


@blp.route("/users/<id>/roles", methods=["PUT"])
@operation(blp, roles=ADMIN, problems=("not_found",), body=True)
@blp.arguments(UserRolesIn())
@blp.response(200, UserOut)
def set_roles(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Replace a user's roles. Idempotent: the same roles again change nothing.

    The audit event names the old and the new roles. The user's tokens whose role they no
    longer hold are revoked at once; an admin cannot take the admin role from themselves
    (`validation_error`)."""
    user = users.set_roles(books(), id, data["roles"], by=current_actor(), audit=audit_facts())
    return present_user(user)
