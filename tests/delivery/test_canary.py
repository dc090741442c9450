"""The canary in delivery: a child's name, ID number and school, and their pseudonym, planted
in the books (and in a disbursement's memo), must reach no webhook, no email and no outbox row."""

from __future__ import annotations

import datetime as dt
import email
from email import policy

from sqlalchemy import select

from delivery.mail import SmtpSettings
from ledger import services
from ledger.money import Money
from ledger.storage.tables import outbox_messages
from ledger.storage.unit_of_work import UnitOfWork
from tests.audits.worked import CANARY, CANARY_STRINGS
from tests.delivery.conftest import OFFICER, give, new_donor, settings, spend, subscribe
from usecases import delivery, scholarships, spending
from usecases.delivery import EVENT_TYPES, deliver_once


def test_no_payload_email_or_outbox_row_carries_a_beneficiarys_personal_data(
    books, receiver, smtp_server
) -> None:
    subscribe(books, receiver, *EVENT_TYPES)
    donor = new_donor(books, "陈美玲", email="mei@example.hk")
    give(books, donor, "6000.00")
    with UnitOfWork(books.engine) as uow:
        child = services.register_beneficiary(
            uow, cohort="2024秋", county="炉霍县", personal=CANARY, secret=b"k" * 32
        )
        award, _ = services.award_scholarship(
            uow,
            fund="R",
            beneficiary_id=child.id,
            amount=Money.parse("1500", "CNY"),
            term="2026春",
            awarded_on=dt.date.today(),
            project="P",
        )
        uow.commit()
    scholarships.pay_scholarship(  # the payout's gift.spent names no student
        books, award_id=award.id, amount="1500", currency="CNY", paid_on=dt.date.today(), by=OFFICER
    )
    spending.record_disbursement(
        books,
        by=OFFICER,
        fund="R",
        project="P",
        amount=Money.parse("2000", "CNY"),
        paid_on=dt.date.today(),
        memo=f"给{CANARY['name']}（{CANARY['school']}）的设备",
    )
    spend(books, "100.00")
    smtp = SmtpSettings(smtp_server.host, smtp_server.port, "none", "receipts@huiquan.example")
    done = deliver_once(books, settings(smtp))
    assert done.sent >= 4 and done.failed == 0

    planted = (*CANARY_STRINGS, child.id)  # the pseudonym is not for payloads either
    seen = [r.body.decode() for r in receiver.got]
    for raw in (m[2] for m in smtp_server.inbox.messages):
        parsed = email.message_from_bytes(raw, policy=policy.default)
        seen.append(parsed.get_body(("plain",)).get_content())
        seen.append(str(parsed["Subject"]))
    with books.engine.connect() as conn:
        seen += list(conn.scalars(select(outbox_messages.c.payload)))
    assert {"receipt.issued", "gift.spent"} <= {
        m.event_type for m in delivery.list_deliveries(books)[0]
    }
    for text in seen:
        for secret in planted:
            assert secret not in text, f"{secret!r} leaked into a delivery"
