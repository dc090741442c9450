"""Deliveries: receipt emails and webhooks as officers watch them, with replay.

Every figure is the delivery use cases' (`usecases.delivery`), the same the API's
`/api/v1/deliveries` lists: failures waiting for their next attempt, bounces (a mailbox the
server refused), dead letters (given up after the last retry). A replay sends the message again
with its id, so a receiver that already has it can tell. Officers and admins only: the list
names donors' email addresses.

Install with `init_app(app)` after `console.init_app` (it registers `console_delivery`).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from console.auth import WRITERS, current_actor, login_required
from console.messages import message_for
from console.shell import audit_facts, make_blueprint
from console.state import books
from delivery.outbox import FINAL, STATUSES
from ledger.errors import LedgerError
from usecases import delivery

__all__ = ["bp", "init_app"]

bp = make_blueprint("console_delivery", __name__, url_prefix="/console/deliveries")

PAGE = 50
STATUS_NAMES = {
    "pending": _l("Waiting"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "bounced": _l("Bounced"),
    "dead": _l("Dead letter"),
}
CHANNELS = {"email": _l("Email"), "webhook": _l("Webhook")}
EVENTS = {
    "receipt.issued": _l("Receipt issued"),
    "gift.spent": _l("Gift spent"),
    "need.answered": _l("Need answered"),
}


def init_app(app: Flask) -> None:
    """Register the deliveries page on `app` (once `console.init_app` installed the console)."""
    app.register_blueprint(bp)


def _page(status: int = 200, **context: Any) -> tuple[str, int]:
    shown = request.args.get("status")
    shown = shown if shown in STATUSES else None
    before = request.args.get("before", "")[:40] or None
    found, counts = delivery.list_deliveries(books(), status=shown, before=before, limit=PAGE + 1)
    try:
        email_on = delivery.delivery_settings().smtp is not None
    except ValueError:
        email_on = False
    return (
        render_template(
            "console/deliveries.html",
            messages=found[:PAGE],
            older=found[PAGE - 1].id if len(found) > PAGE else None,
            counts=counts,
            shown=shown,
            statuses=STATUS_NAMES,
            channels=CHANNELS,
            events=EVENTS,
            replayable=FINAL,
            email_on=email_on,
            **context,
        ),
        status,
    )


@bp.get("")
@login_required(*WRITERS)
def index() -> tuple[str, int]:
    """Deliveries newest first, by status."""
    return _page(done=request.args.get("done"))


@bp.post("/<message_id>/replay")
@login_required(*WRITERS)
def replay(message_id: str) -> Any:
    """Send one delivery again, now."""
    try:
        delivery.replay(
            books(),
            message_id[:40],
            by=current_actor(),
            audit=audit_facts("deliveries.replay"),
        )
    except LedgerError as err:
        return _page(404, error=message_for(err), failed=message_id)
    back: Response = redirect(url_for("console_delivery.index", done="replay"))
    return back
