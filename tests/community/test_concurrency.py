"""Residents racing for the last places of a service: never more sign-ups than its capacity,
numbered 1..capacity without a gap, whether they come through one process or two (each with
its own engine and group commit). Both engines; on PostgreSQL the books' row lock decides."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from ledger.storage.db import make_engine
from tests.community.conftest import OFFICER, TODAY
from usecases import community, places
from usecases.books import open_books

CAPACITY = 7
PER_PROCESS = 12


def test_concurrent_sign_ups_never_exceed_a_services_capacity(
    database_url: str, tmp_path: Path
) -> None:
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        processes = [
            open_books(engine, tmp_path / "home", pseudonym_secret=b"k" * 32) for engine in engines
        ]
        places.add_place(processes[0], code="510104", kind="county", name="锦江区", by=OFFICER)
        service = community.publish_service(
            processes[0],
            kind="clinic",
            title="义诊日",
            description="血压血糖",
            place="510104",
            starts_on=TODAY,
            ends_on=TODAY,
            capacity=CAPACITY,
            by=OFFICER,
        )
        outcomes: list[str] = []
        lock = threading.Lock()
        start = threading.Barrier(2 * PER_PROCESS)

        def resident(books: object, n: int) -> None:
            start.wait()
            try:
                community.sign_up(
                    books,  # type: ignore[arg-type]
                    service.id,
                    name=f"居民{n}",
                    contact=f"1380000{n:04d}",
                    client=f"c{n}",
                )
                result = "signed"
            except community.ServiceFull:
                result = "full"
            with lock:
                outcomes.append(result)

        threads = [
            threading.Thread(target=resident, args=(processes[i % 2], i))
            for i in range(2 * PER_PROCESS)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert outcomes.count("signed") == CAPACITY
        assert outcomes.count("full") == 2 * PER_PROCESS - CAPACITY
        numbers = sorted(s.number for s in community.signups_of(processes[1], service.id))
        assert numbers == list(range(1, CAPACITY + 1))
        assert community.get_service(processes[1], service.id).places_left == 0
        with engines[0].connect() as conn:
            contacts = conn.execute(text("SELECT count(*) FROM community_contacts")).scalar()
        assert contacts == CAPACITY  # a refused sign-up keeps nothing
    finally:
        for engine in engines:
            engine.dispose()
