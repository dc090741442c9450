"""Where evidence files live: content-addressed by SHA-256, streamed, never whole in memory.

Invariants owned here:
- A file is stored once per SHA-256 however often it is attached; what is stored under a hash
  is exactly the bytes of that hash (the spool hashes while it writes; `digest` re-reads).
- Files move in chunks of `CHUNK` bytes: an upload is spooled to a temporary file on disk while
  it is hashed and inspected (`ledger.evidence.Inspector`), then put in the store; reading
  yields chunks. No step holds a whole file.
- `LocalEvidenceStore` (the embedded default): `<root>/<ab>/<cd>/<sha256>`, put by writing a
  temporary file in the same file system, fsync, rename, fsync of the folder, so a file is
  whole or absent. A rolled-back attachment may leave its file behind: harmless, since files
  are content-addressed and only records make them evidence.
- `DatabaseEvidenceStore` (PostgreSQL's default; it works on SQLite too): chunks in
  `evidence_chunks`, then one `evidence_blobs` row, in the attaching transaction: both commit
  with the record or neither does. Both tables are append-only.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy import Connection, Engine, func, insert, select

from ledger.chain import GENESIS
from ledger.evidence import Attachment, Inspector
from ledger.storage.tables import (
    acknowledgments,
    bank_matches,
    bank_statement_lines,
    bank_statements,
    beneficiaries,
    evidence_attachments,
    evidence_blobs,
    evidence_chunks,
    in_kind_handovers,
    journal_entries,
    postings,
)
from ledger.storage.unit_of_work import utc_now

__all__ = [
    "CHUNK",
    "DatabaseEvidenceStore",
    "EvidenceStore",
    "LocalEvidenceStore",
    "Spooled",
    "digest",
    "spool",
]

CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Spooled:
    """An upload written to a temporary file and judged: where, its hash, size and type."""

    path: Path
    sha256: str
    size: int
    media_type: str

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def spool(
    stream: BinaryIO, folder: Path, inspector: Inspector | None = None, *, sync: bool = True
) -> Spooled:
    """Copy `stream` to a temporary file in `folder`, hashing and inspecting every chunk.

    `sync=False` leaves the fsync to the caller (a batch syncs the file system once, `os.sync`).

    Raises:
        FileTooLarge, UnsupportedFile: the temporary file is removed first.
    """
    inspector = inspector or Inspector()
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=".incoming-", dir=folder)
    path, sha = Path(name), hashlib.sha256()
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(CHUNK):
                inspector.feed(chunk)
                sha.update(chunk)
                out.write(chunk)
            out.flush()
            if sync:
                os.fsync(out.fileno())
        media_type = inspector.finish()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(path, sha.hexdigest(), inspector.size, media_type)


class EvidenceStore(Protocol):
    """The storage interface: where uploads spool, put a spooled file, read one back."""

    name: str

    def spool_folder(self) -> Path: ...

    def has(self, conn: Connection, sha256: str) -> bool: ...

    def put(self, conn: Connection, spooled: Spooled, *, sync: bool = True) -> bool: ...

    def chunks(self, engine: Engine, sha256: str) -> Iterator[bytes]: ...


class LocalEvidenceStore:
    """Files in a folder, `<root>/<ab>/<cd>/<sha256>`."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def spool_folder(self) -> Path:
        return self.root / "incoming"

    def has(self, conn: Connection, sha256: str) -> bool:
        return self.path_of(sha256).is_file()

    def put(self, conn: Connection, spooled: Spooled, *, sync: bool = True) -> bool:
        """Move the spooled file into place (fsync, rename, fsync the folder); False if present.

        `sync=False`: no fsync of the folder (the caller syncs the file system before commit)."""
        target = self.path_of(spooled.sha256)
        if target.is_file():
            spooled.discard()
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(spooled.path, target)
        if not sync:
            return True
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
        return True

    def chunks(self, engine: Engine, sha256: str) -> Iterator[bytes]:
        with self.path_of(sha256).open("rb") as source:
            while chunk := source.read(CHUNK):
                yield chunk


