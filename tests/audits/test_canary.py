"""The canary: a child's real name, ID number and school, planted through `register_beneficiary`,
must appear in no export, statement, PDF, public page, bundle or log line."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import zipfile

import pytest

from api.app import create_app
from audits.bundle import write_bundle_file
from audits.exports import csv_chunks, jsonl_chunks, write_xlsx
from audits.report import render_pack_pdf
from audits.statements import Params, statement_csv, statements_from_db
from audits.transparency import public_csv, public_figures
from ledger.tlog.keys import ensure_signing_key, trusted_vkeys
from tests.audits.worked import CANARY_STRINGS
from usecases.tokens import create_token


def _clean(blob: bytes | str, where: str) -> None:
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    for secret in CANARY_STRINGS:
        assert secret not in text, f"{secret!r} leaked into {where}"


def _unzipped(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return "\n".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())


def _pay_the_canary(engine, worked) -> None:  # type: ignore[no-untyped-def]
    """A disbursement paid to the child herself, named (as ever) by pseudonym only."""
    import datetime as dt

    from ledger import services
    from ledger.money import Money
    from ledger.storage.unit_of_work import UnitOfWork

    with UnitOfWork(engine) as uow:
        services.record_disbursement(
            uow,
            fund="LUHUO",
            project="CLINIC",
            amount=Money(10_000, "CNY"),
            paid_on=dt.date(2026, 6, 1),
            payee={"kind": "person", "pseudonym": worked.canary},
            bank_reference="CANARY-REF-1",
        )
        uow.commit()


def test_the_canary_is_in_no_output(engine, worked, database_url, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    _pay_the_canary(engine, worked)
    with engine.connect() as conn:
        _clean(b"".join(csv_chunks(conn)), "the CSV export")
        _clean(b"".join(jsonl_chunks(conn)), "the JSONL export")
        xlsx = io.BytesIO()
        write_xlsx(conn, xlsx)
        _clean(_unzipped(xlsx.getvalue()), "the XLSX export")
        statements, fold = statements_from_db(conn, Params.make(date_to=worked_date()))
        for s in statements.values():
            _clean(str(s.to_dict()), f"the {s.kind} statement")
            _clean(statement_csv(s), f"the {s.kind} CSV")
        figures = public_figures(conn)
        _clean(str(figures.to_dict()) + public_csv(figures), "the public figures")
    pdf = render_pack_pdf(statements, fold)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout
        assert "审计资料包" in text.decode()  # the extraction works on CJK at all
        _clean(text, "the PDF audit pack")
    bundle = tmp_path / "bundle.zip"
    key = ensure_signing_key(tmp_path)
    write_bundle_file(engine, bundle, period="2026", key=key, trusted=trusted_vkeys(tmp_path))
    _clean(_unzipped(bundle.read_bytes()), "the audit bundle")

    app = create_app({"DATABASE_URL": database_url, "HUIQUAN_HOME": str(tmp_path), "TESTING": True})
    client = app.test_client()
    auditor = {"Authorization": f"Bearer {create_token(engine, role='auditor', name='a')}"}
    for path in (
        "/transparency",
        "/transparency.csv",
        "/api/v1/exports/journal.csv",
        "/api/v1/exports/journal.jsonl",
        "/api/v1/statements/scholarships",
        "/api/v1/statements/scholarships?format=csv",
        "/api/v1/statements/disbursements",
        "/api/v1/statements/disbursements?format=csv",
        "/api/v1/disbursements",
        "/api/v1/audit/events",
        "/api/v1/checkpoints",
    ):
        response = client.get(path, headers=auditor)
        assert response.status_code == 200, path
        _clean(response.data, path)
        if "disbursements" in path:
            assert worked.canary.encode() in response.data  # paid to her, by pseudonym
    app.extensions["huiquan"].engine.dispose()
    _clean("\n".join(r.getMessage() for r in caplog.records), "the log records")
    out, err = capfd.readouterr()
    _clean(out + err, "stdout/stderr (request logs)")


def test_the_canary_is_stored_only_encrypted(engine, worked):
    with engine.connect() as conn:
        for table in ("beneficiaries", "beneficiary_personal", "journal_entries", "postings"):
            rows = conn.exec_driver_sql(f"SELECT * FROM {table}").fetchall()
            blob = " ".join(
                (v.decode("utf-8", "replace") if isinstance(v, bytes | memoryview) else str(v))
                if not isinstance(v, memoryview)
                else bytes(v).decode("utf-8", "replace")
                for row in rows
                for v in row
            )
            _clean(blob, f"the {table} table")


def worked_date():
    import datetime as dt

    return dt.date(2026, 12, 31)


@pytest.fixture(autouse=True)
def _quiet_weasyprint():
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
