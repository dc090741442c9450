"""Delivery: donors' email addresses, webhook subscriptions, and the outbox officers watch.

Webhooks are signed by the Standard Webhooks scheme (`webhook-id`, `webhook-timestamp`,
`webhook-signature`); a subscription's secret is in the answer that creates it, once. Failed
and bounced deliveries are listed here and in the console, and replayed from either.
"""

from __future__ import annotations

from typing import Any

from api.auth import ADMIN, WRITERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.resources.common import books, current_actor, idempotency_key, operation
from api.schemas import (
    DeliveryDetailOut,
    DeliveryOut,
    DeliveryPage,
    DeliveryQuery,
    DonorEmailIn,
    DonorEmailOut,
    WebhookCreatedOut,
    WebhookIn,
    WebhookList,
    WebhookOut,
)
from api.trail import audit_facts
from delivery.outbox import Message
from usecases import delivery

blp = Blueprint(
    "delivery",
    __name__,
    url_prefix="/api/v1",
    description="Receipt emails and webhooks: subscriptions, deliveries, replays.",
)


def present_subscription(sub: delivery.Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "url": sub.url,
        "events": list(sub.events),
        "description": sub.description,
        "active": sub.active,
        "created_at": sub.created_at,
        "created_by": sub.created_by,
        "disabled_at": sub.disabled_at,
    }


def present_delivery(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel": message.channel,
        "event_type": message.event_type,
        "event_id": message.event_id,
        "subscription_id": message.subscription_id,
        "recipient": message.recipient,
        "status": message.status,
        "attempts": message.attempts,
        "failures": message.failures,
        "next_attempt_at": message.next_attempt_at,
        "last_error": message.last_error,
        "created_at": message.created_at,
    }


@blp.route("/donors/<id>/email", methods=["PUT"])
@operation(blp, roles=WRITERS, problems=("not_found",), body=True)
@blp.arguments(DonorEmailIn())
@blp.response(200, DonorEmailOut)
def set_donor_email(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Record where the donor's receipts are emailed from now on ("" for nowhere)."""
    kept = delivery.record_donor_email(
        books(), id, data["email"], by=current_actor(), audit=audit_facts()
    )
    return {"donor_id": id, "email": kept}


@blp.route("/donors/<id>/email", methods=["GET"])
@operation(blp, roles=WRITERS, problems=("not_found",))
@blp.response(200, DonorEmailOut)
def get_donor_email(id: str) -> dict[str, Any]:
    """The donor's address for receipts ("" when none)."""
    return {"donor_id": id, "email": delivery.donor_email(books(), id)}


@blp.route("/webhooks", methods=["POST"])
@operation(blp, roles=ADMIN, body=True, idempotent=True)
@blp.arguments(WebhookIn())
@blp.response(201, WebhookCreatedOut)
def create_webhook(data: dict[str, Any]) -> dict[str, Any]:
    """Subscribe a URL to event types; the `whsec_` secret is in this answer only (a replay
    of the same `Idempotency-Key` answers `secret: null`)."""
    made = delivery.create_subscription(
        books(), by=current_actor(), key=idempotency_key("webhooks"), audit=audit_facts(), **data
    )
    return {**present_subscription(made), "secret": made.secret}


@blp.route("/webhooks", methods=["GET"])
@operation(blp, roles=ADMIN)
@blp.response(200, WebhookList)
def list_webhooks() -> dict[str, Any]:
    """Every subscription, active or disabled, oldest first, without secrets."""
    return {"items": [present_subscription(s) for s in delivery.list_subscriptions(books())]}


@blp.route("/webhooks/<id>/disable", methods=["POST"])
@operation(blp, roles=ADMIN, problems=("not_found",))
@blp.response(200, WebhookOut)
def disable_webhook(id: str) -> dict[str, Any]:
    """Disable a subscription for good: no new events; queued ones are dead-lettered."""
    sub = delivery.disable_subscription(books(), id, by=current_actor(), audit=audit_facts())
    return present_subscription(sub)


@blp.route("/deliveries", methods=["GET"])
@operation(blp, roles=WRITERS, problems=("validation_error",))
@blp.arguments(DeliveryQuery(), location="query", unknown="raise")
@blp.response(200, DeliveryPage)
def list_deliveries(query: dict[str, Any]) -> dict[str, Any]:
    """Emails and webhooks, newest first; filter by `status` (`dead` is the dead-letter list,
    `bounced` the refused mailboxes), `channel` or `event_type`."""
    limit = query["limit"]
    found, counts = delivery.list_deliveries(
        books(),
        status=query.get("status"),
        channel=query.get("channel"),
        event_type=query.get("event_type"),
        before=query.get("cursor"),
        limit=limit + 1,
    )
    more = len(found) > limit
    found = found[:limit]
    return {
        "items": [present_delivery(m) for m in found],
        "next_cursor": found[-1].id if more else None,
        "counts": counts,
    }


@blp.route("/deliveries/<id>", methods=["GET"])
@operation(blp, roles=WRITERS, problems=("not_found",))
@blp.response(200, DeliveryDetailOut)
def get_delivery(id: str) -> dict[str, Any]:
    """One delivery, its payload and every attempt."""
    message, history = delivery.message_detail(books(), id)
    return {**present_delivery(message), "payload": message.payload, "history": history}


@blp.route("/deliveries/<id>/replay", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("not_found",))
@blp.response(200, DeliveryOut)
def replay_delivery(id: str) -> dict[str, Any]:
    """Send a delivery again now, with the same id (receivers deduplicate by it)."""
    if not id.startswith("msg_"):
        raise ApiProblem("not_found", f"There is no delivery {id!r}.")
    return present_delivery(delivery.replay(books(), id, by=current_actor(), audit=audit_facts()))