class DatabaseEvidenceStore:
    """Files in the database itself, in chunks of at most `CHUNK` bytes."""

    name = "database"

    def __init__(self, scratch: Path | None = None) -> None:
        self.scratch = scratch or Path(tempfile.gettempdir()) / "huiquan-evidence"

    def spool_folder(self) -> Path:
        return self.scratch

    def has(self, conn: Connection, sha256: str) -> bool:
        found = conn.execute(
            select(evidence_blobs.c.sha256).where(evidence_blobs.c.sha256 == sha256)
        )
        return found.first() is not None

    def put(self, conn: Connection, spooled: Spooled, *, sync: bool = True) -> bool:
        """Insert the chunks, then the blob row, in the caller's transaction; False if present."""
        if self.has(conn, spooled.sha256):
            return False
        count = 0
        with spooled.path.open("rb") as source:
            while chunk := source.read(CHUNK):
                conn.execute(
                    insert(evidence_chunks).values(sha256=spooled.sha256, n=count, data=chunk)
                )
                count += 1
        conn.execute(
            insert(evidence_blobs).values(
                sha256=spooled.sha256,
                size=spooled.size,
                chunks=count,
                stored_at=_now(),
            )
        )
        return True

    def chunks(self, engine: Engine, sha256: str) -> Iterator[bytes]:
        with engine.connect() as conn:
            count = conn.scalar(
                select(evidence_blobs.c.chunks).where(evidence_blobs.c.sha256 == sha256)
            )
            for n in range(count or 0):
                data = conn.scalar(
                    select(evidence_chunks.c.data).where(
                        evidence_chunks.c.sha256 == sha256, evidence_chunks.c.n == n
                    )
                )
                if data is None:
                    raise FileNotFoundError(f"chunk {n} of {sha256} is missing")
                yield bytes(data)


def digest(store: EvidenceStore, engine: Engine, sha256: str) -> tuple[str, int] | None:
    """The SHA-256 and size of what `store` holds under `sha256` (None if it holds nothing)."""
    sha, size = hashlib.sha256(), 0
    try:
        for chunk in store.chunks(engine, sha256):
            sha.update(chunk)
            size += len(chunk)
    except FileNotFoundError:
        return None
    if size == 0:
        return None
    return sha.hexdigest(), size


def _now() -> str:
    return utc_now().isoformat(timespec="microseconds")


# -- the records: attachments, handovers, acknowledgments, statements, matches ----------------
def _attachment(row: Any) -> Attachment:
    return Attachment(**{k: row._mapping[k] for k in Attachment.__slots__})


def attachment_head(conn: Connection) -> tuple[int, str]:
    """The last record's sequence and hash (0 and GENESIS when there is none).

    Race-free only under the writer's lock (a writing `UnitOfWork`'s connection).
    """
    row = conn.execute(
        select(evidence_attachments.c.sequence, evidence_attachments.c.hash)
        .order_by(evidence_attachments.c.sequence.desc())
        .limit(1)
    ).first()
    return (0, GENESIS) if row is None else (int(row.sequence), str(row.hash))


def add_attachment(conn: Connection, record: Attachment) -> None:
    conn.execute(insert(evidence_attachments).values(**record.to_dict()))


def add_attachments(conn: Connection, batch: list[Attachment]) -> None:
    """Insert records already chained in order (one statement for the batch)."""
    if batch:
        conn.execute(insert(evidence_attachments), [r.to_dict() for r in batch])


def entry_facts(conn: Connection, entry_ids: list[str]) -> dict[str, tuple[str, str, bool, bool]]:
    """(kind, occurred_on, reversed, acknowledged) of each entry that exists, read in bulk."""
    e = journal_entries.c
    out: dict[str, tuple[str, str, bool, bool]] = {}
    for start in range(0, len(entry_ids), 500):
        some = entry_ids[start : start + 500]
        reversed_ids = set(conn.scalars(select(e.reverses).where(e.reverses.in_(some))))
        done = set(
            conn.scalars(
                select(acknowledgments.c.entry_id).where(acknowledgments.c.entry_id.in_(some))
            )
        )
        for row in conn.execute(select(e.id, e.kind, e.occurred_on).where(e.id.in_(some))):
            out[row.id] = (row.kind, row.occurred_on, row.id in reversed_ids, row.id in done)
    return out


