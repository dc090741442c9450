"""Evidence on approval requests: 张三 attaches the invoice to his pending request, 李四 sees it
and approves, and the posted entry carries the document; upload text fields obey the books' one
text rule."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask

from ledger.errors import InvalidEntry
from tests.api.conftest import Books, Caller, disbursement, donation
from tests.controls.conftest import huiquan_books, people  # noqa: F401  (fixture)
from tests.controls.test_maker_checker import entry_count, requested
from tests.evidence.files import pdf
from tests.evidence.test_api import SAMPLE, _file, multipart, upload
from usecases import evidence
from usecases.unit import Actor


@pytest.fixture
def request_id(officer: Caller, people: dict[str, Caller], books: Books) -> str:  # noqa: F811
    officer.created("/api/v1/donations", donation(books, "50000.00"))
    made = requested(people["zhang"], "/api/v1/disbursements", disbursement(books, "12000.00"))
    return str(made["id"])


def _attach(caller: Caller, request_id: str, data: bytes, **form: str) -> Any:
    return upload(caller, f"/api/v1/approval-requests/{request_id}/evidence", data, **form)


def test_a_request_document_is_listed_and_carried_to_the_entry_its_approval_posts(
    app: Flask,
    auditor: Caller,
    people: dict[str, Caller],  # noqa: F811
    request_id: str,
) -> None:
    invoice = pdf("% 手术室改造 发票 No. 0042".encode())
    made = _attach(people["zhang"], request_id, invoice, note="施工发票")
    assert made.status_code == 201, made.get_json()
    doc = made.get_json()
    assert (doc["subject_type"], doc["subject_id"]) == ("approval_request", request_id)
    shown = people["li"].get(f"/api/v1/approval-requests/{request_id}").get_json()
    assert [d["id"] for d in shown["evidence"]] == [doc["id"]]
    listed = people["li"].get(f"/api/v1/approval-requests/{request_id}/evidence").get_json()
    assert [d["sha256"] for d in listed["items"]] == [doc["sha256"]]
    assert people["li"].get(doc["download"]).data == invoice  # the approver reads it first

    approved = people["li"].post(f"/api/v1/approval-requests/{request_id}/approve")
    assert approved.status_code == 200, approved.get_json()
    entry_id = approved.get_json()["entry_id"]
    on_entry = auditor.get(f"/api/v1/entries/{entry_id}/evidence").get_json()["items"]
    assert len(on_entry) == 1
    carried = on_entry[0]
    assert carried["sha256"] == doc["sha256"] and carried["kind"] == "invoice"
    assert request_id in carried["note"] and doc["id"] in carried["note"]
    assert carried["attached_by"] == "李四" and carried["sequence"] == doc["sequence"] + 1
    assert auditor.get(carried["download"]).data == invoice
    assert evidence.verify_evidence(huiquan_books(app)) == []

    before = entry_count(app)
    late = _attach(people["zhang"], request_id, pdf(b"% late"))
    assert late.status_code == 409 and late.get_json()["code"] == "request_closed"
    assert entry_count(app) == before
    assert (
        len(auditor.get(f"/api/v1/approval-requests/{request_id}/evidence").get_json()["items"])
        == 1
    )


def test_a_superseded_request_document_is_not_carried_and_a_rejected_request_keeps_its_own(
    app: Flask,
    people: dict[str, Caller],  # noqa: F811
    officer: Caller,
    books: Books,
    request_id: str,
) -> None:
    wrong = _attach(people["zhang"], request_id, pdf(b"% wrong invoice")).get_json()
    replaced = upload(
        people["zhang"],
        f"/api/v1/evidence/{wrong['id']}/supersede",
        pdf(b"% right invoice"),
        reason="发票抬头有误",
    )
    assert replaced.status_code == 201, replaced.get_json()
    entry_id = (
        people["li"].post(f"/api/v1/approval-requests/{request_id}/approve").get_json()["entry_id"]
    )
    on_entry = officer.get(f"/api/v1/entries/{entry_id}/evidence").get_json()["items"]
    assert [d["sha256"] for d in on_entry] == [replaced.get_json()["sha256"]]

    other = requested(people["zhang"], "/api/v1/disbursements", disbursement(books, "11000.00"))
    _attach(people["zhang"], other["id"], pdf(b"% quote"))
    rejected = people["li"].post(
        f"/api/v1/approval-requests/{other['id']}/reject", {"reason": "预算不足"}
    )
    assert rejected.status_code == 200, rejected.get_json()
    kept = officer.get(f"/api/v1/approval-requests/{other['id']}/evidence").get_json()["items"]
    assert len(kept) == 1  # nothing is deleted; nothing was posted to carry it to


def test_a_missing_request_is_404_and_an_auditor_may_not_attach(
    auditor: Caller,
    people: dict[str, Caller],  # noqa: F811
    request_id: str,
) -> None:
    missing = _attach(people["zhang"], "AR-nope", pdf(b"% x"))
    assert missing.status_code == 404, missing.get_json()
    refused = _attach(auditor, request_id, pdf(b"% x"))
    assert refused.status_code == 403


# -- the text rule on multipart fields -----------------------------------------------------------
@pytest.mark.parametrize(
    ("form", "name", "field"),
    [
        ({"note": "发票\x1b[31m"}, "invoice.pdf", "note"),
        ({"note": "x" * 2001}, "invoice.pdf", "note"),
        ({"note": "line\u0085next"}, "invoice.pdf", "note"),  # C1 control (NEL)
        ({}, "发票\x07.pdf", "file"),
        ({}, "x" * 256 + ".pdf", "file"),
        ({"kind": "selfie"}, "invoice.pdf", "kind"),
        ({"acknowledged_on": "2026-13-01"}, "invoice.pdf", "acknowledged_on"),
    ],
)
def test_upload_text_fields_obey_the_text_rule_of_json_bodies(
    app: Flask, officer: Caller, books: Books, form: dict[str, str], name: str, field: str
) -> None:
    gift = officer.created("/api/v1/donations", donation(books))["id"]
    path = (
        f"/api/v1/entries/{gift}/acknowledgment"
        if "acknowledged_on" in form
        else f"/api/v1/entries/{gift}/evidence"
    )
    answer = upload(officer, path, pdf(b"% ok"), name, **form)
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["errors"], answer.get_json()
    assert officer.get(f"/api/v1/entries/{gift}/evidence").get_json()["items"] == []


def test_a_multiline_note_is_text_the_books_accept(officer: Caller, books: Books) -> None:
    gift = officer.created("/api/v1/donations", donation(books))["id"]
    answer = upload(
        officer, f"/api/v1/entries/{gift}/evidence", pdf(b"% ok"), note="第一行\n第二行\t附注"
    )
    assert answer.status_code == 201, answer.get_json()


def test_the_use_case_refuses_a_control_character_in_a_file_name_whoever_calls_it(
    app: Flask, officer: Caller, books: Books
) -> None:
    gift = officer.created("/api/v1/donations", donation(books))["id"]
    with pytest.raises(InvalidEntry, match="control characters") as refused:
        evidence.attach(
            huiquan_books(app),
            subject_type="entry",
            subject_id=gift,
            kind="invoice",
            upload=evidence.Upload(io.BytesIO(pdf(b"% ok")), "a\x1bb.pdf"),
            by=Actor("officer-1", ("officer",)),
        )
    assert refused.value.field == "file"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"fund": "F\x1b", "account": "1002-CNY"}, "fund"),
        ({"fund": "F", "account": "1002-CNY", "layout": "{}\x00"}, "layout"),
        ({"account": "1002-CNY"}, "fund"),
        ({"fund": "F", "account": "1002-CNY", "memo": "x"}, "memo"),
    ],
)
def test_a_statement_uploads_text_fields_obey_the_same_rule(
    officer: Caller, books: Books, form: dict[str, str], field: str
) -> None:
    data = SAMPLE.read_bytes()
    answer = multipart(officer, "/api/v1/bank-statements", {**form, "file": _file(data, "s.xml")})
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["errors"]
    assert officer.get("/api/v1/bank-statements").get_json()["items"] == []
