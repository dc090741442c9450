"""The administrator's reference data: open a fund, open a project, add a place, and the chart
of accounts (add an account, close one to new postings, re-open it).

The calls are the API's (`POST /api/v1/funds`, `/projects`, `/places`, `/accounts`,
`/accounts/{code}/close` and `/open`): `usecases.reference.open_fund`, `open_project`,
`add_account`, `set_account_open` and `usecases.places.add_place`, `open_project_at`. The
rules (codes, names, a restricted fund's purpose, a project's county or place, a place's code
under its parent's, a cash account's currency) are theirs, and their refusals come back
beside the field they name, in the person's language. A form sent twice makes one fund,
project, place or account (its idempotency key); closing or re-opening twice is harmless, as
in the API. Admins only, as in the API; each write is an audit event (action `console ...`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console import reads
from console.admin import bp
from console.auth import ADMIN, current_actor, login_required
from console.forms import Choice, Field, Form, currencies
from console.messages import message_for
from console.shell import audit_facts
from console.state import books
from ledger import limits
from ledger.accounts import Account, AccountType
from ledger.errors import LedgerError
from ledger.money import FUNCTIONAL_CURRENCY
from usecases import places, reference, unit

__all__ = ["ACCOUNT_TYPES", "PLACE_KINDS"]

CODE_HELP = _l("1 to 40 letters, digits, '.', '_' or '-', starting with a letter or digit.")
FUND_FIELDS = (
    Field("code", _l("Code"), required=True, max_length=limits.REF, help=CODE_HELP),
    Field("name", _l("Name"), required=True, max_length=limits.NAME),
    Field(
        "restricted",
        _l("Restricted (限定性): gifts to it may pay only for its purpose"),
        "checkbox",
    ),
    Field(
        "purpose",
        _l("Purpose"),
        "textarea",
        max_length=limits.MEMO,
        help=_l("Required for a restricted fund; receipts and reports show it."),
    ),
)


def _open_funds() -> list[Choice]:
    return [(f.code, f"{f.name} ({f.code})") for f in reads.funds(books()) if f.is_open]


def _places() -> list[Choice]:
    found = places.list_places(books())
    known = {p.code: p for p in found}
    return [("", "—")] + [
        (p.code, " · ".join(x.name for x in places.path_of(known, p.code))) for p in found
    ]


PROJECT_FIELDS = (
    Field("fund", _l("Fund"), "choice", required=True, choices=_open_funds),
    Field("code", _l("Code"), required=True, max_length=limits.REF, help=CODE_HELP),
    Field("name", _l("Name"), required=True, max_length=limits.NAME),
    Field(
        "place",
        _l("Place"),
        "choice",
        choices=_places,
        help=_l("The village, town or county where it is; the county and town then come from it."),
    ),
    Field(
        "county",
        _l("County"),
        max_length=limits.COUNTY,
        help=_l("Required unless a place is chosen."),
    ),
    Field("town", _l("Town"), max_length=limits.COUNTY),
    Field("currency", "", "hidden", default=FUNCTIONAL_CURRENCY),
    Field(
        "budget",
        _l("Budget (CNY)"),
        "amount",
        max_length=limits.AMOUNT,
        help=_l("Empty: none yet; raise it later from the fund's page."),
    ),
)

#: Each kind of place and its words.
PLACE_KINDS: Mapping[str, Any] = {
    "county": _l("County (6 digits)"),
    "town": _l("Town (9 digits)"),
    "village": _l("Village (12 digits)"),
}

#: The kinds of place as the list names them.
PLACE_KIND_NAMES: Mapping[str, Any] = {
    "county": _l("County"),
    "town": _l("Town"),
    "village": _l("Village"),
}


def _parents() -> list[Choice]:
    found = places.list_places(books())
    known = {p.code: p for p in found}
    return [("", _l("None (a county)"))] + [
        (p.code, " · ".join(x.name for x in places.path_of(known, p.code)) + f" ({p.code})")
        for p in found
        if p.kind != "village"
    ]


PLACE_FIELDS = (
    Field("kind", _l("Kind"), "choice", required=True, choices=list(PLACE_KINDS.items())),
    Field(
        "parent",
        _l("Part of"),
        "choice",
        choices=_parents,
        help=_l("A town's county, a village's town; none for a county."),
    ),
    Field(
        "code",
        _l("Code"),
        required=True,
        max_length=12,
        help=_l(
            "A county's 6-digit GB/T 2260 code; a town's 9 digits start with its county's,"
            " a village's 12 with its town's."
        ),
    ),
    Field("name", _l("Name"), required=True, max_length=100),
    Field("name_en", _l("Name in English"), max_length=100),
    Field(
        "official",
        _l("Checked against the published list (统计用区划代码)"),
        "checkbox",
    ),
)

#: Each type of account and its words.
ACCOUNT_TYPES: Mapping[str, Any] = {
    AccountType.ASSET.value: _l("Asset"),
    AccountType.LIABILITY.value: _l("Liability"),
    AccountType.NET_ASSETS.value: _l("Net assets"),
    AccountType.REVENUE.value: _l("Revenue"),
    AccountType.EXPENSE.value: _l("Expense"),
}
ACCOUNT_FIELDS = (
    Field(
        "code",
        _l("Code"),
        required=True,
        max_length=15,
        help=_l("Four digits, perhaps a dash and capitals or digits: 5102, 1002-EUR."),
    ),
    Field("name_cn", _l("Chinese name"), required=True, max_length=limits.ACCOUNT_NAME_CN),
    Field("name_us", _l("English name"), required=True, max_length=limits.ACCOUNT_NAME_US),
    Field("type", _l("Type"), "choice", required=True, choices=list(ACCOUNT_TYPES.items())),
    Field(
        "currency",
        _l("Currency"),
        "choice",
        choices=lambda: [("", "—"), *currencies()],
        help=_l("Only for a cash account 1002-XXX: its currency, XXX."),
    ),
)

#: The person's words for a refusal, by (field, error code); else `message_for`.
MESSAGES: Mapping[tuple[str, str], Any] = {
    ("code", "invalid_entry"): CODE_HELP,
    ("name", "invalid_entry"): _l("Give the name in 1 to %(most)s characters.", most=limits.NAME),
    ("purpose", "invalid_entry"): _l("A restricted fund needs its purpose."),
    ("county", "invalid_entry"): _l("Give the county, or choose a place."),
    ("town", "invalid_entry"): _l("At most %(most)s characters.", most=limits.COUNTY),
    ("place", "not_found"): _l("Choose a place from the list."),
    ("fund", "unknown_fund"): _l("Choose an open fund from the list."),
}
PLACE_MESSAGES: Mapping[tuple[str, str], Any] = {
    ("code", "invalid_entry"): _l(
        "A county's code is 6 digits, a town's 9 and a village's 12, starting with its parent's."
    ),
    ("code", "already_exists"): _l("A place with this code exists already."),
    ("parent", "invalid_entry"): _l(
        "Choose what it is part of: a town's county, a village's town; none for a county."
    ),
    ("name", "invalid_entry"): _l("Give the name in 1 to %(most)s characters.", most=100),
}
ACCOUNT_MESSAGES: Mapping[tuple[str, str], Any] = {
    ("code", "invalid_entry"): _l("Four digits, perhaps a dash and capitals or digits: 5102."),
    ("code", "already_exists"): _l("An account with this code exists already."),
    ("currency", "invalid_entry"): _l("A cash account 1002-XXX holds currency XXX: choose it."),
}


# -- funds ---------------------------------------------------------------------------------------
def _fund_form(form: Form, status: int = 200) -> tuple[str, int]:
    return render_template("console/admin/fund_new.html", form=form), status


@bp.route("/funds/new", methods=["GET", "POST"])
@login_required(*ADMIN)
def open_fund() -> Any:
    """Open a fund; the answer is its page."""
    if request.method == "GET":
        return _fund_form(Form.blank(FUND_FIELDS))
    form = Form.posted(FUND_FIELDS, request.form)
    data = form.load()
    if data is None:
        return _fund_form(form, 422)
    key = form.key("funds")
    words = {**MESSAGES, ("code", "already_exists"): _l("A fund with this code exists already.")}
    try:
        fund = reference.open_fund(books(), key=key, audit=audit_facts("funds", key), **data)
    except LedgerError as err:
        form.refused(err, words)
        return _fund_form(form, 422)
    return redirect(url_for("console.fund", code=fund.code, changed="opened"), 303)


# -- projects ------------------------------------------------------------------------------------
def _project_form(form: Form, status: int = 200) -> tuple[str, int]:
    return render_template("console/admin/project_new.html", form=form), status


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required(*ADMIN)
def open_project() -> Any:
    """Open a project under a fund, perhaps at a place; the answer is its fund's page."""
    if request.method == "GET":
        fund = request.args.get("fund", "")[: limits.REF]
        return _project_form(Form.blank(PROJECT_FIELDS, fund=fund or None))
    form = Form.posted(PROJECT_FIELDS, request.form)
    data = form.load()
    if data is None:
        return _project_form(form, 422)
    details = {k: data[k] for k in ("code", "name", "fund", "county", "town")}
    details["budget"] = data.get("budget")
    key = form.key("projects")
    facts = audit_facts("projects", key)
    words = {**MESSAGES, ("code", "already_exists"): _l("A project with this code exists already.")}
    try:
        if data.get("place"):
            project = places.open_project_at(
                books(), place=data["place"], by=current_actor(), key=key, audit=facts, **details
            )
        else:
            project = reference.open_project(books(), key=key, audit=facts, **details)
    except LedgerError as err:
        form.refused(err, words)
        return _project_form(form, 422)
    target = url_for("console.fund", code=project.fund, changed="project", project=project.code)
    return redirect(target, 303)


