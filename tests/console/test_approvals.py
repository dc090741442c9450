"""Maker-checker in the console: a large payment waits in the inbox for an approver."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from ledger.balances import fund_summary
from tests.console.conftest import (
    PASSWORD,
    TODAY,
    Seeded,
    csrf_of,
    donate,
    key_of,
    post_form,
    sign_in,
)
from usecases import unit
from usecases.unit import SYSTEM
from usecases.users import create_user


def _cash(app: Flask, fund: str) -> dict[str, int]:
    return unit.read(app.extensions["huiquan"].books, lambda repo: fund_summary(repo, fund).cash)


def test_a_large_payment_waits_for_an_approver_who_is_not_its_maker(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:

    books = app.extensions["huiquan"].books
    create_user(
        books,
        login="sun.approver",
        display_name="孙审批",
        roles=("approver",),
        password=PASSWORD,
        by=SYSTEM,
    )
    donate(app, seeded, "30000.00")
    sign_in(client, users["officer"])
    sent = post_form(
        client,
        "/console/disbursements/new",
        {
            "fund": seeded.restricted,
            "project": seeded.project,
            "amount": "12000.00",
            "currency": "CNY",
            "paid_on": TODAY.isoformat(),
            "functional_class": "program",
        },
        fund=seeded.restricted,
    )
    text = sent.get_data(as_text=True)
    assert sent.status_code == 200 and "已提交审批" in text
    assert _cash(app, seeded.restricted) == {"CNY": 3_000_000}
    fund_page = client.get(f"/console/funds/{seeded.restricted}").get_data(as_text=True)
    assert "¥18,000.00" in fund_page  # what is left once the request is paid
    inbox = client.get("/console/approvals").get_data(as_text=True)
    assert "¥12,000.00" in inbox and "/approve" not in inbox  # an officer does not approve

    client.post("/console/logout", data={"csrf_token": csrf_of(client.get("/console/"))})
    sign_in(client, "sun.approver")
    inbox_page = client.get("/console/approvals")
    request_id = re.search(
        r"/console/approvals/([0-9a-f-]{36})/approve", inbox_page.get_data(as_text=True)
    )
    assert request_id
    token = csrf_of(inbox_page)
    refused = client.post(
        f"/console/approvals/{request_id.group(1)}/reject", data={"csrf_token": token, "reason": ""}
    )
    assert refused.status_code == 422 and "请写明驳回的原因" in refused.get_data(as_text=True)
    approved = client.post(
        f"/console/approvals/{request_id.group(1)}/approve", data={"csrf_token": token}
    )
    assert approved.status_code == 302
    assert _cash(app, seeded.restricted) == {"CNY": 1_800_000}
    again = client.post(
        f"/console/approvals/{request_id.group(1)}/approve", data={"csrf_token": token}
    )
    assert again.status_code == 422 and "该请求已有决定" in again.get_data(as_text=True)
    assert _cash(app, seeded.restricted) == {"CNY": 1_800_000}


def test_a_maker_may_withdraw_but_not_approve_their_request(
    app: Flask, client: FlaskClient, seeded: Seeded
) -> None:

    books = app.extensions["huiquan"].books
    create_user(
        books,
        login="both",
        display_name="周兼任",
        roles=("officer", "approver"),
        password=PASSWORD,
        by=SYSTEM,
    )
    donate(app, seeded, "30000.00")
    sign_in(client, "both")
    post_form(
        client,
        "/console/disbursements/new",
        {
            "fund": seeded.restricted,
            "project": seeded.project,
            "amount": "15000.00",
            "currency": "CNY",
            "paid_on": TODAY.isoformat(),
            "functional_class": "program",
        },
        fund=seeded.restricted,
    )
    inbox = client.get("/console/approvals")
    text = inbox.get_data(as_text=True)
    request_id = re.search(r"/console/approvals/([0-9a-f-]{36})/withdraw", text)
    assert request_id and "/approve" not in text
    own = client.post(
        f"/console/approvals/{request_id.group(1)}/approve", data={"csrf_token": csrf_of(inbox)}
    )
    assert own.status_code == 422 and "请求的提交人不能自行决定" in own.get_data(as_text=True)
    out = client.post(
        f"/console/approvals/{request_id.group(1)}/withdraw", data={"csrf_token": csrf_of(inbox)}
    )
    assert out.status_code == 302
    assert "没有等待决定的请求" in client.get("/console/approvals").get_data(as_text=True)
    assert _cash(app, seeded.restricted) == {"CNY": 3_000_000}


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_the_maker_attaches_a_document_to_the_request_and_the_approver_downloads_it(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    import io

    from usecases import evidence

    books = app.extensions["huiquan"].books
    create_user(
        books,
        login="wu.approver",
        display_name="吴审批",
        roles=("approver",),
        password=PASSWORD,
        by=SYSTEM,
    )
    donate(app, seeded, "30000.00")
    sign_in(client, users["officer"])
    post_form(
        client,
        "/console/disbursements/new",
        {
            "fund": seeded.restricted,
            "project": seeded.project,
            "amount": "12000.00",
            "currency": "CNY",
            "paid_on": TODAY.isoformat(),
            "functional_class": "program",
        },
        fund=seeded.restricted,
    )
    inbox = client.get("/console/approvals").get_data(as_text=True)
    found = re.search(r'href="/console/approvals/([0-9a-f-]{36})"', inbox)
    assert found
    request_id = found.group(1)
    page = client.get(f"/console/approvals/{request_id}")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.get_data(
        as_text=True
    )
    action = f"/console/approvals/{request_id}/documents"
    body = {"csrf_token": csrf_of(page), "_key": key_of(page), "kind": "invoice"}
    not_a_pdf = client.post(action, data={**body, "file": (io.BytesIO(b"hello"), "x.pdf")})
    assert not_a_pdf.status_code == 422 and 'id="e-file"' in not_a_pdf.get_data(as_text=True)
    assert evidence.attachments_of(books, "approval_request", request_id) == []
    done = client.post(
        action, data={**body, "note": "报价单", "file": (io.BytesIO(PDF), "报价.pdf")}
    )
    assert done.status_code == 201, done.get_data(as_text=True)
    [listed] = evidence.attachments_of(books, "approval_request", request_id)
    assert listed.record.file_name == "报价.pdf"

    client.post("/console/logout", data={"csrf_token": csrf_of(client.get("/console/"))})
    sign_in(client, "wu.approver")
    inbox_page = client.get("/console/approvals").get_data(as_text=True)
    link = f'href="/console/evidence/{listed.record.id}"'
    assert link in inbox_page and "报价.pdf" in inbox_page
    download = client.get(f"/console/evidence/{listed.record.id}")
    assert download.status_code == 200 and download.data == PDF
    own_page = client.get(f"/console/approvals/{request_id}")
    text = own_page.get_data(as_text=True)
    assert link in text and 'enctype="multipart/form-data"' not in text  # not the maker
    refused = client.post(
        action,
        data={**body, "csrf_token": csrf_of(own_page), "file": (io.BytesIO(PDF), "y.pdf")},
    )
    assert refused.status_code == 403
    assert len(evidence.attachments_of(books, "approval_request", request_id)) == 1
