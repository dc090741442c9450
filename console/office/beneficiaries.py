"""Beneficiaries at the console: the list by pseudonym, and registering one.

The call is `usecases.reference.register_beneficiary`, the API's `POST /api/v1/beneficiaries`:
the personal data (name, identity number, school, guardian, telephone, address) is sealed
under a key of the person's own and never comes back, to anyone: no page shows it once the
form is sent, as no API answer does. What the books keep and every page shows is the
pseudonym (a keyed HMAC of the identity number), the cohort and the county. The list is
`usecases.queries.beneficiaries` (the API's readers); registering is for officers and admins.

A form sent twice registers once (its idempotency key); an identity number registered
before is refused beside its field. The answer leads straight to the scholarship award form
with the new pseudonym filled in.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console.auth import READERS, WRITERS, login_required
from console.forms import Field, Form
from console.lists import list_page
from console.lists.filters import Filter
from console.messages import message_for
from console.office import bp
from console.shell import audit_facts
from console.state import books
from ledger import limits
from ledger.errors import LedgerError
from ledger.model import Beneficiary
from usecases import queries, reference
from usecases.unit import read

#: The API's readers of beneficiaries (`GET /api/v1/beneficiaries`).
LIST_ROLES = (*READERS, "approver")
#: The personal fields, sealed on registration and never shown again.
PERSONAL = ("name", "id_number", "birth_date", "school", "guardian", "phone", "address")

FIELDS = (
    Field(
        "cohort",
        _l("Cohort"),
        required=True,
        max_length=limits.COHORT,
        help=_l("The programme and intake, e.g. 高中助学金 2026秋."),
    ),
    Field(
        "county",
        _l("County"),
        required=True,
        max_length=limits.COUNTY,
        help=_l("As projects name it, e.g. 炉霍县."),
    ),
    Field("name", _l("Full name"), required=True, max_length=limits.NAME),
    Field(
        "id_number",
        _l("Identity number (身份证号)"),
        max_length=40,
        help=_l(
            "The pseudonym is made from it, so the same person cannot be registered twice."
            " Without one, nothing stops a second registration."
        ),
    ),
    Field("birth_date", _l("Date of birth"), "date", max_length=10),
    Field("school", _l("School"), max_length=200),
    Field("guardian", _l("Guardian"), max_length=200),
    Field("phone", _l("Telephone"), max_length=40),
    Field("address", _l("Home address"), "textarea", max_length=500),
)
ALIASES = {f"personal.{name}": name for name in PERSONAL}

FILTERS = [
    Filter("cohort", "cohort", _l("Cohort"), max_length=limits.COHORT),
    Filter("county", "county", _l("County"), max_length=limits.COUNTY),
]


def _registered(pseudonym: str) -> Beneficiary | None:
    return read(books(), lambda repo: repo.get_beneficiary(pseudonym[:64]))


@bp.get("/beneficiaries")
@login_required(*LIST_ROLES)
def beneficiaries() -> tuple[str, int]:
    """Beneficiaries by pseudonym, cohort and county (never a name), a page at a time."""
    just = request.args.get("registered", "")
    return list_page(
        "console/office/beneficiaries.html",
        FILTERS,
        lambda **kw: queries.beneficiaries(books(), **kw),
        orders=(),
        registered=_registered(just) if just else None,
    )


@bp.route("/beneficiaries/new", methods=["GET", "POST"])
@login_required(*WRITERS)
def register_beneficiary() -> Any:
    """Register a beneficiary: their personal data sealed, a pseudonym answered."""
    if request.method == "GET":
        return _form(Form.blank(FIELDS))
    form = Form.posted(FIELDS, request.form)
    form.aliases = ALIASES
    data = form.load()
    if data is None:
        return _form(form, 422)
    personal = {name: data[name] for name in PERSONAL if data.get(name)}
    if "birth_date" in personal:
        personal["birth_date"] = personal["birth_date"].isoformat()
    key = form.key("beneficiaries")
    try:
        made = reference.register_beneficiary(
            books(),
            key=key,
            audit=audit_facts("beneficiaries", key),
            cohort=data["cohort"],
            county=data["county"],
            personal=personal,
        )
    except LedgerError as err:
        form.add_error(err.field, _message(err))
        return _form(form, 422)
    return redirect(url_for("console_office.beneficiaries", registered=made.id), 303)


def _form(form: Form, status: int = 200) -> tuple[str, int]:
    return render_template("console/office/beneficiary_new.html", form=form), status


def _message(err: LedgerError) -> Any:
    if err.code == "already_exists":
        return _l("A beneficiary with this identity number is registered already.")
    return message_for(err)
