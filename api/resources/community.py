"""The platform's programmes over HTTP: the needs board, offers, services, recurring pledges.

Every view calls `usecases.community` or `usecases.recurring`, the very functions the console
calls. Moderating needs (publish, decline, edit, report) needs the `moderator` role (or
`admin`); officers record offers, deliveries, hours, services, sign-ups and attendance. A
need's contact and a sign-up's name and contact never leave through the lists here: officers
read a sign-up's contact on its service's sign-up list, moderators a need's in the console.
"""

from __future__ import annotations

from typing import Any

from api.auth import READERS, WRITERS
from api.blueprint import Blueprint
from api.community_schemas import (
    DeliveryIn,
    HoursIn,
    NeedDeclineIn,
    NeedEditIn,
    NeedIn,
    NeedListArgs,
    NeedOut,
    NeedPublishIn,
    NeedReportIn,
    NeedsOut,
    OfferIn,
    OfferListArgs,
    OfferOut,
    OffersOut,
    RecurringIn,
    RecurringOut,
    RecurringsOut,
    RemindersOut,
    ServiceIn,
    ServiceOut,
    ServicesOut,
    SignUpIn,
    SignUpOut,
    SignUpsOut,
    goods_lines,
    present_need,
    present_offer,
    present_reminder,
    present_schedule,
    present_service,
    present_signup,
)
from api.resources.common import books, current_actor, idempotency_key, operation
from api.trail import audit_facts
from usecases import community, erasure, recurring

blp = Blueprint(
    "community",
    __name__,
    url_prefix="/api/v1",
    description="The needs board (云上荟泉), services to choose and recurring pledges.",
)

MODERATORS = ("admin", "moderator")
SEERS = (*READERS, "moderator")
STAFF = (*WRITERS, "moderator")


@blp.route("/needs", methods=["POST"])
@operation(blp, roles=STAFF, body=True, idempotent=True)
@blp.arguments(NeedIn())
@blp.response(201, NeedOut)
def create_need(data: dict[str, Any]) -> dict[str, Any]:
    """Post a need on a resident's behalf (the public form is `/needs/new`); it waits for a
    moderator. `contact` is kept encrypted and never shown here."""
    need = community.post_need(
        books(),
        **{k: v for k, v in data.items() if k != "goods"},
        goods=goods_lines(data.get("goods")),
        client="api",
        by=current_actor(),
        key=idempotency_key("needs"),
        audit=audit_facts(),
    )
    return present_need(need)


@blp.route("/needs", methods=["GET"])
@operation(blp, roles=SEERS, problems=("validation_error",))
@blp.arguments(NeedListArgs(), location="query", unknown="raise")
@blp.response(200, NeedsOut)
def list_needs(args: dict[str, Any]) -> dict[str, Any]:
    """Needs, newest first, with counts per status; `status=pending` is the moderation queue."""
    everything = community.list_needs(books(), public=False)
    found = community.matching(everything, public=False, **args)
    return {
        "items": [present_need(n) for n in found],
        "counts": community.board_counts(everything),
    }


@blp.route("/needs/<id>", methods=["GET"])
@operation(blp, roles=SEERS, problems=("not_found",))
@blp.response(200, NeedOut)
def get_need(id: str) -> dict[str, Any]:
    """One need with its offers and what the books show against them."""
    return present_need(community.get_need(books(), id))


def _moderated(need: community.Need) -> dict[str, Any]:
    return present_need(need)


