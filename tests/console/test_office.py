"""The office pages through the test client: receipts, evidence, bank statements, imports, and
the administrator's users, issuers and approval policies, each over its use case."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from ledger.money import Money
from tests.console.conftest import (
    PASSWORD,
    TODAY,
    Seeded,
    books_of,
    csrf_of,
    donate,
    key_of,
    sign_in,
)
from usecases import approvals, evidence, gifts, reconciliation
from usecases import users as user_cases
from usecases.unit import SYSTEM

SAMPLE = Path(__file__).resolve().parents[1] / "evidence" / "data" / "camt053_sample.xml"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _gift(app: Flask, seeded: Seeded, amount: str = "1200.00") -> tuple[str, str]:
    recorded = donate(app, seeded, amount)
    return recorded.entry.id, recorded.receipt.serial


def _post(client: FlaskClient, page_path: str, action: str, data: dict[str, object]):  # type: ignore[no-untyped-def]
    page = client.get(page_path)
    assert page.status_code == 200, (page_path, page.status_code)
    body: dict[str, object] = {"csrf_token": csrf_of(page), **data}
    if "_key" not in data and 'name="_key"' in page.get_data(as_text=True):
        body["_key"] = key_of(page)
    return client.post(action, data=body)


# -- receipts ----------------------------------------------------------------------------------
def test_an_officer_finds_a_receipt_by_serial_copies_its_link_and_voids_and_replaces_it(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    _, serial = _gift(app, seeded)
    sign_in(client, users["officer"])
    found = client.get("/console/receipts", query_string={"serial": serial.lower()})
    assert found.status_code == 302 and found.location.endswith(f"/console/receipts/{serial}")
    page = f"/console/receipts/{serial}"
    shown = _post(client, page, f"{page}/link", {})
    link = re.search(r'id="link-url" value="([^"]+)"', shown.get_data(as_text=True))
    assert link and "/r/" in link.group(1)
    assert client.get(link.group(1).split("localhost", 1)[-1]).status_code == 200

    pdf = _post(client, page, f"{page}/pdf", {})
    assert pdf.status_code == 303 and pdf.location.endswith(".pdf")

    empty = _post(client, page, f"{page}/void", {"reason": "", "replace": "on"})
    assert empty.status_code == 422 and 'id="e-reason"' in empty.get_data(as_text=True)
    voided = _post(client, page, f"{page}/void", {"reason": "金额写错", "replace": "on"})
    text = voided.get_data(as_text=True)
    assert voided.status_code == 200 and "金额写错" in text
    from usecases.receipts import receipt_record
    from usecases.unit import read

    record = read(books_of(app), lambda repo: receipt_record(repo.conn, serial))
    assert record.is_void and record.replaced_by and record.replaced_by in text


def test_a_new_link_stops_the_old_one(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    _, serial = _gift(app, seeded)
    sign_in(client, users["officer"])
    page = f"/console/receipts/{serial}"
    first = _post(client, page, f"{page}/link", {}).get_data(as_text=True)
    old = re.search(r'id="link-url" value="[^"]*(/r/[^"]+)"', first).group(1)  # type: ignore[union-attr]
    again = _post(client, page, f"{page}/relink", {}).get_data(as_text=True)
    new = re.search(r'id="link-url" value="[^"]*(/r/[^"]+)"', again).group(1)  # type: ignore[union-attr]
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_an_auditor_reads_a_receipt_but_cannot_void_it(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    _, serial = _gift(app, seeded)
    sign_in(client, users["auditor"])
    page = client.get(f"/console/receipts/{serial}")
    assert page.status_code == 200 and "/void" not in page.get_data(as_text=True)
    refused = client.post(
        f"/console/receipts/{serial}/void", data={"csrf_token": csrf_of(page), "reason": "x"}
    )
    assert refused.status_code == 403


# -- evidence ----------------------------------------------------------------------------------
def test_an_officer_attaches_a_pdf_to_an_entry_and_an_auditor_downloads_it(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    entry_id, _ = _gift(app, seeded)
    sign_in(client, users["officer"])
    path = f"/console/entries/{entry_id}/evidence"
    not_a_pdf = _post(
        client, path, path, {"kind": "invoice", "file": (io.BytesIO(b"hello"), "x.pdf")}
    )
    assert not_a_pdf.status_code == 422 and 'id="e-file"' in not_a_pdf.get_data(as_text=True)
    assert evidence.attachments_of(books_of(app), "entry", entry_id) == []
    done = _post(
        client,
        path,
        path,
        {"kind": "invoice", "note": "发票", "file": (io.BytesIO(PDF), "发票.pdf")},
    )
    assert done.status_code == 201, done.get_data(as_text=True)
    [listed] = evidence.attachments_of(books_of(app), "entry", entry_id)
    client.post("/console/logout", data={"csrf_token": csrf_of(client.get("/console/"))})
    sign_in(client, users["auditor"])
    page = client.get(path).get_data(as_text=True)
    assert "发票.pdf" in page and 'enctype="multipart/form-data"' not in page
    download = client.get(f"/console/evidence/{listed.record.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


# -- bank statements ---------------------------------------------------------------------------
def test_an_officer_imports_a_camt053_reconciles_a_line_by_hand_and_records_the_fee(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    import datetime as dt

    from usecases import spending

    books = books_of(app)
    gift = gifts.record_donation(
        books,
        by=SYSTEM,
        donor_id=seeded.donor,
        fund=seeded.restricted,
        amount=Money.parse("1000.00", "CNY"),
        received_on=dt.date(2026, 11, 2),
    )
    paid = spending.record_disbursement(
        books,
        by=SYSTEM,
        fund=seeded.restricted,
        project=seeded.project,
        amount=Money.parse("300.00", "CNY"),
        paid_on=dt.date(2026, 11, 20),
    )
    sign_in(client, users["officer"])
    data = {"fund": seeded.restricted, "account": "1002-CNY"}
    imported = _post(
        client,
        "/console/bank-statements",
        "/console/bank-statements",
        {**data, "file": (io.BytesIO(SAMPLE.read_bytes()), "nov.xml")},
    )
    assert imported.status_code == 303, imported.get_data(as_text=True)
    report_path = imported.location.split("?")[0]
    statement_id = report_path.rsplit("/", 1)[-1]
    report = reconciliation.reconciliation_report(books, statement_id)
    open_lines = {line["line"]: line for line in report["unmatched_lines"]}
    payment_line = next(n for n, line in open_lines.items() if line["amount"] == -30000)
    fee_line = next(n for n, line in open_lines.items() if line["amount"] == -500)

    wrong = _post(
        client,
        report_path,
        f"{report_path}/lines/{payment_line}/match",
        {"entry_id": "no-such-entry", "_key": "k" * 36 + "-1"},
    )
    assert wrong.status_code == 422 and 'id="me-' in wrong.get_data(as_text=True)
    matched = _post(
        client,
        report_path,
        f"{report_path}/lines/{payment_line}/match",
        {"entry_id": paid.id, "_key": "a" * 36 + "-1"},
    )
    assert matched.status_code == 303
    fee = _post(
        client,
        report_path,
        f"{report_path}/lines/{fee_line}/fee",
        {"memo": "账户管理费", "_key": "b" * 36 + "-1"},
    )
    assert fee.status_code == 303
    after = reconciliation.reconciliation_report(books, statement_id)
    assert after["unmatched_lines"] == [] and after["difference"] == 0
    page = client.get(report_path).get_data(as_text=True)
    assert gift.entry.id in page

    again = _post(
        client,
        "/console/bank-statements",
        "/console/bank-statements",
        {**data, "file": (io.BytesIO(SAMPLE.read_bytes()), "nov.xml")},
    )
    assert again.status_code == 303 and "again=1" in again.location


def test_an_unreadable_statement_is_refused_beside_the_file_field(
    client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["officer"])
    refused = _post(
        client,
        "/console/bank-statements",
        "/console/bank-statements",
        {"fund": seeded.restricted, "account": "1002-CNY", "file": (io.BytesIO(b"x"), "a.csv")},
    )
    assert refused.status_code == 422
    assert 'id="e-file"' in refused.get_data(as_text=True)


# -- imports -----------------------------------------------------------------------------------
def _wait_for(client: FlaskClient, path: str) -> str:
    for _ in range(200):
        page = client.get(path).get_data(as_text=True)
        if 'http-equiv="refresh"' not in page:
            return page
        assert "<progress" in page
        time.sleep(0.05)
    raise AssertionError("the import did not finish")


def _dry_run_of_an_empty_file(client: FlaskClient) -> str:
    """Start a dry run of a file with a header only, wait for it to end: the job's address."""
    started = _post(
        client,
        "/console/imports",
        "/console/imports",
        {"file": (io.BytesIO(b"op\n"), "empty.csv"), "dry_run": "on"},
    )
    _wait_for(client, started.location)
    return str(started.location)


