"""The administrator's pages: users (create, list, disable, set a password, change roles),
issuers (list, register one, assign a fund to one), approval policies (view, change per fund).

The calls are `usecases.users`, `usecases.issuers` and `usecases.approvals`': the login and
password rules, the credit-code check (GB 32100-2015) and the policy's bounds are theirs, and
their refusals come back beside the field they name. Issuers are readable by every reader (as
in the API); the rest is for admins.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console import reads
from console.auth import ADMIN, READERS, current_actor, current_user, login_required
from console.forms import Field, Form
from console.messages import message_for
from console.office import bp
from console.shell import audit_facts
from console.state import books
from ledger import limits
from ledger.approvals import OPERATIONS
from ledger.errors import LedgerError
from ledger.text import digits
from usecases import approvals, issuers, users
from usecases.gate import ALL_FUNDS

ROLES = ("officer", "approver", "auditor", "admin")
ROLE_LABELS = {
    "officer": _l("Officer (records)"),
    "approver": _l("Approver (decides requests)"),
    "auditor": _l("Auditor (reads)"),
    "admin": _l("Administrator"),
    "moderator": _l("Moderator (community programmes)"),
}
#: Every role a user may hold (the roles page offers them all; the new-user form the first four).
ALL_ROLES = (*ROLES, "moderator")
OPERATION_LABELS = {
    "disbursement": _l("Project payments"),
    "award": _l("Scholarship awards"),
    "transfer": _l("Transfers between funds"),
    "reversal": _l("Reversals"),
}

USER_FIELDS = (
    Field("login", _l("Login"), required=True, max_length=limits.LOGIN),
    Field(
        "display_name",
        _l("Name (signs entries and receipts)"),
        required=True,
        max_length=limits.DISPLAY_NAME,
    ),
    *(Field(f"role_{r}", ROLE_LABELS[r], "checkbox") for r in ROLES),
    Field(
        "password",
        _l("Console password"),
        max_length=limits.PASSWORD_MAX,
        help=_l("At least 10 characters; leave empty for a user who only uses API tokens."),
        autocomplete="new-password",
    ),
)
ROLE_FIELDS = tuple(Field(f"role_{r}", ROLE_LABELS[r], "checkbox") for r in ALL_ROLES)
PASSWORD_FIELDS = (
    Field(
        "password",
        _l("New password"),
        required=True,
        max_length=limits.PASSWORD_MAX,
        help=_l("At least 10 characters."),
        autocomplete="new-password",
    ),
)


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


bp.add_app_template_global(role_label, "role_label")


# -- users -------------------------------------------------------------------------------------
def _users_page(form: Form, status: int = 200, **context: Any) -> tuple[str, int]:
    return (
        render_template(
            "console/office/users.html",
            users=users.list_users(books()),
            form=form,
            roles=ROLES,
            **context,
        ),
        status,
    )


@bp.get("/admin/users")
@login_required(*ADMIN)
def users_page() -> tuple[str, int]:
    """Every user (never a password), and the form that adds one."""
    return _users_page(Form.blank(USER_FIELDS))


@bp.post("/admin/users")
@login_required(*ADMIN)
def create_user() -> tuple[str, int]:
    """Create an active user with the roles ticked."""
    form = Form.posted(USER_FIELDS, request.form)
    form.aliases = {"roles": "role_officer"}
    data = form.load()
    roles = [r for r in ROLES if data and data.get(f"role_{r}")]
    if data is not None and not roles:
        form.add_error("role_officer", _l("Tick at least one role."))
    if data is None or not form.ok:
        return _users_page(form, 422)
    key = form.key("users")
    try:
        made = users.create_user(
            books(),
            login=data["login"],
            display_name=data["display_name"],
            roles=roles,
            password=data.get("password") or None,
            by=current_actor(),
            key=key,
            audit=audit_facts("users", key),
        )
    except LedgerError as err:
        form.refused(err)
        return _users_page(form, 422)
    return _users_page(Form.blank(USER_FIELDS), 201, created=made)


@bp.post("/admin/users/<user_id>/disable")
@login_required(*ADMIN)
def disable_user(user_id: str) -> Any:
    """Disable a user: no sign-in, none of their tokens accepted (their sessions end)."""
    try:
        users.disable_user(
            books(), user_id[:40], by=current_actor(), audit=audit_facts("user-disable")
        )
    except LedgerError as err:
        return _users_page(Form.blank(USER_FIELDS), 422, refused=err)
    return redirect(url_for("console_office.users_page", disabled=user_id[:40]), 303)


@bp.route("/admin/users/<user_id>/password", methods=["GET", "POST"])
@login_required(*ADMIN)
def user_password(user_id: str) -> Any:
    """Set a user's console password."""
    try:
        user = users.get_user(books(), user_id[:40])
    except LedgerError:
        abort(404)
    if request.method == "GET":
        form = Form.blank(PASSWORD_FIELDS)
        return render_template("console/office/password.html", user=user, form=form)
    form = Form.posted(PASSWORD_FIELDS, request.form)
    data = form.load()
    if data is not None:
        try:
            users.set_password(
                books(),
                user.id,
                data["password"],
                by=current_actor(),
                audit=audit_facts("user-password"),
            )
        except LedgerError as err:
            form.refused(err)
        else:
            return redirect(url_for("console_office.users_page", password=user.id), 303)
    return render_template("console/office/password.html", user=user, form=form), 422


