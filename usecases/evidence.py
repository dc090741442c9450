"""Evidence: attach documents to entries, supersede them, serve them, verify them; acknowledgments.

Invariants owned here:
- An upload is spooled to disk while it is hashed and judged by its bytes
  (`ledger.evidence.Inspector`); only a file that passed goes into the store, and the store put
  and the chained record (and, with the database store, the bytes) are one unit of work with
  the audit event, whose target names the record's chain hash: the trail, signed into
  checkpoints, anchors the evidence chain.
- Records are never changed or deleted: `supersede` appends a record naming the wrong one and
  why (with a replacement file, or none to withdraw it). A record is superseded at most once.
- Files are served only through `open_file` to the callers the entrance allows (officers and
  auditors): never on public pages or in public exports.
- An acknowledgment ties a disbursement or payout to an `acknowledgment` attachment of that
  same entry, with its date; at most one per entry. The transparency figures count entries and
  money per project or cohort, never names.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import select

from ledger.approvals import state_of
from ledger.entries import EntryKind
from ledger.errors import AlreadyExists, InvalidEntry, NotFound, RequestClosed, RequestExpired
from ledger.evidence import KINDS, SUBJECT_TYPES, Attachment, chain_findings, record_hash
from ledger.evidence import safe_file_name as _safe_name
from ledger.idempotency import remember, remembered
from ledger.storage import evidence_store as records
from ledger.storage.evidence_store import (
    DatabaseEvidenceStore,
    EvidenceStore,
    LocalEvidenceStore,
    Spooled,
    digest,
    spool,
)
from ledger.storage.tables import approval_requests
from ledger.storage.unit_of_work import UnitOfWork
from ledger.text import text_problem
from usecases.books import Books
from usecases.reference import _once as remember_once
from usecases.unit import Actor, AuditFacts, read, write

__all__ = [
    "STORE_ENV",
    "Filing",
    "Upload",
    "acknowledge",
    "acknowledgment_shares",
    "attach",
    "attachment",
    "attachments_of",
    "carry_to_entry",
    "file_documents",
    "open_file",
    "store_for",
    "supersede",
    "verify_evidence",
]

STORE_ENV = "HUIQUAN_EVIDENCE_STORE"
ACKNOWLEDGED_KINDS = (EntryKind.DISBURSEMENT, EntryKind.PAYOUT)
_SHA = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as an entrance received it: a binary stream and the name the client gave."""

    stream: BinaryIO
    file_name: str = ""


def store_for(books: Books, kind: str | None = None) -> EvidenceStore:
    """The books' evidence store: `kind` or `$HUIQUAN_EVIDENCE_STORE` (local | database), else
    the database on PostgreSQL and a folder under `$HUIQUAN_HOME/evidence` on SQLite."""
    kind = (
        kind
        or os.environ.get(STORE_ENV)
        or ("database" if books.engine.dialect.name == "postgresql" else "local")
    )
    if kind == "database":
        return DatabaseEvidenceStore(books.home / "evidence" / "incoming")
    if kind == "local":
        return LocalEvidenceStore(books.home / "evidence")
    raise ValueError(f"{STORE_ENV} must be local or database, not {kind!r}")


def _check(kind: str, note: str, reason: str = "", file_name: str = "") -> None:
    """The kind, and the text fields by the books' one text rule (`ledger.text.text_problem`):
    note and reason of at most 2000 characters (several lines), the file's name of at most 255
    (one line).

    Raises:
        InvalidEntry: naming the field.
    """
    if kind not in KINDS:
        raise InvalidEntry(f"kind must be one of {', '.join(KINDS)}", field="kind")
    for field, value, most, multiline in (
        ("note", note, 2000, True),
        ("reason", reason, 2000, True),
        ("file", file_name, 255, False),
    ):
        if len(value) > most:
            raise InvalidEntry(f"{field} is at most {most} characters", field=field)
        problem = text_problem(value, multiline=multiline)
        if problem is not None:
            raise InvalidEntry(f"{field} {problem}", field=field)


