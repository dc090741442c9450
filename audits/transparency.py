"""What the public may see: per fund raised, spent and held; spending by project and county;
scholarship counts per cohort; donors only as they chose; the latest signed checkpoint.

Invariants owned here:
- Beneficiaries appear only as counts per cohort — never a name, school, ID number, nor even a
  pseudonym — and a count from 1 to 4 is shown as "<5" so that a small cohort cannot point at
  a child (`SMALL_CELL`).
- A donor who asked to be anonymous is never named: their gifts are summed into one line
  "匿名捐赠人 Anonymous donors". Named donors appear by the name they gave, with their total;
  donor records that carry the same name (one group registered more than once) are one line.
- `places` (county -> town -> village, rolled up) is filled by the caller, which knows the
  places (`usecases.chiefs.place_figures`); the CSV carries it when it is there.
- Figures are CNY values of everything posted up to `as_of` (all time, not one period).
- The public CSV (`public_csv`) carries exactly the figures of the page, one row per figure.
- Acknowledgments: per project and per scholarship cohort, how many payments were made and how
  many their recipients acknowledged, with the acknowledged share of the money paid; counts
  only (a cohort's counts from 1 to 4 show as "<5"), never who.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from audits.statements import Fold, Params, build_statements, facts_from_db, reference_from_db
from ledger.accounts import CASH_PREFIX, CONTRIBUTIONS_RESTRICTED, CONTRIBUTIONS_UNRESTRICTED
from ledger.storage.evidence_store import acknowledged_entries, paid_out
from ledger.storage.tables import donors, postings
from ledger.tlog.proofs import latest_checkpoint

__all__ = ["SMALL_CELL", "PublicFigures", "public_csv", "public_figures"]

SMALL_CELL = 5
_EARLIEST = dt.date(2000, 1, 1)
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class PublicFigures:
    as_of: str
    funds: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    counties: list[dict[str, Any]] = field(default_factory=list)
    cohorts: list[dict[str, Any]] = field(default_factory=list)
    donors: list[dict[str, Any]] = field(default_factory=list)
    acknowledgments: list[dict[str, Any]] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    fold: Fold | None = None
    places: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "funds": self.funds,
            "projects": self.projects,
            "counties": self.counties,
            "cohorts": self.cohorts,
            "donors": self.donors,
            "acknowledgments": self.acknowledgments,
            "checkpoint": self.checkpoint,
            "places": self.places,
        }


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _count(n: int) -> str:
    return f"<{SMALL_CELL}" if 0 < n < SMALL_CELL else str(n)


def _donor_totals(conn: Connection, as_of: dt.date) -> list[dict[str, Any]]:
    p = postings.c
    rows = conn.execute(
        select(p.party, func.sum(p.functional).label("total"))
        .where(
            p.account.in_((CONTRIBUTIONS_UNRESTRICTED, CONTRIBUTIONS_RESTRICTED)),
            p.occurred_on <= as_of.isoformat(),
        )
        .group_by(p.party)
    )
    given = {r.party: -int(r.total) for r in rows if r.party}
    by_name: dict[str, int] = defaultdict(int)
    anonymous_total, anonymous_count = 0, 0
    for d in conn.execute(select(donors.c.id, donors.c.name, donors.c.anonymous)):
        amount = given.get(d.id, 0)
        if amount <= 0:
            continue
        if d.anonymous:
            anonymous_total += amount
            anonymous_count += 1
        else:
            by_name[" ".join(d.name.split())] += amount
    ordered = sorted(by_name.items(), key=lambda item: (-item[1], item[0]))
    named: list[dict[str, Any]] = [{"name": n, "amount": yuan(a)} for n, a in ordered]
    if anonymous_count:
        named.append(
            {
                "name": f"匿名捐赠人 Anonymous donors ({_count(anonymous_count)})",
                "amount": yuan(anonymous_total),
            }
        )
    return named


def public_figures(conn: Connection, *, as_of: dt.date | None = None) -> PublicFigures:
    """Everything the public page shows, computed from the books up to `as_of` (today)."""
    end = as_of or dt.date.today()
    params = Params(None, _EARLIEST, end, end)
    reference = reference_from_db(conn)
    _, fold = build_statements(facts_from_db(conn, params), reference, params, kinds=())
    figures = PublicFigures(as_of=end.isoformat(), fold=fold)
    per_fund: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (fund, code), value in fold.at_as_of.items():
        kind = reference.account_type(code)
        if kind == "revenue":
            per_fund[fund]["raised"] -= value
        elif kind == "expense":
            per_fund[fund]["spent"] += value
        elif code.startswith(CASH_PREFIX):
            per_fund[fund]["held"] += value
    for code in sorted(reference.funds):
        info, f = reference.funds[code], per_fund[code]
        figures.funds.append(
            {
                "fund": code,
                "name": info["name"],
                "restricted": bool(info["restricted"]),
                "raised": yuan(f["raised"]),
                "spent": yuan(f["spent"]),
                "held": yuan(f["held"]),
            }
        )
    by_county: dict[str, int] = defaultdict(int)
    for (fund, code), (amount, count) in sorted(fold.projects.items()):
        info = reference.projects.get(code, {})
        figures.projects.append(
            {
                "fund": fund,
                "project": code,
                "name": info.get("name", ""),
                "county": info.get("county", ""),
                "payments": count,
                "amount": yuan(amount),
            }
        )
        by_county[str(info.get("county", ""))] += amount
    figures.counties = [
        {"county": county, "amount": yuan(amount)} for county, amount in sorted(by_county.items())
    ]
    cohorts: dict[tuple[str, str], dict[str, Any]] = {}
    for award_id, awarded in fold.award_awarded.items():
        award = reference.awards.get(award_id)
        if award is None or awarded <= 0:
            continue
        cohort = reference.beneficiaries.get(str(award["beneficiary_id"]), {}).get("cohort", "")
        group = cohorts.setdefault(
            (str(award["fund"]), str(cohort)), {"students": set(), "terms": set(), "awarded": 0}
        )
        group["students"].add(award["beneficiary_id"])
        group["terms"].add(award["term"])
        group["awarded"] += awarded
    figures.cohorts = [
        {
            "fund": fund,
            "cohort": cohort,
            "students": _count(len(g["students"])),
            "terms": len(g["terms"]),
            "awarded": yuan(g["awarded"]),
        }
        for (fund, cohort), g in sorted(cohorts.items())
    ]
    figures.donors = _donor_totals(conn, end)
    figures.acknowledgments = _acknowledgments(conn, end)
    checkpoint = latest_checkpoint(conn)
    figures.checkpoint = checkpoint.to_dict() if checkpoint else None
    return figures


def _acknowledgments(conn: Connection, end: dt.date) -> list[dict[str, Any]]:
    """Per project and cohort: payments made, acknowledged, and the acknowledged share."""
    done = acknowledged_entries(conn)
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for entry_id, kind, fund, group, minor, on in paid_out(conn):
        if on > end.isoformat():
            continue
        g = groups[("project" if kind == "disbursement" else "cohort", fund, group)]
        acknowledged = entry_id in done
        g[0], g[1] = g[0] + 1, g[1] + acknowledged
        g[2], g[3] = g[2] + minor, g[3] + (minor if acknowledged else 0)
    out = []
    for (scope, fund, group), (paid, acked, paid_minor, acked_minor) in sorted(groups.items()):
        small = _count if scope == "cohort" else str
        share = f"{acked_minor * 100 / paid_minor:.1f}%" if paid_minor else "—"
        out.append(
            {
                "scope": scope,
                "fund": fund,
                "group": group,
                "payments": small(paid),
                "acknowledged": small(acked),
                "acknowledged_amount": yuan(acked_minor),
                "share": share,
            }
        )
    return out


def public_csv(figures: PublicFigures) -> str:
    """The page's figures as one RFC 4180 CSV: section, fund, item, county, count, amount."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["section", "fund", "item", "county", "count", "amount_cny"])
    rows: list[list[str]] = []
    for f in figures.funds:
        for measure in ("raised", "spent", "held"):
            rows.append(["fund", f["fund"], f"{f['name']} {measure}", "", "", f[measure]])
    for p in figures.projects:
        rows.append(
            [
                "project",
                p["fund"],
                f"{p['project']} {p['name']}",
                p["county"],
                str(p["payments"]),
                p["amount"],
            ]
        )
    for c in figures.counties:
        rows.append(["county", "", "", c["county"], "", c["amount"]])
    for c in figures.cohorts:
        rows.append(["scholarship_cohort", c["fund"], c["cohort"], "", c["students"], c["awarded"]])
    for d in figures.donors:
        rows.append(["donor", "", d["name"], "", "", d["amount"]])
    for a in figures.acknowledgments:
        item = f"{a['scope']} {a['group']} {a['share']}"
        count = f"{a['acknowledged']}/{a['payments']}"
        rows.append(["acknowledged", a["fund"], item, "", count, a["acknowledged_amount"]])
    for place in figures.places:
        item = f"{place['code']} {place['path']}"
        rows.append(
            ["place_spent", "", item, place["county"], str(place["projects"]), place["spent"]]
        )
        rows.append(["place_raised", "", item, place["county"], "", place["raised"]])
    if figures.checkpoint:
        cp = figures.checkpoint
        rows.append(["checkpoint", "", f"{cp['origin']} {cp['root']}", "", str(cp["size"]), ""])
    for row in rows:
        writer.writerow(
            [("'" + v if v and v[0] in _DANGEROUS and i != 5 else v) for i, v in enumerate(row)]
        )
    return buffer.getvalue()
