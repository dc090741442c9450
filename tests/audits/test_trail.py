"""The audit trail: gapless, hash-chained, append-only, and every tampering is a finding."""

from __future__ import annotations

from itertools import pairwise

import pytest
from sqlalchemy import exc, text

from ledger import services
from ledger.storage.unit_of_work import UnitOfWork, read_only
from ledger.trail import EventFilter, list_events, record_event, trail_head, verify_trail
from tests.builders import SECRET


def _event(conn, n: int = 0, **overrides):
    fields = dict(
        actor=f"officer-{n % 2}",
        role="officer",
        action="donation.create",
        target=f"entry/{n}",
        request_id=f"req-{n}",
        idempotency_key=f"key-{n}",
        client="127.0.0.1",
        outcome="success",
        status=201,
        detail={"n": n},
    )
    fields.update(overrides)
    return record_event(conn, **fields)


def _record(engine, count: int, **overrides) -> None:
    for n in range(count):
        with UnitOfWork(engine) as uow:
            uow.before_commit(lambda u, n=n: _event(u.connection, n, **overrides))
            uow.commit()


def test_events_recorded_before_commit_are_numbered_without_gaps_and_chain(engine):
    _record(engine, 5)
    with engine.connect() as conn:
        events = list_events(conn)
        assert [e.sequence for e in events] == [1, 2, 3, 4, 5]
        assert events[0].prev_hash == "0" * 64
        assert all(b.prev_hash == a.hash for a, b in pairwise(events))
        assert events[2].detail == '{"n":2}'
        assert verify_trail(conn) == []
        assert trail_head(conn) == (5, events[-1].hash)


def test_an_event_in_a_unit_of_work_that_rolls_back_leaves_no_trace_and_no_gap(engine):
    _record(engine, 1)
    with UnitOfWork(engine) as uow:
        _event(uow.connection, 99)
        # leaving without commit rolls back
    _record(engine, 1)
    with engine.connect() as conn:
        assert [e.sequence for e in list_events(conn)] == [1, 2]
        assert verify_trail(conn) == []


def test_the_event_is_committed_atomically_with_the_entry_it_describes(engine):
    with UnitOfWork(engine) as uow:
        services.open_fund(uow, code="LUHUO", name="炉霍", restricted=True, purpose="卫生室")
        uow.before_commit(
            lambda u: _event(u.connection, 0, action="fund.create", target="fund/LUHUO")
        )
        uow.commit()
    with engine.connect() as conn:
        [event] = list_events(conn)
        assert (event.action, event.target, event.status) == ("fund.create", "fund/LUHUO", 201)


def test_a_refused_attempt_is_recorded_in_its_own_unit_of_work(engine):
    with UnitOfWork(engine) as uow:
        _event(
            uow.connection,
            0,
            actor="anonymous",
            role="",
            action="disbursement.create",
            outcome="refused",
            status=401,
        )
        uow.commit()
    with engine.connect() as conn:
        [event] = list_events(conn, EventFilter(outcome="refused"))
        assert event.status == 401 and event.actor == "anonymous"


def test_overlong_fields_are_cut_to_their_columns_and_still_verify(engine):
    _record(engine, 1, target="x" * 500, client="c" * 100)
    with engine.connect() as conn:
        [event] = list_events(conn)
        assert len(event.target) == 200 and event.target.endswith("…")
        assert verify_trail(conn) == []


def test_an_unknown_outcome_is_refused(engine):
    with UnitOfWork(engine) as uow, pytest.raises(ValueError, match="outcome"):
        _event(uow.connection, 0, outcome="maybe")


def test_filters_and_cursor_pagination_walk_the_trail_once(engine):
    _record(engine, 7)
    with engine.connect() as conn:
        seen, after = [], None
        while page := list_events(conn, EventFilter(actor="officer-0"), after=after, limit=2):
            seen += [e.sequence for e in page]
            after = page[-1].sequence
        assert seen == [1, 3, 5, 7]
        assert [e.sequence for e in list_events(conn, EventFilter(request_id="req-3"))] == [4]
        assert list_events(conn, EventFilter(since="9999")) == []


def test_the_database_refuses_to_edit_or_delete_an_event(engine):
    _record(engine, 1)
    for statement in ("UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"):
        with engine.connect() as conn, pytest.raises(exc.DBAPIError, match="append-only"):
            conn.execute(text(statement))


def test_an_event_altered_behind_the_triggers_is_found(engine, behind_triggers):
    _record(engine, 3)
    behind_triggers("UPDATE audit_events SET outcome = 'success', status = 200 WHERE sequence = 2")
    with engine.connect() as conn:
        findings = verify_trail(conn)
    assert [(f.sequence, f.check) for f in findings] == [(2, "audit-hash")]


def test_a_deleted_event_in_the_middle_breaks_the_chain(engine, behind_triggers):
    _record(engine, 4)
    behind_triggers("DELETE FROM audit_events WHERE sequence = 2")
    with engine.connect() as conn:
        checks = {(f.sequence, f.check) for f in verify_trail(conn)}
    assert {(3, "audit-gap"), (3, "audit-chain")} <= checks


def test_a_deleted_tail_is_caught_against_an_anchor_taken_before(engine, behind_triggers):
    _record(engine, 4)
    with engine.connect() as conn:
        anchor = trail_head(conn)
    behind_triggers("DELETE FROM audit_events WHERE sequence >= 3")
    with engine.connect() as conn:
        findings = verify_trail(conn, anchors=[anchor])
    assert [(f.sequence, f.check) for f in findings] == [(4, "audit-truncated")]


def test_reading_personal_data_can_be_recorded_without_the_data_itself(engine):
    with UnitOfWork(engine) as uow:
        b = services.register_beneficiary(
            uow, cohort="2024秋", county="炉霍县", personal={"name": "卓玛"}, secret=SECRET
        )
        services.read_personal_data(uow, b.id)
        _event(uow.connection, 0, action="beneficiary.personal.read", target=b.id, outcome="read")
        uow.commit()
    with read_only(engine) as repo:
        [event] = list_events(repo.conn)
    assert event.target.startswith("B-") and "卓玛" not in str(event.to_dict())