def _subject(uow: UnitOfWork, subject_type: str, subject_id: str) -> None:
    """An entry that exists, or an approval request still pending (not decided, not expired).

    Raises:
        InvalidEntry: another subject type, or a request no longer pending. NotFound.
    """
    if subject_type not in SUBJECT_TYPES:
        raise InvalidEntry(f"subject_type must be one of {SUBJECT_TYPES}", field="subject_type")
    if subject_type == "entry":
        if uow.entry(subject_id) is None:
            raise NotFound(f"no entry {subject_id!r}")
        return
    row = uow.connection.execute(
        select(approval_requests.c.status, approval_requests.c.expires_at).where(
            approval_requests.c.id == subject_id
        )
    ).first()
    if row is None:
        raise NotFound(f"no approval request {subject_id!r}")
    state = state_of(row.status, row.expires_at, uow.now())
    if state == "expired":
        raise RequestExpired(f"request {subject_id} expired at {row.expires_at}")
    if state != "pending":
        raise RequestClosed(
            f"request {subject_id} is {state}: attach documents to a pending request, or to "
            "the entry it posted"
        )


def carry_to_entry(uow: UnitOfWork, request_id: str, entry_id: str, by: Actor) -> list[Attachment]:
    """Link a request's standing attachments to the entry its approval posted, in that unit of
    work: one chained record per document, on the entry, naming the request's record (the file
    is the same, stored once). Superseded and withdrawn records are not carried."""
    found = records.attachments_of(uow.connection, "approval_request", request_id)
    replaced = {r.supersedes for r in found if r.supersedes}
    carried = []
    for old in found:
        if old.id in replaced or not old.sha256:
            continue
        sequence, prev = records.attachment_head(uow.connection)
        note = f"carried from approval request {request_id} (record {old.id})"
        if old.note:
            note = f"{note}: {old.note}"[:2000]
        record = _record(
            sequence + 1,
            prev,
            old,
            ("entry", entry_id),
            old.kind,
            old.file_name,
            note,
            by,
            uow.now(),
        )
        records.add_attachment(uow.connection, record)
        carried.append(record)
    return carried


def _append(
    uow: UnitOfWork,
    store: EvidenceStore,
    spooled: Spooled | None,
    *,
    subject: tuple[str, str],
    kind: str,
    file_name: str,
    note: str,
    by: Actor,
    audit: AuditFacts | None,
    supersedes: str | None = None,
    reason: str = "",
) -> Attachment:
    """Put the file in the store and append its chained record, in `uow`."""
    if spooled is not None:
        store.put(uow.connection, spooled)
    record = _chain(uow, spooled, subject, kind, file_name, note, by, supersedes, reason)
    if audit is not None:
        audit.target = f"evidence:{record.id} record:{record.hash}"
    return record


def _chain(
    uow: UnitOfWork,
    spooled: Spooled | None,
    subject: tuple[str, str],
    kind: str,
    file_name: str,
    note: str,
    by: Actor,
    supersedes: str | None = None,
    reason: str = "",
) -> Attachment:
    """Append the chained record of a file in the store (none: a withdrawal)."""
    sequence, prev = records.attachment_head(uow.connection)
    record = _record(
        sequence + 1,
        prev,
        spooled,
        subject,
        kind,
        file_name,
        note,
        by,
        uow.now(),
        supersedes,
        reason,
    )
    records.add_attachment(uow.connection, record)
    return record


def _record(
    sequence: int,
    prev: str,
    spooled: Spooled | Attachment | None,
    subject: tuple[str, str],
    kind: str,
    file_name: str,
    note: str,
    by: Actor,
    now: str,
    supersedes: str | None = None,
    reason: str = "",
) -> Attachment:
    """Record number `sequence`, chained to `prev`, of the file `spooled` (a new upload, or the
    file of an earlier record)."""
    fields: dict[str, Any] = {
        "sequence": sequence,
        "id": f"EV-{uuid.uuid4().hex[:16]}",
        "subject_type": subject[0],
        "subject_id": subject[1],
        "kind": kind,
        "file_name": _safe_name(file_name, spooled.media_type) if spooled else "",
        "media_type": spooled.media_type if spooled else "",
        "size": spooled.size if spooled else 0,
        "sha256": spooled.sha256 if spooled else "",
        "note": note,
        "supersedes": supersedes,
        "reason": reason,
        "attached_by": by.name,
        "attached_at": now,
    }
    return Attachment(**fields, prev_hash=prev, hash=record_hash(prev, **fields))


