"""The needs board and services to choose, in the browser: the public board and forms, and the
officers' and moderators' pages.

Public (no sign-in): `/needs` (filters, counts), a need's page, the form to post a need
(`/needs/new`, with a honeypot field and the use case's per-address limit), `/needs.csv`,
`/services` and the form to sign up for one. A public page shows a need's public text and
figures, never its contact, and never who signed up for a service.

Console: the moderation queue and a need's file (its contact, moderation, offers, deliveries,
hours, report) under `/console/community/`; services with their sign-ups and attendance; the
recurring pledges with their instalments and the reminder list. Moderating needs takes the
`moderator` role (or `admin`); recording offers and services takes `officer` (or `admin`).

Every page calls `usecases.community` / `usecases.recurring`, as the API does. Install with
`init_app(app)` after `console.init_app`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from flask import Flask, Response, abort, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console import reads
from console.auth import READERS, WRITERS, current_actor, current_user, login_required
from console.forms import Choice, Field, Form
from console.messages import message_for
from console.shell import audit_facts, make_blueprint
from console.state import books
from ledger.errors import LedgerError
from ledger.text import digits, visible
from usecases import community, erasure, places, recurring
from usecases.community import GoodsLine

__all__ = ["bp", "init_app"]

bp = make_blueprint("console_community", __name__)

MODERATORS = ("moderator", "admin")
STAFF = (*READERS, "moderator")
HONEYPOT = "website"

CATEGORY_LABELS = {
    "elder_care": _l("Elder care"),
    "children": _l("Children"),
    "health": _l("Health"),
    "education": _l("Education"),
    "community_space": _l("Community space"),
    "village_industry": _l("Village industry"),
}
STATUS_LABELS = {
    "pending": _l("Awaiting moderation"),
    "declined": _l("Declined"),
    "open": _l("Waiting for answers"),
    "answered": _l("Answered"),
    "fulfilled": _l("Fulfilled"),
    "reported": _l("Reported"),
}
KIND_LABELS = {
    "money": _l("Money"),
    "goods": _l("Goods"),
    "hours": _l("Volunteer hours"),
}
SERVICE_LABELS = {
    "clinic": _l("Clinic day"),
    "course": _l("Course"),
    "legal": _l("Legal advice"),
    "other": _l("Other service"),
}
INSTALMENT_LABELS = {
    "paid": _l("Paid"),
    "part-paid": _l("Part paid"),
    "due": _l("Due"),
    "overdue": _l("Overdue"),
    "upcoming": _l("Upcoming"),
}
FREQUENCY_LABELS = {
    "monthly": _l("Monthly"),
    "quarterly": _l("Quarterly"),
    "yearly": _l("Yearly"),
}
STEP_LABELS = {
    "published": _l("Published"),
    "declined": _l("Declined"),
    "edited": _l("Public text edited"),
    "answered": _l("First answer"),
    "reported": _l("Reported"),
}
SAYINGS = {
    "need_closed": _l("This need is not in a state that allows this."),
    "service_full": _l("This service is full."),
    "too_many_posts": _l("Too many needs were sent from here in the last hour. Try again later."),
}


def init_app(app: Flask) -> None:
    """Register the board and its console pages on `app` (after `console.init_app`)."""
    app.register_blueprint(bp)
    for name, labels in (
        ("category_label", CATEGORY_LABELS),
        ("need_status_label", STATUS_LABELS),
        ("need_kind_label", KIND_LABELS),
        ("service_kind_label", SERVICE_LABELS),
        ("instalment_label", INSTALMENT_LABELS),
        ("frequency_label", FREQUENCY_LABELS),
        ("need_step_label", STEP_LABELS),
    ):
        app.add_template_global(_labeller(labels), name)
    app.add_template_global(place_name, "place_name")
    app.add_template_global(_places, "place_choices")
    app.add_template_global(pledge_schedule, "pledge_schedule")


def _known_places() -> dict[str, places.Place]:
    """Every place by code, read once per request."""
    found: dict[str, places.Place] | None = g.get("community_places")
    if found is None:
        found = g.community_places = {p.code: p for p in places.list_places(books())}
    return found


def place_name(code: str) -> str:
    """A place as people name it: its path from the county (锦江区 › 沙河街道), else its code."""
    known = _known_places()
    path = places.path_of(known, code)
    return " › ".join(p.name for p in path) if path else code


def _places() -> list[Choice]:
    return [(code, f"{place_name(code)} ({code})") for code in _known_places()]


def pledge_schedule(pledge_id: str) -> recurring.Schedule | None:
    """The schedule of a recurring pledge (None for a one-off), for the pledge register."""
    found: dict[str, recurring.Schedule] | None = g.get("community_schedules")
    if found is None:
        found = g.community_schedules = {s.pledge_id: s for s in recurring.list_schedules(books())}
    return found.get(pledge_id)


def _labeller(labels: dict[str, Any]) -> Any:
    return lambda value: str(labels.get(value, value))


def _say(form: Form, err: LedgerError) -> None:
    text = SAYINGS.get(err.code)
    if text is not None:
        form.add_error(err.field if err.field in {f.name for f in form.fields} else None, text)
    else:
        form.add_error(err.field, message_for(err))


def _choices(labels: dict[str, Any]) -> list[Choice]:
    return [(k, str(v)) for k, v in labels.items()]


def _funds() -> list[Choice]:
    return [(f.code, f"{f.name} ({f.code})") for f in reads.funds(books()) if f.is_open]


def _projects() -> list[Choice]:
    return [("", "—")] + [
        (p.code, f"{p.name} ({p.fund} · {p.code})") for p in reads.projects(books())
    ]


def _goods_text(raw: str) -> list[GoodsLine]:
    """Goods typed one per line, "item, quantity, unit" (the unit may be left out)."""
    lines = []
    for line in raw.splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        quantity = parts[1] if len(parts) > 1 else ""
        lines.append(
            GoodsLine(parts[0], int(quantity) if digits(quantity) else 0, ",".join(parts[2:]))
        )
    return lines


def _posted(fields: Sequence[Field]) -> Form:
    """The form as sent; amounts are CNY whatever the hidden currency field says."""
    form = Form.posted(fields, request.form)
    if "cny" in form.values:
        form.values["cny"] = "CNY"
    return form


def _int(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if digits(text) and len(text) < 9 else None


# -- the public board ----------------------------------------------------------------------------

NEED_FIELDS = (
    Field("title", _l("What is needed, in a line"), required=True, max_length=200),
    Field(
        "description",
        _l("Describe the need"),
        "textarea",
        required=True,
        max_length=community.TEXT_MAX,
        help=_l("Who it helps, where, and why. Do not write anyone's name or telephone here."),
    ),
    Field(
        "category",
        _l("Category"),
        "choice",
        required=True,
        choices=lambda: _choices(CATEGORY_LABELS),
    ),
    Field(
        "place",
        _l("Place"),
        "choice",
        required=True,
        choices=_places,
        help=_l("The county, town or village the need is in."),
    ),
    Field(
        "kind",
        _l("What is needed"),
        "choice",
        required=True,
        choices=lambda: _choices(KIND_LABELS),
        default="money",
    ),
    Field("goal", _l("Money: the goal in CNY"), "amount", max_length=40, currency_field="cny"),
    Field(
        "goods",
        _l("Goods: one item a line, as item, quantity, unit"),
        "textarea",
        max_length=5000,
        help=_l("e.g. 轮椅, 2, 台"),
    ),
    Field("hours", _l("Volunteer hours"), max_length=6),
    Field(
        "contact",
        _l("How we can reach you (kept private)"),
        "textarea",
        required=True,
        max_length=community.CONTACT_MAX,
        help=_l("Only our officers see this. It is never published."),
    ),
    Field("cny", "", "hidden", default="CNY"),
)


def _filters(statuses: Sequence[str]) -> dict[str, Any]:
    wanted = {
        "category": request.args.get("category") or None,
        "status": request.args.get("status") or None,
        "place": (request.args.get("place") or "").strip()[:40] or None,
    }
    if wanted["category"] not in (None, *community.CATEGORIES):
        wanted["category"] = None
    if wanted["status"] not in (None, *statuses):
        wanted["status"] = None
    return wanted


@bp.get("/needs")
def needs_board() -> str:
    """The public board: published needs with filters and counts per status."""
    wanted = _filters(community.PUBLIC_STATUSES)
    everything = community.list_needs(books())
    found = community.matching(everything, **wanted)
    return render_template(
        "console/community/board.html",
        needs=found,
        counts=community.board_counts(everything),
        statuses=community.PUBLIC_STATUSES,
        categories=community.CATEGORIES,
        wanted=wanted,
        served=community.person_times_served(books()),
        total=len(everything),
    )


@bp.get("/needs/<need_id>")
def need_page(need_id: str) -> str:
    """A published need: its public text, what was offered and done, its report."""
    need = _public_need(need_id)
    return render_template("console/community/need.html", need=need)


def _public_need(need_id: str) -> community.Need:
    try:
        need = community.get_need(books(), need_id[:40])
    except LedgerError:
        abort(404)
    if not need.public:
        abort(404)
    return need


@bp.get("/needs/<need_id>/photos/<photo_id>")
def need_photo(need_id: str, photo_id: str) -> Response:
    """A report's photo (of a published need only)."""
    _public_need(need_id)
    found = community.need_photo(books(), photo_id[:40])
    if found is None or found[2] != need_id:
        abort(404)
    media, content, _ = found
    response = Response(content, mimetype=media)
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/needs/new", methods=["GET", "POST"])
def post_need() -> Any:
    """The public form: anyone posts a need; it waits for a moderator."""
    if request.method == "GET":
        return _need_form(Form.blank(NEED_FIELDS))
    form = _posted(NEED_FIELDS)
    if request.form.get(HONEYPOT):  # a bot filled the field people never see: keep nothing
        return render_template("console/community/posted.html"), 200
    data = form.load()
    if data is None:
        return _need_form(form, 422)
    try:
        community.post_need(
            books(),
            title=data["title"],
            description=data["description"],
            category=data["category"],
            place=data["place"],
            kind=data["kind"],
            goal=data.get("goal"),
            goods=_goods_text(data.get("goods") or ""),
            hours=_int(data.get("hours")),
            contact=data["contact"],
            client=community.client_tag(books(), request.remote_addr or ""),
            key=form.key("needs"),
            audit=audit_facts("need.post", form.key("needs")),
        )
    except LedgerError as err:
        _say(form, err)
        return _need_form(form, 429 if err.code == "too_many_posts" else 422)
    return render_template("console/community/posted.html")


