"""A donor's email address for their receipts, at the console.

The call is `usecases.delivery.record_donor_email`, the API's `PUT /api/v1/donors/{id}/email`:
the use case decides what an address is (`is_email_address`, at most `EMAIL_MAX` characters)
and refuses anything else beside the field; an empty address stops receipt emails. Each change
is appended (the old address is kept until the donor's addresses are erased, `console.erasure`,
linked from here); the same address again appends nothing, so a form sent twice changes once.
Officers and admins, as in the API, and only they see the address: it is the donor's, used for
their own emails and nothing else.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console.auth import WRITERS, current_actor, login_required
from console.forms import Field, Form
from console.messages import message_for
from console.office import bp
from console.shell import audit_facts
from console.state import books
from ledger.errors import LedgerError
from usecases import delivery
from usecases.unit import read

FIELDS = (
    Field(
        "email",
        _l("Email address for receipts"),
        max_length=delivery.EMAIL_MAX,
        autocomplete="email",
        help=_l("Each new receipt is emailed here. Leave it empty to stop emailing receipts."),
    ),
)


@bp.route("/donors/<donor_id>/email", methods=["GET", "POST"])
@login_required(*WRITERS)
def donor_email(donor_id: str) -> Any:
    """Where the donor's receipts are emailed: shown, and changed."""
    found = read(books(), lambda repo: repo.get_donor(donor_id[:40]))
    if found is None:
        abort(404)
    now = delivery.donor_email(books(), found.id)
    if request.method == "GET":
        return _page(found, now, Form.blank(FIELDS, email=now))
    form = Form.posted(FIELDS, request.form)
    data = form.load()
    if data is not None:
        try:
            delivery.record_donor_email(
                books(),
                found.id,
                data["email"],
                by=current_actor(),
                audit=audit_facts("donor-email", form.key("donor-email")),
            )
        except LedgerError as err:
            form.add_error(err.field, _message(err))
        else:
            target = url_for("console_office.donor_email", donor_id=found.id, saved=1)
            return redirect(target, 303)
    return _page(found, now, form, 422)


def _page(found: Any, now: str, form: Form, status: int = 200) -> tuple[str, int]:
    saved = request.method == "GET" and request.args.get("saved") == "1"
    page = render_template(
        "console/office/donor_email.html", donor=found, email=now, form=form, saved=saved
    )
    return page, status


def _message(err: LedgerError) -> Any:
    if err.field == "email":
        return _l(
            "Enter an email address such as name@example.com (at most %(most)s characters),"
            " or leave it empty.",
            most=delivery.EMAIL_MAX,
        )
    return message_for(err)