def attach(
    books: Books,
    *,
    subject_type: str,
    subject_id: str,
    kind: str,
    upload: Upload,
    note: str = "",
    by: Actor,
    audit: AuditFacts | None = None,
    store: EvidenceStore | None = None,
    key: str | None = None,
) -> Attachment:
    """Attach a document to a subject (an entry): stored once per content, recorded, chained.

    With `key`, a retry with the same document, kind and note answers the first record.

    Raises:
        UnsupportedFile, FileTooLarge: judged by the bytes; NotFound: no such subject;
        InvalidEntry: a kind or note out of bounds. Nothing is recorded.
    """
    _check(kind, note, file_name=upload.file_name)
    store = store or store_for(books)
    spooled = spool(upload.stream, store.spool_folder())
    try:
        body = {
            "subject": [subject_type, subject_id],
            "kind": kind,
            "note": note,
            "sha256": spooled.sha256,
        }

        def work(uow: UnitOfWork) -> Attachment:
            return _once(
                uow,
                books,
                key,
                "evidence",
                body,
                lambda: _attach_in(
                    uow,
                    store,
                    spooled,
                    (subject_type, subject_id),
                    kind,
                    upload.file_name,
                    note,
                    by,
                    audit,
                ),
            )

        return write(books, work, audit=audit, key=key)
    finally:
        spooled.discard()


def _once(
    uow: UnitOfWork,
    books: Books,
    key: str | None,
    operation: str,
    body: dict[str, Any],
    make: Any,
) -> Attachment:
    """`make()` once per idempotency key (`usecases.reference._once`): a retry answers the
    record the first call made."""
    made: list[Attachment] = []

    def create() -> str:
        made.append(make())
        return made[0].id

    found = remember_once(uow, books, key, operation, body, create)
    if made:
        return made[0]
    earlier = records.get_attachment(uow.connection, found)
    if earlier is None:
        raise NotFound("the attachment recorded for this idempotency key is missing")
    return earlier


def _attach_in(
    uow: UnitOfWork,
    store: EvidenceStore,
    spooled: Spooled,
    subject: tuple[str, str],
    kind: str,
    file_name: str,
    note: str,
    by: Actor,
    audit: AuditFacts | None,
) -> Attachment:
    _subject(uow, *subject)
    return _append(
        uow,
        store,
        spooled,
        subject=subject,
        kind=kind,
        file_name=file_name,
        note=note,
        by=by,
        audit=audit,
    )


def supersede(
    books: Books,
    attachment_id: str,
    *,
    reason: str,
    upload: Upload | None = None,
    kind: str | None = None,
    note: str = "",
    by: Actor,
    audit: AuditFacts | None = None,
    store: EvidenceStore | None = None,
    key: str | None = None,
) -> Attachment:
    """Supersede a wrong attachment with a later record saying why (and a new file, or none).

    Raises:
        NotFound: no such attachment. AlreadyExists: it was superseded already.
        InvalidEntry: no reason. UnsupportedFile, FileTooLarge: the new file.
    """
    if not reason.strip():
        raise InvalidEntry("say why the attachment is superseded", field="reason")
    _check(kind or KINDS[0], note, reason, upload.file_name if upload else "")
    store = store or store_for(books)
    spooled = spool(upload.stream, store.spool_folder()) if upload is not None else None

    body = {
        "supersedes": attachment_id,
        "reason": reason,
        "kind": kind,
        "note": note,
        "sha256": spooled.sha256 if spooled else "",
    }

    def work(uow: UnitOfWork) -> Attachment:
        return _once(uow, books, key, "evidence-supersede", body, lambda: make(uow))

    def make(uow: UnitOfWork) -> Attachment:
        old = records.get_attachment(uow.connection, attachment_id)
        if old is None:
            raise NotFound(f"no attachment {attachment_id!r}")
        if records.superseding(uow.connection, attachment_id) is not None:
            raise AlreadyExists(f"attachment {attachment_id} was superseded already")
        the_kind = kind or old.kind
        _check(the_kind, note, reason)
        return _append(
            uow,
            store,
            spooled,
            subject=(old.subject_type, old.subject_id),
            kind=the_kind,
            file_name=upload.file_name if upload else "",
            note=note,
            by=by,
            audit=audit,
            supersedes=attachment_id,
            reason=reason.strip(),
        )

    try:
        return write(books, work, audit=audit, key=key)
    finally:
        if spooled is not None:
            spooled.discard()


