"""Erasure as the service's PostgreSQL role (decision 0017): its grants are enough to erase a
need's contact and a donor's addresses (outbox included), and nothing more: a DELETE no erasure
covers is refused by the trigger, a TRUNCATE or any other table's DELETE by the grants."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, exc, text

from ledger import services
from ledger.money import Money
from ledger.storage.roles import service_role_findings
from ledger.storage.unit_of_work import UnitOfWork
from tests.security.conftest import Cluster
from usecases import community, delivery, erasure, gifts, places
from usecases.books import open_books
from usecases.unit import SYSTEM, Actor

pytestmark = pytest.mark.postgres_only
OFFICER = Actor("王经办", ("officer",))
INSUFFICIENT_PRIVILEGE, RESTRICT_VIOLATION = "42501", "23001"


def _sqlstate(engine: Engine, statement: str) -> str | None:
    with engine.connect() as conn, pytest.raises(exc.DBAPIError) as caught:
        conn.exec_driver_sql(statement)
    return getattr(caught.value.orig, "sqlstate", None)


def test_as_the_service_contacts_and_addresses_are_erased_and_nothing_else_can_be(
    cluster: Cluster, owner_engine: Engine, service_engine: Engine, tmp_path: Path
) -> None:
    with owner_engine.connect() as conn:
        assert service_role_findings(conn, cluster.service) == []
    books = open_books(service_engine, tmp_path / "home", pseudonym_secret=b"s" * 32)
    with UnitOfWork(service_engine) as uow:
        services.open_fund(uow, code="ERASE", name="删除测试", restricted=False)
        donor = services.register_donor(uow, name="陈美玲")
        other = services.register_donor(uow, name="陈家明")
        uow.commit()
    places.add_place(books, code="513327", kind="county", name="炉霍县", by=SYSTEM)
    delivery.record_donor_email(books, donor.id, "mei@example.org", by=OFFICER)
    delivery.record_donor_email(books, other.id, "ming@example.org", by=OFFICER)
    gifts.record_donation(
        books,
        by=OFFICER,
        donor_id=donor.id,
        fund="ERASE",
        amount=Money.parse("10.00", "CNY"),
        received_on=dt.date.today(),
    )
    need = community.post_need(
        books,
        title="村卫生室需要血压计",
        description="两台。",
        category="health",
        place="513327",
        kind="hours",
        hours=4,
        contact="卓玛 13900000000",
        client="c",
    )
    kept = community.post_need(
        books,
        title="村小需要图书",
        description="一百本。",
        category="education",
        place="513327",
        kind="hours",
        hours=2,
        contact="扎西 13700000000",
        client="c",
    )

    assert erasure.erase_need_contact(books, need.id, reason="requested", by=OFFICER).rows == 1
    done = erasure.erase_donor_email(books, donor.id, reason="requested", by=OFFICER)
    assert (done.rows, done.messages) == (1, 1)

    with service_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM community_contacts")) == 1
        assert conn.scalar(text("SELECT count(*) FROM donor_contacts")) == 1
        assert conn.scalar(text("SELECT recipient FROM outbox_messages")) == ""
    # The trigger refuses what the grant allows but no erasure covers; the grants the rest.
    for statement in (
        f"DELETE FROM community_contacts WHERE owner_id = '{kept.id}'",
        f"DELETE FROM donor_contacts WHERE donor_id = '{other.id}'",
    ):
        assert _sqlstate(service_engine, statement) == RESTRICT_VIOLATION
    for statement in (
        "TRUNCATE community_contacts",
        "TRUNCATE donor_contacts",
        "DELETE FROM outbox_messages",
        "DELETE FROM erasures",
        "DELETE FROM needs",
        "UPDATE outbox_messages SET payload = '{}'",
        "UPDATE outbox_attempts SET outcome = 'sent'",
        "UPDATE erasures SET reason = 'x'",
    ):
        assert _sqlstate(service_engine, statement) == INSUFFICIENT_PRIVILEGE, statement
    assert community.contact_of(books, kept.id) == {"contact": "扎西 13700000000"}
