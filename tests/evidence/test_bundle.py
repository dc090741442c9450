"""The audit bundle carries the evidence: records chained, documents by hash; `audit check`
verifies each document against its record, and says so when the files were left out."""

from __future__ import annotations

import io
from pathlib import Path

from audits.bundle import write_bundle_file
from audits.verify import check_bundle
from ledger.storage.evidence_store import LocalEvidenceStore
from ledger.tlog.keys import ensure_signing_key, trusted_vkeys
from tests.evidence.files import pdf, png
from usecases import evidence
from usecases.books import Books
from usecases.unit import Actor

OFFICER = Actor("officer-1", ("officer",))


def _write(books: Books, path: Path, keys: Path, store: LocalEvidenceStore | None = None):
    key = ensure_signing_key(keys)
    return write_bundle_file(
        books.engine, path, period="2026", key=key, trusted=trusted_vkeys(keys), evidence=store
    )


def _attach(books: Books, store: LocalEvidenceStore, entry: str, data: bytes) -> str:
    return evidence.attach(
        books,
        subject_type="entry",
        subject_id=entry,
        kind="invoice",
        upload=evidence.Upload(io.BytesIO(data), "doc"),
        by=OFFICER,
        store=store,
    ).sha256


def test_a_bundle_with_the_documents_checks_and_a_swapped_document_is_found(
    ledger_books: Books, cash_gift: str, tmp_path: Path
) -> None:
    store = LocalEvidenceStore(ledger_books.home / "evidence")
    _attach(ledger_books, store, cash_gift, pdf(b"% invoice"))
    sha = _attach(ledger_books, store, cash_gift, png())
    _attach(ledger_books, store, cash_gift, png())  # the same photo again: one document
    good = tmp_path / "good.zip"
    manifest = _write(ledger_books, good, tmp_path, store)
    assert manifest["evidence"] == {"records": 3, "documents": 2, "files": True}
    report = check_bundle(good, trusted_vkeys(tmp_path))
    assert report.ok, report.lines()
    assert report.evidence == 3

    store.path_of(sha).write_bytes(png(3, 3))  # the stored photo is swapped for another
    swapped = tmp_path / "swapped.zip"
    _write(ledger_books, swapped, tmp_path, store)
    findings = [
        (f.check, f.detail) for f in check_bundle(swapped, trusted_vkeys(tmp_path)).findings
    ]
    assert findings == [("evidence", f"document {sha} does not match its SHA-256 or size")]


def test_a_bundle_without_files_keeps_the_records_and_says_the_documents_were_not_checked(
    ledger_books: Books, cash_gift: str, tmp_path: Path
) -> None:
    store = LocalEvidenceStore(ledger_books.home / "evidence")
    _attach(ledger_books, store, cash_gift, pdf(b"% invoice"))
    path = tmp_path / "records.zip"
    _write(ledger_books, path, tmp_path)
    report = check_bundle(path, trusted_vkeys(tmp_path))
    assert report.ok and report.evidence == 1, report.lines()
    assert any("not the documents" in note for note in report.notes)