@blp.route("/needs/<id>/publish", methods=["POST"])
@operation(
    blp,
    roles=MODERATORS,
    problems=("not_found", "need_closed", "unknown_fund", "unknown_project"),
    body=True,
    idempotent=True,
)
@blp.arguments(NeedPublishIn())
@blp.response(200, NeedOut)
def publish_need(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Publish a pending need, naming the fund (and project) its money goes to."""
    return _moderated(
        community.publish_need(
            books(),
            id,
            by=current_actor(),
            key=idempotency_key("needs-publish"),
            audit=audit_facts(),
            **data,
        )
    )


@blp.route("/needs/<id>/decline", methods=["POST"])
@operation(blp, roles=MODERATORS, problems=("not_found", "need_closed"), body=True, idempotent=True)
@blp.arguments(NeedDeclineIn())
@blp.response(200, NeedOut)
def decline_need(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Decline a pending need with a reason."""
    return _moderated(
        community.decline_need(
            books(),
            id,
            by=current_actor(),
            key=idempotency_key("needs-decline"),
            audit=audit_facts(),
            **data,
        )
    )


@blp.route("/needs/<id>/edit", methods=["POST"])
@operation(blp, roles=MODERATORS, problems=("not_found", "need_closed"), body=True, idempotent=True)
@blp.arguments(NeedEditIn())
@blp.response(200, NeedOut)
def edit_need(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Replace the need's public title and description (an appended edit)."""
    return _moderated(
        community.edit_need(
            books(),
            id,
            by=current_actor(),
            key=idempotency_key("needs-edit"),
            audit=audit_facts(),
            **data,
        )
    )


@blp.route("/needs/<id>/report", methods=["POST"])
@operation(blp, roles=MODERATORS, problems=("not_found", "need_closed"), body=True, idempotent=True)
@blp.arguments(NeedReportIn())
@blp.response(200, NeedOut)
def report_need(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Report on a fulfilled need (photos are added through the console)."""
    return _moderated(
        community.report_need(
            books(),
            id,
            by=current_actor(),
            key=idempotency_key("needs-report"),
            audit=audit_facts(),
            **data,
        )
    )


@blp.route("/offers", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("not_found", "need_closed", "unknown_donor", "period_closed"),
    body=True,
    idempotent=True,
)
@blp.arguments(OfferIn())
@blp.response(201, OfferOut)
def create_offer(data: dict[str, Any]) -> dict[str, Any]:
    """Answer a published need: money (a pledge to the need's fund, in the books), goods
    (quantities, in the books when delivered) or volunteer hours (a register, not money)."""
    need_id = data.pop("need_id")
    offer = community.record_offer(
        books(),
        need_id,
        **{k: v for k, v in data.items() if k != "goods"},
        goods=goods_lines(data.get("goods")),
        by=current_actor(),
        key=idempotency_key("offers"),
        audit=audit_facts(),
    )
    return present_offer(offer)


@blp.route("/offers", methods=["GET"])
@operation(blp, roles=SEERS, problems=("validation_error",))
@blp.arguments(OfferListArgs(), location="query", unknown="raise")
@blp.response(200, OffersOut)
def list_offers(args: dict[str, Any]) -> dict[str, Any]:
    """Offers, oldest first, with what is paid, delivered or served against each."""
    return {"items": [present_offer(o) for o in community.list_offers(books(), **args)]}


@blp.route("/offers/<id>/deliveries", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("not_found", "need_closed", "period_closed"),
    body=True,
    idempotent=True,
)
@blp.arguments(DeliveryIn())
@blp.response(201, OfferOut)
def create_delivery(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Goods of a goods offer arrived: an in-kind gift to the need's fund, with its receipt."""
    offer = community.record_delivery(
        books(),
        id,
        **{k: v for k, v in data.items() if k != "goods"},
        goods=goods_lines(data["goods"]),
        by=current_actor(),
        key=idempotency_key("deliveries"),
        audit=audit_facts(),
    )
    return present_offer(offer)


@blp.route("/offers/<id>/hours", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("not_found", "need_closed"), body=True, idempotent=True)
@blp.arguments(HoursIn())
@blp.response(201, OfferOut)
def create_hours(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Volunteer hours served under an hours offer (the register of contributed services)."""
    offer = community.record_hours(
        books(), id, by=current_actor(), key=idempotency_key("hours"), audit=audit_facts(), **data
    )
    return present_offer(offer)


@blp.route("/services", methods=["POST"])
@operation(blp, roles=WRITERS, body=True, idempotent=True)
@blp.arguments(ServiceIn())
@blp.response(201, ServiceOut)
def create_service(data: dict[str, Any]) -> dict[str, Any]:
    """Publish a service residents may sign up for, with its dates and capacity."""
    service = community.publish_service(
        books(),
        by=current_actor(),
        key=idempotency_key("services"),
        audit=audit_facts(),
        **data,
    )
    return present_service(service)


@blp.route("/services", methods=["GET"])
@operation(blp, roles=SEERS)
@blp.response(200, ServicesOut)
def list_services() -> dict[str, Any]:
    """Services by start date, with sign-ups, places left and attendance."""
    found = community.list_services(books())
    return {
        "items": [present_service(s) for s in found],
        "person_times_served": community.person_times_served(books()),
    }


@blp.route("/services/<id>", methods=["GET"])
@operation(blp, roles=SEERS, problems=("not_found",))
@blp.response(200, ServiceOut)
def get_service(id: str) -> dict[str, Any]:
    """One service."""
    return present_service(community.get_service(books(), id))


@blp.route("/services/<id>/signups", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("not_found", "service_full", "need_closed"),
    body=True,
    idempotent=True,
)
@blp.arguments(SignUpIn())
@blp.response(201, SignUpOut)
def create_signup(data: dict[str, Any], id: str) -> dict[str, Any]:
    """Sign a resident up (by telephone, say); never beyond the service's capacity."""
    signup = community.sign_up(
        books(),
        id,
        client="api",
        key=idempotency_key("signups"),
        audit=audit_facts(),
        **data,
    )
    return present_signup(signup, None)


@blp.route("/services/<id>/signups", methods=["GET"])
@operation(blp, roles=WRITERS, problems=("not_found",))
@blp.response(200, SignUpsOut)
def list_signups(id: str) -> dict[str, Any]:
    """A service's sign-ups with their names and contacts (officers only); an erased one says
    when instead (`contact_erased_at`)."""
    community.get_service(books(), id)
    signups = community.signups_of(books(), id)
    erased = erasure.erasures_of(books(), "signup_contact", [s.id for s in signups])
    return {
        "items": [
            present_signup(
                s,
                community.contact_of(books(), s.id),
                erased[s.id].at if s.id in erased else None,
            )
            for s in signups
        ]
    }


@blp.route("/signups/<id>/attendance", methods=["POST"])
@operation(blp, roles=WRITERS, problems=("not_found",))
@blp.response(201, SignUpOut)
def create_attendance(id: str) -> dict[str, Any]:
    """Mark a sign-up as attended (a person-time served)."""
    signup = community.record_attendance(books(), id, by=current_actor(), audit=audit_facts())
    return present_signup(signup, None)


@blp.route("/recurring-pledges", methods=["POST"])
@operation(
    blp,
    roles=WRITERS,
    problems=("unknown_donor", "unknown_fund", "period_closed"),
    body=True,
    idempotent=True,
)
@blp.arguments(RecurringIn())
@blp.response(201, RecurringOut)
def create_recurring(data: dict[str, Any]) -> dict[str, Any]:
    """Record a recurring pledge: one pledge for the whole schedule (receivable income, with
    its acknowledgment) paid in instalments; each payment is a donation paying the pledge."""
    made = recurring.create_recurring_pledge(
        books(),
        by=current_actor(),
        key=idempotency_key("recurring-pledges"),
        audit=audit_facts(),
        **data,
    )
    return present_schedule(made)


@blp.route("/recurring-pledges", methods=["GET"])
@operation(blp, roles=READERS)
@blp.response(200, RecurringsOut)
def list_recurring() -> dict[str, Any]:
    """Every recurring pledge with its instalments: paid, part-paid, due, overdue, upcoming."""
    return {"items": [present_schedule(s) for s in recurring.list_schedules(books())]}


@blp.route("/recurring-pledges/reminders", methods=["GET"])
@operation(blp, roles=READERS)
@blp.response(200, RemindersOut)
def list_reminders() -> dict[str, Any]:
    """Instalments to remind donors of: unpaid and due within 14 days, or past due."""
    return {"items": [present_reminder(r) for r in recurring.reminders(books())]}
