"""The administrator's API tokens: list them, create one (its secret shown once), revoke one.

The calls are the API's (`GET`, `POST /api/v1/tokens`, `DELETE /api/v1/tokens/{name}`):
`usecases.tokens.list_tokens`, `issue_token` and `withdraw_token`. The rules (a known role the
user holds, an active user, a name not taken, a lifetime of 1 to 3650 days) are theirs, and
their refusals come back beside the field they name. The secret is on the page that answers the
form, once: only its hash is kept, so the list never shows it and a form sent twice makes one
token and answers without it. Revoking takes effect at once in every worker; a token already
revoked stays revoked. Admins only, as in the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console.admin import bp
from console.auth import ADMIN, login_required
from console.forms import Choice, Field, Form
from console.office.admin import ROLE_LABELS
from console.shell import audit_facts
from console.state import books
from ledger import limits
from ledger.errors import LedgerError
from ledger.text import digits
from usecases import tokens, users

__all__ = ["TOKEN_FIELDS", "token_state"]


def _users() -> list[Choice]:
    found = [u for u in users.list_users(books()) if u.active]
    return [("", _l("A user of the token's name"))] + [
        (u.login, f"{u.display_name} ({u.login})") for u in found
    ]


TOKEN_FIELDS = (
    Field(
        "name",
        _l("Name"),
        required=True,
        max_length=limits.TOKEN_NAME,
        help=_l("Who or what uses it, such as wechat-gateway; a name is never used twice."),
    ),
    Field(
        "role",
        _l("Role"),
        "choice",
        required=True,
        choices=lambda: [(r, str(ROLE_LABELS.get(r, r))) for r in tokens.ROLES],
    ),
    Field(
        "user",
        _l("Acts as"),
        "choice",
        choices=_users,
        help=_l("The person whose name signs what it records; they must hold the role."),
    ),
    Field(
        "expires_in_days",
        _l("Expires after (days)"),
        required=True,
        max_length=4,
        default=str(tokens.DEFAULT_LIFETIME_DAYS),
        help=_l("1 to %(most)s days.", most=tokens.MAX_LIFETIME_DAYS),
    ),
)
LIFETIME = _l("Enter a number of days from 1 to %(most)s.", most=tokens.MAX_LIFETIME_DAYS)
MESSAGES: Mapping[tuple[str, str], Any] = {
    ("name", "already_exists"): _l(
        "A token with this name exists already (a revoked one keeps its name)."
    ),
    ("name", "invalid_entry"): _l(
        "Give the name in one line of at most %(most)s characters.", most=limits.TOKEN_NAME
    ),
    ("role", "invalid_entry"): _l(
        "The user does not hold this role: give it to them on the Users page first."
    ),
    ("user", "invalid_entry"): _l("This user is disabled."),
    ("user", "not_found"): _l("Choose a user from the list."),
    ("expires_in_days", "invalid_entry"): LIFETIME,
}


def token_state(info: tokens.TokenInfo, now: dt.datetime) -> str:
    """`active`, `expired` or `revoked`."""
    if info.revoked_at is not None:
        return "revoked"
    return "expired" if info.expired(now) else "active"


def _page(form: Form | None = None, status: int = 200, **context: Any) -> tuple[str, int]:
    now = dt.datetime.now(dt.UTC)
    listed = [(t, token_state(t, now)) for t in tokens.list_tokens(books().engine)]
    revoked = request.args.get("revoked", "")[:40]
    return (
        render_template(
            "console/admin/tokens.html",
            tokens=listed,
            revoked=next((t for t, _ in listed if revoked and t.id == revoked), None),
            form=form or Form.blank(TOKEN_FIELDS),
            **context,
        ),
        status,
    )


@bp.get("/tokens")
@login_required(*ADMIN)
def tokens_page() -> tuple[str, int]:
    """Every token ever made (never a secret), and the form that makes one."""
    return _page()


@bp.post("/tokens")
@login_required(*ADMIN)
def create_token() -> tuple[str, int]:
    """Make a token; the answer shows its secret, this once."""
    form = Form.posted(TOKEN_FIELDS, request.form)
    data = form.load()
    days = (data or {}).get("expires_in_days") or ""
    if data is not None and not (digits(days) and len(days) <= 4):
        form.add_error("expires_in_days", LIFETIME)
    if data is None or not form.ok:
        return _page(form, 422)
    key = form.key("tokens")
    try:
        info, secret = tokens.issue_token(
            books(),
            role=data["role"],
            name=data["name"],
            user=data.get("user") or None,
            expires_in_days=int(days),
            key=key,
            audit=audit_facts("tokens", key),
        )
    except LedgerError as err:
        form.refused(err, MESSAGES)
        return _page(form, 422)
    return _page(status=201, created=info, secret=secret)


@bp.post("/tokens/<token_id>/revoke")
@login_required(*ADMIN)
def revoke_token(token_id: str) -> Any:
    """Revoke a token: refused by every worker from the next request on."""
    found = next((t for t in tokens.list_tokens(books().engine) if t.id == token_id[:40]), None)
    if found is None:
        return _page(status=404, refused=_l("There is no such token."))
    if found.revoked_at is None:
        try:
            tokens.withdraw_token(books(), found.name, audit=audit_facts("token-revoke"))
        except LedgerError as err:  # revoked in between: it is revoked, as asked
            if err.code != "not_found":
                raise
    return redirect(url_for("console_admin.tokens_page", revoked=found.id), 303)
