"""The outbox's worker as the service's PostgreSQL role: the queue row it moves (status,
attempts, lease, last error and when it changed) is within its grant."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine

from delivery import outbox
from ledger import services
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork
from usecases import delivery, gifts
from usecases.books import open_books
from usecases.unit import Actor

pytestmark = pytest.mark.postgres_only
OFFICER = Actor("王经办", ("officer",))


def test_as_the_service_the_outbox_worker_claims_records_and_replays(
    service_engine: Engine, tmp_path: Path
) -> None:
    """The queue's `updated_at` moves with every claim, attempt and replay: the service's
    grant must cover it (the worker runs as the service)."""
    books = open_books(service_engine, tmp_path / "home", pseudonym_secret=b"s" * 32)
    with UnitOfWork(service_engine) as uow:
        services.open_fund(uow, code="QUEUE", name="队列", restricted=False)
        donor = services.register_donor(uow, name="王芳")
        uow.commit()
    delivery.record_donor_email(books, donor.id, "wang@example.org", by=OFFICER)
    gifts.record_donation(
        books,
        by=OFFICER,
        donor_id=donor.id,
        fund="QUEUE",
        amount=Money.parse("5.00", "CNY"),
        received_on=dt.date.today(),
    )
    now = dt.datetime.now(dt.UTC)
    [held] = outbox.claim(service_engine, now=now, lease=60, limit=1, channels=("email",))
    status = outbox.record(
        service_engine, held, "bounced", detail="550", schedule=outbox.Schedule(), now=now
    )
    assert status == "bounced"
    replayed = delivery.replay(books, held.message.id, by=OFFICER)
    assert replayed.status == "pending"
