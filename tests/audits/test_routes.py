"""The audit blueprint over HTTP: roles, streamed exports, statements, proofs, public page."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from api.app import create_app
from ledger.storage.unit_of_work import UnitOfWork
from ledger.tlog.keys import ensure_signing_key
from ledger.tlog.proofs import make_checkpoint
from ledger.trail import record_event
from tests.console.browser import launched, serve
from usecases.tokens import create_token

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


@pytest.fixture
def app(database_url, engine, tmp_path):
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "HUIQUAN_HOME": str(tmp_path),
            "TESTING": True,
            "LOG_REQUESTS": False,
        }
    )
    yield app
    app.extensions["huiquan"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def tokens(engine):
    return {
        role: {"Authorization": f"Bearer {create_token(engine, role=role, name=role)}"}
        for role in ("admin", "officer", "auditor")
    }


@pytest.fixture
def checkpointed(engine, worked, tmp_path):
    with engine.begin() as conn:
        return make_checkpoint(conn, ensure_signing_key(tmp_path))


def test_exports_need_an_auditor_or_admin_token(client, tokens, worked):
    assert client.get("/api/v1/exports/journal.csv").status_code == 401
    forbidden = client.get("/api/v1/exports/journal.csv", headers=tokens["officer"])
    assert forbidden.status_code == 403 and forbidden.mimetype == "application/problem+json"
    assert client.get("/api/v1/exports/journal.csv", headers=tokens["admin"]).status_code == 200


def test_the_csv_export_streams_and_names_its_checkpoint(client, tokens, checkpointed):
    response = client.get("/api/v1/exports/journal.csv?bom=1&fund=LUHUO", headers=tokens["auditor"])
    assert response.status_code == 200 and response.is_streamed
    root = checkpointed.to_dict()["root"]
    assert response.headers["X-Huiquan-Checkpoint"] == f"huiquan-ledger {checkpointed.size} {root}"
    assert response.headers["X-Huiquan-Journal-Size"] == str(checkpointed.size)
    table = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert table[0][0] == "sequence" and {r[17] for r in table[1:-1]} == {"LUHUO"}


def test_jsonl_and_xlsx_exports(client, tokens, checkpointed):
    jsonl = client.get("/api/v1/exports/journal.jsonl?period=2026-06", headers=tokens["auditor"])
    lines = jsonl.data.decode().splitlines()
    assert json.loads(lines[0])["checkpoint"]["size"] == checkpointed.size
    assert {json.loads(line)["fund"] for line in lines[1:]} == {"GENERAL"}
    xlsx = client.get("/api/v1/exports/journal.xlsx", headers=tokens["auditor"])
    assert xlsx.status_code == 200
    assert load_workbook(io.BytesIO(xlsx.data))["journal"].max_row > 10


def test_bad_export_filters_are_field_problems(client, tokens):
    response = client.get("/api/v1/exports/journal.csv?period=26&from=x", headers=tokens["auditor"])
    assert response.status_code == 422
    assert response.get_json()["code"] == "validation_error"


def test_statements_in_json_csv_and_pdf(client, tokens, worked):
    base = "/api/v1/statements/financial-position?fund=LUHUO&as_of=2026-12-31"
    body = client.get(base, headers=tokens["officer"]).get_json()
    closing = {r["line"]: r.get("closing") for r in body["rows"]}
    assert closing["cash"] == "38680.00" and body["checks"] == []
    as_csv = client.get(base + "&format=csv", headers=tokens["auditor"])
    assert as_csv.mimetype == "text/csv" and as_csv.data.startswith(b"line,label_cn")
    pdf = client.get(base + "&format=pdf", headers=tokens["auditor"])
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert client.get("/api/v1/statements/nope", headers=tokens["auditor"]).status_code == 404
    assert client.get(base + "&format=doc", headers=tokens["auditor"]).status_code == 422
    assert (
        client.get("/api/v1/statements/pledges?fund=NOPE", headers=tokens["auditor"]).status_code
        == 422
    )


def test_audit_events_are_for_auditors_with_filters_and_a_cursor(client, tokens, engine):
    for n in range(3):
        with UnitOfWork(engine) as uow:
            record_event(
                uow.connection, actor=f"a{n % 2}", role="officer", action="x", outcome="success"
            )
            uow.commit()
    assert client.get("/api/v1/audit/events", headers=tokens["officer"]).status_code == 403
    page = client.get("/api/v1/audit/events?limit=2", headers=tokens["auditor"]).get_json()
    assert [e["sequence"] for e in page["events"]] == [1, 2] and page["next"] == 2
    rest = client.get("/api/v1/audit/events?limit=2&after=2", headers=tokens["admin"]).get_json()
    # the officer's refused attempt above is on record too, as event 4
    assert [e["sequence"] for e in rest["events"]] == [3, 4]
    assert rest["events"][1]["outcome"] == "refused" and rest["events"][1]["status"] == 403
    only = client.get("/api/v1/audit/events?actor=a1", headers=tokens["auditor"]).get_json()
    assert [e["sequence"] for e in only["events"]] == [2]


def test_an_audit_cursor_beyond_a_64_bit_sequence_is_refused_not_a_500(client, tokens):
    last = client.get(f"/api/v1/audit/events?after={2**63 - 1}", headers=tokens["auditor"])
    assert last.status_code == 200 and last.get_json()["events"] == []
    beyond = client.get(f"/api/v1/audit/events?after={2**63}", headers=tokens["auditor"])
    assert beyond.status_code == 422
    assert beyond.mimetype == "application/problem+json"
    assert "after" in beyond.get_data(as_text=True)
    for odd in ("²", "١", "-1", "1.0"):  # int() refuses "²"; "١" is not a digit people type here
        answer = client.get(f"/api/v1/audit/events?after={odd}", headers=tokens["auditor"])
        assert answer.status_code == 422, odd


def test_a_bank_line_number_that_is_not_ascii_digits_is_not_found_not_a_500(client, tokens):
    for odd in ("²", "１", "x"):
        answer = client.post(
            f"/api/v1/bank-statements/stm/lines/{odd}/match",
            json={"entry_id": "e"},
            headers=tokens["officer"],
        )
        assert answer.status_code == 404, (odd, answer.get_json())
        assert answer.get_json()["code"] == "not_found"


def test_checkpoints_and_proofs_are_public(client, checkpointed, engine):
    latest = client.get("/api/v1/checkpoints/latest").get_json()
    assert latest["size"] == checkpointed.size
    text = client.get("/api/v1/checkpoints/latest", headers={"Accept": "text/plain"})
    assert text.data.decode() == checkpointed.signed_text
    assert [c["size"] for c in client.get("/api/v1/checkpoints").get_json()["checkpoints"]] == [
        checkpointed.size
    ]
    with engine.connect() as conn:
        entry_id = conn.exec_driver_sql(
            "SELECT id FROM journal_entries WHERE sequence = 2"
        ).scalar_one()
    proof = client.get(f"/api/v1/proofs/inclusion/{entry_id}").get_json()
    assert proof["leaf_index"] == 1 and proof["tree_size"] == checkpointed.size
    assert client.get("/api/v1/proofs/inclusion/nope").status_code == 404
    consistency = client.get(f"/api/v1/proofs/consistency?from=3&to={checkpointed.size}")
    assert consistency.status_code == 200 and consistency.get_json()["proof"]
    assert client.get("/api/v1/proofs/consistency?from=3").status_code == 422


def test_the_transparency_page_is_public_strict_and_names_no_child(client, worked, checkpointed):
    response = client.get("/transparency")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "script" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "锦江某公司" in html  # a named donor, as they chose
    assert "陈大文" not in html and "李匿名" not in html  # anonymous donors never named
    assert "匿名捐赠人" in html
    assert all(b not in html for b in worked.students)  # not even pseudonyms
    public = client.get("/transparency.csv").data.decode()
    assert "陈大文" not in public and "scholarship_cohort,JINLU,2024秋,,<5" in public


def test_the_transparency_page_in_headless_chromium(app, worked, checkpointed):
    server, base = serve(app)
    url = f"{base}/transparency"
    blocked: list[str] = []
    try:
        with launched() as browser:
            page = browser.new_page(
                java_script_enabled=False, viewport={"width": 1000, "height": 900}
            )
            page.on(
                "console",
                lambda m: blocked.append(m.text) if "Content Security" in m.text else None,
            )
            page.on(
                "request",
                lambda r: (
                    blocked.append(r.url) if not r.url.startswith(url.rsplit("/", 1)[0]) else None
                ),
            )
            page.goto(url)
            assert page.title().startswith("善款去向公开")
            assert page.locator("#funds tbody tr").count() == 3
            assert page.locator("#projects svg").count() == 2
            # the hashed inline stylesheet applied under the CSP (no JS needed for this read)
            assert page.locator("header").evaluate("e => getComputedStyle(e).color") != ""
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "transparency.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(ARTIFACTS / "transparency-mobile.png"), full_page=False)
    finally:
        server.shutdown()
    assert blocked == []


def test_malformed_and_unknown_query_parameters_are_field_problems(client, tokens, checkpointed):
    bad_limit = client.get("/api/v1/audit/events?limit=0", headers=tokens["auditor"])
    assert bad_limit.status_code == 422 and "limit" in bad_limit.get_json()["errors"]
    signed = client.get("/api/v1/audit/events?limit=+5", headers=tokens["auditor"])
    assert signed.status_code == 422 and "limit" in signed.get_json()["errors"]
    unknown = client.get("/api/v1/checkpoints?after=1")
    assert unknown.status_code == 422 and "after" in unknown.get_json()["errors"]
    missing = client.get("/api/v1/proofs/consistency?to=3").get_json()
    assert missing["code"] == "validation_error" and "from" in missing["errors"]
    page = client.get("/transparency?as_of=2026-13-01")
    assert page.status_code == 422 and "as_of" in page.get_json()["errors"]


def test_the_statement_kinds_documented_are_the_ones_served(client):
    from audits.statements import KINDS

    spec = client.get("/api/openapi.json").get_json()
    [kind] = spec["paths"]["/api/v1/statements/{kind}"]["parameters"]
    assert kind["schema"]["enum"] == list(KINDS)
