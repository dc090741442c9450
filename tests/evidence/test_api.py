"""Evidence over HTTP: uploads judged by their bytes, downloads for officers and auditors only,
hostile files refused as problem+json, handovers, acknowledgments and bank statements."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from ledger.evidence import MAX_BYTES
from tests.api.conftest import TODAY, Books, Caller, disbursement, donation
from tests.evidence.files import SVG, pdf, png
from usecases.evidence import STORE_ENV

SAMPLE = Path(__file__).parent / "data" / "camt053_sample.xml"


@pytest.fixture(params=("local", "database"))
def store_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(STORE_ENV, request.param)
    return str(request.param)


def multipart(caller: Caller, path: str, fields: dict[str, Any]):
    """POST a multipart body encoded in memory (the test client's own encoder would spool big
    bodies to a temporary file it never closes)."""
    boundary, body = encode_multipart(MultiDict(fields))
    return caller.client.post(
        path,
        data=body,
        headers=caller.headers(),
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def _file(data: bytes, name: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), name, content_type="application/octet-stream")


def upload(caller: Caller, path: str, data: bytes, name: str = "invoice.pdf", **form: str):
    return multipart(caller, path, {"kind": "invoice", **form, "file": _file(data, name)})


@pytest.fixture
def gift(officer: Caller, books: Books) -> str:
    return str(officer.created("/api/v1/donations", donation(books))["id"])


def test_an_officer_attaches_and_an_auditor_downloads_as_an_attachment_never_sniffed(
    officer: Caller, auditor: Caller, anonymous: Caller, gift: str, store_kind: str
) -> None:
    data = pdf("% 发票 No. 0001".encode())
    made = upload(officer, f"/api/v1/entries/{gift}/evidence", data, "发票.pdf", note="invoice")
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (
        body["sha256"] == hashlib.sha256(data).hexdigest()
        and body["media_type"] == "application/pdf"
    )
    for ref in (body["id"], body["sha256"]):
        got = auditor.get(f"/api/v1/evidence/{ref}")
        assert got.status_code == 200 and got.data == data
        assert got.headers["Content-Disposition"].startswith("attachment;")
        assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert anonymous.get(f"/api/v1/evidence/{body['id']}").status_code == 401
    listed = auditor.get(f"/api/v1/entries/{gift}/evidence").get_json()
    assert [i["id"] for i in listed["items"]] == [body["id"]]


@pytest.mark.parametrize(
    ("data", "name", "status", "reason"),
    [
        (pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), "a.pdf", 415, "JavaScript"),
        (SVG, "logo.png", 415, "not its name"),
        (png(100_000, 100_000), "bomb.png", 415, "decompression bomb"),
        (b"", "empty.pdf", 415, "empty"),
    ],
)
def test_hostile_uploads_are_refused_as_problems_and_change_nothing(
    officer: Caller, gift: str, data: bytes, name: str, status: int, reason: str
) -> None:
    refused = upload(officer, f"/api/v1/entries/{gift}/evidence", data, name)
    assert refused.status_code == status
    assert refused.mimetype == "application/problem+json"
    assert reason in refused.get_json()["detail"]
    assert officer.get(f"/api/v1/entries/{gift}/evidence").get_json()["items"] == []


def test_a_document_one_byte_over_20_mib_is_413(officer: Caller, gift: str) -> None:
    data = pdf() + b"\x00" * (MAX_BYTES + 1 - len(pdf()))
    refused = upload(officer, f"/api/v1/entries/{gift}/evidence", data)
    assert refused.status_code == 413 and refused.get_json()["code"] == "payload_too_large"


def test_a_json_body_elsewhere_keeps_the_small_limit(officer: Caller, books: Books) -> None:
    big = officer.post("/api/v1/donations", donation(books, memo="x" * (2 * 1024 * 1024)))
    assert big.status_code == 413


def test_supersede_over_http_keeps_both_and_an_auditor_cannot_attach(
    officer: Caller, auditor: Caller, gift: str
) -> None:
    first = upload(officer, f"/api/v1/entries/{gift}/evidence", pdf(b"% wrong")).get_json()
    second = upload(
        officer,
        f"/api/v1/evidence/{first['id']}/supersede",
        pdf(b"% right"),
        reason="scanned the wrong page",
    )
    assert second.status_code == 201 and second.get_json()["supersedes"] == first["id"]
    items = officer.get(f"/api/v1/entries/{gift}/evidence").get_json()["items"]
    assert [(i["id"], i["superseded_by"]) for i in items] == [
        (first["id"], second.get_json()["id"]),
        (second.get_json()["id"], None),
    ]
    assert upload(auditor, f"/api/v1/entries/{gift}/evidence", pdf()).status_code == 403


def test_a_handover_over_http_shows_on_the_donors_receipt_and_beyond_the_gift_is_409(
    officer: Caller, anonymous: Caller, books: Books
) -> None:
    gift = officer.created(
        "/api/v1/in-kind-donations",
        {
            "donor_id": books.donor,
            "fund": books.restricted,
            "description": "手术器械",
            "quantity": "2 套",
            "fair_value": "30000.00",
            "currency": "CNY",
            "valuation_basis": "发票",
            "received_on": TODAY.isoformat(),
            "asset": "inventory",
        },
    )
    body = {
        "quantity": "1",
        "recipient": "炉霍县人民医院",
        "handed_over_on": TODAY.isoformat(),
        "project": books.project,
    }
    made = officer.created(f"/api/v1/in-kind-donations/{gift['id']}/handovers", body)
    assert made["value"] == "15000.00"
    refused = officer.post(
        f"/api/v1/in-kind-donations/{gift['id']}/handovers", {**body, "quantity": "2"}
    )
    assert refused.status_code == 409 and refused.get_json()["reason"] == "beyond_received"
    page = anonymous.get(urlsplit(gift["receipt"]["url"]).path)
    assert page.status_code == 200
    assert "手术器械 × 1 → 炉霍县人民医院" in page.get_data(as_text=True)


def test_a_disbursement_is_acknowledged_over_http(officer: Caller, books: Books) -> None:
    officer.created("/api/v1/donations", donation(books))
    paid = officer.created("/api/v1/disbursements", disbursement(books))
    ack = upload(
        officer,
        f"/api/v1/entries/{paid['id']}/acknowledgment",
        pdf(b"% signed"),
        "回执.pdf",
        kind="acknowledgment",
        acknowledged_on=TODAY.isoformat(),
    )
    assert ack.status_code == 201, ack.get_json()
    listed = officer.get(f"/api/v1/entries/{paid['id']}/evidence").get_json()
    assert listed["acknowledgment"]["attachment_id"] == listed["items"][0]["id"]


def test_a_bank_statement_is_imported_once_over_http(officer: Caller, books: Books) -> None:
    def send():
        fields = {"fund": books.general, "account": "1002-CNY"}
        fields["file"] = _file(SAMPLE.read_bytes(), "stmt.xml")
        return multipart(officer, "/api/v1/bank-statements", fields)

    first = send()
    assert first.status_code == 201, first.get_json()
    again = send()
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    report = officer.get(first.get_json()["report"]).get_json()
    assert report["closing"] == "695.00" and report["books_balance"] == "0.00"
    assert len(report["unmatched_lines"]) == 3 and report["reconciled"] is False


def test_a_retried_upload_with_its_key_answers_the_first_record(officer: Caller, gift: str) -> None:
    path = f"/api/v1/entries/{gift}/evidence"
    fields = {"kind": "photo", "file": _file(png(), "p.png")}

    def send(key: str) -> Any:
        boundary, body = encode_multipart(MultiDict({**fields, "file": _file(png(), "p.png")}))
        return officer.client.post(
            path,
            data=body,
            headers=officer.headers(key),
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    first, again = send("k-1"), send("k-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert len(officer.get(path).get_json()["items"]) == 1
    assert send("k-2").get_json()["id"] != first.get_json()["id"]