def _need_form(form: Form, status: int = 200) -> tuple[str, int]:
    return render_template("console/community/post.html", form=form, honeypot=HONEYPOT), status


@bp.get("/needs.csv")
def needs_csv() -> Response:
    """The published needs as CSV: text as exports show it, formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "status", "category", "place", "kind", "title", "goal", "paid"])
    for n in community.list_needs(books()):
        writer.writerow(
            [
                n.id,
                n.status,
                n.category,
                _cell(n.place),
                n.kind,
                _cell(n.title),
                "" if n.goal_minor is None else f"{n.goal_minor / 100:.2f}",
                f"{n.paid_minor / 100:.2f}",
            ]
        )
    response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="needs.csv"'
    return response


def _cell(text: str) -> str:
    """A text cell no spreadsheet runs: a leading = + - @ (or tab, CR) gets a quote first."""
    shown = visible(text, multiline=False)
    return "'" + shown if shown[:1] in ("=", "+", "-", "@", "\t", "\r") else shown


@bp.get("/services")
def services_board() -> str:
    """Services residents may choose, with places left and person-times served."""
    kind = request.args.get("kind") or None
    kind = kind if kind in community.SERVICE_KINDS else None
    place = (request.args.get("place") or "").strip()[:40] or None
    return render_template(
        "console/community/services.html",
        services=community.list_services(books(), kind=kind, place=place),
        kinds=community.SERVICE_KINDS,
        kind=kind,
        place=place or "",
        served=community.person_times_served(books()),
    )


SIGNUP_FIELDS = (
    Field("name", _l("Your name"), required=True, max_length=100, autocomplete="name"),
    Field(
        "contact",
        _l("Telephone or WeChat (kept private)"),
        required=True,
        max_length=200,
        autocomplete="tel",
    ),
)


@bp.route("/services/<service_id>/signup", methods=["GET", "POST"])
def service_signup(service_id: str) -> Any:
    """A resident signs up for a service (name and contact seen by officers only)."""
    try:
        service = community.get_service(books(), service_id[:40])
    except LedgerError:
        abort(404)
    if request.method == "GET":
        return _signup_form(service, Form.blank(SIGNUP_FIELDS))
    form = _posted(SIGNUP_FIELDS)
    data = form.load()
    if data is None:
        return _signup_form(service, form, 422)
    try:
        signup = community.sign_up(
            books(),
            service.id,
            name=data["name"],
            contact=data["contact"],
            client=community.client_tag(books(), request.remote_addr or ""),
            key=form.key("signups"),
            audit=audit_facts("service.sign_up", form.key("signups")),
        )
    except LedgerError as err:
        _say(form, err)
        return _signup_form(service, form, 409 if err.code == "service_full" else 422)
    return render_template("console/community/signed_up.html", service=service, signup=signup)


def _signup_form(service: Any, form: Form, status: int = 200) -> tuple[str, int]:
    return render_template("console/community/signup.html", service=service, form=form), status


# -- the console: moderation, offers, services, recurring pledges ------------------------------


@bp.get("/console/community/")
@login_required(*STAFF)
def index() -> str:
    """The moderation queue, the board's counts and every need."""
    status = request.args.get("status") or None
    status = status if status in community.STATUSES else None
    everything = community.list_needs(books(), public=False)
    return render_template(
        "console/community/index.html",
        needs=[n for n in everything if status is None or n.status == status],
        queue=[n for n in everything if n.status == "pending"],
        counts=community.board_counts(everything),
        statuses=community.STATUSES,
        status=status,
        moderator=_can_moderate(),
    )