def test_an_import_posts_the_whole_file_and_a_bad_file_posts_nothing_with_line_numbers(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["officer"])
    books = books_of(app)
    head = _journal_size(app)
    good = (
        "op,donor_id,fund,amount,date\n"
        f"donation,{seeded.donor},{seeded.general},100.00,{TODAY}\n"
        f"donation,{seeded.donor},{seeded.general},200.00,{TODAY}\n"
    ).encode()
    started = _post(
        client, "/console/imports", "/console/imports", {"file": (io.BytesIO(good), "gifts.csv")}
    )
    assert started.status_code == 303
    page = _wait_for(client, started.location)
    assert _journal_size(app) == head + 2, page
    bad = (
        "op,donor_id,fund,amount,date\n"
        f"donation,{seeded.donor},{seeded.general},100.00,{TODAY}\n"
        f"donation,{seeded.donor},{seeded.general},abc,{TODAY}\n"
        f"donation,NO-SUCH,{seeded.general},5.00,{TODAY}\n"
    ).encode()
    started = _post(
        client, "/console/imports", "/console/imports", {"file": (io.BytesIO(bad), "bad.csv")}
    )
    page = _wait_for(client, started.location)
    assert _journal_size(app) == head + 2  # nothing of the bad file
    assert 'class="problems"' in page and ("第 3 行" in page or "Line 3" in page)
    del books