@bp.route("/admin/users/<user_id>/roles", methods=["GET", "POST"])
@login_required(*ADMIN)
def user_roles(user_id: str) -> Any:
    """Change a user's roles (`usecases.users.set_roles`: audited with the old and new roles;
    their tokens of a role they lose are revoked)."""
    try:
        user = users.get_user(books(), user_id[:40])
    except LedgerError:
        abort(404)
    if request.method == "GET":
        ticked = {f"role_{r}": "on" for r in user.roles}
        form = Form.blank(ROLE_FIELDS, **ticked)
        return render_template("console/office/roles.html", user=user, form=form)
    form = Form.posted(ROLE_FIELDS, request.form)
    form.aliases = {"roles": "role_officer"}
    data = form.load()
    roles = [r for r in ALL_ROLES if data and data.get(f"role_{r}")]
    if data is not None and not roles:
        form.add_error("role_officer", _l("Tick at least one role."))
    if data is not None and form.ok:
        try:
            users.set_roles(
                books(), user.id, roles, by=current_actor(), audit=audit_facts("user-roles")
            )
        except LedgerError as err:
            if err.field == "roles" and user.id == getattr(current_user(), "id", None):
                form.add_error("role_admin", _l("You cannot take the admin role from yourself."))
            else:
                form.refused(err)
        else:
            return redirect(url_for("console_office.users_page", roles=user.id), 303)
    return render_template("console/office/roles.html", user=user, form=form), 422


# -- issuers -----------------------------------------------------------------------------------
def _fund_choices() -> list[tuple[str, str]]:
    return [(f.code, f"{f.name} ({f.code})") for f in reads.funds(books()) if f.is_open]


def _issuer_choices() -> list[tuple[str, str]]:
    return [(r.code, f"{r.name} ({r.code})") for r, _ in issuers.list_issuers(books().engine)]


ISSUER_FIELDS = (
    Field("code", _l("Code"), required=True, max_length=limits.REF, help=_l("e.g. HQ-FOUNDATION")),
    Field("name", _l("Name"), required=True, max_length=limits.NAME),
    Field(
        "registration_no",
        _l("Unified social credit code (统一社会信用代码)"),
        required=True,
        max_length=limits.CREDIT_CODE,
        help=_l("18 characters; the last is a check character."),
    ),
    Field("seal_text", _l("Text of the seal"), max_length=limits.NAME),
    Field("demo", _l("A demonstration issuer (its receipts say so)"), "checkbox"),
)
ASSIGN_FIELDS = (
    Field("fund", _l("Fund"), "choice", required=True, choices=_fund_choices),
    Field("issuer", _l("Issuer"), "choice", required=True, choices=_issuer_choices),
)


def _issuers_page(
    add: Form | None = None, assign: Form | None = None, status: int = 200, **context: Any
) -> tuple[str, int]:
    engine = books().engine
    return (
        render_template(
            "console/office/issuers.html",
            issuers=issuers.list_issuers(engine),
            unassigned=issuers.unassigned_funds(engine),
            add=add or Form.blank(ISSUER_FIELDS),
            assign=assign or Form.blank(ASSIGN_FIELDS),
            **context,
        ),
        status,
    )


@bp.get("/issuers")
@login_required(*READERS)
def issuers_page() -> tuple[str, int]:
    """Every issuer with the funds it holds, the funds with none; (admins) the forms."""
    return _issuers_page()


@bp.post("/issuers")
@login_required(*ADMIN)
def add_issuer() -> tuple[str, int]:
    """Register an issuer."""
    form = Form.posted(ISSUER_FIELDS, request.form)
    data = form.load()
    if data is None:
        return _issuers_page(add=form, status=422)
    try:
        issuers.add_issuer(
            books(),
            code=data["code"].upper(),
            name=data["name"],
            registration_no=data["registration_no"].upper(),
            seal_text=data.get("seal_text") or None,
            demo=bool(data.get("demo")),
            by=current_actor(),
            audit=audit_facts("issuers"),
        )
    except LedgerError as err:
        form.refused(err)
        return _issuers_page(add=form, status=422)
    return _issuers_page(status=201, added=data["code"].upper())