def _can_moderate() -> bool:
    user = current_user()
    return bool(user and user.can(*MODERATORS))


PUBLISH_FIELDS = (
    Field("fund", _l("Fund"), "choice", required=True, choices=_funds),
    Field("project", _l("Project"), "choice", choices=_projects),
)
DECLINE_FIELDS = (Field("reason", _l("Reason"), "textarea", required=True, max_length=2000),)
EDIT_FIELDS = (
    Field("title", _l("Public title"), required=True, max_length=200),
    Field(
        "description",
        _l("Public description"),
        "textarea",
        required=True,
        max_length=community.TEXT_MAX,
    ),
)
REPORT_FIELDS = (Field("report", _l("Report"), "textarea", required=True, max_length=5000),)
OFFER_FIELDS = (
    Field(
        "donor_id", _l("Donor"), required=True, max_length=40, help=_l("The donor's id, e.g. D-…")
    ),
    Field("amount", _l("Money: amount in CNY"), "amount", max_length=40, currency_field="cny"),
    Field("goods", _l("Goods: one item a line, as item, quantity, unit"), "textarea"),
    Field("hours", _l("Volunteer hours"), max_length=6),
    Field("note", _l("Note"), "textarea", max_length=2000),
    Field("cny", "", "hidden", default="CNY"),
)
DELIVERY_FIELDS = (
    Field("offer_id", "", "hidden", required=True, max_length=40),
    Field("goods", _l("Goods received: item, quantity, unit"), "textarea", required=True),
    Field("fair_value", _l("Fair value in CNY"), "amount", required=True, currency_field="cny"),
    Field("valuation_basis", _l("Valuation basis"), required=True, max_length=500),
    Field("received_on", _l("Received on"), "date", required=True),
    Field("cny", "", "hidden", default="CNY"),
)
HOURS_FIELDS = (
    Field("offer_id", "", "hidden", required=True, max_length=40),
    Field("hours", _l("Hours served"), required=True, max_length=6),
    Field("served_on", _l("Served on"), "date", required=True),
)
NEED_FORMS = {
    "publish": PUBLISH_FIELDS,
    "decline": DECLINE_FIELDS,
    "edit": EDIT_FIELDS,
    "report": REPORT_FIELDS,
    "offer": OFFER_FIELDS,
    "delivery": DELIVERY_FIELDS,
    "hours": HOURS_FIELDS,
}
MODERATION = ("publish", "decline", "edit", "report")


