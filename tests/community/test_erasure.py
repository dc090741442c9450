"""Erasing a need's or a sign-up's contact (decision 0017): the rows leave the database for
good (its file and log too, on SQLite), an audit event says what was erased and never the
content, a repeat changes nothing, declining a need erases its contact by itself, the database
refuses any other DELETE or UPDATE of the contacts, and the books still verify."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, exc, text

from ledger.errors import IdempotencyConflict, InvalidEntry, NotFound
from ledger.money import Money
from ledger.storage.db import checkpoint_wal
from tests.community.conftest import MODERATOR, OFFICER, TODAY, World
from usecases import community, erasure, gifts
from usecases.books import Books

CONTACT = "张阿姨 13800001111 canary-erase-need-5521"
NAME, PHONE = "李大爷", "13900002222 canary-erase-signup-6632"


def _need(world: World) -> str:
    return community.post_need(
        world.books,
        title="长者食堂需要四张餐桌",
        description="每天六十位老人吃午饭。",
        category="elder_care",
        place="510104",
        kind="money",
        goal=Money.parse("1200.00", "CNY"),
        contact=CONTACT,
        client="c1",
    ).id


def _signup(world: World) -> tuple[str, str]:
    service = community.publish_service(
        world.books,
        kind="clinic",
        title="义诊",
        description="社区卫生站义诊一天。",
        place="510104",
        starts_on=TODAY,
        ends_on=TODAY + dt.timedelta(days=3),
        capacity=10,
        by=OFFICER,
    )
    signup = community.sign_up(world.books, service.id, name=NAME, contact=PHONE, client="c2")
    return service.id, signup.id


def _contacts(engine: Engine, owner: str) -> list[tuple[bytes, bytes]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT key, ciphertext FROM community_contacts WHERE owner_id = :o"),
            {"o": owner},
        )
        return [(bytes(r.key), bytes(r.ciphertext)) for r in rows]


def _events(engine: Engine, action: str) -> list[dict[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT * FROM audit_events WHERE action = :a ORDER BY sequence"), {"a": action}
        )
        return [dict(r._mapping) for r in rows]


def _raw_bytes(engine: Engine) -> bytes:
    """Every byte of the SQLite database file and its log (b"" on PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return b""
    path = Path(str(engine.url.database))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


def vacuum(engine: Engine) -> None:
    """SQLite: rebuild the file and empty the log (what an operator may add after erasing)."""
    if engine.dialect.name == "sqlite":
        engine.dispose()
        raw = sqlite3.connect(str(engine.url.database), isolation_level=None)
        try:
            raw.execute("VACUUM")
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()


def verify_with_the_cli(books: Books) -> str:
    """`huiquan verify` on these books, as an operator runs it; its output."""
    from cli.main import cli

    url = books.engine.url.render_as_string(hide_password=False)
    done = CliRunner().invoke(
        cli,
        ["verify", "--no-progress", "--database-url", url],
        env={"HUIQUAN_HOME": str(books.home), "HUIQUAN_DATABASE_URL": url},
    )
    assert done.exit_code == 0, done.output
    return done.output


def test_a_needs_contact_is_erased_for_good_with_an_event_that_never_holds_it(
    world: World,
) -> None:
    books = world.books
    need_id = _need(world)
    [(key, sealed)] = _contacts(books.engine, need_id)
    checkpoint_wal(books.engine)
    raw = _raw_bytes(books.engine)
    assert books.engine.dialect.name != "sqlite" or (key in raw and sealed[12:40] in raw)

    done = erasure.erase_need_contact(books, need_id, reason="requested", by=MODERATOR)

    assert (done.kind, done.subject, done.reason, done.by, done.rows) == (
        "need_contact",
        need_id,
        "requested",
        MODERATOR.name,
        1,
    )
    assert _contacts(books.engine, need_id) == []
    assert community.contact_of(books, need_id) is None
    assert erasure.erasure_of(books, "need_contact", need_id) == done
    # The key and the ciphertext are in neither the database file nor its log: the rows were
    # zeroed as they were deleted and the use case checkpointed the log.
    raw = _raw_bytes(books.engine)
    assert key not in raw and sealed[12:40] not in raw
    vacuum(books.engine)
    raw = _raw_bytes(books.engine)
    assert key not in raw and sealed[12:40] not in raw
    [event] = _events(books.engine, "need_contact.erase")
    assert (event["actor"], event["target"], event["outcome"]) == (
        MODERATOR.name,
        need_id,
        "success",
    )
    assert json.loads(str(event["detail"])) == {
        "erasure": done.id,
        "kind": "need_contact",
        "subject": need_id,
        "reason": "requested",
        "rows": 1,
        "messages": 0,
    }
    with books.engine.connect() as conn:
        trail = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_events")))
        stored = " ".join(str(r) for r in conn.execute(text("SELECT * FROM erasures")))
    assert "canary-erase" not in trail and "13800001111" not in trail + stored
    # The need itself, its status and its public text are as they were.
    assert community.get_need(books, need_id).status == "pending"


def test_erasing_again_answers_the_first_erasure_and_writes_nothing(world: World) -> None:
    books = world.books
    need_id = _need(world)
    first = erasure.erase_need_contact(books, need_id, reason="requested", by=MODERATOR)
    again = erasure.erase_need_contact(books, need_id, reason="purpose_fulfilled", by=OFFICER)
    assert again == first
    keyed = erasure.erase_need_contact(
        books, need_id, reason="requested", by=MODERATOR, key="erase-1"
    )
    assert keyed == first
    assert (
        erasure.erase_need_contact(books, need_id, reason="requested", by=MODERATOR, key="erase-1")
        == first
    )
    with pytest.raises(IdempotencyConflict):
        erasure.erase_need_contact(
            books, need_id, reason="consent_withdrawn", by=MODERATOR, key="erase-1"
        )
    assert len(_events(books.engine, "need_contact.erase")) == 1
    with books.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM erasures")).scalar() == 1


def test_a_keyed_erasure_replays_its_first_answer_even_after_later_erasures(world: World) -> None:
    books = world.books
    _service, signup_id = _signup(world)
    first = erasure.erase_signup_contact(
        books, signup_id, reason="requested", by=OFFICER, key="k-signup"
    )
    assert first.rows == 1 and first.kind == "signup_contact"
    assert (
        erasure.erase_signup_contact(
            books, signup_id, reason="requested", by=OFFICER, key="k-signup"
        )
        == first
    )


def test_a_sign_ups_name_and_contact_are_erased_and_the_service_keeps_its_count(
    world: World,
) -> None:
    books = world.books
    service_id, signup_id = _signup(world)
    _other_service, other = _signup(world)
    community.record_attendance(books, signup_id, by=OFFICER)
    assert community.contact_of(books, signup_id) == {"name": NAME, "contact": PHONE}

    done = erasure.erase_signup_contact(books, signup_id, reason="purpose_fulfilled", by=OFFICER)

    assert done.rows == 1 and _contacts(books.engine, signup_id) == []
    assert community.contact_of(books, other) == {"name": NAME, "contact": PHONE}  # untouched
    [signup] = community.signups_of(books, service_id)
    assert (signup.id, signup.number, signup.attended) == (signup_id, 1, True)
    assert community.get_service(books, service_id).signed_up == 1
    assert erasure.erasures_of(books, "signup_contact", [signup_id, other]) == {signup_id: done}
    [event] = _events(books.engine, "signup_contact.erase")
    assert "canary" not in str(event) and NAME not in str(event)


def test_declining_a_need_erases_its_contact_with_an_event_of_its_own(world: World) -> None:
    books = world.books
    need_id = _need(world)
    declined = community.decline_need(books, need_id, reason="不在服务范围", by=MODERATOR)
    assert declined.status == "declined" and declined.reason == "不在服务范围"
    assert _contacts(books.engine, need_id) == [] and community.contact_of(books, need_id) is None
    found = erasure.erasure_of(books, "need_contact", need_id)
    assert found is not None and (found.reason, found.by) == ("need_declined", MODERATOR.name)
    [decline] = _events(books.engine, "need.declined")
    [erased] = _events(books.engine, "need_contact.erase")
    assert int(str(erased["sequence"])) == int(str(decline["sequence"])) + 1
    assert json.loads(str(erased["detail"]))["reason"] == "need_declined"
    # A manual erasure after it finds nothing and answers the decline's.
    assert erasure.erase_need_contact(books, need_id, reason="requested", by=MODERATOR) == found


def test_a_published_need_keeps_its_contact_until_someone_erases_it(world: World) -> None:
    books = world.books
    need_id = _need(world)
    community.publish_need(books, need_id, fund=world.fund, project=world.project, by=MODERATOR)
    assert community.contact_of(books, need_id) == {"contact": CONTACT}
    assert erasure.erasure_of(books, "need_contact", need_id) is None


def test_bad_requests_are_refused_and_erase_nothing(world: World) -> None:
    books = world.books
    need_id = _need(world)
    with pytest.raises(InvalidEntry) as bad:
        erasure.erase_need_contact(books, need_id, reason="because", by=MODERATOR)
    assert bad.value.field == "reason"
    with pytest.raises(InvalidEntry):  # the automatic reason is not for people to give
        erasure.erase_need_contact(books, need_id, reason="need_declined", by=MODERATOR)
    with pytest.raises(NotFound):
        erasure.erase_need_contact(books, "N-nosuchneed", reason="requested", by=MODERATOR)
    with pytest.raises(NotFound):
        erasure.erase_signup_contact(books, need_id, reason="requested", by=MODERATOR)
    assert community.contact_of(books, need_id) == {"contact": CONTACT}
    assert _events(books.engine, "need_contact.erase") == []


def test_the_database_refuses_a_delete_no_erasure_covers_and_every_update(
    world: World,
) -> None:
    books = world.books
    need_id, kept = _need(world), _need(world)
    erasure.erase_need_contact(books, need_id, reason="requested", by=MODERATOR)
    for statement in (
        f"DELETE FROM community_contacts WHERE owner_id = '{kept}'",
        "DELETE FROM community_contacts",
        f"UPDATE community_contacts SET owner_id = '{need_id}' WHERE owner_id = '{kept}'",
        "DELETE FROM erasures",
        "UPDATE erasures SET reason = 'x'",
    ):
        with books.engine.connect() as conn, pytest.raises(exc.DBAPIError, match="append-only"):
            conn.execute(text(statement))
    assert community.contact_of(books, kept) == {"contact": CONTACT}


def test_the_books_still_verify_after_erasures(world: World) -> None:
    books = world.books
    need_id = _need(world)
    community.publish_need(books, need_id, fund=world.fund, project=world.project, by=MODERATOR)
    community.record_offer(
        books,
        need_id,
        donor_id=world.donor,
        kind="money",
        amount=Money.parse("1200.00", "CNY"),
        by=OFFICER,
    )
    gifts.record_donation(
        books,
        by=OFFICER,
        donor_id=world.donor,
        fund=world.fund,
        amount=Money.parse("300.00", "CNY"),
        received_on=TODAY,
    )
    _service, signup_id = _signup(world)
    erasure.erase_need_contact(books, need_id, reason="purpose_fulfilled", by=MODERATOR)
    erasure.erase_signup_contact(books, signup_id, reason="requested", by=OFFICER)
    out = verify_with_the_cli(books)
    assert "entries checked: 2" in out
    assert "findings: none; the books and the audit trail verify" in out
