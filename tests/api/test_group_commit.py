"""Group commit: concurrent writes of one process share a transaction, and stay independent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine

from ledger import services
from ledger.errors import InsufficientFunds
from ledger.integrity import verify_books
from ledger.money import Money
from ledger.storage.group_commit import GroupCommit
from ledger.storage.repository import SqlRepository
from ledger.storage.unit_of_work import UnitOfWork, read_only
from ledger.trail import EventFilter, list_events
from tests.api.conftest import TODAY, Books, Caller, disbursement, donation


class _Gate:
    def __init__(self) -> None:
        self.held = 0

    def acquire(self) -> None:
        self.held += 1

    def release(self) -> None:
        self.held -= 1


def _donor(engine: Engine) -> str:
    with UnitOfWork(engine) as uow:
        donors = uow.repo.list_donors(None, 10)
    return donors[0].id


def _queued_behind_first(
    group: GroupCommit,
    jobs: list[Callable[[UnitOfWork], Any]],
    keys: list[str | None] | None = None,
    refs: list[dict[str, list[str]]] | None = None,
) -> list[tuple[str, Any]]:
    """Run `jobs` from as many threads; the first holds the transaction until all others queue."""
    release = threading.Event()

    def first(uow: UnitOfWork) -> Any:
        while group._waiting < len(jobs) - 1:  # everyone else is queued for this transaction
            threading.Event().wait(0.001)
        release.set()
        return jobs[0](uow)

    def one(index: int) -> tuple[str, Any]:
        if index:
            while not group._mutex.locked():
                threading.Event().wait(0.001)
        try:
            key = keys[index] if keys else None
            wanted = refs[index] if refs else None
            return "ok", group.run(first if index == 0 else jobs[index], key=key, refs=wanted)
        except Exception as err:
            return "error", err

    with ThreadPoolExecutor(len(jobs)) as pool:
        outcomes = list(pool.map(one, range(len(jobs))))
    assert release.is_set()
    return outcomes


def test_queued_writes_share_one_commit_and_a_refused_one_leaves_no_trace(
    opened: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = opened
    donor = _donor(engine)
    commits: list[int] = []
    original = UnitOfWork.commit

    def counted(self: UnitOfWork) -> None:
        commits.append(self.sequence)
        original(self)

    monkeypatch.setattr(UnitOfWork, "commit", counted)
    gate = _Gate()
    group = GroupCommit(engine, gate)

    def give(n: int) -> Callable[[UnitOfWork], Any]:
        def job(uow: UnitOfWork) -> Any:
            return services.record_donation(
                uow,
                donor_id=donor,
                fund="F",
                amount=Money(100 * n, "CNY"),
                received_on=TODAY,
                key=f"gift-{n}",
            )

        return job

    def overdraw(uow: UnitOfWork) -> Any:
        # Writes a row, queues an entry and a key, then is refused: none of it may survive.
        services.open_fund(uow, code="GONE", name="Never", restricted=False)
        give(9)(uow)
        return services.record_fee(uow, fund="F", amount=Money(10**9, "CNY"), paid_on=TODAY)

    jobs = [give(1), give(2), overdraw, give(3), give(4)]
    outcomes = _queued_behind_first(group, jobs)

    assert [kind for kind, _ in outcomes] == ["ok", "ok", "error", "ok", "ok"]
    assert isinstance(outcomes[2][1], InsufficientFunds)
    assert commits == [4]  # one transaction for all five; the refused one took no number
    assert sorted(o.sequence for kind, o in outcomes if kind == "ok") == [1, 2, 3, 4]
    assert gate.held == 0
    with read_only(engine) as repo:
        report = verify_books(repo)
        assert report.ok, report.findings
        assert report.entries == 4
        assert repo.idempotency_record("gift-3") is not None
        assert repo.idempotency_record("gift-9") is None
        assert repo.get_fund("GONE") is None


def test_a_failed_commit_fails_every_member(
    opened: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = opened
    donor = _donor(engine)

    def broken(self: UnitOfWork) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(UnitOfWork, "commit", broken)
    group = GroupCommit(engine, _Gate())

    def job(uow: UnitOfWork) -> Any:
        return services.record_donation(
            uow, donor_id=donor, fund="F", amount=Money(100, "CNY"), received_on=TODAY
        )

    outcomes = _queued_behind_first(group, [job, job, job])
    assert [kind for kind, _ in outcomes] == ["error"] * 3
    assert all(str(err) == "disk full" for _, err in outcomes)
    with read_only(engine) as repo:
        assert repo.head()[0] == 0


def test_concurrent_requests_mixing_refusals_and_gifts_through_the_api(
    app: Flask, tokens: dict[str, str], books: Books, auditor: Caller
) -> None:
    """8 threads: 4 gifts and 4 overdrawing disbursements. Gifts commit, refusals leave none."""
    barrier = threading.Barrier(8)

    def one(n: int) -> tuple[int, Any]:
        caller = Caller(app.test_client(), tokens["officer"])
        barrier.wait()
        if n % 2:
            reply = caller.post("/api/v1/disbursements", disbursement(books, "99999999.00"))
        else:
            reply = caller.post("/api/v1/donations", donation(books, "10.00"), key=f"g{n}")
        return reply.status_code, reply.get_json()

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(one, range(8)))

    assert sorted(status for status, _ in replies) == [201] * 4 + [409] * 4
    assert {body["code"] for status, body in replies if status == 409} == {"insufficient_funds"}
    gifts = [body for status, body in replies if status == 201]
    assert sorted(g["entry"]["sequence"] for g in gifts) == [1, 2, 3, 4]
    assert len({g["receipt"]["serial"] for g in gifts}) == 4
    engine = app.extensions["huiquan"].engine
    with read_only(engine) as repo:
        assert verify_books(repo).ok
        events = list_events(repo.conn, EventFilter(action="POST /api/v1/donations"))
        refused = list_events(repo.conn, EventFilter(action="POST /api/v1/disbursements"))
    assert [e.outcome for e in events] == ["success"] * 4
    assert [e.outcome for e in refused] == ["refused"] * 4


def test_the_keys_of_queued_writes_are_looked_up_together_and_still_replay(
    opened: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = opened
    donor = _donor(engine)
    with UnitOfWork(engine) as uow:  # a gift stored earlier, under key "old"
        earlier = services.record_donation(
            uow, donor_id=donor, fund="F", amount=Money(500, "CNY"), received_on=TODAY, key="old"
        )
        uow.commit()
    single: list[str] = []
    batched: list[list[str]] = []
    references: list[dict[str, list[str]]] = []
    one, many = SqlRepository.idempotency_record, SqlRepository.read_ahead

    def counted_one(self: SqlRepository, key: str) -> Any:
        single.append(key)
        return one(self, key)

    def counted_many(self: SqlRepository, keys: Any, wanted: Any) -> Any:
        batched.append(list(keys))
        references.append({kind: list(ids) for kind, ids in wanted.items()})
        return many(self, keys, wanted)

    monkeypatch.setattr(SqlRepository, "idempotency_record", counted_one)
    monkeypatch.setattr(SqlRepository, "read_ahead", counted_many)

    def give(key: str, minor: int = 500) -> Callable[[UnitOfWork], Any]:
        return lambda uow: services.record_donation(
            uow, donor_id=donor, fund="F", amount=Money(minor, "CNY"), received_on=TODAY, key=key
        )

    keys: list[str | None] = ["a", "old", "b", "a", "c"]
    jobs = [give("a"), give("old"), give("b"), give("a"), give("c", 700)]
    refs = [{"donor": [donor], "fund": ["F"]}] * 5
    outcomes = _queued_behind_first(GroupCommit(engine, _Gate()), jobs, keys, refs)

    assert [kind for kind, _ in outcomes] == ["ok"] * 5
    # the first took the transaction alone; the four queued behind it were looked up together,
    # and their donor and fund, read with the first, were not asked for again
    assert batched == [["a"], ["b", "c", "old"]] and single == []
    assert references == [{"donor": [donor], "fund": ["F"]}, {}]
    entries = [entry for _, entry in outcomes]
    assert entries[1].id == earlier.id  # the stored key replays its entry
    assert entries[3].id == entries[0].id  # the key repeated in the group replays it too
    assert sorted({e.sequence for e in entries}) == [1, 2, 3, 4]
    with read_only(engine) as repo:
        assert verify_books(repo).entries == 4