@bp.post("/issuers/assign")
@login_required(*ADMIN)
def assign_issuer() -> tuple[str, int]:
    """Assign a fund to an issuer from now on (earlier receipts keep theirs)."""
    form = Form.posted(ASSIGN_FIELDS, request.form)
    data = form.load()
    if data is None:
        return _issuers_page(assign=form, status=422)
    try:
        issuers.assign_issuer(
            books(), data["fund"], data["issuer"], by=current_actor(), audit=audit_facts("issuer")
        )
    except LedgerError as err:
        form.refused(err)
        return _issuers_page(assign=form, status=422)
    return _issuers_page(assigned=(data["fund"], data["issuer"]))


# -- approval policies ---------------------------------------------------------------------------
def _policy_fields() -> tuple[Field, ...]:
    thresholds = tuple(
        Field(
            f"threshold_{op}",
            OPERATION_LABELS[op],
            max_length=12,
            help=_l(
                "From this amount (in the operation's currency) it needs approval;"
                " 0: always; empty: never."
            ),
        )
        for op in OPERATIONS
    )
    return (
        *thresholds,
        Field(
            "reversal_of_disbursement",
            _l("Every reversal of a project payment needs approval"),
            "checkbox",
        ),
        Field(
            "approvers",
            _l("Approvers needed"),
            "choice",
            required=True,
            choices=[("1", "1"), ("2", "2")],
        ),
        Field(
            "expires_after_days", _l("A request expires after (days)"), required=True, max_length=3
        ),
    )


POLICY_FIELDS = _policy_fields()


def _policy_values(policy: Any) -> dict[str, str]:
    values = {
        f"threshold_{op}": "" if policy.thresholds.get(op) is None else str(policy.thresholds[op])
        for op in OPERATIONS
    }
    values["reversal_of_disbursement"] = "on" if policy.reversal_of_disbursement else ""
    values["approvers"] = str(policy.approvers)
    values["expires_after_days"] = str(policy.expires_after_days)
    return values


def _fund_or_404(fund: str) -> str:
    if fund != ALL_FUNDS and fund not in {f.code for f in reads.funds(books())}:
        abort(404)
    return fund


@bp.get("/admin/policies")
@login_required(*ADMIN)
def policies() -> str:
    """The policy that governs each fund, and the books' default."""
    rows = [(ALL_FUNDS, _l("Every fund without its own policy"), None)]
    rows += [(f.code, f.name, None) for f in reads.funds(books())]
    shown = [(code, name, approvals.fund_policy(books(), code)) for code, name, _ in rows]
    return render_template(
        "console/office/policies.html", rows=shown, operations=OPERATIONS, labels=OPERATION_LABELS
    )


@bp.route("/admin/policies/<fund>", methods=["GET", "POST"])
@login_required(*ADMIN)
def policy(fund: str) -> Any:
    """Change a fund's policy (a new version; earlier requests keep theirs)."""
    fund = _fund_or_404(fund[:40])
    if request.method == "GET":
        form = Form.blank(POLICY_FIELDS, **_policy_values(approvals.fund_policy(books(), fund)))
        return render_template("console/office/policy.html", fund=fund, form=form)
    form = Form.posted(POLICY_FIELDS, request.form)
    data = form.load()
    rules = _rules(form, data) if data is not None else None
    if rules is not None:
        try:
            approvals.set_policy(
                books(), fund, rules, by=current_actor(), audit=audit_facts("policy")
            )
        except LedgerError as err:
            form.add_error(_policy_field(err.field), _policy_message(err))
        else:
            return redirect(url_for("console_office.policies", changed=fund), 303)
    return render_template("console/office/policy.html", fund=fund, form=form), 422


def _whole(form: Form, name: str, text: str) -> int | None:
    if digits(text) and len(text) <= 12:
        return int(text)
    form.add_error(name, _l("Enter a whole number, such as 10000."))
    return None


def _rules(form: Form, data: dict[str, Any]) -> dict[str, Any] | None:
    thresholds: dict[str, int | None] = {}
    for op in OPERATIONS:
        text = (data.get(f"threshold_{op}") or "").replace(",", "")
        thresholds[op] = _whole(form, f"threshold_{op}", text) if text else None
    days = _whole(form, "expires_after_days", data["expires_after_days"])
    if not form.ok:
        return None
    return {
        "thresholds": thresholds,
        "reversal_of_disbursement": bool(data.get("reversal_of_disbursement")),
        "approvers": int(data["approvers"]),
        "expires_after_days": days,
    }


def _policy_message(err: LedgerError) -> Any:
    if err.field == "expires_after_days":
        return _l("Enter a number of days from 1 to 366.")
    return message_for(err)


def _policy_field(field: str | None) -> str | None:
    return "threshold_disbursement" if field == "thresholds" else field
