"""Erasing contact details for good, in the browser (decision 0017): a need's contact, a
sign-up's name and contact, a donor's email addresses.

Each has a page of its own, linked from the need's file, the service's sign-up list and the
donor's page: it shows what will be erased (to the staff who may see it anyway), asks why (a
reason code, never free text: the audit trail keeps it for good) and for a tick that confirms,
then calls `usecases.erasure`, the API's use case. A missing reason or tick is an error beside
its field and erases nothing. Once erased, the page (and the pages that showed the contact) say
when, by whom and why. Who may: `usecases.erasure.CONTACT_ERASERS` and `EMAIL_ERASERS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console.auth import current_actor, current_user, login_required
from console.forms import Choice, Field, Form
from console.shell import audit_facts, make_blueprint
from console.state import books
from ledger.errors import LedgerError
from usecases import community, delivery, erasure
from usecases.unit import read

__all__ = ["REASON_LABELS", "bp", "init_app"]

bp = make_blueprint("console_erasure", __name__)

REASON_LABELS = {
    "requested": _l("The person asked for it to be deleted"),
    "consent_withdrawn": _l("The person withdrew their consent"),
    "purpose_fulfilled": _l("Its purpose is fulfilled or it is no longer needed"),
    "retention_expired": _l("The retention period has ended"),
    "need_declined": _l("The need was declined"),
}


def _reasons() -> list[Choice]:
    return [(r, str(REASON_LABELS[r])) for r in erasure.REASONS]


FIELDS = (
    Field("reason", _l("Why is it erased?"), "choice", required=True, choices=_reasons),
    Field(
        "confirm",
        _l("I understand that this erases it for good: it cannot be undone or restored."),
        "checkbox",
    ),
)


def init_app(app: Flask) -> None:
    """Register the erasure pages (after `console.init_app`)."""
    app.register_blueprint(bp)
    app.add_template_global(erasure_reason, "erasure_reason")
    app.add_template_global(may_erase, "may_erase")
    app.add_template_global(donor_email_state, "donor_email_state")


def erasure_reason(code: str | None) -> str:
    return str(REASON_LABELS.get(code or "", code or ""))


def may_erase(kind: str) -> bool:
    """Whether the signed-in person may erase this kind of contact."""
    user = current_user()
    roles = erasure.EMAIL_ERASERS if kind == "donor_email" else erasure.CONTACT_ERASERS
    return bool(user and user.can(*roles))


@dataclass(frozen=True)
class EmailState:
    """A donor's addresses as their page shows them: the current one, how many are held, and
    the latest erasure."""

    current: str
    held: int
    erased: erasure.Erasure | None


def donor_email_state(donor_id: str) -> EmailState:
    return EmailState(
        delivery.donor_email(books(), donor_id),
        len(erasure.addresses_of(books(), donor_id)),
        erasure.erasure_of(books(), "donor_email", donor_id),
    )


@dataclass(frozen=True)
class Subject:
    """What the page is about: the kind, the id, a title, where to go back, what is held."""

    kind: str
    id: str
    title: str
    back: str
    held: list[tuple[Any, str]]


@bp.route("/console/erase/needs/<need_id>", methods=["GET", "POST"])
@login_required(*erasure.CONTACT_ERASERS)
def need_contact(need_id: str) -> Any:
    """Erase the contact of a need's poster."""
    try:
        need = community.get_need(books(), need_id[:40])
    except LedgerError:
        abort(404)
    contact = community.contact_of(books(), need.id) or {}
    held = [(_l("Contact (private)"), contact["contact"])] if contact else []
    back = url_for("console_community.need_file", need_id=need.id)
    return _page(Subject("need_contact", need.id, need.title, back, held))


@bp.route("/console/erase/services/<service_id>/signups/<signup_id>", methods=["GET", "POST"])
@login_required(*erasure.CONTACT_ERASERS)
def signup_contact(service_id: str, signup_id: str) -> Any:
    """Erase a sign-up's name and contact."""
    try:
        service = community.get_service(books(), service_id[:40])
    except LedgerError:
        abort(404)
    signup = next((s for s in community.signups_of(books(), service.id) if s.id == signup_id), None)
    if signup is None:
        abort(404)
    who = community.contact_of(books(), signup.id) or {}
    held = [(_l("Name"), who["name"]), (_l("Contact"), who["contact"])] if who else []
    title = f"{service.title} · #{signup.number}"
    back = url_for("console_community.service_file", service_id=service.id)
    return _page(Subject("signup_contact", signup.id, title, back, held))


@bp.route("/console/erase/donors/<donor_id>", methods=["GET", "POST"])
@login_required(*erasure.EMAIL_ERASERS)
def donor_email(donor_id: str) -> Any:
    """Erase every email address a donor gave."""
    donor = read(books(), lambda repo: repo.get_donor(donor_id[:40]))
    if donor is None:
        abort(404)
    now = delivery.donor_email(books(), donor.id)
    held = [
        (_l("Receipt email") if a == now else _l("An earlier address"), a)
        for a in erasure.addresses_of(books(), donor.id)
    ]
    back = url_for("console.donor", donor_id=donor.id)
    return _page(Subject("donor_email", donor.id, donor.name, back, held))


def _page(subject: Subject) -> Any:
    if request.method == "GET":
        return _render(subject, Form.blank(FIELDS))
    form = Form.posted(FIELDS, request.form)
    data = form.load()
    if form.values.get("confirm") != "on":  # said beside the box, with any other error
        form.add_error("confirm", _l("Tick this box to confirm the erasure."))
    if data is not None and form.ok:
        key = form.key(f"erase-{subject.kind}")
        try:
            erasure.erase(
                books(),
                subject.kind,
                subject.id,
                reason=data["reason"],
                by=current_actor(),
                key=key,
                audit=audit_facts(f"erase-{subject.kind}", key),
            )
        except LedgerError as err:
            form.refused(err)
        else:
            return redirect(f"{subject.back}?erased=1", 303)
    return _render(subject, form, 422)


def _render(subject: Subject, form: Form, status: int = 200) -> tuple[str, int]:
    page = render_template(
        "console/erase.html",
        subject=subject,
        form=form,
        erased=erasure.erasure_of(books(), subject.kind, subject.id),
    )
    return page, status
