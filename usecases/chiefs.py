"""Honorary village chiefs (荣誉村长), village pages and the figures that roll up by place.

Invariants owned here:
- A chief is a registered donor (a person or a firm) appointed to a village (a place of kind
  village) for a term (start <= end) with a citation, once per donor, village and start date.
  Appointments are appended, never changed.
- In public a chief appears as they chose (`shown`: "name" or "anonymous"); a donor who asked
  to be anonymous is never named, whatever `shown` says.
- A place's figures come from the journal: spent = program expense lines (5101) of the
  projects at the place, reversals netted; raised = the gifts tagged to campaigns at the place
  (the campaign's place, else its project's), reversals netted, matched gifts included. They
  roll up (`usecases.places.roll_up`): a county's figure is its own plus its towns' and
  villages'.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ledger.accounts import PROGRAM_EXPENSES
from ledger.errors import AlreadyExists, InvalidEntry, NotFound
from ledger.money import format_minor
from ledger.storage.tables import donors, postings, projects, village_chiefs
from ledger.storage.unit_of_work import UnitOfWork, uuid7_text
from ledger.text import text_problem
from receipts.chief_summary import render_chief_summary_pdf
from usecases.books import Books
from usecases.campaigns import (
    Campaign,
    Payment,
    list_campaigns_in,
    progress_of,
    spending_of,
)
from usecases.places import Place, load_places, path_of, project_places_of, roll_up
from usecases.reference import _once
from usecases.unit import Actor, AuditFacts, read, write

__all__ = [
    "SHOWN",
    "Chief",
    "VillageView",
    "appoint_chief",
    "chief_summary",
    "chief_summary_pdf",
    "chiefs_of",
    "get_chief",
    "list_chiefs",
    "place_figures",
    "place_figures_of",
    "place_rows",
    "village_view",
]

SHOWN = ("name", "anonymous")


@dataclass(frozen=True, slots=True)
class Chief:
    """An appointment: who, where, for which term, with which citation, shown how."""

    id: str
    village: str
    donor_id: str
    starts_on: str
    ends_on: str
    citation_zh: str
    citation_en: str
    shown: str
    public_name: str | None  # None: shown as an anonymous honorary chief

    def serving(self, on: dt.date) -> bool:
        return self.starts_on <= on.isoformat() <= self.ends_on


def _chiefs(conn: Connection, *where: Any) -> list[Chief]:
    query = (
        select(village_chiefs, donors.c.name, donors.c.anonymous)
        .join(donors, donors.c.id == village_chiefs.c.donor_id)
        .where(*where)
        .order_by(village_chiefs.c.starts_on, village_chiefs.c.id)
    )
    return [
        Chief(
            r.id,
            r.village,
            r.donor_id,
            r.starts_on,
            r.ends_on,
            r.citation_zh,
            r.citation_en,
            r.shown,
            None if r.anonymous or r.shown != "name" else r.name,
        )
        for r in conn.execute(query)
    ]


def chiefs_of(conn: Connection, village: str) -> list[Chief]:
    """The village's chiefs, past and present, by start date."""
    return _chiefs(conn, village_chiefs.c.village == village)


def list_chiefs(books: Books, *, village: str | None = None) -> list[Chief]:
    """Every appointment, or one village's."""
    where = [] if village is None else [village_chiefs.c.village == village]
    return read(books, lambda repo: _chiefs(repo.conn, *where))


def get_chief(books: Books, chief_id: str) -> Chief:
    """One appointment.

    Raises:
        NotFound.
    """
    found = read(books, lambda repo: _chiefs(repo.conn, village_chiefs.c.id == chief_id))
    if not found:
        raise NotFound(f"There is no honorary chief {chief_id!r}.")
    return found[0]


def _citation(value: str, name: str, *, required: bool) -> str:
    problem = text_problem(value, multiline=True)
    if problem or len(value) > 2000 or (required and not value.strip()):
        raise InvalidEntry(f"{name} {problem or 'must be 1-2000 characters'}", field=name)
    return value.strip()


def _day(value: Any, name: str) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InvalidEntry(f"{name} must be a date written YYYY-MM-DD", field=name) from None


