"""The officer's pages that mirror the API's last write operations: registering a beneficiary,
a donor's receipt email, a payment's acknowledgment, superseding a document and handing goods
received in kind over.

Each page calls the use case the API calls: what it records is read back through the API; the
API's refused roles are refused here too (403); bad input is shown beside its field and records
nothing; a form sent twice records once; the audit event says what the API's says. A
beneficiary's name and other personal data never reach a page, public or not.
"""

from __future__ import annotations

import io
import uuid

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from ledger.errors import InvalidEntry
from ledger.money import Money
from ledger.storage import tables
from tests.console.conftest import (
    PASSWORD,
    TODAY,
    Seeded,
    alert_of,
    api_as,
    attach,
    books_of,
    count,
    csrf_of,
    disburse,
    donate,
    error_of,
    events,
    form_of,
    in_kind,
    linked_from,
    sign_in,
)
from usecases import delivery, evidence, handover, scholarships
from usecases.unit import SYSTEM
from usecases.users import create_user

SIGNED = b"%PDF-1.4\n% signed by the school\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
#: What an officer types about a child; none of it may come back on any page.
CHILD = {
    "name": "格桑拉姆",
    "id_number": "513327201003154421",
    "school": "炉霍县民族中学",
    "guardian": "次仁多吉",
    "phone": "13800001111",
    "address": "炉霍县新都镇幸福路 8 号",
}


def _refused_everywhere(client: FlaskClient, paths: list[str]) -> None:
    """GET and POST (with a valid CSRF token) of each path answer 403."""
    token = csrf_of(client.get("/console/"))
    for path in paths:
        assert client.get(path).status_code == 403, path
        assert client.post(path, data={"csrf_token": token, "_key": "k" * 16}).status_code == 403


def _sign_in_as(app: Flask, client: FlaskClient, role: str) -> None:
    login = f"{role}.{uuid.uuid4().hex[:6]}"
    create_user(
        books_of(app),
        login=login,
        display_name=f"{role}者",
        roles=(role,),
        password=PASSWORD,
        by=SYSTEM,
    )
    sign_in(client, login)


def _disbursement(app: Flask, seeded: Seeded) -> str:
    donate(app, seeded)
    return disburse(app, seeded)


# -- beneficiaries ------------------------------------------------------------------------------
def _register(client: FlaskClient, **typed: str) -> TestResponse:
    path = "/console/beneficiaries/new"
    sent = {"cohort": "高中助学金 2026秋", "county": "炉霍县", **CHILD, "birth_date": "2010-03-15"}
    return client.post(path, data={**form_of(client, path), **sent, **typed})