@dataclass(frozen=True, slots=True)
class Listed:
    """An attachment with the id of the record that superseded it, if any."""

    record: Attachment
    superseded_by: str | None


def attachments_of(books: Books, subject_type: str, subject_id: str) -> list[Listed]:
    """Every record of a subject in order, each with what superseded it."""

    def work(repo: Any) -> list[Listed]:
        found = records.attachments_of(repo.conn, subject_type, subject_id)
        by_old = {r.supersedes: r.id for r in found if r.supersedes}
        return [Listed(r, by_old.get(r.id)) for r in found]

    return read(books, work)


def attachment(books: Books, attachment_id: str) -> Listed | None:
    """One record with what superseded it, or None for an unknown id."""

    def work(repo: Any) -> Listed | None:
        found = records.get_attachment(repo.conn, attachment_id)
        if found is None:
            return None
        later = records.superseding(repo.conn, attachment_id)
        return Listed(found, later.id if later else None)

    return read(books, work)


def open_file(
    books: Books, ref: str, store: EvidenceStore | None = None
) -> tuple[Attachment, Iterator[bytes]]:
    """An attachment's record (by id, or the first with that SHA-256) and its bytes, streamed.

    Raises:
        NotFound: no such attachment or file (a withdrawal has none).
    """
    store = store or store_for(books)

    def work(repo: Any) -> Attachment | None:
        if _SHA.match(ref):
            return records.attachment_with_sha(repo.conn, ref)
        return records.get_attachment(repo.conn, ref)

    record = read(books, work)
    if record is None or not record.sha256:
        raise NotFound(f"no evidence {ref!r}")
    return record, store.chunks(books.engine, record.sha256)


def verify_evidence(books: Books, store: EvidenceStore | None = None) -> list[str]:
    """Every finding about the evidence: the chain of records, and each file against its hash."""
    store = store or store_for(books)

    def work(repo: Any) -> tuple[list[str], dict[str, int]]:
        all_records = list(records.iter_attachments(repo.conn))
        files = {r.sha256: r.size for r in all_records if r.sha256}
        return chain_findings(all_records), files

    findings, files = read(books, work)
    for sha, size in sorted(files.items()):
        got = digest(store, books.engine, sha)
        if got is None:
            findings.append(f"evidence file {sha} is missing from the {store.name} store")
        elif got != (sha, size):
            findings.append(f"evidence file {sha} does not match its hash or size")
    return findings