def appoint_chief(
    books: Books,
    *,
    village: str,
    donor_id: str,
    starts_on: Any,
    ends_on: Any,
    citation_zh: str,
    citation_en: str = "",
    shown: str = "name",
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Chief:
    """Appoint a donor honorary chief of a village for a term, with a citation.

    Raises:
        NotFound (field `village` or `donor_id`), InvalidEntry, AlreadyExists.
    """
    starts, ends = _day(starts_on, "starts_on"), _day(ends_on, "ends_on")
    if ends < starts:
        raise InvalidEntry("a term ends on or after its start", field="ends_on")
    if shown not in SHOWN:
        raise InvalidEntry("shown is name or anonymous", field="shown")
    zh = _citation(citation_zh, "citation_zh", required=True)
    en = _citation(citation_en, "citation_en", required=False)

    body = {
        "village": village,
        "donor_id": donor_id,
        "starts_on": starts,
        "ends_on": ends,
        "citation_zh": zh,
        "citation_en": en,
        "shown": shown,
    }

    def work(uow: UnitOfWork) -> Chief:
        ident = _once(uow, books, key, "chiefs", body, lambda: appoint(uow))
        return _chiefs(uow.connection, village_chiefs.c.id == ident)[0]

    def appoint(uow: UnitOfWork) -> str:
        conn = uow.connection
        place = load_places(conn).get(village)
        if place is None or place.kind != "village":
            raise NotFound(f"There is no village {village!r}.", field="village")
        if uow.repo.get_donor(donor_id) is None:
            raise NotFound(f"There is no donor {donor_id!r}.", field="donor_id")
        same = [
            c for c in chiefs_of(conn, village) if c.donor_id == donor_id and c.starts_on == starts
        ]
        if same:
            raise AlreadyExists("this donor's term there is recorded already", field="donor_id")
        ident = "C-" + uuid7_text(int(uow.clock().timestamp() * 1000), secrets.randbits(80))
        conn.execute(
            insert(village_chiefs).values(
                id=ident,
                village=village,
                donor_id=donor_id,
                starts_on=starts,
                ends_on=ends,
                citation_zh=zh,
                citation_en=en,
                shown=shown,
                appointed_at=uow.now(),
                appointed_by=by.name,
            )
        )
        return ident

    return write(books, work, audit=audit)


# -- figures by place -----------------------------------------------------------------------------
def _campaign_place(campaign: Campaign, placed: Mapping[str, str]) -> str:
    return campaign.place or placed.get(campaign.project, "")


def _spent_by_project(conn: Connection, year: int | None = None) -> dict[str, int]:
    query = (
        select(postings.c.project, func.sum(postings.c.functional))
        .where(postings.c.account == PROGRAM_EXPENSES, postings.c.project != "")
        .group_by(postings.c.project)
    )
    if year is not None:
        query = query.where(postings.c.occurred_on.between(f"{year}-01-01", f"{year}-12-31"))
    return {project: int(total) for project, total in conn.execute(query)}


def place_figures(conn: Connection) -> dict[str, dict[str, int]]:
    """Each place's figures, rolled up: projects, budget, spent and raised (CNY minor units)."""
    known = load_places(conn)
    placed = project_places_of(conn)
    direct: dict[str, dict[str, int]] = {}

    def add(place: str, name: str, value: int) -> None:
        row = direct.setdefault(place, {})
        row[name] = row.get(name, 0) + value

    budgets = dict(conn.execute(select(projects.c.code, projects.c.budget_minor)).all())
    spent = _spent_by_project(conn)
    for project, place in placed.items():
        add(place, "projects", 1)
        add(place, "budget", int(budgets.get(project, 0)))
        add(place, "spent", spent.get(project, 0))
    for campaign in list_campaigns_in(conn, public=True):
        where = _campaign_place(campaign, placed)
        if where:
            add(where, "raised", progress_of(conn, campaign).raised_minor)
    totals = roll_up(known, direct)
    for row in totals.values():
        for name in ("projects", "budget", "spent", "raised"):
            row.setdefault(name, 0)
    return totals


def place_rows(conn: Connection) -> list[dict[str, Any]]:
    """The rolled-up figures of every place with any, county first then its towns and their
    villages (a tree in reading order), as the transparency page and its CSV show them."""
    known, figures = load_places(conn), place_figures(conn)
    rows: list[dict[str, Any]] = []

    def visit(place: Place, depth: int) -> None:
        f = figures[place.code]
        if not any(f.values()):
            return
        path = path_of(known, place.code)
        rows.append(
            {
                "code": place.code,
                "kind": place.kind,
                "name": place.name,
                "depth": depth,
                "path": " ".join(p.name for p in path),
                "county": path[0].name,
                "projects": f["projects"],
                "spent": format_minor(f["spent"], "CNY"),
                "raised": format_minor(f["raised"], "CNY"),
            }
        )
        for child in (p for p in known.values() if p.parent == place.code):
            visit(child, depth + 1)

    for county in (p for p in known.values() if p.kind == "county"):
        visit(county, 0)
    return rows


def place_figures_of(books: Books) -> dict[str, dict[str, int]]:
    """`place_figures` in a read transaction of its own."""
    result: dict[str, dict[str, int]] = read(books, lambda repo: place_figures(repo.conn))
    return result


@dataclass(frozen=True, slots=True)
class VillageView:
    """What a village's public page shows."""

    place: Place
    path: tuple[Place, ...]
    figures: Mapping[str, int]
    projects: tuple[dict[str, Any], ...]
    chiefs: tuple[Chief, ...]
    campaigns: tuple[dict[str, Any], ...]
    payments: tuple[Payment, ...]  # acknowledged payments only
    every_place: Mapping[str, Mapping[str, int]]  # every place's figures (for its children)

    @property
    def project_names(self) -> dict[str, str]:
        return {p["code"]: p["name"] for p in self.projects}


def _village(conn: Connection, code: str, today: dt.date) -> VillageView:
    known = load_places(conn)
    place = known.get(code)
    if place is None:
        raise NotFound(f"There is no place {code!r}.")
    placed = project_places_of(conn)
    here = {c for c, p in known.items() if code in {x.code for x in path_of(known, c)}}
    codes = sorted(project for project, where in placed.items() if where in here)
    spent = _spent_by_project(conn)
    rows = conn.execute(select(projects).where(projects.c.code.in_(codes))).all()
    shown_projects = tuple(
        {"code": r.code, "name": r.name, "budget": r.budget_minor, "spent": spent.get(r.code, 0)}
        for r in sorted(rows, key=lambda r: r.code)
    )
    campaigns = []
    for campaign in list_campaigns_in(conn, public=True):
        if _campaign_place(campaign, placed) in here:
            progress = progress_of(conn, campaign)
            campaigns.append(
                {
                    "slug": campaign.slug,
                    "title_zh": campaign.title_zh,
                    "title_en": campaign.title_en,
                    "goal": campaign.goal_minor,
                    "raised": progress.raised_minor,
                    "phase": campaign.phase(today),
                }
            )
    payments = tuple(
        p for project in codes for p in spending_of(conn, project) if p.acknowledged_on
    )
    figures = place_figures(conn)
    return VillageView(
        place,
        tuple(path_of(known, code)),
        figures[code],
        shown_projects,
        tuple(c for c in chiefs_of(conn, code)),
        tuple(campaigns),
        payments,
        figures,
    )


def village_view(books: Books, code: str, *, today: dt.date) -> VillageView:
    """A place's page: its projects, raised and spent there, chiefs, campaigns, acknowledged
    payments (all places under it included).

    Raises:
        NotFound.
    """
    result: VillageView = read(books, lambda repo: _village(repo.conn, code, today))
    return result


def chief_summary(books: Books, chief_id: str, year: int) -> dict[str, Any]:
    """The facts of a chief's annual summary of their village: the chief, the village and its
    path, and the year's figures (spent that year on its projects, campaigns and payments).

    Raises:
        NotFound: no such appointment.
    """
    chief = get_chief(books, chief_id)

    def work(repo: Any) -> dict[str, Any]:
        conn = repo.conn
        today = dt.date(year, 12, 31)
        view = _village(conn, chief.village, today)
        spent_year = _spent_by_project(conn, year)
        donor = repo.get_donor(chief.donor_id)
        return {
            "chief": asdict(chief),
            "chief_name": donor.name if donor else chief.donor_id,
            "year": year,
            "village": {
                "code": view.place.code,
                "name": view.place.name,
                "name_en": view.place.name_en,
            },
            "path": [p.name for p in view.path],
            "projects": [{**p, "spent_year": spent_year.get(p["code"], 0)} for p in view.projects],
            "spent_year": sum(spent_year.get(p["code"], 0) for p in view.projects),
            "figures": dict(view.figures),
            "campaigns": list(view.campaigns),
            "payments": [
                {**asdict(p), "project_name": view.project_names.get(p.project, "")}
                for p in view.payments
                if p.paid_on.startswith(str(year))
            ],
        }

    result: dict[str, Any] = read(books, work)
    return result


def chief_summary_pdf(books: Books, chief_id: str, year: int) -> bytes:
    """The chief's annual summary of their village as an A4 PDF (like the receipts).

    Raises:
        NotFound: no such appointment.
    """
    return render_chief_summary_pdf(chief_summary(books, chief_id, year))
