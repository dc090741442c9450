"""Erasure of personal contact details kept outside the books (个人信息删除; decision 0017).

Invariants owned here:
- Three kinds: a need's contact (`need_contact`), a sign-up's name and contact
  (`signup_contact`), both in `community_contacts`, and a donor's email addresses
  (`donor_email`: every address ever recorded in `donor_contacts`). Erasing deletes the rows;
  the database lets a row go only once an `erasures` row names its owner, and that row is
  written first, in the same transaction.
- A donor's erasure also reaches the outbox: the recipient of each of their email messages is
  blanked, the address is taken out of the attempts' details and the queue's last error
  (`[erased]` in its place), and what was still to be sent is dead-lettered with an attempt of
  its own saying why. No receipt email goes to an erased address: none is queued once the
  rows are gone (`usecases.delivery.receipt_issued` finds no address), and the worker
  dead-letters a message without a recipient.
- The reason is one of `REASONS` (a code, never free text): the audit trail is hash-chained and
  can never be erased, so nothing a person typed goes into it. The `erasures` row and the
  audit event say what was erased (the kind and the owner's id), by whom, why and how many
  rows and messages; never the erased content.
- Idempotent: with nothing left to erase, the answer is the latest erasure (or an empty one if
  there never was anything) and nothing is written, not even an audit event; a replay of
  `key` answers the erasure the first call answered.
- Declining a need erases its contact in the decline's own unit of work (`erase_in`, reason
  `need_declined`, with an audit event of its own).
- Who may erase (`CONTACT_ERASERS`, `EMAIL_ERASERS`) is decided here for every door: those who
  record and read the contact.
- On SQLite the rows' bytes are zeroed as they are deleted (`secure_delete`) and the log is
  checkpointed after an erasure (`ledger.storage.db.checkpoint_wal`, without waiting), so the
  erased bytes are in neither the database file nor its log once that succeeds.
- None of these tables feeds an entry, the journal's hash chain or Merkle tree, the audit
  trail's chain or the evidence chain, so erasing leaves `huiquan verify` as it was.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Table, delete, func, insert, select, update

from ledger.errors import InvalidEntry, NotFound
from ledger.idempotency import remember, remembered
from ledger.storage import tables as t
from ledger.storage.db import checkpoint_wal
from ledger.storage.repository import SqlRepository
from ledger.storage.unit_of_work import UnitOfWork
from usecases.books import Books
from usecases.unit import Actor, AuditFacts, read, record_audit_event, write

__all__ = [
    "CONTACT_ERASERS",
    "EMAIL_ERASERS",
    "ERASED",
    "KINDS",
    "NEED_DECLINED",
    "REASONS",
    "Erasure",
    "addresses_of",
    "erase",
    "erase_donor_email",
    "erase_in",
    "erase_need_contact",
    "erase_signup_contact",
    "erasure_of",
    "erasures_of",
]

NEED_CONTACT, SIGNUP_CONTACT, DONOR_EMAIL = "need_contact", "signup_contact", "donor_email"
KINDS = (NEED_CONTACT, SIGNUP_CONTACT, DONOR_EMAIL)
#: Why personal information is deleted (PIPL art. 47): the person asked, withdrew consent,
#: the purpose was achieved or is no longer needed, the retention period ran out.
REASONS = ("requested", "consent_withdrawn", "purpose_fulfilled", "retention_expired")
#: The reason of the erasure that declining a need makes by itself.
NEED_DECLINED = "need_declined"
#: The roles that may erase a need's or a sign-up's contact (the API's community staff), and a
#: donor's email addresses (those who record them).
CONTACT_ERASERS = ("admin", "officer", "moderator")
EMAIL_ERASERS = ("admin", "officer")
#: What stands in an attempt's detail where an erased address was.
ERASED = t.ERASED_MARK
_NOTHING = "-"  # the idempotency record of a call that found nothing ever held


@dataclass(frozen=True, slots=True)
class Erasure:
    """An erasure of `kind` for `subject` (a need's, sign-up's or donor's id); `id` None when
    nothing was ever held to erase."""

    kind: str
    subject: str
    id: str | None = None
    reason: str | None = None
    at: str | None = None
    by: str | None = None
    rows: int = 0
    messages: int = 0


def erase_need_contact(
    books: Books,
    need_id: str,
    *,
    reason: str,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Erasure:
    """Erase the contact a need's poster left, for good. Raises: see `erase`."""
    return erase(books, NEED_CONTACT, need_id, reason=reason, by=by, key=key, audit=audit)


def erase_signup_contact(
    books: Books,
    signup_id: str,
    *,
    reason: str,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Erasure:
    """Erase a sign-up's name and contact, for good. Raises: see `erase`."""
    return erase(books, SIGNUP_CONTACT, signup_id, reason=reason, by=by, key=key, audit=audit)


def erase_donor_email(
    books: Books,
    donor_id: str,
    *,
    reason: str,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Erasure:
    """Erase every email address the donor ever gave, and stop what was still to be sent
    there. Raises: see `erase`."""
    return erase(books, DONOR_EMAIL, donor_id, reason=reason, by=by, key=key, audit=audit)


def erase(
    books: Books,
    kind: str,
    subject: str,
    *,
    reason: str,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Erasure:
    """Erase the personal data of `kind` held for `subject`, recording what was erased (never
    the content) and its audit event; with nothing left to erase, answer the latest erasure
    and write nothing.

    Raises:
        InvalidEntry: an unknown kind, or a reason not in `REASONS` (field `reason`).
        NotFound: no such need, sign-up or donor.
        IdempotencyConflict: `key` was used with another request.
    """
    if kind not in KINDS:
        raise InvalidEntry(f"kind must be one of {', '.join(KINDS)}", field="kind")
    if reason not in REASONS:
        raise InvalidEntry(f"reason must be one of {', '.join(REASONS)}", field="reason")
    body = {"kind": kind, "subject": subject, "reason": reason}

    def work(uow: UnitOfWork) -> Erasure:
        conn = uow.connection
        earlier = remembered(uow, key, "erasures", body, b"")
        if earlier is not None:
            return _by_id(conn, earlier) or Erasure(kind, subject)
        _known(conn, kind, subject)
        made = erase_in(uow, kind, subject, reason=reason, by=by, audit=audit)
        if made is not None:
            fresh.append(made)
        answer = made or _latest(conn, kind, [subject]).get(subject) or Erasure(kind, subject)
        remember(uow, key, "erasures", body, answer.id or _NOTHING, b"")
        return answer

    fresh: list[Erasure] = []
    answer = write(books, work, key=key)
    if fresh:
        checkpoint_wal(books.engine)  # SQLite: the erased rows' old pages leave the log now
    return answer


def erase_in(
    uow: UnitOfWork,
    kind: str,
    subject: str,
    *,
    reason: str,
    by: Actor,
    audit: AuditFacts | None = None,
) -> Erasure | None:
    """Erase in the caller's unit of work (the decline of a need calls it); None when nothing
    is left to erase. Records the audit event (`audit`, or facts made from `by`)."""
    uow.flush()  # rows other units of this transaction queued (an email message) are seen
    conn = uow.connection
    owned = _owned(kind)
    column = owned.c.owner_id if kind != DONOR_EMAIL else owned.c.donor_id
    rows = int(conn.scalar(select(func.count()).where(column == subject)) or 0)
    addresses = _addresses(conn, subject) if kind == DONOR_EMAIL else []
    messages = _messages(conn, subject, addresses) if addresses else []
    if rows == 0 and not messages:
        return None
    made = Erasure(
        kind,
        subject,
        f"ER-{uuid.uuid4().hex[:16]}",
        reason,
        uow.now(),
        by.name,
        rows,
        len(messages),
    )
    conn.execute(insert(t.erasures).values(**_fields(made)))  # first: the guards ask for it
    conn.execute(delete(owned).where(column == subject))
    if messages:
        _scrub_outbox(conn, messages, addresses, by=by.name, now=uow.now())
    facts = audit or AuditFacts(actor=by.name, role=by.role, action=f"{kind}.erase")
    facts.target = facts.target or subject
    facts.detail = {
        "erasure": made.id,
        "kind": kind,
        "subject": subject,
        "reason": reason,
        "rows": rows,
        "messages": len(messages),
    }
    record_audit_event(uow, facts)
    return made


def erasure_of(books: Books, kind: str, subject: str) -> Erasure | None:
    """The latest erasure of `kind` for `subject`, or None."""
    return erasures_of(books, kind, [subject]).get(subject)


def erasures_of(books: Books, kind: str, subjects: Sequence[str]) -> dict[str, Erasure]:
    """The latest erasure of `kind` for each of `subjects` that has one."""

    def work(repo: SqlRepository) -> dict[str, Erasure]:
        return _latest(repo.conn, kind, subjects)

    return read(books, work) if subjects else {}


def addresses_of(books: Books, donor_id: str) -> list[str]:
    """Every email address the donor gave that is still held (what erasing them deletes)."""
    return read(books, lambda repo: _addresses(repo.conn, donor_id))


# -- what is held, and where -------------------------------------------------------------------


def _owned(kind: str) -> Table:
    return t.donor_contacts if kind == DONOR_EMAIL else t.community_contacts


def _known(conn: Connection, kind: str, subject: str) -> None:
    table, name = {
        NEED_CONTACT: (t.needs, "need"),
        SIGNUP_CONTACT: (t.service_signups, "signup"),
        DONOR_EMAIL: (t.donors, "donor"),
    }[kind]
    if conn.scalar(select(table.c.id).where(table.c.id == subject)) is None:
        raise NotFound(f"there is no {name} {subject!r}", field=name)


def _addresses(conn: Connection, donor_id: str) -> list[str]:
    c = t.donor_contacts.c
    found = conn.scalars(select(c.email).where(c.donor_id == donor_id, c.email != "").distinct())
    return sorted(set(found))


def _messages(conn: Connection, donor_id: str, addresses: Sequence[str]) -> list[str]:
    """The donor's email messages still naming one of their addresses (a message names its
    donor in its payload; another donor sharing an address keeps theirs)."""
    m = t.outbox_messages.c
    candidates = conn.execute(
        select(m.id, m.payload).where(m.channel == "email", m.recipient.in_(addresses))
    )
    marker = f'"donor_id":"{donor_id}"'  # the outbox's JSON: sorted keys, no spaces
    return [row.id for row in candidates if marker in row.payload]


def _scrub(text: str, addresses: Iterable[str]) -> str:
    for address in addresses:
        text = re.sub(re.escape(address), ERASED, text, flags=re.IGNORECASE)
    return text


def _scrub_outbox(
    conn: Connection, messages: Sequence[str], addresses: Sequence[str], *, by: str, now: str
) -> None:
    """Blank the messages' recipient, take the addresses out of their attempts and queue rows,
    and dead-letter those not yet final (an attempt row says why)."""
    m, a, q = t.outbox_messages.c, t.outbox_attempts.c, t.delivery_queue.c
    conn.execute(update(t.outbox_messages).where(m.id.in_(messages)).values(recipient=""))
    for row in conn.execute(
        select(a.message_id, a.number, a.detail).where(a.message_id.in_(messages))
    ):
        scrubbed = _scrub(row.detail, addresses)
        if scrubbed != row.detail:
            conn.execute(
                update(t.outbox_attempts)
                .where(a.message_id == row.message_id, a.number == row.number)
                .values(detail=scrubbed)
            )
    for row in conn.execute(select(t.delivery_queue).where(q.message_id.in_(messages))):
        values: dict[str, object] = {"last_error": _scrub(row.last_error, addresses)}
        if row.status in ("pending", "sending"):
            # The attempt count moves on, so a worker sending it now does not undo this.
            number = int(row.attempts) + 1
            values.update(
                status="dead",
                attempts=number,
                lease_until=None,
                last_error=f"{ERASED} the address was erased before this was sent",
                updated_at=now,
            )
            conn.execute(
                insert(t.outbox_attempts).values(
                    message_id=row.message_id,
                    number=number,
                    at=now,
                    outcome="dead",
                    detail=values["last_error"],
                    by=by,
                )
            )
        conn.execute(
            update(t.delivery_queue).where(q.message_id == row.message_id).values(**values)
        )


# -- erasure records ----------------------------------------------------------------------------


def _fields(e: Erasure) -> dict[str, object]:
    return {
        "id": e.id,
        "kind": e.kind,
        "subject": e.subject,
        "reason": e.reason,
        "rows": e.rows,
        "messages": e.messages,
        "at": e.at,
        "by": e.by,
    }


def _erasure(row: object) -> Erasure:
    r = row._mapping  # type: ignore[attr-defined]
    return Erasure(
        r["kind"], r["subject"], r["id"], r["reason"], r["at"], r["by"], r["rows"], r["messages"]
    )


def _by_id(conn: Connection, erasure_id: str) -> Erasure | None:
    row = conn.execute(select(t.erasures).where(t.erasures.c.id == erasure_id)).first()
    return None if row is None else _erasure(row)


def _latest(conn: Connection, kind: str, subjects: Sequence[str]) -> dict[str, Erasure]:
    e = t.erasures.c
    found: dict[str, Erasure] = {}
    for start in range(0, len(subjects), 500):
        chunk = list(subjects[start : start + 500])
        rows = conn.execute(
            select(t.erasures).where(e.kind == kind, e.subject.in_(chunk)).order_by(e.at, e.id)
        )
        for row in rows:
            found[row.subject] = _erasure(row)  # the latest wins
    return found
