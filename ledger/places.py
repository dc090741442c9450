"""Where projects are: the places hierarchy (county -> town -> village) as read from storage.

Invariants owned here:
- A project is at one place: the place named when it was placed (`project_places`), else the
  place its county and town text names (a town under a county whose name ends its county
  text), else nowhere. `usecases.places` writes places; the statements' registers and the
  programmes' pages read a project's place through `project_places_of`, so the rule is written
  once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from ledger.storage.tables import places, project_places, projects

__all__ = ["Place", "load_places", "path_of", "project_places_of"]


@dataclass(frozen=True, slots=True)
class Place:
    """A place: its code, kind (county, town, village), names and parent's code."""

    code: str
    kind: str
    name: str
    name_en: str = ""
    parent: str = ""
    official: bool = False

    def label(self, language: str = "zh") -> str:
        """The place's name in `language` ("en" falls back to the Chinese name)."""
        return self.name_en if language.startswith("en") and self.name_en else self.name


def _place(row: Any) -> Place:
    return Place(row.code, row.kind, row.name, row.name_en, row.parent, bool(row.official))


def load_places(conn: Connection) -> dict[str, Place]:
    """Every place by code, counties first then towns then villages, each by code."""
    rows = conn.execute(select(places).order_by(places.c.code)).all()
    return {r.code: _place(r) for r in sorted(rows, key=lambda r: (len(r.code), r.code))}


def path_of(known: Mapping[str, Place], code: str) -> list[Place]:
    """The place `code` and its ancestors, county first (empty when unknown)."""
    path: list[Place] = []
    while code and code in known:
        path.insert(0, known[code])
        code = known[code].parent
    return path


def _named_place(known: Mapping[str, Place], county: str, town: str) -> str:
    """The place a project's county and town text names, or ''."""
    counties = [p for p in known.values() if p.kind == "county" and county.endswith(p.name)]
    if not counties:
        return ""
    county_code = counties[0].code
    for p in known.values():
        if p.kind == "town" and p.parent == county_code and town and p.name == town:
            return p.code
    return county_code


def project_places_of(conn: Connection) -> dict[str, str]:
    """Each project's place code (see the module docstring), for projects that have one."""
    known = load_places(conn)
    placed = {r.project: r.place for r in conn.execute(select(project_places))}
    found: dict[str, str] = {}
    for row in conn.execute(select(projects.c.code, projects.c.county, projects.c.town)):
        where = placed.get(row.code) or _named_place(known, row.county, row.town)
        if where:
            found[row.code] = where
    return found