@bp.route("/console/community/needs/<need_id>", methods=["GET", "POST"])
@login_required(*STAFF)
def need_file(need_id: str) -> Any:
    """A need's file: its poster's contact, moderation, offers, deliveries, hours, report."""
    try:
        need = community.get_need(books(), need_id[:40])
    except LedgerError:
        abort(404)
    if request.method == "GET":
        return _need_file(need, {})
    action = request.form.get("_action", "")
    if action not in NEED_FORMS:
        abort(400)
    user = current_user()
    allowed = MODERATORS if action in MODERATION else WRITERS
    if user is None or not user.can(*allowed):
        abort(403)
    form = _posted(NEED_FORMS[action])
    data = form.load()
    if data is not None:
        try:
            _act(action, need, data, form)
        except LedgerError as err:
            _say(form, err)
        if form.ok:
            return redirect(url_for("console_community.need_file", need_id=need.id, done=action))
    return _need_file(need, {action: form}, 422)


def _act(action: str, need: community.Need, data: dict[str, Any], form: Form) -> None:
    by, facts = current_actor(), audit_facts(f"need.{action}", form.key(action))
    if action == "publish":
        community.publish_need(
            books(),
            need.id,
            fund=data["fund"],
            project=data["project"] or None,
            by=by,
            key=form.key(action),
            audit=facts,
        )
    elif action == "decline":
        community.decline_need(
            books(), need.id, reason=data["reason"], by=by, key=form.key(action), audit=facts
        )
    elif action == "edit":
        community.edit_need(
            books(),
            need.id,
            title=data["title"],
            description=data["description"],
            by=by,
            key=form.key(action),
            audit=facts,
        )
    elif action == "report":
        photos = [f.read(community.PHOTO_MAX + 1) for f in request.files.getlist("photos") if f]
        community.report_need(
            books(),
            need.id,
            report=data["report"],
            photos=photos,
            by=by,
            key=form.key(action),
            audit=facts,
        )
    elif action == "offer":
        community.record_offer(
            books(),
            need.id,
            donor_id=data["donor_id"],
            kind=need.kind,
            amount=data.get("amount"),
            goods=_goods_text(data.get("goods") or ""),
            hours=_int(data.get("hours")),
            note=data.get("note") or "",
            by=by,
            key=form.key("offers"),
            audit=facts,
        )
    elif action == "delivery":
        community.record_delivery(
            books(),
            data["offer_id"],
            goods=_goods_text(data["goods"]),
            fair_value=data["fair_value"],
            valuation_basis=data["valuation_basis"],
            received_on=data["received_on"],
            by=by,
            key=form.key("deliveries"),
            audit=facts,
        )
    else:
        hours = _int(data["hours"])
        if hours is None:
            form.add_error("hours", _l("Enter a whole number of hours."))
            return
        community.record_hours(
            books(),
            data["offer_id"],
            hours=hours,
            served_on=data["served_on"],
            by=by,
            key=form.key(action),
            audit=facts,
        )