def test_an_officer_registers_a_beneficiary_then_awards_them_a_scholarship_from_the_console(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    donate(app, seeded)
    sign_in(client, users["officer"])
    award_form = client.get("/console/awards/new").get_data(as_text=True)
    assert 'href="/console/beneficiaries/new"' in award_form
    assert 'href="/console/beneficiaries"' in award_form
    done = _register(client)
    assert done.status_code == 303
    pseudonym = done.location.split("registered=")[1]
    shown = client.get(done.location)
    text = shown.get_data(as_text=True)
    assert "已登记为" in text and pseudonym in text and "高中助学金 2026秋" in text
    award_link = f"/console/awards/new?beneficiary_id={pseudonym}"
    assert f'href="{award_link}"' in text
    prefilled = client.get(award_link).get_data(as_text=True)
    assert f'name="beneficiary_id" value="{pseudonym}"' in prefilled
    sent = {
        "fund": seeded.restricted,
        "beneficiary_id": pseudonym,
        "amount": "1500.00",
        "currency": "CNY",
        "term": "2026秋",
        "awarded_on": TODAY.isoformat(),
    }
    awarded = client.post(award_link, data={**form_of(client, award_link), **sent})
    assert awarded.status_code == 200 and "已登记。" in awarded.get_data(as_text=True)
    listed = api_as(app, "auditor").get("/api/v1/beneficiaries").get_json()["items"]
    assert {"id": pseudonym, "cohort": "高中助学金 2026秋", "county": "炉霍县"} in listed
    [award] = api_as(app, "auditor").get("/api/v1/scholarship-awards").get_json()["items"]
    assert award["beneficiary_id"] == pseudonym and award["amount"] == "1500.00"


def test_a_registration_sent_twice_registers_once_and_its_event_is_the_apis(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["officer"])
    path = "/console/beneficiaries/new"
    form = form_of(client, path)
    sent = {**form, "cohort": "初中助学金 2026秋", "county": "简阳市", "name": "小明"}
    first = client.post(path, data=sent)
    again = client.post(path, data=sent)  # no identity number: only the key stops a second one
    assert first.status_code == again.status_code == 303
    assert first.location == again.location
    assert count(app, tables.beneficiaries) == 2  # the seeded one and this one
    api = api_as(app, "officer")
    body = {"cohort": "初中助学金 2026秋", "county": "简阳市", "personal": {"name": "小红"}}
    assert api.post("/api/v1/beneficiaries", body, key="b-1").status_code == 201
    ours, *replayed = events(
        app, "console beneficiaries", ending=True
    )  # the second answers the first's
    (theirs,) = events(app, "POST /api/v1/beneficiaries", ending=True)
    assert [e.idempotency_key for e in replayed] == [ours.idempotency_key]
    assert (ours.detail, theirs.detail) == ("", "")
    assert ours.actor == "王经办" and ours.role == "officer"
    assert ours.target == path and ours.idempotency_key == f"console-beneficiaries:{form['_key']}"
    with books_of(app).engine.connect() as conn:  # the name is sealed: no event or key holds it
        for table in (tables.audit_events, tables.idempotency):
            rows = conn.execute(select(table)).all()
            assert "小明" not in repr(rows) and "小红" not in repr(rows)


def test_a_bad_registration_is_refused_beside_its_field_and_registers_nothing(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["officer"])
    missing = _register(client, name="", birth_date="2010-13-40")
    assert missing.status_code == 422
    assert error_of(missing, "name") == "此栏为必填项。"
    assert error_of(missing, "birth_date") == "请按 YYYY-MM-DD 格式填写日期。"
    assert count(app, tables.beneficiaries) == 1
    assert _register(client).status_code == 303
    twice = _register(client, name="另一个名字")  # the same identity number, another form
    assert twice.status_code == 422
    assert error_of(twice, "id_number") == "已有受助人以此身份证号登记。"
    assert count(app, tables.beneficiaries) == 2
    assert events(app, "console beneficiaries", ending=True) != []  # the first one only
    assert len(events(app, "console beneficiaries", ending=True)) == 1


@pytest.mark.parametrize("role", ["auditor", "approver"])
def test_only_officers_and_admins_register_beneficiaries_and_readers_see_the_list(
    app: Flask, client: FlaskClient, seeded: Seeded, role: str
) -> None:
    _sign_in_as(app, client, role)
    _refused_everywhere(client, ["/console/beneficiaries/new"])
    listed = client.get("/console/beneficiaries")
    text = listed.get_data(as_text=True)
    assert listed.status_code == 200 and seeded.beneficiary in text
    assert "/console/beneficiaries/new" not in text and "卓玛" not in text
    refused = api_as(app, role).post(
        "/api/v1/beneficiaries",
        {"cohort": "x", "county": "y", "personal": {"name": "z"}},
        key="b-role",
    )
    assert refused.status_code == 403  # as in the API
    assert count(app, tables.beneficiaries) == 1


def test_a_beneficiarys_personal_data_reaches_no_page_public_or_not(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    books = books_of(app)
    gift = donate(app, seeded)
    sign_in(client, users["officer"])
    pseudonym = _register(client).location.split("registered=")[1]
    award = scholarships.award_scholarship(
        books,
        by=SYSTEM,
        fund=seeded.restricted,
        beneficiary_id=pseudonym,
        amount=Money.parse("1500.00", "CNY"),
        term="2026秋",
        awarded_on=TODAY,
    )
    payout = scholarships.pay_scholarship(
        books, by=SYSTEM, award_id=award.award.id, amount="1500.00", currency=None, paid_on=TODAY
    )
    ack = f"/console/entries/{payout.entry.id}/acknowledgment"
    sent = {"acknowledged_on": TODAY.isoformat(), "file": (io.BytesIO(SIGNED), "签收单.pdf")}
    assert client.post(ack, data={**form_of(client, ack), **sent}).status_code == 303
    receipt = gift.receipt.urls("")["url"]
    by_pseudonym = [  # pages that name the beneficiary: by pseudonym
        "/console/beneficiaries",
        f"/console/beneficiaries?registered={pseudonym}",
        "/console/lists/awards",
        "/console/lists/payouts",
        f"/console/lists/journal?party={pseudonym}",
        f"/console/audit/entries/{payout.entry.id}",
        f"/console/awards/new?beneficiary_id={pseudonym}",
    ]
    console_pages = [*by_pseudonym, f"/console/entries/{payout.entry.id}/evidence", ack]
    public_pages = ["/", "/transparency", "/transparency.csv", "/verify", "/c/", receipt]
    public_pages += ["/needs", "/needs.csv", "/services"]
    for path in console_pages:
        page = client.get(path)
        assert page.status_code == 200, path
        assert path not in by_pseudonym or pseudonym in page.get_data(as_text=True), path
    client.post("/console/logout", data={"csrf_token": csrf_of(client.get("/console/"))})
    for path in console_pages + public_pages:
        page = client.get(path)
        text = page.get_data(as_text=True)
        assert page.status_code in (200, 302), path
        for value in CHILD.values():
            assert value not in text, (path, value)
    sign_in(client, users["officer"])
    for path in console_pages:
        text = client.get(path).get_data(as_text=True)
        for value in CHILD.values():
            assert value not in text, (path, value)
    api = api_as(app, "admin")
    for path in ("/api/v1/beneficiaries", f"/api/v1/entries/{award.entry.id}"):
        assert CHILD["name"] not in api.get(path).get_data(as_text=True)


# -- a donor's receipt email ----------------------------------------------------------------------
def test_an_officer_sets_a_donors_receipt_email_and_the_api_reads_it(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["officer"])
    donor_page = client.get(f"/console/donors/{seeded.donor}").get_data(as_text=True)
    path = f"/console/donors/{seeded.donor}/email"
    assert f'href="{path}"' in donor_page
    form = {**form_of(client, path), "email": "finance@chengdu-firm.example.cn"}
    done = client.post(path, data=form)
    assert done.status_code == 303 and done.location.endswith("?saved=1")
    again = client.post(path, data=form)  # sent twice: the same address is not appended again
    assert again.status_code == 303
    shown = client.get(done.location).get_data(as_text=True)
    assert "已保存：新收据将发送至 finance@chengdu-firm.example.cn" in shown
    read = api_as(app, "officer").get(f"/api/v1/donors/{seeded.donor}/email").get_json()
    assert read == {"donor_id": seeded.donor, "email": "finance@chengdu-firm.example.cn"}
    assert count(app, tables.donor_contacts, donor_id=seeded.donor) == 1
    cleared = client.post(path, data={**form_of(client, path), "email": ""})
    assert cleared.status_code == 303
    assert "不再以电子邮件发送收据" in client.get(cleared.location).get_data(as_text=True)
    assert delivery.donor_email(books_of(app), seeded.donor) == ""
    api = api_as(app, "officer")
    put = api.client.put(
        f"/api/v1/donors/{seeded.donor}/email", json={"email": "a@b.cn"}, headers=api.headers()
    )
    assert put.status_code == 200
    ours, theirs = (
        events(app, "console donor-email", ending=True)[0],
        events(app, "/email", ending=True)[0],
    )
    assert ours.detail == theirs.detail == "" and ours.target == path


def test_a_bad_address_is_refused_beside_the_field_by_the_use_case_and_changes_nothing(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["officer"])
    path = f"/console/donors/{seeded.donor}/email"
    for typed in ("not an address", "mei@", "a@b", "mei@@example.org"):
        bad = client.post(path, data={**form_of(client, path), "email": typed})
        assert bad.status_code == 422, typed
        assert error_of(bad, "email").startswith("请填写电子邮件地址"), typed
        assert f'value="{typed}"' in bad.get_data(as_text=True)  # kept as typed
    long = client.post(path, data={**form_of(client, path), "email": "x" * 250 + "@b.cn"})
    assert long.status_code == 422 and error_of(long, "email") == "内容过长。"
    assert (
        count(app, tables.donor_contacts) == 0
        and events(app, "console donor-email", ending=True) == []
    )
    with pytest.raises(InvalidEntry) as refused:  # every door: the rule is the use case's
        delivery.record_donor_email(books_of(app), seeded.donor, "mei@", by=SYSTEM)
    assert refused.value.field == "email"
    api = api_as(app, "officer")
    put = api.client.put(
        f"/api/v1/donors/{seeded.donor}/email", json={"email": "mei@"}, headers=api.headers()
    )
    assert put.status_code == 422
    assert put.get_json()["errors"] == {"email": ["not an email address"]}  # as before
    assert count(app, tables.donor_contacts) == 0


def test_only_officers_and_admins_see_or_set_a_donors_email(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    delivery.record_donor_email(books_of(app), seeded.donor, "secret@example.org", by=SYSTEM)
    sign_in(client, users["auditor"])
    path = f"/console/donors/{seeded.donor}/email"
    _refused_everywhere(client, [path])
    donor_page = client.get(f"/console/donors/{seeded.donor}").get_data(as_text=True)
    assert path not in donor_page and "secret@example.org" not in donor_page
    assert api_as(app, "auditor").get(f"/api/v1/donors/{seeded.donor}/email").status_code == 403
    assert count(app, tables.donor_contacts) == 1
    assert client.get("/console/donors/D-nobody/email").status_code == 403


# -- acknowledgments ------------------------------------------------------------------------------
def test_an_officer_records_a_payments_acknowledgment_with_its_signed_document(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    entry_id = _disbursement(app, seeded)
    sign_in(client, users["officer"])
    path = f"/console/entries/{entry_id}/acknowledgment"
    linked_from(client, path, f"/console/audit/entries/{entry_id}")
    listed = client.get("/console/lists/disbursements").get_data(as_text=True)
    assert f'href="{path}"' in listed  # "not yet" leads to the form
    form = form_of(client, path)
    sent = {**form, "acknowledged_on": TODAY.isoformat(), "note": "学校盖章"}
    done = client.post(path, data={**sent, "file": (io.BytesIO(SIGNED), "签收单.pdf")})
    assert done.status_code == 303
    assert done.location.endswith(f"/console/entries/{entry_id}/evidence?acknowledged=1")
    again = client.post(path, data={**sent, "file": (io.BytesIO(SIGNED), "签收单.pdf")})
    assert again.status_code == 303  # sent twice: recorded once
    shown = client.get(done.location).get_data(as_text=True)
    assert "签收已登记" in shown and f"已于 {TODAY.isoformat()} 签收" in shown
    read = api_as(app, "auditor").get(f"/api/v1/entries/{entry_id}/evidence").get_json()
    assert [i["kind"] for i in read["items"]] == ["acknowledgment"]
    assert read["acknowledgment"]["acknowledged_on"] == TODAY.isoformat()
    assert read["acknowledgment"]["recorded_by"] == "王经办"
    assert count(app, tables.acknowledgments) == 1
    [row] = api_as(app, "auditor").get("/api/v1/disbursements").get_json()["items"]
    assert row["acknowledged_on"] == TODAY.isoformat()
    ours = events(app, "console acknowledgment", ending=True)[0]
    assert ours.target.startswith("evidence:") and " record:" in ours.target  # as the API's
    assert "尚未签收" not in shown
    assert client.get(path).get_data(as_text=True).count('type="file"') == 0  # no second form


def test_an_acknowledgment_by_a_document_attached_before_and_its_refusals(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    entry_id = _disbursement(app, seeded)
    doc = attach(app, entry_id, "acknowledgment", "回执.pdf", SIGNED)
    sign_in(client, users["officer"])
    path = f"/console/entries/{entry_id}/acknowledgment"
    assert f'<option value="{doc.id}">' in client.get(path).get_data(as_text=True)
    early = client.post(
        path,
        data={**form_of(client, path), "acknowledged_on": "2000-01-01", "attachment_id": doc.id},
    )
    assert early.status_code == 422
    assert error_of(early, "acknowledged_on") == "日期须在付款日期与今天之间。"
    neither = client.post(
        path, data={**form_of(client, path), "acknowledged_on": TODAY.isoformat()}
    )
    assert neither.status_code == 422
    assert error_of(neither, "file") == "请选择签字的签收单：新文件，或已附的文件。"
    not_pdf = client.post(
        path,
        data={
            **form_of(client, path),
            "acknowledged_on": TODAY.isoformat(),
            "file": (io.BytesIO(b"hello"), "x.pdf"),
        },
    )
    assert not_pdf.status_code == 422 and error_of(not_pdf, "file")
    assert count(app, tables.acknowledgments) == 0
    assert len(evidence.attachments_of(books_of(app), "entry", entry_id)) == 1
    done = client.post(
        path,
        data={
            **form_of(client, path),
            "acknowledged_on": TODAY.isoformat(),
            "attachment_id": doc.id,
        },
    )
    assert done.status_code == 303
    assert evidence.acknowledgment_status(books_of(app), entry_id)["attachment_id"] == doc.id
    gift_entry = donate(app, seeded).entry.id
    other = f"/console/entries/{gift_entry}/acknowledgment"
    assert "只有未冲销的项目拨款或助学金发放才能登记签收" in client.get(other).get_data(True)
    refused = client.post(  # the page offers no form; sent anyway, the use case refuses it
        other,
        data={
            "csrf_token": csrf_of(client.get(other)),
            "_key": "ack-of-a-gift-01",
            "acknowledged_on": TODAY.isoformat(),
            "file": (io.BytesIO(SIGNED), "x.pdf"),
        },
    )
    assert refused.status_code == 422
    assert "只有未冲销的项目拨款或助学金发放才能登记签收" in alert_of(refused)
    assert client.get("/console/entries/nope/acknowledgment").status_code == 404


@pytest.mark.parametrize("role", ["auditor", "approver"])
def test_only_officers_and_admins_record_an_acknowledgment_supersede_or_hand_over(
    app: Flask, client: FlaskClient, seeded: Seeded, role: str
) -> None:
    entry_id = _disbursement(app, seeded)
    doc = attach(app, entry_id, "invoice", "发票.pdf")
    goods = in_kind(app, seeded)
    _sign_in_as(app, client, role)
    _refused_everywhere(
        client,
        [
            f"/console/entries/{entry_id}/acknowledgment",
            f"/console/evidence/{doc.id}/supersede",
            f"/console/in-kind/{goods}/handovers",
        ],
    )
    assert count(app, tables.acknowledgments) == 0
    assert len(evidence.attachments_of(books_of(app), "entry", entry_id)) == 1
    assert handover.handovers_of(books_of(app), goods) == []
    if role == "auditor":
        evidence_page = client.get(f"/console/entries/{entry_id}/evidence").get_data(True)
        assert "/supersede" not in evidence_page and "/acknowledgment" not in evidence_page
        entry_page = client.get(f"/console/audit/entries/{goods}").get_data(True)
        assert "/handovers" not in entry_page
    api = api_as(app, role)
    ack = api.post(
        f"/api/v1/entries/{entry_id}/acknowledgment",
        data={"acknowledged_on": TODAY.isoformat(), "attachment_id": doc.id},
        content_type="multipart/form-data",
        key="ack-role",
    )
    assert ack.status_code == 403  # as in the API


# -- superseding a document -----------------------------------------------------------------------
def test_an_officer_supersedes_a_wrong_document_with_a_reason_and_a_new_file(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    entry_id = _disbursement(app, seeded)
    wrong = attach(app, entry_id, "invoice", "错的发票.pdf")
    sign_in(client, users["officer"])
    path = f"/console/evidence/{wrong.id}/supersede"
    page = client.get(f"/console/entries/{entry_id}/evidence").get_data(as_text=True)
    assert f'href="{path}"' in page
    no_reason = client.post(path, data={**form_of(client, path), "reason": "  "})
    assert no_reason.status_code == 422 and error_of(no_reason, "reason") == "此栏为必填项。"
    assert len(evidence.attachments_of(books_of(app), "entry", entry_id)) == 1
    sent = {**form_of(client, path), "reason": "发票抬头写错", "note": "重开的发票"}
    done = client.post(path, data={**sent, "file": (io.BytesIO(SIGNED), "发票.pdf")})
    assert done.status_code == 303
    assert done.location.endswith(f"/console/entries/{entry_id}/evidence?superseded=1")
    again = client.post(path, data={**sent, "file": (io.BytesIO(SIGNED), "发票.pdf")})
    assert again.status_code == 303  # sent twice: one new record
    shown = client.get(done.location).get_data(as_text=True)
    assert "文件已替换" in shown and "发票抬头写错" in shown
    read = api_as(app, "auditor").get(f"/api/v1/entries/{entry_id}/evidence").get_json()
    old, new = read["items"]
    assert old["id"] == wrong.id and old["superseded_by"] == new["id"]
    assert new["supersedes"] == wrong.id and new["reason"] == "发票抬头写错"
    assert new["kind"] == "invoice" and new["file_name"] == "发票.pdf"
    assert new["attached_by"] == "王经办"
    ours = events(app, "console evidence-supersede", ending=True)[0]
    assert ours.target == f"evidence:{new['id']} record:{new['hash']}"  # as the API's
    page = client.get(path)  # superseded once: no form is offered again
    assert "该文件已被替换" in page.get_data(as_text=True) and 'name="_key"' not in page.get_data(
        True
    )
    token = csrf_of(page)
    twice = client.post(
        path, data={"csrf_token": token, "_key": "second-one-01", "reason": "又错了"}
    )
    assert twice.status_code == 422 and "该文件已被替换" in twice.get_data(as_text=True)
    assert len(evidence.attachments_of(books_of(app), "entry", entry_id)) == 2
    assert client.get("/console/evidence/EV-nope/supersede").status_code == 404


def test_a_document_withdrawn_without_a_replacement_and_a_bad_file_refused(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    entry_id = _disbursement(app, seeded)
    wrong = attach(app, entry_id, "photo", "别人的照片.pdf")
    sign_in(client, users["admin"])
    path = f"/console/evidence/{wrong.id}/supersede"
    bad = client.post(
        path,
        data={
            **form_of(client, path),
            "reason": "传错了",
            "file": (io.BytesIO(b"<svg/>"), "x.svg"),
        },
    )
    assert bad.status_code == 422 and error_of(bad, "file")
    assert len(evidence.attachments_of(books_of(app), "entry", entry_id)) == 1
    done = client.post(path, data={**form_of(client, path), "reason": "传错了"})
    assert done.status_code == 303
    old, new = evidence.attachments_of(books_of(app), "entry", entry_id)
    assert old.superseded_by == new.record.id and new.record.sha256 == ""
    assert new.record.reason == "传错了"
    assert "<em>已撤回</em>" in client.get(done.location).get_data(as_text=True)


# -- handing goods over -------------------------------------------------------------------------
def test_an_officer_hands_goods_over_naming_the_gifts_document_and_the_api_reads_it(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    gift = in_kind(app, seeded)
    note = attach(app, gift, "acknowledgment", "交接单.pdf", SIGNED)
    sign_in(client, users["officer"])
    path = f"/console/in-kind/{gift}/handovers"
    linked_from(client, path, f"/console/audit/entries/{gift}", "/console/lists/in-kind")
    sent = {
        **form_of(client, path),
        "quantity": "4",
        "recipient": "炉霍县人民医院",
        "handed_over_on": TODAY.isoformat(),
        "project": seeded.project,
        "currency": "CNY",
        f"doc-{note.id}": "on",
        "memo": "移交医院",
    }
    done = client.post(path, data=sent)
    assert done.status_code == 303 and "handed=" in done.location
    again = client.post(path, data=sent)  # sent twice: handed over once
    assert again.status_code == 303 and again.location == done.location
    entry_id = done.location.split("handed=")[1]
    shown = client.get(done.location).get_data(as_text=True)
    assert "已移交：4 交给 炉霍县人民医院" in shown and "¥40,000.00" in shown
    [made] = handover.handovers_of(books_of(app), gift)
    assert made["entry_id"] == entry_id and made["value_minor"] == 4000000
    read = api_as(app, "auditor").get(f"/api/v1/entries/{entry_id}").get_json()
    assert read["data"]["recipient"] == "炉霍县人民医院" and read["data"]["quantity"] == "4"
    assert read["data"]["evidence"] == [note.id] and read["maker"] == "王经办"
    assert ("5101", "40000.00") in {(p["account"], p["debit"]) for p in read["postings"]}
    ours = events(app, "console handovers", ending=True)[0]
    assert ours.detail == "" and ours.target == path


def test_a_handover_beyond_the_gift_or_badly_written_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    gift = in_kind(app, seeded)
    sign_in(client, users["officer"])
    path = f"/console/in-kind/{gift}/handovers"
    base = {"recipient": "炉霍县人民医院", "handed_over_on": TODAY.isoformat(), "currency": "CNY"}
    beyond = client.post(path, data={**form_of(client, path), **base, "quantity": "11"})
    assert beyond.status_code == 422
    assert error_of(beyond, "quantity") == "超过了捐赠所得减去此前已移交的部分。"
    assert 'value="炉霍县人民医院"' in beyond.get_data(as_text=True)
    for typed in ("1e1", "-2", "两台"):
        bad = client.post(path, data={**form_of(client, path), **base, "quantity": typed})
        assert bad.status_code == 422, typed
        assert error_of(bad, "quantity") == "请填写大于零的数量，例如 4 或 2.5。", typed
    too_much = client.post(
        path, data={**form_of(client, path), **base, "quantity": "1", "value": "100000.01"}
    )
    assert too_much.status_code == 422 and error_of(too_much, "value")
    nobody = client.post(
        path, data={**form_of(client, path), **base, "quantity": "1", "recipient": ""}
    )
    assert nobody.status_code == 422 and error_of(nobody, "recipient") == "此栏为必填项。"
    assert handover.handovers_of(books_of(app), gift) == []
    assert events(app, "console handovers", ending=True) == []
    with pytest.raises(InvalidEntry):  # the quantity's form is the use case's rule, every door
        handover.hand_over(
            books_of(app),
            gift,
            by=SYSTEM,
            quantity="1e1",
            recipient="x",
            handed_over_on=TODAY,
        )
    cash_gift = donate(app, seeded).entry.id
    assert client.get(f"/console/in-kind/{cash_gift}/handovers").status_code == 404
