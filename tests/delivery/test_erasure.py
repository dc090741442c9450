"""Erasing a donor's email addresses (decision 0017): every address they ever gave leaves
`donor_contacts` and the outbox (recipient blanked, the address taken out of attempts and the
queue), nothing more is sent there, the event names the donor and never the address, a repeat
changes nothing, the database allows no other change, and the books still verify."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, exc, select, text

from delivery import outbox
from delivery.mail import SmtpSettings
from ledger.errors import InvalidEntry, NotFound
from ledger.storage.tables import delivery_queue, donor_contacts, outbox_attempts, outbox_messages
from tests.community.test_erasure import _raw_bytes, vacuum, verify_with_the_cli
from tests.delivery.conftest import OFFICER, give, new_donor, settings
from usecases import delivery, erasure
from usecases.books import Books
from usecases.delivery import deliver_once

OLD, NEW = "canary.old-7731@example.org", "Canary.New-7731@example.org"


def smtp_of(server) -> SmtpSettings:  # type: ignore[no-untyped-def]
    return SmtpSettings(
        host=server.host, port=server.port, security="none", sender="receipts@huiquan.example"
    )


def _outbox(engine: Engine) -> list[dict[str, object]]:
    m, q = outbox_messages.c, delivery_queue.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(m.id, m.channel, m.recipient, m.payload, q.status, q.last_error)
            .join(delivery_queue, q.message_id == m.id)
            .order_by(m.id)
        )
        return [dict(r._mapping) for r in rows]


def _attempts(engine: Engine) -> list[dict[str, object]]:
    a = outbox_attempts.c
    with engine.connect() as conn:
        rows = conn.execute(select(outbox_attempts).order_by(a.message_id, a.number))
        return [dict(r._mapping) for r in rows]


def _everything(engine: Engine) -> str:
    """Every row of every table that could hold an address, as text."""
    names = ("donor_contacts", "outbox_messages", "outbox_attempts", "delivery_queue")
    names += ("audit_events", "erasures", "idempotency_keys")
    with engine.connect() as conn:
        return " ".join(str(r) for n in names for r in conn.execute(text(f"SELECT * FROM {n}")))


def _history(books: Books, smtp_server) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A donor who gave two addresses: a receipt sent to the first, one bounced by the second
    (its attempt names it), one still waiting; and a relative sharing the second address."""
    donor = new_donor(books, "陈美玲", email=OLD)
    relative = new_donor(books, "陈家明", email=NEW)
    give(books, donor, "10.00")
    assert deliver_once(books, settings(smtp_of(smtp_server))).sent == 1
    delivery.record_donor_email(books, donor, NEW, by=OFFICER)
    smtp_server.inbox.refuse.add(NEW)
    give(books, donor, "20.00")
    assert deliver_once(books, settings(smtp_of(smtp_server))).bounced == 1
    smtp_server.inbox.refuse.clear()
    give(books, donor, "30.00")
    give(books, relative, "40.00")
    return donor, relative