def get_attachment(conn: Connection, attachment_id: str) -> Attachment | None:
    row = conn.execute(
        select(evidence_attachments).where(evidence_attachments.c.id == attachment_id)
    ).first()
    return None if row is None else _attachment(row)


def attachments_of(conn: Connection, subject_type: str, subject_id: str) -> list[Attachment]:
    rows = conn.execute(
        select(evidence_attachments)
        .where(
            evidence_attachments.c.subject_type == subject_type,
            evidence_attachments.c.subject_id == subject_id,
        )
        .order_by(evidence_attachments.c.sequence)
    )
    return [_attachment(r) for r in rows]


def attachment_with_sha(conn: Connection, sha256: str) -> Attachment | None:
    row = conn.execute(
        select(evidence_attachments)
        .where(evidence_attachments.c.sha256 == sha256)
        .order_by(evidence_attachments.c.sequence)
        .limit(1)
    ).first()
    return None if row is None else _attachment(row)


def superseding(conn: Connection, attachment_id: str) -> Attachment | None:
    """The record that supersedes `attachment_id`, if any."""
    row = conn.execute(
        select(evidence_attachments).where(evidence_attachments.c.supersedes == attachment_id)
    ).first()
    return None if row is None else _attachment(row)


def iter_attachments(conn: Connection, batch: int = 5000) -> Iterator[Attachment]:
    """Every record in sequence order, read in batches."""
    after = 0
    while True:
        rows = conn.execute(
            select(evidence_attachments)
            .where(evidence_attachments.c.sequence > after)
            .order_by(evidence_attachments.c.sequence)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield _attachment(row)
        after = int(rows[-1].sequence)


def handovers_of(conn: Connection, gift_entry_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(in_kind_handovers)
        .where(in_kind_handovers.c.gift_entry_id == gift_entry_id)
        .order_by(in_kind_handovers.c.created_at, in_kind_handovers.c.entry_id)
    )
    return [dict(r._mapping) for r in rows]


def add_handover(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(in_kind_handovers).values(**row))


def acknowledgment_of(conn: Connection, entry_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(acknowledgments).where(acknowledgments.c.entry_id == entry_id)
    ).first()
    return None if row is None else dict(row._mapping)


def add_acknowledgment(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(insert(acknowledgments).values(**row))


def add_acknowledgments(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(acknowledgments), rows)


def evidence_status(conn: Connection, entry_ids: list[str]) -> dict[str, tuple[str | None, int]]:
    """Per entry: the day it was acknowledged (or None) and how many documents stand on it
    (records with a file, not superseded), read in bulk."""
    a, k = evidence_attachments.c, acknowledgments.c
    out: dict[str, tuple[str | None, int]] = {i: (None, 0) for i in entry_ids}
    for start in range(0, len(entry_ids), 500):
        some = entry_ids[start : start + 500]
        superseded = select(a.supersedes).where(a.supersedes.is_not(None))
        counts = conn.execute(
            select(a.subject_id, func.count())
            .where(
                a.subject_type == "entry",
                a.subject_id.in_(some),
                a.sha256 != "",
                a.id.not_in(superseded),
            )
            .group_by(a.subject_id)
        )
        for entry_id, count in counts:
            out[entry_id] = (None, int(count))
        for entry_id, on in conn.execute(
            select(k.entry_id, k.acknowledged_on).where(k.entry_id.in_(some))
        ):
            out[entry_id] = (str(on), out[entry_id][1])
    return out


def acknowledged_entries(conn: Connection) -> set[str]:
    return {str(r[0]) for r in conn.execute(select(acknowledgments.c.entry_id))}


def statement_with_file(conn: Connection, fund: str, account: str, sha256: str) -> str | None:
    return conn.scalar(
        select(bank_statements.c.id).where(
            bank_statements.c.fund == fund,
            bank_statements.c.account == account,
            bank_statements.c.sha256 == sha256,
        )
    )


def add_statement(conn: Connection, row: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    conn.execute(insert(bank_statements).values(**row))
    if lines:
        conn.execute(insert(bank_statement_lines), lines)


def get_statement(conn: Connection, statement_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(bank_statements).where(bank_statements.c.id == statement_id)).first()
    return None if row is None else dict(row._mapping)


def list_statements(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(bank_statements).order_by(bank_statements.c.imported_at))
    return [dict(r._mapping) for r in rows]


def statement_lines(conn: Connection, statement_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(bank_statement_lines)
        .where(bank_statement_lines.c.statement_id == statement_id)
        .order_by(bank_statement_lines.c.line)
    )
    return [dict(r._mapping) for r in rows]


def statement_matches(conn: Connection, statement_id: str) -> dict[int, dict[str, Any]]:
    rows = conn.execute(select(bank_matches).where(bank_matches.c.statement_id == statement_id))
    return {int(r.line): dict(r._mapping) for r in rows}


def add_matches(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(bank_matches), rows)


def matched_postings(conn: Connection, fund: str, account: str) -> set[tuple[int, int]]:
    """Cash postings of `fund`'s `account` already matched to a bank line (any statement)."""
    rows = conn.execute(
        select(bank_matches.c.posting_sequence, bank_matches.c.posting_line)
        .join(bank_statements, bank_statements.c.id == bank_matches.c.statement_id)
        .where(bank_statements.c.fund == fund, bank_statements.c.account == account)
    )
    return {(int(r[0]), int(r[1])) for r in rows}


def cash_postings(
    conn: Connection, fund: str, account: str, currency: str, until: str, since: str = ""
) -> list[tuple[int, int, str, str, int, str]]:
    """(sequence, line, entry id, date, amount, memo) of the fund's postings to `account`."""
    rows = conn.execute(
        select(
            postings.c.sequence,
            postings.c.line,
            postings.c.entry_id,
            postings.c.occurred_on,
            postings.c.amount,
            journal_entries.c.memo,
        )
        .join(journal_entries, journal_entries.c.sequence == postings.c.sequence)
        .where(
            postings.c.fund == fund,
            postings.c.account == account,
            postings.c.currency == currency,
            postings.c.occurred_on <= until,
            postings.c.occurred_on >= since,
        )
        .order_by(postings.c.sequence, postings.c.line)
    )
    return [(int(r[0]), int(r[1]), str(r[2]), str(r[3]), int(r[4]), str(r[5])) for r in rows]


def paid_out(conn: Connection) -> list[tuple[str, str, str, str, int, str]]:
    """(entry id, kind, fund, group, CNY minor, date) of every disbursement and payout not
    reversed. The group is the disbursement's project, or the payout's beneficiary cohort
    (never a person)."""
    reversed_ids = select(journal_entries.c.reverses).where(journal_entries.c.reverses.is_not(None))
    rows = conn.execute(
        select(
            journal_entries.c.id,
            journal_entries.c.kind,
            postings.c.fund,
            postings.c.project,
            beneficiaries.c.cohort,
            postings.c.functional,
            journal_entries.c.occurred_on,
        )
        .join(postings, postings.c.sequence == journal_entries.c.sequence)
        .outerjoin(beneficiaries, beneficiaries.c.id == postings.c.party)
        .where(
            journal_entries.c.kind.in_(("disbursement", "scholarship_payout")),
            postings.c.account.in_(("5101", "2209")),
            postings.c.amount > 0,
            journal_entries.c.id.not_in(reversed_ids),
        )
    )
    return [
        (
            str(r[0]),
            str(r[1]),
            str(r[2]),
            str(r[3] if r[1] == "disbursement" else r[4] or ""),
            int(r[5]),
            str(r[6]),
        )
        for r in rows
    ]


def account_balance(conn: Connection, fund: str, account: str, currency: str, until: str) -> int:
    """The fund's balance of `account` in `currency` at the end of day `until`."""
    total = conn.scalar(
        select(func.coalesce(func.sum(postings.c.amount), 0)).where(
            postings.c.fund == fund,
            postings.c.account == account,
            postings.c.currency == currency,
            postings.c.occurred_on <= until,
        )
    )
    return int(total or 0)
