"""Attachments through the use cases, on both stores: stored once, chained, superseded, verified."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from ledger.errors import AlreadyExists, NotFound
from ledger.evidence import UnsupportedFile, chain_findings
from ledger.storage import evidence_store as records
from ledger.storage.evidence_store import EvidenceStore, LocalEvidenceStore
from ledger.storage.tables import evidence_attachments, evidence_blobs
from tests.evidence.files import SVG, pdf, png
from usecases import evidence
from usecases.books import Books
from usecases.unit import Actor

OFFICER = Actor("officer-1", ("officer",))


def attach(books: Books, store: EvidenceStore, entry: str, data: bytes, name: str = "invoice.pdf"):
    return evidence.attach(
        books,
        subject_type="entry",
        subject_id=entry,
        kind="invoice",
        upload=evidence.Upload(io.BytesIO(data), name),
        by=OFFICER,
        store=store,
    )


def stored_copies(books: Books, store: EvidenceStore, sha: str) -> int:
    if isinstance(store, LocalEvidenceStore):
        return len(list(store.root.rglob(sha)))
    with books.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).where(evidence_blobs.c.sha256 == sha)) or 0)


def test_the_same_file_attached_twice_is_stored_once_and_recorded_twice(
    ledger_books: Books, store: EvidenceStore, cash_gift: str
) -> None:
    data = pdf(b"% invoice 2026-0001")
    first = attach(ledger_books, store, cash_gift, data)
    second = attach(ledger_books, store, cash_gift, data, "copy.pdf")
    sha = hashlib.sha256(data).hexdigest()
    assert first.sha256 == second.sha256 == sha and first.id != second.id
    assert stored_copies(ledger_books, store, sha) == 1
    record, chunks = evidence.open_file(ledger_books, sha, store)
    assert b"".join(chunks) == data and record.id == first.id


def test_a_file_larger_than_a_chunk_comes_back_byte_for_byte(
    ledger_books: Books, store: EvidenceStore, cash_gift: str
) -> None:
    data = pdf(bytes(range(256)) * 9000)  # 2.2 MiB: three chunks
    record = attach(ledger_books, store, cash_gift, data)
    _, chunks = evidence.open_file(ledger_books, record.id, store)
    parts = list(chunks)
    assert len(parts) == 3 and b"".join(parts) == data
    assert evidence.verify_evidence(ledger_books, store) == []


def test_records_are_chained_from_genesis_and_a_changed_record_is_found(
    ledger_books: Books, store: EvidenceStore, cash_gift: str
) -> None:
    attach(ledger_books, store, cash_gift, pdf(b"% a"))
    attach(ledger_books, store, cash_gift, png())
    with ledger_books.engine.connect() as conn:
        chain = list(records.iter_attachments(conn))
    assert [r.sequence for r in chain] == [1, 2] and chain[1].prev_hash == chain[0].hash
    assert chain_findings(chain) == []
    swapped = [chain[0], type(chain[1])(**{**chain[1].to_dict(), "sha256": "0" * 64})]
    assert chain_findings(swapped) == ["evidence record 2 was altered after it was chained"]


def test_the_database_refuses_to_change_or_delete_an_attachment_record(
    ledger_books: Books, store: EvidenceStore, cash_gift: str
) -> None:
    attach(ledger_books, store, cash_gift, pdf())
    for statement in (
        "UPDATE evidence_attachments SET sha256 = 'x'",
        "DELETE FROM evidence_attachments",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with ledger_books.engine.begin() as conn:
                conn.execute(text(statement))


def test_supersede_keeps_both_records_and_says_why(
    ledger_books: Books, store: EvidenceStore, cash_gift: str
) -> None:
    wrong = attach(ledger_books, store, cash_gift, pdf(b"% wrong invoice"))
    right = evidence.supersede(
        ledger_books,
        wrong.id,
        reason="the invoice of another gift",
        upload=evidence.Upload(io.BytesIO(pdf(b"% right invoice")), "right.pdf"),
        by=OFFICER,
        store=store,
    )
    listed = evidence.attachments_of(ledger_books, "entry", cash_gift)
    assert [(x.record.id, x.superseded_by) for x in listed] == [
        (wrong.id, right.id),
        (right.id, None),
    ]
    assert right.supersedes == wrong.id and right.reason == "the invoice of another gift"
    with pytest.raises(AlreadyExists):
        evidence.supersede(ledger_books, wrong.id, reason="again", by=OFFICER, store=store)
    _, chunks = evidence.open_file(ledger_books, wrong.id, store)  # the wrong one stays readable
    assert b"wrong invoice" in b"".join(chunks)


def test_a_refused_file_leaves_no_record_and_no_spooled_file(
    ledger_books: Books, store: EvidenceStore, cash_gift: str
) -> None:
    with pytest.raises(UnsupportedFile):
        attach(ledger_books, store, cash_gift, SVG, "logo.png")
    with ledger_books.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(evidence_attachments)) == 0
    assert not any(p.is_file() for p in store.spool_folder().glob("*"))


def test_a_document_for_an_entry_that_does_not_exist_is_refused(
    ledger_books: Books, store: EvidenceStore
) -> None:
    with pytest.raises(NotFound):
        attach(ledger_books, store, "no-such-entry", pdf())


def test_verify_finds_a_file_whose_bytes_were_swapped_in_the_folder(
    ledger_books: Books, cash_gift: str
) -> None:
    store = LocalEvidenceStore(ledger_books.home / "evidence")
    record = attach(ledger_books, store, cash_gift, pdf(b"% original"))
    store.path_of(record.sha256).write_bytes(pdf(b"% forged!"))
    assert evidence.verify_evidence(ledger_books, store) == [
        f"evidence file {record.sha256} does not match its hash or size"
    ]
