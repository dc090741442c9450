"""The administrator's webhook subscriptions: list them, subscribe a URL, disable one.

The calls are `usecases.delivery`'s (`list_subscriptions`, `create_subscription`,
`disable_subscription`), the same the API's `/api/v1/webhooks` makes: which events exist, what
URL and description are taken, and the sealing of the secret are theirs. The `whsec_` secret is
shown once, on the page that answers the subscription (never stored in clear, never shown
again); a form sent twice subscribes once (its idempotency key), and the second answer has no
secret. Failed deliveries and their replays are on the Deliveries page. Admins only, as in the
API.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console.auth import ADMIN, current_actor, login_required
from console.delivery import EVENTS
from console.forms import Field, Form
from console.messages import message_for
from console.office import bp
from console.shell import audit_facts
from console.state import books
from ledger.errors import LedgerError
from usecases import delivery

__all__: list[str] = []


def _event_field(event_type: str) -> str:
    """The form's checkbox of an event type (`gift.spent` -> `event_gift_spent`)."""
    return "event_" + event_type.replace(".", "_")


WEBHOOK_FIELDS = (
    Field(
        "url",
        _l("Address (URL)"),
        required=True,
        max_length=delivery.URL_MAX,
        help=_l("Where the signed POST goes: https://..."),
    ),
    *(Field(_event_field(e), EVENTS[e], "checkbox") for e in delivery.EVENT_TYPES),
    Field(
        "description",
        _l("Description"),
        max_length=delivery.DESCRIPTION_MAX,
        help=_l("Who receives it, such as the WeChat account."),
    ),
)
MESSAGES = {
    "url": _l("Enter an http:// or https:// address, such as https://example.org/hooks."),
    "events": _l("Tick at least one event."),
    "description": _l("One line of at most %(most)s characters.", most=delivery.DESCRIPTION_MAX),
}
FIELD_OF = {"events": _event_field(delivery.EVENT_TYPES[0])}


def _page(form: Form | None = None, status: int = 200, **context: Any) -> tuple[str, int]:
    return (
        render_template(
            "console/office/webhooks.html",
            subscriptions=delivery.list_subscriptions(books()),
            form=form or Form.blank(WEBHOOK_FIELDS),
            events=EVENTS,
            event_fields=[_event_field(e) for e in delivery.EVENT_TYPES],
            **context,
        ),
        status,
    )


@bp.get("/admin/webhooks")
@login_required(*ADMIN)
def webhooks_page() -> tuple[str, int]:
    """Every subscription, active or disabled (never a secret), and the form that adds one."""
    return _page()


@bp.post("/admin/webhooks")
@login_required(*ADMIN)
def create_webhook() -> tuple[str, int]:
    """Subscribe a URL to the events ticked; the answer shows its secret, once."""
    form = Form.posted(WEBHOOK_FIELDS, request.form)
    form.aliases = FIELD_OF
    data = form.load()
    if data is None:
        return _page(form, 422)
    key = form.key("webhooks")
    try:
        made = delivery.create_subscription(
            books(),
            by=current_actor(),
            url=data["url"],
            events=[e for e in delivery.EVENT_TYPES if data[_event_field(e)]],
            description=data["description"],
            key=key,
            audit=audit_facts("webhooks", key),
        )
    except LedgerError as err:
        form.add_error(err.field, MESSAGES.get(err.field or "") or message_for(err))
        return _page(form, 422)
    return _page(status=201, created=made)


@bp.post("/admin/webhooks/<subscription_id>/disable")
@login_required(*ADMIN)
def disable_webhook(subscription_id: str) -> Any:
    """Disable a subscription for good: no new events; its queued ones become dead letters."""
    try:
        delivery.disable_subscription(
            books(),
            subscription_id[:40],
            by=current_actor(),
            audit=audit_facts("webhook-disable"),
        )
    except LedgerError as err:
        return _page(status=404, refused=message_for(err))
    return redirect(url_for("console_office.webhooks_page", disabled=subscription_id[:40]), 303)
