"""The console's office pages: receipts, evidence, bank statements, file imports, and the
administrator's users, issuers, approval policies, fund purposes, project budgets and webhooks.

Every page calls the use case the API and the CLI call (`usecases.receipts`, `evidence`,
`reconciliation`, `imports`, `users`, `issuers`, `approvals`, `controls`, `delivery`); nothing
here decides a rule. Officers also register beneficiaries (`reference`; their personal data is
never shown again), set a donor's receipt email (`delivery`), record a payment's
acknowledgment and supersede a wrong document (`evidence`), and hand goods received in kind
over (`handover`).
A form that fails shows its errors beside the fields, in the user's language, and keeps what
was typed; an upload is judged by the use case (type by its bytes, size by its limit).

Roles as in the API: officers and admins record, auditors read, admins manage users, issuers,
policies, fund purposes, project budgets and webhook subscriptions; evidence files are for
staff only (never the public).

Install with `init_app(app)` after `console.init_app` (it registers the `console_office`
blueprint; the modules below add their routes to it as they are imported).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l

from console.auth import READERS, current_user, login_required
from console.shell import make_blueprint

__all__ = ["UPLOAD_LIMITS", "bp", "init_app"]

bp = make_blueprint("console_office", __name__, url_prefix="/console")

#: Request body limits of the upload endpoints (the form's other fields included).
UPLOAD_LIMITS: dict[str, int] = {}


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Runs before the blueprint's CSRF check reads the form, so the larger limit applies to it.
    limit = UPLOAD_LIMITS.get(endpoint or "")
    if limit and request.method == "POST":
        request.max_content_length = limit


def init_app(app: Flask) -> None:
    """Register the office pages on `app` (once `console.init_app` has run)."""
    from console.office import (  # noqa: F401
        acknowledgments,
        admin,
        banking,
        beneficiaries,
        controls,
        donor_email,
        evidence,
        handovers,
        imports,
        receipts,
        webhooks,
    )

    if "console_office" not in app.blueprints:
        app.register_blueprint(bp)


SECTIONS = [
    ("console_office.find_receipt", _l("Receipts"), _l("Find a receipt; its link, PDF, void."), ()),
    (
        "console_office.bank_statements",
        _l("Bank statements"),
        _l("Import a statement and reconcile it with the books."),
        (),
    ),
    (
        "console_office.imports",
        _l("Import a file"),
        _l("Post a CSV or JSONL file of operations: all of it or nothing."),
        ("officer", "admin"),
    ),
    ("console_office.issuers_page", _l("Issuers"), _l("Who issues each fund's receipts."), ()),
    (
        "console_office.policies",
        _l("Approval policies"),
        _l("What needs a second person, per fund."),
        ("admin",),
    ),
    (
        "console_office.purposes_page",
        _l("Fund purposes"),
        _l("What each fund may pay for; a project's budget from its fund's page."),
        ("admin",),
    ),
    (
        "console_office.users_page",
        _l("Users"),
        _l("Who may sign in, with which roles."),
        ("admin",),
    ),
    (
        "console_office.webhooks_page",
        _l("Webhooks"),
        _l("Which services are told of receipts, spending and answered needs."),
        ("admin",),
    ),
]


@bp.get("/office")
@login_required(*READERS)
def index() -> str:
    """The office pages this person may open."""
    user = current_user()
    shown = [s for s in SECTIONS if user is not None and user.can(*s[3])]
    return render_template("console/office/index.html", sections=shown)
