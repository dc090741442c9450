"""The administrator's internal controls: what each fund may pay for, and a project's budget.

The calls are `usecases.controls`' (`set_fund_purposes`, `set_project_budget`), the same the
API's `PUT /api/v1/funds/{code}/purposes` and `PUT /api/v1/projects/{code}/budget` and the CLI's
`huiquan purposes set` and `budget set` make: the rules (what purposes may say, a budget in CNY
never below what the project spent, a reason) are theirs, and their refusals come back beside
the field they name. Each change is a new version and an audit event with the old and the new
figure; a form sent twice changes once (its idempotency key). Admins only, as in the API; every
reader sees a fund's purposes and its projects' budgets on the fund's page.
"""

from __future__ import annotations

import re
from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from console import reads
from console.auth import ADMIN, current_actor, login_required
from console.forms import Field, Form
from console.i18n import money
from console.messages import message_for
from console.office import bp
from console.shell import audit_facts
from console.state import books
from ledger import limits
from ledger.errors import LedgerError
from ledger.money import FUNCTIONAL_CURRENCY
from ledger.purposes import Purposes
from usecases import controls

__all__ = ["describe_purposes"]

#: What separates county names typed in one field: commas (either width), 、, semicolons, spaces.
_SEPARATORS = re.compile(r"[,，、;；\s]+")

PURPOSE_FIELDS = (
    Field("projects", _l("Payments to its projects (and goods handed on to them)"), "checkbox"),
    Field(
        "counties",
        _l("Only projects in these counties"),
        max_length=20 * (limits.COUNTY + 1),
        help=_l("Separate names with commas, as the projects name their county; empty: any."),
    ),
    Field("scholarships", _l("Scholarship awards"), "checkbox"),
    Field("in_kind_handovers", _l("Handing on goods received in kind"), "checkbox"),
)
BUDGET_FIELDS = (
    Field("currency", "", "hidden", default=FUNCTIONAL_CURRENCY),
    Field(
        "budget",
        _l("New budget (CNY)"),
        "amount",
        required=True,
        max_length=limits.AMOUNT,
    ),
    Field(
        "reason",
        _l("Reason (the board's decision, ...)"),
        "textarea",
        required=True,
        max_length=limits.MEMO,
    ),
)


def describe_purposes(purposes: Purposes) -> list[str]:
    """What `purposes` allow, in the person's words, one item each (empty: nothing)."""
    if not purposes.stated:
        return [str(_l("Anything: its purposes were never stated."))]
    words = []
    if purposes.projects and purposes.counties:
        where = "、".join(purposes.counties)
        words.append(str(_l("its projects in %(counties)s", counties=where)))
    elif purposes.projects:
        words.append(str(_l("its projects")))
    if purposes.scholarships:
        words.append(str(_l("scholarships")))
    if purposes.in_kind_handovers:
        words.append(str(_l("handing on goods received in kind")))
    return words


bp.add_app_template_global(describe_purposes, "describe_purposes")


def _fund_or_404(code: str) -> Any:
    fund = next((f for f in reads.funds(books()) if f.code == code[:40]), None)
    if fund is None:
        abort(404)
    return fund


# -- purposes ------------------------------------------------------------------------------------
@bp.get("/admin/purposes")
@login_required(*ADMIN)
def purposes_page() -> str:
    """Every fund with what it may pay for."""
    rows = [(f, controls.fund_purposes(books(), f.code)) for f in reads.funds(books())]
    return render_template("console/office/purposes.html", rows=rows)


def _purpose_values(purposes: Purposes) -> dict[str, str]:
    if not purposes.stated:  # a fund that never stated them pays for anything: start from that
        return {"projects": "on", "scholarships": "on", "in_kind_handovers": "on"}
    return {
        "projects": "on" if purposes.projects else "",
        "counties": "，".join(purposes.counties),
        "scholarships": "on" if purposes.scholarships else "",
        "in_kind_handovers": "on" if purposes.in_kind_handovers else "",
    }


