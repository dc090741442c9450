"""What a fund may pay for (pure rules): its purposes, stated as reference data.

Invariants owned here:
- A fund's purposes name the kinds of payment it may make: `projects` (disbursements to its
  projects, and in-kind handovers to them), optionally only in some `counties` (the project's
  county, as the project records it: the pairing funds pay Luhuo or Jianyang projects only),
  `scholarships` (awards) and `in_kind_handovers` (goods passed on). `check` refuses a payment
  outside them with `PurposeMismatch`.
- A fund that never stated its purposes may pay for anything (`ANYTHING`); stating them is an
  admin's act, recorded as a new version (append-only) and an audit event by the caller.
- A purposes document read from JSON is checked whole: `parse_purposes` reports every problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.errors import InvalidEntry, PurposeMismatch

__all__ = ["ANYTHING", "KINDS", "Purposes", "check", "parse_purposes", "purposes_json"]

#: The kinds of payment a fund's purposes speak of.
KINDS = ("projects", "scholarships", "in_kind_handovers")


@dataclass(frozen=True, slots=True)
class Purposes:
    """What one fund may pay for (see the module docstring)."""

    projects: bool = True
    counties: tuple[str, ...] = ()
    scholarships: bool = True
    in_kind_handovers: bool = True
    stated: bool = False


ANYTHING = Purposes()


def check(purposes: Purposes, fund: str, kind: str, county: str = "") -> None:
    """Refuse a payment of `kind` (one of `KINDS`) to a project in `county` outside `purposes`.

    Raises:
        PurposeMismatch: naming the fund and what it may pay for.
    """
    allowed = getattr(purposes, kind)
    if allowed and kind == "projects" and purposes.counties and county:
        allowed = county in purposes.counties
    if not allowed:
        raise PurposeMismatch(
            f"fund {fund} may pay for {describe(purposes)}, not {_WORDS[kind]}"
            + (f" in {county}" if kind == "projects" and county else ""),
            field="fund",
        )


_WORDS = {
    "projects": "projects",
    "scholarships": "scholarships",
    "in_kind_handovers": "in-kind handovers",
}


def describe(purposes: Purposes) -> str:
    """What `purposes` allow, in words ("projects in 简阳市, in-kind handovers")."""
    words = []
    if purposes.projects:
        where = f" in {' / '.join(purposes.counties)}" if purposes.counties else ""
        words.append("projects" + where)
    words += [_WORDS[k] for k in KINDS[1:] if getattr(purposes, k)]
    return ", ".join(words) or "nothing"


def parse_purposes(raw: Mapping[str, Any]) -> Purposes:
    """Purposes from their JSON form (`purposes_json`); a kind left out is not allowed.

    Raises:
        InvalidEntry: naming the first bad field; the message lists every problem.
    """
    problems: list[tuple[str, str]] = []
    known = {*KINDS, "counties"}
    problems += [(k, f"unknown field {k!r}") for k in sorted(set(raw) - known)]
    flags = {}
    for kind in KINDS:
        value = raw.get(kind, False)
        if not isinstance(value, bool):
            problems.append((kind, f"{kind}: true or false"))
        flags[kind] = value is True
    counties = raw.get("counties", [])
    if not isinstance(counties, list) or not all(
        isinstance(c, str) and 0 < len(c.strip()) <= 60 for c in counties
    ):
        problems.append(("counties", "counties: a list of county names (1-60 characters)"))
        counties = []
    if counties and not flags["projects"]:
        problems.append(("counties", "counties restrict projects: allow projects too"))
    if problems:
        raise InvalidEntry("; ".join(p for _, p in problems), field=problems[0][0])
    return Purposes(
        flags["projects"],
        tuple(sorted({c.strip() for c in counties})),
        flags["scholarships"],
        flags["in_kind_handovers"],
        stated=True,
    )


def purposes_json(purposes: Purposes) -> dict[str, Any]:
    """The JSON form of purposes (what `parse_purposes` reads)."""
    return {
        "projects": purposes.projects,
        "counties": list(purposes.counties),
        "scholarships": purposes.scholarships,
        "in_kind_handovers": purposes.in_kind_handovers,
    }