# -- places --------------------------------------------------------------------------------------
def _places_page(form: Form | None = None, status: int = 200) -> tuple[str, int]:
    found = places.list_places(books())
    known = {p.code: p for p in found}
    rows = [(p, [x.name for x in places.path_of(known, p.code)]) for p in found]
    added = known.get(request.args.get("added", "")[:12])
    return (
        render_template(
            "console/admin/places.html",
            rows=rows,
            kinds=PLACE_KIND_NAMES,
            added=added,
            form=form or Form.blank(PLACE_FIELDS),
        ),
        status,
    )


@bp.get("/places")
@login_required(*ADMIN)
def places_page() -> tuple[str, int]:
    """Every place, counties first, and the form that adds one."""
    return _places_page()


@bp.post("/places")
@login_required(*ADMIN)
def add_place() -> Any:
    """Add a county, town or village (written once, never changed)."""
    form = Form.posted(PLACE_FIELDS, request.form)
    data = form.load()
    if data is None:
        return _places_page(form, 422)
    data["parent"] = data.get("parent") or ""
    key = form.key("places")
    try:
        place = places.add_place(
            books(), by=current_actor(), key=key, audit=audit_facts("places", key), **data
        )
    except LedgerError as err:
        form.refused(err, PLACE_MESSAGES)
        return _places_page(form, 422)
    return redirect(url_for("console_admin.places_page", added=place.code), 303)