def _need_file(need: community.Need, forms: dict[str, Form], status: int = 200) -> tuple[str, int]:
    blank = {name: Form.blank(fields) for name, fields in NEED_FORMS.items()}
    blank["edit"] = Form.blank(EDIT_FIELDS, title=need.title, description=need.description)
    blank.update(forms)
    return (
        render_template(
            "console/community/file.html",
            need=need,
            contact=community.contact_of(books(), need.id),
            contact_erased=erasure.erasure_of(books(), "need_contact", need.id),
            forms=blank,
            moderator=_can_moderate(),
            writer=bool(current_user() and current_user().can(*WRITERS)),  # type: ignore[union-attr]
            done=request.args.get("done"),
        ),
        status,
    )


SERVICE_FIELDS = (
    Field("kind", _l("Kind"), "choice", required=True, choices=lambda: _choices(SERVICE_LABELS)),
    Field("title", _l("Title"), required=True, max_length=200),
    Field("description", _l("Description"), "textarea", required=True, max_length=5000),
    Field("place", _l("Place"), "choice", required=True, choices=_places),
    Field("starts_on", _l("Starts on"), "date", required=True),
    Field("ends_on", _l("Ends on"), "date", required=True),
    Field("capacity", _l("Capacity"), required=True, max_length=5),
)


