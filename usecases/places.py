"""Places: county (GB/T 2260) -> town -> village, where projects are and figures roll up.

Invariants owned here:
- A county's code is its 6-digit GB/T 2260 code; a town's is 9 digits and a village's 12, each
  starting with its parent's code (the shape of the statistics bureau's 统计用区划代码). A town's
  parent is a county, a village's a town; counties have no parent. `official` marks a code a
  person checked against the published list; locally assigned codes are not official.
- Places are written once and never changed (an append-only table).
- A project is at one place: the place named when it was placed (`project_places`), else the
  place its county and town text names (a town under a county whose name ends its county
  text), else nowhere (`ledger.places.project_places_of`, which the statements' registers
  read too). Figures roll up by summing a place's own figures and its children's, so
  a county's figure is always the sum over its towns and villages plus what sits at the county.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, insert, select

from ledger import services
from ledger.errors import AlreadyExists, InvalidEntry, NotFound
from ledger.model import Project
from ledger.places import Place, load_places, path_of, project_places_of
from ledger.storage.tables import places, project_places
from ledger.storage.unit_of_work import UnitOfWork
from ledger.text import text_problem
from usecases.books import Books
from usecases.reference import _check_project, _once
from usecases.unit import Actor, AuditFacts, read, write

__all__ = [
    "KINDS",
    "Place",
    "add_place",
    "add_place_in",
    "children_of",
    "ensure_places",
    "get_place",
    "list_places",
    "load_places",
    "open_project_at",
    "path_of",
    "place_project",
    "project_places_of",
    "roll_up",
]

#: Each kind of place, the length of its code and the kind of its parent.
KINDS: Mapping[str, tuple[int, str]] = {
    "county": (6, ""),
    "town": (9, "county"),
    "village": (12, "town"),
}
_DIGITS = re.compile(r"[0-9]+")


def _check(conn: Connection, code: str, kind: str, name: str, name_en: str, parent: str) -> None:
    if kind not in KINDS:
        raise InvalidEntry("kind must be county, town or village", field="kind")
    length, parent_kind = KINDS[kind]
    if not _DIGITS.fullmatch(code) or len(code) != length:
        raise InvalidEntry(f"a {kind}'s code is {length} digits", field="code")
    for field, value in (("name", name), ("name_en", name_en)):
        problem = text_problem(value)
        if problem or len(value) > 100 or (field == "name" and not value.strip()):
            raise InvalidEntry(f"{field} {problem or 'must be 1-100 characters'}", field=field)
    if not parent_kind:
        if parent:
            raise InvalidEntry("a county has no parent", field="parent")
        return
    found = conn.execute(select(places).where(places.c.code == parent)).first()
    if found is None or found.kind != parent_kind:
        raise InvalidEntry(f"a {kind}'s parent is a known {parent_kind}", field="parent")
    if not code.startswith(parent):
        raise InvalidEntry(f"a {kind}'s code starts with its parent's code", field="code")


def add_place_in(
    uow: UnitOfWork,
    *,
    code: str,
    kind: str,
    name: str,
    name_en: str = "",
    parent: str = "",
    official: bool = False,
    by: Actor,
) -> Place:
    """Add a place in the caller's unit of work.

    Raises:
        InvalidEntry (code, kind, names or parent), AlreadyExists.
    """
    conn = uow.connection
    _check(conn, code, kind, name, name_en, parent)
    if conn.execute(select(places.c.code).where(places.c.code == code)).first() is not None:
        raise AlreadyExists(f"place {code} already exists", field="code")
    place = Place(code, kind, name.strip(), name_en.strip(), parent, official)
    conn.execute(
        insert(places).values(
            code=place.code,
            kind=place.kind,
            name=place.name,
            name_en=place.name_en,
            parent=place.parent,
            official=place.official,
            created_at=uow.now(),
            created_by=by.name,
        )
    )
    return place


def add_place(
    books: Books,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
    **details: Any,
) -> Place:
    """Add a county, town or village (`details`: code, kind, name, name_en, parent, official).
    With `key`, a retry answers the place the first call added.

    Raises:
        InvalidEntry, AlreadyExists, IdempotencyConflict: nothing is recorded.
    """

    def work(uow: UnitOfWork) -> Place:
        code = _once(
            uow, books, key, "places", details, lambda: add_place_in(uow, by=by, **details).code
        )
        return load_places(uow.connection)[code]

    return write(books, work, audit=audit)


def get_place(books: Books, code: str) -> Place:
    """One place.

    Raises:
        NotFound: when there is no place `code`.
    """
    found = read(books, lambda repo: load_places(repo.conn)).get(code)
    if found is None:
        raise NotFound(f"There is no place {code!r}.", field="code")
    return found


def list_places(books: Books, *, parent: str | None = None, kind: str | None = None) -> list[Place]:
    """Places, counties first, optionally the children of `parent` or of one kind."""
    every = read(books, lambda repo: load_places(repo.conn)).values()
    return [
        p
        for p in every
        if (parent is None or p.parent == parent) and (kind is None or p.kind == kind)
    ]


def _record_project_place(uow: UnitOfWork, project: str, place: str, by: Actor) -> None:
    conn = uow.connection
    if conn.execute(select(places.c.code).where(places.c.code == place)).first() is None:
        raise NotFound(f"There is no place {place!r}.", field="place")
    taken = conn.execute(
        select(project_places.c.place).where(project_places.c.project == project)
    ).first()
    if taken is not None:
        raise AlreadyExists(f"project {project!r} is already placed", field="place")
    conn.execute(
        insert(project_places).values(
            project=project, place=place, assigned_at=uow.now(), assigned_by=by.name
        )
    )


def place_project(
    books: Books, project: str, place: str, *, by: Actor, audit: AuditFacts | None = None
) -> str:
    """Name the place of a project opened without one (once).

    Raises:
        NotFound (project or place), AlreadyExists (already placed).
    """

    def work(uow: UnitOfWork) -> str:
        if uow.repo.get_project(project) is None:
            raise NotFound(f"There is no project {project!r}.", field="project")
        _record_project_place(uow, project, place, by)
        return place

    return write(books, work, audit=audit)


def open_project_at(
    books: Books,
    *,
    place: str,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
    **details: Any,
) -> Project:
    """Open a project at a place: its county and town text are the place's (when not given).

    Raises:
        NotFound (place), AlreadyExists, UnknownFund, InvalidEntry, IdempotencyConflict.
    """
    _check_project(details, place=place)
    budget = details.get("budget")
    body = {
        **details,
        "place": place,
        "budget": None if budget is None else [budget.minor, budget.currency],
    }

    def create(uow: UnitOfWork) -> str:
        path = path_of(load_places(uow.connection), place)
        if not path:
            raise NotFound(f"There is no place {place!r}.", field="place")
        names = {p.kind: p.name for p in path}
        filled = {
            **details,
            "county": details.get("county") or names["county"],
            "town": details.get("town") or names.get("town", ""),
        }
        code = services.open_project(uow, **filled).code
        _record_project_place(uow, code, place, by)
        return code

    def work(uow: UnitOfWork) -> Project:
        code = _once(uow, books, key, "projects", body, lambda: create(uow))
        project = uow.repo.get_project(code)
        if project is None:  # pragma: no cover - just created or remembered
            raise NotFound(f"There is no project {code!r}.")
        return project

    return write(books, work, audit=audit)


def roll_up(
    known: Mapping[str, Place], direct: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[str, int]]:
    """Each place's figures: its own (`direct`, by place code) plus all its descendants'.

    Figures at unknown places are ignored; every known place gets a row (zeros included).
    """
    totals: dict[str, dict[str, int]] = {code: {} for code in known}
    for code, figures in direct.items():
        for place in path_of(known, code):
            row = totals[place.code]
            for name, value in figures.items():
                row[name] = row.get(name, 0) + value
    return totals


def children_of(known: Mapping[str, Place], code: str) -> Iterable[Place]:
    """The places directly under `code`, by code."""
    return [p for p in known.values() if p.parent == code]


def ensure_places(
    books: Books,
    rows: Iterable[Mapping[str, Any]],
    *,
    by: Actor,
    projects_at: Mapping[str, str] | None = None,
) -> int:
    """Add the places of `rows` that are missing (parents before children) and place the
    projects of `projects_at` (project code -> place code) not yet placed; how many places
    were added. One unit of work: all of it or nothing.

    Raises:
        InvalidEntry, NotFound: nothing is recorded.
    """

    def work(uow: UnitOfWork) -> int:
        known = load_places(uow.connection)
        added = 0
        for row in sorted(rows, key=lambda r: len(str(r["code"]))):
            if row["code"] not in known:
                add_place_in(uow, by=by, **dict(row))
                added += 1
        explicit = {r.project for r in uow.connection.execute(select(project_places.c.project))}
        for project, place in (projects_at or {}).items():
            if project not in explicit and uow.repo.get_project(project) is not None:
                _record_project_place(uow, project, place, by)
        return added

    return write(books, work)