# -- accounts ------------------------------------------------------------------------------------
def _accounts() -> list[Account]:
    return unit.read(books(), lambda repo: repo.list_accounts())


def _accounts_page(form: Form | None = None, status: int = 200, **context: Any) -> tuple[str, int]:
    return (
        render_template(
            "console/admin/accounts.html",
            accounts=_accounts(),
            types=ACCOUNT_TYPES,
            form=form or Form.blank(ACCOUNT_FIELDS),
            **context,
        ),
        status,
    )


@bp.get("/accounts")
@login_required(*ADMIN)
def accounts_page() -> tuple[str, int]:
    """The chart of accounts, open and closed, and the form that adds one."""
    return _accounts_page()


@bp.post("/accounts")
@login_required(*ADMIN)
def add_account() -> Any:
    """Add an account to the chart (never renamed or deleted afterwards)."""
    form = Form.posted(ACCOUNT_FIELDS, request.form)
    data = form.load()
    if data is None:
        return _accounts_page(form, 422)
    data["currency"] = data.get("currency") or None
    key = form.key("accounts")
    try:
        account = reference.add_account(
            books(), key=key, audit=audit_facts("accounts", key), **data
        )
    except LedgerError as err:
        form.refused(err, ACCOUNT_MESSAGES)
        return _accounts_page(form, 422)
    return redirect(url_for("console_admin.accounts_page", added=account.code), 303)


def _set_open(code: str, is_open: bool) -> Any:
    action = "account-open" if is_open else "account-close"
    try:
        reference.set_account_open(books(), code[:20], is_open, audit=audit_facts(action))
    except LedgerError as err:
        return _accounts_page(status=404, refused=message_for(err))
    done = "opened" if is_open else "closed"
    return redirect(url_for("console_admin.accounts_page", **{done: code[:20]}), 303)


@bp.post("/accounts/<code>/close")
@login_required(*ADMIN)
def close_account(code: str) -> Any:
    """Close an account to new postings; it stays in history (closing twice is harmless)."""
    return _set_open(code, False)


@bp.post("/accounts/<code>/open")
@login_required(*ADMIN)
def reopen_account(code: str) -> Any:
    """Re-open a closed account (opening an open one is harmless)."""
    return _set_open(code, True)