@bp.route("/console/community/services", methods=["GET", "POST"])
@login_required(*READERS)
def services() -> Any:
    """Services with their sign-ups and attendance; officers publish new ones."""
    form = Form.blank(SERVICE_FIELDS)
    status = 200
    if request.method == "POST":
        user = current_user()
        if user is None or not user.can(*WRITERS):
            abort(403)
        form = _posted(SERVICE_FIELDS)
        data = form.load()
        capacity = _int(form.values.get("capacity"))
        if data is not None and capacity is None:
            form.add_error("capacity", _l("Enter a whole number."))
        if data is not None and form.ok:
            try:
                community.publish_service(
                    books(),
                    **{k: v for k, v in data.items() if k != "capacity"},
                    capacity=capacity or 0,
                    by=current_actor(),
                    key=form.key("services"),
                    audit=audit_facts("service.publish", form.key("services")),
                )
                return redirect(url_for("console_community.services", done=1))
            except LedgerError as err:
                _say(form, err)
        status = 422
    return (
        render_template(
            "console/community/services_console.html",
            services=community.list_services(books()),
            served=community.person_times_served(books()),
            form=form,
            done=request.args.get("done"),
        ),
        status,
    )


@bp.route("/console/community/services/<service_id>", methods=["GET", "POST"])
@login_required(*WRITERS)
def service_file(service_id: str) -> Any:
    """A service's sign-ups with names and contacts; attendance is marked here."""
    try:
        service = community.get_service(books(), service_id[:40])
    except LedgerError:
        abort(404)
    if request.method == "POST":
        signup = request.form.get("signup", "")[:40]
        try:
            community.record_attendance(
                books(), signup, by=current_actor(), audit=audit_facts("service.attendance")
            )
        except LedgerError:
            abort(404)
        return redirect(url_for("console_community.service_file", service_id=service.id))
    signups = community.signups_of(books(), service.id)
    return render_template(
        "console/community/service_file.html",
        service=service,
        signups=[(s, community.contact_of(books(), s.id) or {}) for s in signups],
        erased=erasure.erasures_of(books(), "signup_contact", [s.id for s in signups]),
    )


RECURRING_FIELDS = (
    Field(
        "donor_id", _l("Donor"), required=True, max_length=40, help=_l("The donor's id, e.g. D-…")
    ),
    Field("fund", _l("Fund"), "choice", required=True, choices=_funds),
    Field(
        "instalment", _l("Each instalment in CNY"), "amount", required=True, currency_field="cny"
    ),
    Field(
        "frequency",
        _l("Every"),
        "choice",
        required=True,
        choices=lambda: _choices(FREQUENCY_LABELS),
        default="yearly",
    ),
    Field("count", _l("Number of instalments"), required=True, max_length=3),
    Field("first_due", _l("First due on"), "date", required=True),
    Field("purpose", _l("Purpose"), required=True, max_length=200),
    Field("cny", "", "hidden", default="CNY"),
)


@bp.route("/console/community/recurring", methods=["GET", "POST"])
@login_required(*READERS)
def recurring_pledges() -> Any:
    """Recurring pledges with their schedules, the reminder list, and a form for a new one."""
    form = Form.blank(RECURRING_FIELDS)
    status = 200
    if request.method == "POST":
        user = current_user()
        if user is None or not user.can(*WRITERS):
            abort(403)
        form = _posted(RECURRING_FIELDS)
        data = form.load()
        count = _int(form.values.get("count"))
        if data is not None and count is None:
            form.add_error("count", _l("Enter a whole number."))
        if data is not None and form.ok:
            try:
                recurring.create_recurring_pledge(
                    books(),
                    **{k: v for k, v in data.items() if k not in ("count", "cny")},
                    count=count or 0,
                    by=current_actor(),
                    key=form.key("recurring"),
                    audit=audit_facts("pledge.recurring", form.key("recurring")),
                )
                return redirect(url_for("console_community.recurring_pledges", done=1))
            except LedgerError as err:
                _say(form, err)
        status = 422
    return (
        render_template(
            "console/community/recurring.html",
            schedules=recurring.list_schedules(books()),
            reminders=recurring.reminders(books()),
            form=form,
            done=request.args.get("done"),
            writer=bool(current_user() and current_user().can(*WRITERS)),  # type: ignore[union-attr]
        ),
        status,
    )