def _counties_of_projects() -> list[str]:
    return sorted({p.county for p in reads.projects(books()) if p.county})


@bp.route("/admin/purposes/<fund>", methods=["GET", "POST"])
@login_required(*ADMIN)
def fund_purposes(fund: str) -> Any:
    """State what a fund may pay for (a new version; payments outside it are refused)."""
    found = _fund_or_404(fund)
    now = controls.fund_purposes(books(), found.code)
    if request.method == "GET":
        form = Form.blank(PURPOSE_FIELDS, **_purpose_values(now))
        return _purposes_form(found, now, form)
    form = Form.posted(PURPOSE_FIELDS, request.form)
    data = form.load()
    if data is not None:
        stated = {
            "projects": data["projects"],
            "counties": [c for c in _SEPARATORS.split(data["counties"]) if c],
            "scholarships": data["scholarships"],
            "in_kind_handovers": data["in_kind_handovers"],
        }
        key = form.key("fund-purposes")
        try:
            controls.set_fund_purposes(
                books(),
                found.code,
                stated,
                by=current_actor(),
                key=key,
                audit=audit_facts("fund-purposes", key),
            )
        except LedgerError as err:
            form.add_error(err.field, _purposes_message(err, stated))
        else:
            return redirect(url_for("console.fund", code=found.code, changed="purposes"), 303)
    return _purposes_form(found, now, form, 422)


def _purposes_form(fund: Any, now: Purposes, form: Form, status: int = 200) -> tuple[str, int]:
    return (
        render_template(
            "console/office/fund_purposes.html",
            fund=fund,
            now=now,
            form=form,
            counties=_counties_of_projects(),
        ),
        status,
    )


def _purposes_message(err: LedgerError, stated: dict[str, Any]) -> Any:
    if err.field == "counties" and not stated["projects"]:
        return _l("Counties limit payments to projects: tick the projects too.")
    if err.field == "counties":
        return _l("Name each county in 1 to %(most)s characters.", most=limits.COUNTY)
    return message_for(err)


# -- budgets -------------------------------------------------------------------------------------
@bp.route("/admin/budgets/<project>", methods=["GET", "POST"])
@login_required(*ADMIN)
def project_budget(project: str) -> Any:
    """Change a project's budget, with a reason (a new version; never below what it spent)."""
    found = reads.project_budget(books(), project[:40])
    if found is None:
        abort(404)
    if request.method == "GET":
        return _budget_form(found, Form.blank(BUDGET_FIELDS))
    form = Form.posted(BUDGET_FIELDS, request.form)
    data = form.load()
    if data is not None:
        key = form.key("project-budget")
        try:
            controls.set_project_budget(
                books(),
                found.project.code,
                data["budget"],
                reason=data["reason"],
                by=current_actor(),
                key=key,
                audit=audit_facts("project-budget", key),
            )
        except LedgerError as err:
            form.add_error(err.field, _budget_message(err, found))
        else:
            target = url_for(
                "console.fund", code=found.project.fund, changed="budget", project=project[:40]
            )
            return redirect(target, 303)
    return _budget_form(found, form, 422)


def _budget_form(found: reads.ProjectBudget, form: Form, status: int = 200) -> tuple[str, int]:
    fund = _fund_or_404(found.project.fund)
    page = render_template("console/office/project_budget.html", b=found, fund=fund, form=form)
    return page, status


def _budget_message(err: LedgerError, found: reads.ProjectBudget) -> Any:
    if err.field == "budget" and err.code == "invalid_entry":
        spent = money(found.spent, found.project.currency)
        return _l(
            "The project has spent %(spent)s already: the budget cannot be less.", spent=spent
        )
    if err.field == "reason":
        return _l("Give the reason in 1 to %(most)s characters.", most=limits.MEMO)
    return message_for(err)
