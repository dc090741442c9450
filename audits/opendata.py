"""Open data: IATI 2.03 activity XML (one activity per project) and a 360Giving-style grants CSV.

Invariants owned here:
- IATI transaction types: 1 incoming funds (gifts to a fund with exactly one project), 2
  outgoing commitment (scholarship awards of the project's fund), 3 disbursement (payments to
  the project and scholarship payouts), 4 expenditure (in-kind goods used on the project's
  fund). Values are CNY decimal strings; reversals enter as negative values of the kind they
  reverse, so corrections are published, never silent.
- Elements appear in the order of the IATI 2.03 schema; every activity carries the required
  iati-identifier, reporting-org, title, description, participating-org, activity-status,
  activity-date and recipient-country. Validating against the XSD needs lxml and the schema
  files (not shipped); `required_problems` checks what can be checked with the standard library.
- Nobody is named: beneficiaries appear only as counts; donors not at all.
- Text from the books cannot break either file: it goes through `ledger.text.visible` (a control
  character, which XML 1.0 cannot carry, becomes a visible escape), and every text cell of the
  grants CSV is neutralised against formula injection like the journal export's.
- The reporting organisation is identified as ``CN-USCC-<统一社会信用代码>`` when a valid code
  (GB 32100-2015 check character) was configured; otherwise by `PLACEHOLDER_ORG_REF`, which says
  so in the file (a comment and the organisation's narrative) and is never a real-looking code.
- An activity's dates are the project's real ones, from the books: actual start (type 2) at its
  first posting; actual end (type 4) at its last posting once it has had none for a year before
  the export date (status 3, finalisation), else it is in implementation (status 2) with no end.
  A project without any posting has a planned start (type 1) on the day it was opened.
- The 360Giving grants CSV carries the standard's required columns, with "Amount Awarded" the
  fifth (index 4).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, select

from audits.exports import cell_text
from audits.statements import Params, facts_from_db, reference_from_db
from ledger.accounts import CASH_PREFIX, FIXED_ASSETS, GRANTS_PAYABLE, INVENTORY, PROGRAM_EXPENSES
from ledger.credit_code import is_valid_credit_code
from ledger.storage.tables import projects
from ledger.text import visible

__all__ = [
    "GRANTS_HEADER",
    "PLACEHOLDER_ORG_REF",
    "grants_csv",
    "iati_xml",
    "org_identifier",
    "required_problems",
]

PLACEHOLDER_ORG_REF = "XX-PLACEHOLDER-NOT-CONFIGURED"


def org_identifier(registration_no: str | None) -> str:
    """The IATI organisation identifier: CN-USCC-<code> for a valid code, else the placeholder."""
    code = (registration_no or "").strip().upper()
    return f"CN-USCC-{code}" if is_valid_credit_code(code) else PLACEHOLDER_ORG_REF


_TYPES = {
    "donation": "1",
    "pledge_payment": "1",
    "scholarship_award": "2",
    "disbursement": "3",
    "scholarship_payout": "3",
    "in_kind": "4",
}
_REQUIRED = (
    "iati-identifier",
    "reporting-org",
    "title",
    "description",
    "participating-org",
    "activity-status",
    "activity-date",
    "recipient-country",
)


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _narrative(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    ET.SubElement(element, "narrative").text = visible(text)
    return element


def _transactions(
    conn: Connection, as_of: dt.date, upto: int | None = None
) -> dict[str, list[tuple[str, str, int]]]:
    """project code -> [(type, date, fen)], from entries up to sequence `upto` (all if None)."""
    params = Params(None, dt.date(2000, 1, 1), as_of, as_of)
    ref = reference_from_db(conn)
    per_fund_projects: dict[str, list[str]] = defaultdict(list)
    for code, info in ref.projects.items():
        per_fund_projects[str(info["fund"])].append(code)
    out: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for f in facts_from_db(conn, params, upto=upto):
        kind = f.effective_kind
        code = _TYPES.get(kind)
        if code is None:
            continue
        only = per_fund_projects.get(f.fund, [])
        if code == "1" and f.account.startswith(CASH_PREFIX) and len(only) == 1:
            out[only[0]].append((code, f.occurred_on, f.functional))
        elif code == "3" and f.account.startswith(CASH_PREFIX):
            target = f.project or (only[0] if len(only) == 1 else "")
            if kind == "disbursement":
                target = ""  # the 5101 line names the project; counted there
            if target:
                out[target].append((code, f.occurred_on, -f.functional))
        elif code == "3" and f.account == PROGRAM_EXPENSES and f.project and kind == "disbursement":
            out[f.project].append((code, f.occurred_on, f.functional))
        elif code == "2" and f.account == GRANTS_PAYABLE:
            target = f.project or (only[0] if len(only) == 1 else "")
            if target:
                out[target].append((code, f.occurred_on, -f.functional))
        elif code == "4" and f.account in (INVENTORY, FIXED_ASSETS) and len(only) == 1:
            out[only[0]].append((code, f.occurred_on, f.functional))
    return out


def iati_xml(
    conn: Connection,
    *,
    org_ref: str = PLACEHOLDER_ORG_REF,
    org_name: str = "锦江·归来荟 Huiquan",
    as_of: dt.date | None = None,
    upto: int | None = None,
) -> bytes:
    """IATI 2.03 activities, one per project, as UTF-8 XML bytes (entries up to `upto`)."""
    end = as_of or dt.date.today()
    stamp = dt.datetime.combine(end, dt.time(0, 0), dt.UTC).isoformat()
    root = ET.Element("iati-activities", {"version": "2.03", "generated-datetime": stamp})
    if org_ref == PLACEHOLDER_ORG_REF:
        root.append(
            ET.Comment(
                " organisation identifier not configured: set the issuer's 统一社会信用代码 "
            )
        )
        org_name = f"{org_name} (organisation identifier not configured)"
    transactions = _transactions(conn, end, upto)
    for p in conn.execute(select(projects).order_by(projects.c.code)):
        activity = ET.SubElement(
            root,
            "iati-activity",
            {
                "last-updated-datetime": stamp,
                "{http://www.w3.org/XML/1998/namespace}lang": "zh",
                "default-currency": "CNY",
            },
        )
        ET.SubElement(activity, "iati-identifier").text = visible(f"{org_ref}-{p.code}")
        _narrative(activity, "reporting-org", org_name, ref=org_ref, type="22")
        _narrative(activity, "title", p.name)
        _narrative(activity, "description", f"{p.name} — {p.county} {p.town}".strip())
        _narrative(activity, "participating-org", org_name, ref=org_ref, role="4", type="22")
        dated = sorted(on for _kind, on, _fen in transactions.get(p.code, []))
        dormant = bool(dated) and dt.date.fromisoformat(dated[-1]) < end - dt.timedelta(days=365)
        ET.SubElement(activity, "activity-status", {"code": "3" if dormant else "2"})
        if not dated:
            ET.SubElement(activity, "activity-date", {"iso-date": p.created_at[:10], "type": "1"})
        else:
            ET.SubElement(activity, "activity-date", {"iso-date": dated[0], "type": "2"})
        if dormant:
            ET.SubElement(activity, "activity-date", {"iso-date": dated[-1], "type": "4"})
        ET.SubElement(activity, "recipient-country", {"code": "CN", "percentage": "100"})
        location = ET.SubElement(activity, "location")
        _narrative(location, "name", p.county)
        for kind, on, fen in sorted(transactions.get(p.code, [])):
            t = ET.SubElement(activity, "transaction")
            ET.SubElement(t, "transaction-type", {"code": kind})
            ET.SubElement(t, "transaction-date", {"iso-date": on})
            ET.SubElement(t, "value", {"currency": "CNY", "value-date": on}).text = _yuan(fen)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def required_problems(xml: bytes) -> list[str]:
    """What an IATI 2.03 reader would miss first: parse errors and missing required elements."""
    try:
        root = ET.fromstring(xml)  # noqa: S314 - our own output, parsed in tests and checks
    except ET.ParseError as bad:
        return [f"not well-formed: {bad}"]
    problems = [] if root.tag == "iati-activities" else ["the root is not iati-activities"]
    if root.get("version") != "2.03":
        problems.append("iati-activities/@version is not 2.03")
    for n, activity in enumerate(root.findall("iati-activity"), 1):
        tags = [child.tag for child in activity]
        for tag in _REQUIRED:
            if tag not in tags:
                problems.append(f"activity {n}: no {tag}")
        order = [tags.index(t) for t in _REQUIRED if t in tags]
        if order != sorted(order):
            problems.append(f"activity {n}: elements out of schema order")
        for t in activity.findall("transaction"):
            if t.find("transaction-type") is None or t.find("value") is None:
                problems.append(f"activity {n}: a transaction lacks its type or value")
    return problems


_AMOUNT_COLUMN = 4
GRANTS_HEADER = [
    "Identifier",
    "Title",
    "Description",
    "Currency",
    "Amount Awarded",
    "Award Date",
    "Recipient Org:Name",
    "Beneficiary Location:Name",
    "Funding Org:Name",
    "Grant Programme:Title",
    "Recipient Org:Identifier",
    "Funding Org:Identifier",
    "Last Modified",
]


def grants_csv(
    conn: Connection,
    *,
    org_name: str = "锦江·归来荟",
    as_of: dt.date | None = None,
    org_ref: str = PLACEHOLDER_ORG_REF,
    upto: int | None = None,
) -> str:
    """360Giving-style grants: one row per project grant and per scholarship cohort and term."""
    end = as_of or dt.date.today()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(GRANTS_HEADER)
    txs = _transactions(conn, end, upto)
    ref = reference_from_db(conn)

    def write(cells: list[str]) -> None:
        # "Amount Awarded" (index 4) is a number, negative after a reversal: never prefixed.
        writer.writerow([c if i == _AMOUNT_COLUMN else cell_text(c) for i, c in enumerate(cells)])

    modified = dt.datetime.combine(end, dt.time(0, 0), dt.UTC).isoformat()
    for code in sorted(ref.projects):
        info: dict[str, Any] = dict(ref.projects[code])
        paid = [(on, fen) for kind, on, fen in txs.get(code, []) if kind == "3"]
        if not paid:
            continue
        write(
            [
                f"360G-huiquan-{code}",
                info["name"],
                f"{info['name']} ({info['county']})",
                "CNY",
                _yuan(sum(f for _, f in paid)),
                min(on for on, _ in paid),
                info["name"],
                info["county"],
                org_name,
                str(info["fund"]),
                f"360G-huiquan-project-{code}",
                org_ref,
                modified,
            ]
        )
    cohorts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for award in ref.awards.values():
        who = ref.beneficiaries.get(str(award["beneficiary_id"]), {})
        key = (str(award["fund"]), str(who.get("cohort", "")), str(award["term"]))
        cohorts[key][0] += int(award["amount_minor"])
        cohorts[key][1] += 1
    for (fund, cohort, term), (fen, count) in sorted(cohorts.items()):
        write(
            [
                f"360G-huiquan-{fund}-{cohort}-{term}",
                f"助学金 {cohort} {term}",
                f"{count} scholarships (individuals, not named)",
                "CNY",
                _yuan(fen),
                "",
                "Individual recipients",
                "",
                org_name,
                fund,
                "",  # individuals: no organisation identifier, and never a person's
                org_ref,
                modified,
            ]
        )
    return buffer.getvalue()