def test_erasing_a_donors_addresses_removes_them_from_the_contacts_and_the_outbox(
    books: Books, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    donor, _relative = _history(books, smtp_server)
    assert OLD.encode() in _raw_bytes(books.engine) or books.engine.dialect.name != "sqlite"

    done = erasure.erase_donor_email(books, donor, reason="requested", by=OFFICER)

    assert (done.kind, done.subject, done.rows, done.messages) == ("donor_email", donor, 2, 3)
    with books.engine.connect() as conn:
        left = conn.execute(select(donor_contacts).where(donor_contacts.c.donor_id == donor))
        assert left.all() == []
    assert delivery.donor_email(books, donor) == ""
    mine = [m for m in _outbox(books.engine) if f'"donor_id":"{donor}"' in str(m["payload"])]
    theirs = [m for m in _outbox(books.engine) if m not in mine]
    assert [m["recipient"] for m in mine] == ["", "", ""]
    assert [m["status"] for m in mine] == ["sent", "bounced", "dead"]
    assert [m["recipient"] for m in theirs] == [NEW]  # the relative's address is theirs
    assert [m["status"] for m in theirs] == ["pending"]
    bounced = next(m for m in mine if m["status"] == "bounced")
    assert str(bounced["last_error"]).startswith("[erased]: 550")
    waiting = next(m for m in mine if m["status"] == "dead")
    assert "erased" in str(waiting["last_error"])
    attempts = [a for a in _attempts(books.engine) if a["message_id"] == waiting["id"]]
    assert [(a["outcome"], a["by"]) for a in attempts] == [("dead", OFFICER.name)]
    # Only the relative's address remains anywhere in the tables; in the SQLite file, only as
    # their rows hold it.
    dumped = _everything(books.engine)
    assert OLD not in dumped and OLD.lower() not in dumped.lower()
    assert dumped.count(NEW) == 2  # the relative's contact row and their message
    raw = _raw_bytes(books.engine)
    assert OLD.encode() not in raw
    assert books.engine.dialect.name != "sqlite" or raw.count(NEW.encode()) == 2
    vacuum(books.engine)
    raw = _raw_bytes(books.engine)
    assert OLD.encode() not in raw
    assert books.engine.dialect.name != "sqlite" or raw.count(NEW.encode()) == 2


def test_nothing_more_is_sent_to_an_erased_address(books: Books, smtp_server) -> None:  # type: ignore[no-untyped-def]
    donor = new_donor(books, "王芳", email=OLD)
    give(books, donor, "50.00")
    erasure.erase_donor_email(books, donor, reason="consent_withdrawn", by=OFFICER)
    give(books, donor, "60.00")  # no address: no email queued
    assert deliver_once(books, settings(smtp_of(smtp_server))).claimed == 0
    [message] = [m for m in _outbox(books.engine) if m["channel"] == "email"]
    delivery.replay(books, str(message["id"]), by=OFFICER)  # a replay cannot send it either
    assert deliver_once(books, settings(smtp_of(smtp_server))).dead == 1
    assert smtp_server.inbox.messages == []
    _found, attempts = delivery.message_detail(books, str(message["id"]))
    assert attempts[-1]["outcome"] == "dead" and "erased" in attempts[-1]["detail"]


def test_a_message_out_when_its_address_is_erased_does_not_bring_it_back(books: Books) -> None:
    donor = new_donor(books, "赵强", email=OLD)
    give(books, donor, "70.00")
    [held] = outbox.claim(books.engine, now=dt.datetime.now(dt.UTC), lease=60, limit=1)
    erasure.erase_donor_email(books, donor, reason="requested", by=OFFICER)
    status = outbox.record(
        books.engine,
        held,
        "bounced",
        detail=f"{OLD}: 550 5.1.1 no such mailbox",
        schedule=outbox.Schedule(),
        now=dt.datetime.now(dt.UTC),
    )
    assert status == "bounced"  # what the worker saw; the queue row is the erasure's
    [row] = _outbox(books.engine)
    assert (row["recipient"], row["status"]) == ("", "dead")
    details = [str(a["detail"]) for a in _attempts(books.engine)]
    assert details[0] == "[erased]: 550 5.1.1 no such mailbox" and OLD not in " ".join(details)


def test_an_address_given_after_an_erasure_is_used_and_erased_again_on_request(
    books: Books, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    donor = new_donor(books, "孙丽", email=OLD)
    first = erasure.erase_donor_email(books, donor, reason="requested", by=OFFICER)
    assert erasure.erase_donor_email(books, donor, reason="requested", by=OFFICER) == first
    delivery.record_donor_email(books, donor, NEW, by=OFFICER)
    give(books, donor, "80.00")
    assert deliver_once(books, settings(smtp_of(smtp_server))).sent == 1
    second = erasure.erase_donor_email(books, donor, reason="retention_expired", by=OFFICER)
    assert second.id != first.id and (second.rows, second.messages) == (1, 1)
    assert erasure.erasure_of(books, "donor_email", donor) == second
    with books.engine.connect() as conn:
        events = conn.execute(
            text("SELECT detail FROM audit_events WHERE action = 'donor_email.erase'")
        ).scalars()
        details = [json.loads(d) for d in events]
    assert [d["reason"] for d in details] == ["requested", "retention_expired"]
    assert all(d["subject"] == donor for d in details)
    assert OLD not in str(details) and NEW not in str(details)


def test_a_donor_who_never_gave_an_address_has_nothing_to_erase(books: Books) -> None:
    donor = new_donor(books, "李明")
    nothing = erasure.erase_donor_email(books, donor, reason="requested", by=OFFICER)
    assert (nothing.id, nothing.rows) == (None, 0)
    assert erasure.erasure_of(books, "donor_email", donor) is None
    with pytest.raises(NotFound):
        erasure.erase_donor_email(books, "D-nosuchdonor", reason="requested", by=OFFICER)
    with pytest.raises(InvalidEntry):
        erasure.erase_donor_email(books, donor, reason="", by=OFFICER)


def test_the_database_allows_only_the_erasures_changes_to_the_outbox_and_contacts(
    books: Books, smtp_server
) -> None:  # type: ignore[no-untyped-def]
    erased, kept = new_donor(books, "甲", email=OLD), new_donor(books, "乙", email=NEW)
    smtp_server.inbox.refuse.update({OLD, NEW})
    give(books, erased, "1.00")
    give(books, kept, "2.00")
    deliver_once(books, settings(smtp_of(smtp_server)))
    erasure.erase_donor_email(books, erased, reason="requested", by=OFFICER)
    for statement in (
        f"DELETE FROM donor_contacts WHERE donor_id = '{kept}'",
        f"UPDATE donor_contacts SET email = '' WHERE donor_id = '{kept}'",
        f"UPDATE outbox_messages SET recipient = '' WHERE recipient = '{NEW}'",
        "UPDATE outbox_messages SET payload = '{}' WHERE recipient = ''",
        "UPDATE outbox_messages SET recipient = 'x@example.org' WHERE recipient = ''",
        "DELETE FROM outbox_messages WHERE recipient = ''",
        "UPDATE outbox_attempts SET detail = 'rewritten'",
        f"UPDATE outbox_attempts SET detail = '[erased]' WHERE detail LIKE '{NEW}%'",
        "UPDATE outbox_attempts SET outcome = 'sent', detail = '[erased]' "
        "WHERE detail LIKE '[erased]%'",
        "DELETE FROM outbox_attempts",
    ):
        with books.engine.connect() as conn, pytest.raises(exc.DBAPIError, match="append-only"):
            conn.execute(text(statement))
    assert delivery.donor_email(books, kept) == NEW


def test_the_books_still_verify_after_a_donors_erasure(books: Books) -> None:
    donor = new_donor(books, "周洁", email=OLD)
    give(books, donor, "90.00")
    erasure.erase_donor_email(books, donor, reason="requested", by=OFFICER)
    out = verify_with_the_cli(books)
    assert "findings: none; the books and the audit trail verify" in out