def acknowledge(
    books: Books,
    entry_id: str,
    *,
    acknowledged_on: dt.date,
    by: Actor,
    attachment_id: str | None = None,
    upload: Upload | None = None,
    note: str = "",
    audit: AuditFacts | None = None,
    store: EvidenceStore | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """Mark a disbursement or payout acknowledged by its recipient, with the signed document.

    With `key`, a retry answers the acknowledgment the first call recorded.

    Either `attachment_id` (an `acknowledgment` attachment of this entry) or `upload` (attached
    now, in the same unit of work).

    Raises:
        NotFound: no such entry. AlreadyExists: acknowledged already. InvalidEntry: not a
        disbursement or payout, reversed, a date before the payment or ahead, no document.
    """
    if (attachment_id is None) == (upload is None):
        raise InvalidEntry("give the acknowledgment: a file or an attachment_id", field="file")
    _check("acknowledgment", note, file_name=upload.file_name if upload else "")
    store = store or store_for(books)
    spooled = spool(upload.stream, store.spool_folder()) if upload is not None else None

    body = {
        "entry": entry_id,
        "on": acknowledged_on.isoformat(),
        "attachment_id": attachment_id,
        "sha256": spooled.sha256 if spooled else "",
        "note": note,
    }

    def work(uow: UnitOfWork) -> dict[str, Any]:
        secret = books.pseudonym_secret()
        if remembered(uow, key, "acknowledgment", body, secret) is not None:
            earlier = records.acknowledgment_of(uow.connection, entry_id)
            if earlier is None:
                raise NotFound("the acknowledgment recorded for this idempotency key is missing")
            return earlier
        row = make(uow)
        remember(uow, key, "acknowledgment", body, entry_id, secret)
        return row

    def make(uow: UnitOfWork) -> dict[str, Any]:
        _acknowledgeable(uow, entry_id, acknowledged_on)
        if spooled is not None:
            doc = _append(
                uow,
                store,
                spooled,
                subject=("entry", entry_id),
                kind="acknowledgment",
                file_name=upload.file_name if upload else "",
                note=note,
                by=by,
                audit=audit,
            )
        else:
            doc = _acknowledgment_doc(uow, entry_id, str(attachment_id))
        return _record_acknowledgment(uow, entry_id, doc.id, acknowledged_on, by)

    try:
        return write(books, work, audit=audit, key=key)
    finally:
        if spooled is not None:
            spooled.discard()


def _acknowledgeable(uow: UnitOfWork, entry_id: str, acknowledged_on: dt.date) -> None:
    """Refuse an acknowledgment of anything but a standing payment, dated from it to today."""
    facts = records.entry_facts(uow.connection, [entry_id]).get(entry_id)
    _acknowledgment_rule(entry_id, facts, acknowledged_on, uow.today())


def _acknowledgment_rule(
    entry_id: str,
    facts: tuple[str, str, bool, bool] | None,
    acknowledged_on: dt.date,
    today: dt.date,
) -> None:
    """The one rule of an acknowledgment, on the entry's (kind, date, reversed, acknowledged).

    Raises:
        NotFound, InvalidEntry, AlreadyExists.
    """
    if facts is None:
        raise NotFound(f"no entry {entry_id!r}")
    kind, occurred_on, was_reversed, acknowledged = facts
    if kind not in {k.value for k in ACKNOWLEDGED_KINDS} or was_reversed:
        raise InvalidEntry("only a disbursement or payout not reversed is acknowledged")
    if acknowledged_on.isoformat() < occurred_on or acknowledged_on > today + dt.timedelta(1):
        raise InvalidEntry("acknowledged_on is between the payment and today", field="date")
    if acknowledged:
        raise AlreadyExists(f"entry {entry_id} is acknowledged already")


def _acknowledgment_row(
    entry_id: str, attachment_id: str, acknowledged_on: dt.date, by: Actor, now: str
) -> dict[str, Any]:
    return {
        "entry_id": entry_id,
        "attachment_id": attachment_id,
        "acknowledged_on": acknowledged_on.isoformat(),
        "recorded_by": by.name,
        "recorded_at": now,
    }


def _record_acknowledgment(
    uow: UnitOfWork, entry_id: str, attachment_id: str, acknowledged_on: dt.date, by: Actor
) -> dict[str, Any]:
    row = _acknowledgment_row(entry_id, attachment_id, acknowledged_on, by, uow.now())
    records.add_acknowledgment(uow.connection, row)
    return row


@dataclass(frozen=True, slots=True)
class Filing:
    """One document filed on one entry by `file_documents`: `document` names one of the
    batch's files; with `acknowledged_on` (kind ``acknowledgment``) the payment is marked
    acknowledged by it."""

    entry_id: str
    kind: str
    document: str
    note: str = ""
    acknowledged_on: dt.date | None = None


def file_documents(
    books: Books,
    documents: dict[str, Upload],
    filings: list[Filing],
    *,
    by: Actor,
    audit: AuditFacts | None = None,
    store: EvidenceStore | None = None,
) -> list[Attachment]:
    """File many documents on many entries in one unit of work (a batch of bank slips, a signed
    list covering a term's payouts): each file is spooled, judged and stored once however many
    entries it is filed on; every filing is its own chained record, with the same rules as
    `attach` and `acknowledge`. All of it is recorded, or nothing.

    Raises:
        UnsupportedFile, FileTooLarge, NotFound, AlreadyExists, InvalidEntry: nothing is
        recorded. KeyError: a filing names a document not in `documents`.
    """
    for filing in filings:
        _check(filing.kind, filing.note, file_name=documents[filing.document].file_name)
        if filing.acknowledged_on is not None and filing.kind != "acknowledgment":
            raise InvalidEntry("an acknowledgment is filed as kind acknowledgment", field="kind")
    store = store or store_for(books)
    spooled: dict[str, Spooled] = {}
    try:
        for name in sorted({f.document for f in filings}):
            spooled[name] = spool(documents[name].stream, store.spool_folder(), sync=False)

        def work(uow: UnitOfWork) -> list[Attachment]:
            for one in spooled.values():
                store.put(uow.connection, one, sync=False)
            os.sync()  # once for the batch: every file is on disk before the records commit
            facts = records.entry_facts(uow.connection, sorted({f.entry_id for f in filings}))
            sequence, prev = records.attachment_head(uow.connection)
            out, acknowledged, now = [], [], uow.now()
            for filing in filings:
                if filing.entry_id not in facts:
                    raise NotFound(f"no entry {filing.entry_id!r}")
                sequence += 1
                record = _record(
                    sequence,
                    prev,
                    spooled[filing.document],
                    ("entry", filing.entry_id),
                    filing.kind,
                    documents[filing.document].file_name,
                    filing.note,
                    by,
                    now,
                )
                prev = record.hash
                if filing.acknowledged_on is not None:
                    the = facts[filing.entry_id]
                    _acknowledgment_rule(filing.entry_id, the, filing.acknowledged_on, uow.today())
                    facts[filing.entry_id] = (*the[:3], True)
                    acknowledged.append((filing, record.id))
                out.append(record)
            records.add_attachments(uow.connection, out)
            records.add_acknowledgments(
                uow.connection,
                [
                    _acknowledgment_row(f.entry_id, doc, f.acknowledged_on, by, now)
                    for f, doc in acknowledged
                    if f.acknowledged_on is not None
                ],
            )
            if audit is not None and out:
                audit.target = f"evidence:{len(out)} records:{out[0].hash}..{out[-1].hash}"
            return out

        return write(books, work, audit=audit)
    finally:
        for one in spooled.values():
            one.discard()


def _acknowledgment_doc(uow: UnitOfWork, entry_id: str, attachment_id: str) -> Attachment:
    doc = records.get_attachment(uow.connection, attachment_id)
    if doc is None or doc.subject_id != entry_id or doc.kind != "acknowledgment":
        raise InvalidEntry(
            "attachment_id must be an acknowledgment attached to this entry",
            field="attachment_id",
        )
    if records.superseding(uow.connection, attachment_id) is not None or not doc.sha256:
        raise InvalidEntry("that acknowledgment was superseded", field="attachment_id")
    return doc


def acknowledgment_status(books: Books, entry_id: str) -> dict[str, Any] | None:
    """The acknowledgment of an entry (date, attachment id), or None."""
    return read(books, lambda repo: records.acknowledgment_of(repo.conn, entry_id))


def acknowledgment_shares(books: Books) -> dict[str, dict[str, dict[str, int]]]:
    """Per project (disbursements) and per cohort (payouts): paid and acknowledged counts and
    CNY minor units. Counts and money only, never names or pseudonyms."""

    def work(repo: Any) -> dict[str, dict[str, dict[str, int]]]:
        done = records.acknowledged_entries(repo.conn)
        out: dict[str, dict[str, dict[str, int]]] = {"projects": {}, "cohorts": {}}
        figures: dict[tuple[str, str], dict[str, int]] = defaultdict(
            lambda: {"paid": 0, "acknowledged": 0, "paid_minor": 0, "acknowledged_minor": 0}
        )
        for entry_id, kind, _fund, group, minor, _on in records.paid_out(repo.conn):
            side = "projects" if kind == "disbursement" else "cohorts"
            f = figures[(side, group)]
            f["paid"] += 1
            f["paid_minor"] += minor
            if entry_id in done:
                f["acknowledged"] += 1
                f["acknowledged_minor"] += minor
        for (side, group), f in sorted(figures.items()):
            out[side][group] = f
        return out

    return read(books, work)