def _journal_size(app: Flask) -> int:
    from usecases.unit import read

    return read(books_of(app), lambda repo: repo.head()[0])


def test_someone_elses_import_job_is_not_shown(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["officer"])
    job = _dry_run_of_an_empty_file(client)
    user_cases.create_user(
        books_of(app),
        login="qian",
        display_name="钱",
        roles=["officer"],
        password=PASSWORD,
        by=SYSTEM,
    )
    other = app.test_client()
    sign_in(other, "qian")
    assert other.get(job).status_code == 404


def test_an_import_job_is_forgotten_a_week_after_its_last_change(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    from console.office import imports

    sign_in(client, users["officer"])

    first = _dry_run_of_an_empty_file(client)
    folder = books_of(app).home / "console-imports" / first.rsplit("/", 1)[1]
    assert sorted(p.name for p in folder.iterdir()) == ["status.json"]  # the upload is gone
    week_old = time.time() - imports.KEEP_SECONDS - 60
    os.utime(folder / "status.json", (week_old, week_old))
    second = _dry_run_of_an_empty_file(client)
    assert not folder.exists() and client.get(first).status_code == 404
    assert client.get(second).status_code == 200


# -- users, issuers, policies ------------------------------------------------------------------
def test_an_admin_creates_a_user_sets_a_password_and_disables_them(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["admin"])
    short = _post(
        client,
        "/console/admin/users",
        "/console/admin/users",
        {"login": "zhou", "display_name": "周", "role_officer": "on", "password": "short"},
    )
    assert short.status_code == 422 and 'id="e-password"' in short.get_data(as_text=True)
    assert 'value="zhou"' in short.get_data(as_text=True)
    made = _post(
        client,
        "/console/admin/users",
        "/console/admin/users",
        {"login": "zhou", "display_name": "周", "role_approver": "on", "password": PASSWORD},
    )
    assert made.status_code == 201
    zhou = user_cases.user_by_login(books_of(app), "zhou")
    assert zhou.roles == ("approver",)
    path = f"/console/admin/users/{zhou.id}/password"
    changed = _post(client, path, path, {"password": "another long password"})
    assert changed.status_code == 303
    assert user_cases.authenticate(books_of(app), "zhou", "another long password") is not None
    disabled = _post(client, "/console/admin/users", f"/console/admin/users/{zhou.id}/disable", {})
    assert disabled.status_code == 303
    assert not user_cases.get_user(books_of(app), zhou.id).active


def test_an_admin_changes_a_users_roles_and_may_not_drop_their_own_admin_role(
    app: Flask, client: FlaskClient, users: dict[str, str]
) -> None:
    officer = user_cases.user_by_login(books_of(app), users["officer"])
    sign_in(client, users["admin"])
    listing = client.get("/console/admin/users").get_data(as_text=True)
    path = f"/console/admin/users/{officer.id}/roles"
    assert f'href="{path}"' in listing
    page = client.get(path).get_data(as_text=True)
    assert re.search(r'name="role_officer"[^>]*checked', page)
    assert not re.search(r'name="role_auditor"[^>]*checked', page)
    none = _post(client, path, path, {})
    assert none.status_code == 422 and 'id="e-role_officer"' in none.get_data(as_text=True)
    assert user_cases.get_user(books_of(app), officer.id).roles == officer.roles
    saved = _post(client, path, path, {"role_officer": "on", "role_approver": "on"})
    assert saved.status_code == 303 and "roles=" in saved.location
    assert user_cases.get_user(books_of(app), officer.id).roles == ("approver", "officer")
    admin = user_cases.user_by_login(books_of(app), users["admin"])
    own = f"/console/admin/users/{admin.id}/roles"
    refused = _post(client, own, own, {"role_auditor": "on"})
    assert refused.status_code == 422 and "e-role_admin" in refused.get_data(as_text=True)
    assert user_cases.get_user(books_of(app), admin.id).roles == admin.roles
    client.post("/console/logout", data={"csrf_token": csrf_of(client.get("/console/"))})
    sign_in(client, users["officer"])
    assert client.get(path).status_code == 403


def test_an_officer_may_not_open_the_users_page(client: FlaskClient, users: dict[str, str]) -> None:
    sign_in(client, users["officer"])
    assert client.get("/console/admin/users").status_code == 403
    assert client.get("/console/admin/policies").status_code == 403


def test_an_admin_registers_an_issuer_with_a_checked_credit_code_and_assigns_a_fund(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    from usecases import issuers

    sign_in(client, users["admin"])
    wrong = _post(
        client,
        "/console/issuers",
        "/console/issuers",
        {"code": "HQ", "name": "惠泉公益", "registration_no": "91510100MA6CA1B2C4"},
    )
    assert wrong.status_code == 422 and 'id="e-registration_no"' in wrong.get_data(as_text=True)
    good = _post(
        client,
        "/console/issuers",
        "/console/issuers",
        {"code": "HQ", "name": "惠泉公益", "registration_no": _valid_credit_code()},
    )
    assert good.status_code == 201, good.get_data(as_text=True)
    assigned = _post(
        client,
        "/console/issuers",
        "/console/issuers/assign",
        {"fund": seeded.restricted, "issuer": "HQ"},
    )
    assert assigned.status_code == 200
    held = dict((r.code, f) for r, f in issuers.list_issuers(books_of(app).engine))
    assert held["HQ"] == [seeded.restricted]


def _valid_credit_code() -> str:
    from ledger.credit_code import is_valid_credit_code

    body = "91510100MA6CA1B2C"
    return next(
        body + c for c in "0123456789ABCDEFGHJKLMNPQRTUWXY" if is_valid_credit_code(body + c)
    )


def test_an_admin_changes_a_funds_approval_policy_and_a_bad_one_keeps_the_input(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    sign_in(client, users["admin"])
    path = f"/console/admin/policies/{seeded.restricted}"
    fields = {
        "threshold_disbursement": "5000",
        "threshold_award": "",
        "threshold_transfer": "10000",
        "threshold_reversal": "0",
        "approvers": "2",
        "expires_after_days": "400",
    }
    bad = _post(client, path, path, fields)
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'id="e-expires_after_days"' in text and 'value="5000"' in text
    good = _post(client, path, path, {**fields, "expires_after_days": "7"})
    assert good.status_code == 303
    policy = approvals.fund_policy(books_of(app), seeded.restricted)
    assert policy.thresholds["disbursement"] == 5000 and policy.thresholds["award"] is None
    assert policy.approvers == 2 and policy.expires_after_days == 7
    assert not policy.reversal_of_disbursement
    listing = client.get("/console/admin/policies").get_data(as_text=True)
    assert "5,000" in listing


def test_the_office_index_offers_each_person_only_their_pages(
    client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["admin"])
    admin = client.get("/console/office").get_data(as_text=True)
    for path in ("/console/admin/users", "/console/admin/policies", "/console/issuers"):
        assert f'href="{path}"' in admin
    client.post("/console/logout", data={"csrf_token": csrf_of(client.get("/console/"))})
    sign_in(client, users["auditor"])
    auditor = client.get("/console/office").get_data(as_text=True)
    assert 'href="/console/receipts"' in auditor and "/console/admin/users" not in auditor
    assert "/console/imports" not in auditor


def test_the_receipts_list_and_an_entry_lead_to_the_receipt_and_the_evidence_pages(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    entry_id, serial = _gift(app, seeded)
    sign_in(client, users["auditor"])
    listed = client.get("/console/lists/receipts").get_data(as_text=True)
    assert f'href="/console/receipts/{serial}"' in listed
    entry = client.get(f"/console/audit/entries/{entry_id}").get_data(as_text=True)
    assert f'href="/console/entries/{entry_id}/evidence"' in entry


def test_no_office_page_shows_a_beneficiarys_personal_data(
    app: Flask, client: FlaskClient, users: dict[str, str], seeded: Seeded
) -> None:
    from usecases import scholarships

    books = books_of(app)
    _gift(app, seeded, "9000.00")
    award = scholarships.award_scholarship(
        books,
        by=SYSTEM,
        fund=seeded.restricted,
        beneficiary_id=seeded.beneficiary,
        amount=Money.parse("1500.00", "CNY"),
        term="2026秋",
        awarded_on=TODAY,
    )
    sign_in(client, users["admin"])
    pages = [
        "/console/office",
        "/console/receipts",
        "/console/bank-statements",
        "/console/imports",
        "/console/issuers",
        "/console/admin/users",
        "/console/admin/policies",
        f"/console/admin/policies/{seeded.restricted}",
        f"/console/entries/{award.entry.id}/evidence",
    ]
    for path in pages:
        page = client.get(path)
        text = page.get_data(as_text=True)
        assert page.status_code == 200, path
        assert "卓玛" not in text and "513327200901011234" not in text, path
    assert seeded.beneficiary in client.get(f"/console/audit/entries/{award.entry.id}").get_data(
        as_text=True
    )


def test_a_post_with_origin_null_is_judged_by_sec_fetch_site_and_its_token(
    client: FlaskClient, users: dict[str, str]
) -> None:
    """What Chromium sends from a no-referrer page (`Origin: null`): accepted from this site,
    refused from another, whatever the token."""
    page = client.get("/console/login")
    form = {"login": users["officer"], "password": PASSWORD, "csrf_token": csrf_of(page)}
    crossed = client.post(
        "/console/login", data=form, headers={"Origin": "null", "Sec-Fetch-Site": "cross-site"}
    )
    assert crossed.status_code == 403
    same = client.post(
        "/console/login", data=form, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    )
    assert same.status_code == 302 and same.location.endswith("/console/")


def test_the_api_and_the_console_accept_the_same_lengths() -> None:
    from marshmallow import validate

    from api.schemas import DonorIn, ReversalIn, UserIn
    from console.office.admin import USER_FIELDS
    from console.officers import FORMS
    from ledger import limits

    def api_max(schema: object, name: str) -> int:
        found = schema().fields[name].validators  # type: ignore[operator]
        flat = [v for item in found for v in (item if isinstance(item, list) else [item])]
        return next(v.max for v in flat if isinstance(v, validate.Length))

    forms = {spec.name: {f.name: f.max_length for f in spec.fields} for spec in FORMS}
    assert api_max(DonorIn, "name") == forms["donor_new"]["name"] == limits.NAME
    assert api_max(DonorIn, "region") == forms["donor_new"]["region"] == limits.REGION
    assert api_max(ReversalIn, "reason") == forms["reversal"]["reason"] == limits.REASON
    console_user = {f.name: f.max_length for f in USER_FIELDS}
    assert api_max(UserIn, "login") == console_user["login"] == limits.LOGIN
    assert api_max(UserIn, "display_name") == console_user["display_name"] == limits.DISPLAY_NAME
