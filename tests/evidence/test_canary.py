"""The canary: a child's name and ID number inside an acknowledgment she signed (its bytes and its
file name) must reach no public page, export, public figure or audit event; the file is served to
officers and auditors only."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import text

from audits.exports import csv_chunks, jsonl_chunks
from audits.transparency import public_csv, public_figures
from tests.api.conftest import TODAY, Books, Caller, donation
from tests.evidence.files import pdf
from tests.evidence.test_api import upload
from usecases.evidence import acknowledgment_shares

NAME, ID_NUMBER = "卓玛", "513327200901011234"  # planted by the `books` fixture, as personal data


def test_an_acknowledgment_signed_by_a_child_leaks_nowhere_public(
    app: Flask, officer: Caller, auditor: Caller, anonymous: Caller, books: Books
) -> None:
    officer.created("/api/v1/donations", donation(books, amount="5000.00"))
    award = officer.created(
        "/api/v1/scholarship-awards",
        {
            "fund": books.restricted,
            "beneficiary_id": books.beneficiary,
            "amount": "1500.00",
            "currency": "CNY",
            "term": "2024秋",
        },
    )
    payout = officer.created(
        "/api/v1/scholarship-payouts",
        {"award_id": award["id"], "amount": "1500.00", "paid_on": TODAY.isoformat()},
    )
    signed = pdf(f"% 收款人 {NAME} 身份证 {ID_NUMBER}".encode())
    made = upload(
        officer,
        f"/api/v1/entries/{payout['id']}/acknowledgment",
        signed,
        f"{NAME}-回执.pdf",
        kind="acknowledgment",
        acknowledged_on=TODAY.isoformat(),
    )
    assert made.status_code == 201, made.get_json()
    doc = officer.get(f"/api/v1/entries/{payout['id']}/evidence").get_json()["items"][0]
    assert anonymous.get(f"/api/v1/evidence/{doc['id']}").status_code == 401
    assert auditor.get(f"/api/v1/evidence/{doc['sha256']}").data == signed  # auditors may

    engine = app.extensions["huiquan"].engine
    outputs: dict[str, str] = {}
    with engine.connect() as conn:
        outputs["CSV export"] = b"".join(csv_chunks(conn)).decode()
        outputs["JSONL export"] = b"".join(jsonl_chunks(conn)).decode()
        figures = public_figures(conn)
        outputs["public figures"] = str(figures.to_dict()) + public_csv(figures)
        outputs["audit events"] = str(conn.execute(text("SELECT * FROM audit_events")).all())
    outputs["transparency page"] = anonymous.get("/transparency").get_data(as_text=True)
    outputs["transparency CSV"] = anonymous.get("/transparency.csv").get_data(as_text=True)
    assert [a for a in figures.acknowledgments if a["scope"] == "cohort"] == [
        {
            "scope": "cohort",
            "fund": books.restricted,
            "group": "高中助学金 2024秋",
            "payments": "<5",
            "acknowledged": "<5",
            "acknowledged_amount": "1500.00",
            "share": "100.0%",
        }
    ]
    assert (
        "acknowledged,JLZX,cohort 高中助学金 2024秋 100.0%,,<5/<5,1500.00"
        in outputs["transparency CSV"]
    )
    assert "受助方签收" in outputs["transparency page"]
    # the registers (JSON, CSV and the PDF pack's text), the lists and the bundle's statements
    # show the acknowledgment as a date and a count only
    for kind in ("disbursements", "scholarships"):
        for fmt in ("json", "csv"):
            got = auditor.get(f"/api/v1/statements/{kind}?format={fmt}")
            assert got.status_code == 200, got.get_data(as_text=True)[:300]
            outputs[f"{kind} register ({fmt})"] = got.get_data(as_text=True)
    register = auditor.get("/api/v1/statements/scholarships?format=json").get_json()
    cohort = next(r for r in register["rows"] if r["cohort"] == "高中助学金 2024秋")
    assert (cohort["payouts"], cohort["acknowledged"], cohort["acknowledged_amount"]) == (
        1,
        1,
        "1500.00",
    )
    pdf_pack = auditor.get("/api/v1/statements/scholarships?format=pdf")
    assert pdf_pack.status_code == 200 and pdf_pack.data.startswith(b"%PDF")
    outputs["scholarship register (PDF text)"] = _pdf_text(pdf_pack.data)
    listed = auditor.get("/api/v1/scholarship-payouts").get_json()["items"]
    assert [(p["acknowledged_on"], p["documents"]) for p in listed] == [(TODAY.isoformat(), 1)]
    outputs["payout list"] = str(listed)
    shares = acknowledgment_shares(app.extensions["huiquan"].books)
    outputs["acknowledgment shares"] = str(shares)
    for where, output in outputs.items():
        assert NAME not in output and ID_NUMBER not in output, f"the canary leaked into {where}"
    assert shares["cohorts"] == {
        "高中助学金 2024秋": {
            "paid": 1,
            "acknowledged": 1,
            "paid_minor": 150000,
            "acknowledged_minor": 150000,
        }
    }


def _pdf_text(data: bytes) -> str:
    """The text of a PDF, as `pdftotext` reads it (poppler, where installed)."""
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        return data.decode("latin-1")
    done = subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True, timeout=60
    )
    text = done.stdout.decode("utf-8", "replace")
    assert "已签收" in text or "Acknowledged" in text  # the column is there, read as text
    return text
