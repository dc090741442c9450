"""Projects: where a fund's money goes (a dimension of postings), under one fund each."""

from __future__ import annotations

from typing import Any

from api.auth import ADMIN, READERS
from api.blueprint import Blueprint
from api.errors import ApiProblem
from api.resources.common import (
    books,
    current_actor,
    idempotency_key,
    operation,
    read,
)
from api.schemas import (
    BudgetIn,
    BudgetOut,
    ProjectIn,
    ProjectList,
    ProjectOut,
    ProjectQuery,
    money,
)
from api.trail import audit_facts
from ledger.model import Project
from ledger.storage.repository import SqlRepository
from usecases import controls, places, reference

blp = Blueprint("projects", __name__, url_prefix="/api/v1", description="Projects.")


def present_project(p: Project, place: str | None = None) -> dict[str, Any]:
    return {
        "place": place,
        "id": p.code,
        "code": p.code,
        "name": p.name,
        "fund": p.fund,
        "county": p.county,
        "town": p.town,
        "budget": money(p.budget_minor, p.currency),
    }


def _found(repo: SqlRepository, code: str) -> Project:
    project = repo.get_project(code)
    if project is None:
        raise ApiProblem("not_found", f"There is no project {code!r}.")
    return project


@blp.route("/projects", methods=["POST"])
@operation(
    blp,
    roles=ADMIN,
    problems=("already_exists", "unknown_fund", "unknown_place"),
    body=True,
    idempotent=True,
)
@blp.arguments(ProjectIn())
@blp.response(201, ProjectOut)
def create_project(data: dict[str, Any]) -> dict[str, Any]:
    """Open a project under a fund."""
    key = idempotency_key("projects")
    if data.get("place"):
        opened = places.open_project_at(
            books(), by=current_actor(), key=key, audit=audit_facts(), **data
        )
        return present_project(opened, data["place"])
    return present_project(reference.open_project(books(), key=key, audit=audit_facts(), **data))


@blp.route("/projects", methods=["GET"])
@operation(blp, roles=READERS, problems=("validation_error",))
@blp.arguments(ProjectQuery(), location="query", unknown="raise")
@blp.response(200, ProjectList)
def list_projects(query: dict[str, Any]) -> dict[str, Any]:
    """List projects, optionally of one fund."""
    projects, where = read(
        lambda repo: (repo.list_projects(query.get("fund")), places.project_places_of(repo.conn))
    )
    return {"items": [present_project(p, where.get(p.code)) for p in projects]}


@blp.route("/projects/<code>", methods=["GET"])
@operation(blp, roles=READERS, problems=("not_found",))
@blp.response(200, ProjectOut)
def get_project(code: str) -> dict[str, Any]:
    """One project."""
    project, where = read(lambda repo: (_found(repo, code), places.project_places_of(repo.conn)))
    return present_project(project, where.get(code))


@blp.route("/projects/<code>/budget", methods=["PUT"])
@operation(blp, roles=ADMIN, problems=("unknown_project",), body=True, idempotent=True)
@blp.arguments(BudgetIn())
@blp.response(200, BudgetOut)
def set_budget(data: dict[str, Any], code: str) -> dict[str, Any]:
    """Change a project's budget (raise it), with a reason; never below what it has spent.

    Disbursements beyond a project's remaining budget are refused with `over_budget` unless an
    approver approves them as an over-budget request. Each change is appended (nothing is
    rewritten) and audited with the old and the new figure (setting the same budget again adds
    a version too: PUT is idempotent in its effect on the budget in force). Sent again with the
    same `Idempotency-Key`, it adds nothing and answers the change it made.
    """
    change = controls.set_project_budget(
        books(),
        code,
        data["budget"],
        reason=data["reason"],
        by=current_actor(),
        key=idempotency_key("project-budget"),
        audit=audit_facts(),
    )
    before, after = change.before, change.after
    return {
        "project": code,
        "old_budget": money(before.budget_minor, before.currency),
        "budget": money(after.budget_minor, after.currency),
        "reason": change.reason,
    }
