"""Receipt emails: queued with the gift, sent by the worker to a real SMTP server on loopback,
retried with backoff, bounces kept final, and the gift never waiting for any of it."""

from __future__ import annotations

import datetime as dt
import email
from email import policy

from sqlalchemy import select

from delivery.mail import SmtpSettings
from ledger.storage.tables import delivery_queue, outbox_attempts, outbox_messages
from tests.delivery.conftest import (
    BASE_URL,
    OFFICER,
    give,
    new_donor,
    settings,
)
from usecases import delivery
from usecases.delivery import deliver_once


def smtp_of(server) -> SmtpSettings:
    return SmtpSettings(
        host=server.host, port=server.port, security="none", sender="receipts@huiquan.example"
    )


def queue(books) -> list[dict]:
    with books.engine.connect() as conn:
        rows = conn.execute(
            select(
                outbox_messages,
                delivery_queue.c.status,
                delivery_queue.c.failures,
                delivery_queue.c.next_attempt_at,
            ).join(delivery_queue, delivery_queue.c.message_id == outbox_messages.c.id)
        )
        return [dict(r._mapping) for r in rows]


def test_a_gift_from_a_donor_with_an_address_queues_one_bilingual_email_sent_with_its_pdf(
    books, smtp_server
) -> None:
    donor = new_donor(books, "陈美玲", language="zh-Hant", email="mei.chan@example.hk")
    gift = give(books, donor, "5000.00")
    queued = queue(books)
    assert [(m["channel"], m["recipient"], m["status"]) for m in queued] == [
        ("email", "mei.chan@example.hk", "pending")
    ]
    assert smtp_server.inbox.messages == []  # recording the gift sent nothing

    done = deliver_once(books, settings(smtp_of(smtp_server)))
    assert (done.claimed, done.sent) == (1, 1)
    [(sender, recipients, raw)] = smtp_server.inbox.messages
    assert sender == "receipts@huiquan.example" and recipients == ["mei.chan@example.hk"]
    message = email.message_from_bytes(raw, policy=policy.default)
    serial = gift.receipt.serial
    assert serial in message["Subject"] and "捐贈收據" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    link = f"{BASE_URL}/r/{gift.receipt.token}"
    assert link in text
    assert "感謝您的捐贈" in text and "Thank you for your gift" in text  # 繁體, then English
    assert text.index("感謝") < text.index("Thank you")
    assert "CNY 5000.00" in text
    [pdf] = [part for part in message.iter_attachments()]
    assert pdf.get_filename() == f"{serial}.pdf"
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF-")
    assert queue(books)[0]["status"] == "sent"


def test_a_donor_without_an_address_gets_no_email_and_a_withdrawn_address_none_either(
    books, smtp_server
) -> None:
    donor = new_donor(books, "李明")
    give(books, donor, "100.00")
    delivery.record_donor_email(books, donor, "li@example.com", by=OFFICER)
    delivery.record_donor_email(books, donor, "", by=OFFICER)
    give(books, donor, "200.00")
    assert queue(books) == []
    assert delivery.donor_email(books, donor) == ""


def test_without_smtp_settings_email_waits_in_the_queue_untouched(books) -> None:
    donor = new_donor(books, "张伟", email="zhang@example.com")
    give(books, donor, "300.00")
    done = deliver_once(books, settings(None))
    assert done.claimed == 0
    [row] = queue(books)
    assert (row["status"], row["failures"]) == ("pending", 0)


def test_a_server_that_is_down_is_retried_with_growing_delays_then_the_mail_goes(
    books, smtp_server
) -> None:
    donor = new_donor(books, "王芳", email="wang@example.com")
    give(books, donor, "800.00")
    closed = SmtpSettings("127.0.0.1", 1, "none", "receipts@huiquan.example", timeout=2)
    slow = settings(closed, attempts=5, base=60)
    before = dt.datetime.now(dt.UTC)
    first = deliver_once(books, slow)
    assert (first.claimed, first.failed) == (1, 1)
    [row] = queue(books)
    assert row["status"] == "pending" and row["failures"] == 1
    wait_1 = dt.datetime.fromisoformat(row["next_attempt_at"]) - before
    assert dt.timedelta(seconds=50) < wait_1 < dt.timedelta(seconds=70)
    assert deliver_once(books, slow).claimed == 0  # not due yet

    later = before + dt.timedelta(seconds=75)
    assert deliver_once(books, slow, now=later).failed == 1
    [row] = queue(books)
    wait_2 = dt.datetime.fromisoformat(row["next_attempt_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(seconds=100) < wait_2 < dt.timedelta(seconds=135)  # doubled

    working = settings(smtp_of(smtp_server), attempts=5)
    assert deliver_once(books, working, now=later + dt.timedelta(hours=1)).sent == 1
    assert len(smtp_server.inbox.messages) == 1
    with books.engine.connect() as conn:
        outcomes = conn.execute(
            select(outbox_attempts.c.number, outbox_attempts.c.outcome).order_by(
                outbox_attempts.c.number
            )
        ).all()
    assert [tuple(o) for o in outcomes] == [(1, "failed"), (2, "failed"), (3, "sent")]


def test_a_mailbox_the_server_refuses_is_a_bounce_kept_final_and_visible(
    books, smtp_server
) -> None:
    donor = new_donor(books, "赵强", email="nobody@example.com")
    smtp_server.inbox.refuse.add("nobody@example.com")
    give(books, donor, "50.00")
    done = deliver_once(books, settings(smtp_of(smtp_server)))
    assert done.bounced == 1
    found, counts = delivery.list_deliveries(books, status="bounced")
    assert counts["bounced"] == 1
    assert found[0].recipient == "nobody@example.com"
    assert "550" in found[0].last_error
    assert deliver_once(books, settings(smtp_of(smtp_server))).claimed == 0


def test_a_temporary_refusal_is_retried_and_dead_lettered_after_the_last_attempt(
    books, smtp_server
) -> None:
    donor = new_donor(books, "孙丽", email="sun@example.com")
    smtp_server.inbox.busy = True
    give(books, donor, "50.00")
    for _ in range(3):
        deliver_once(books, settings(smtp_of(smtp_server), attempts=3))
    [row] = queue(books)
    assert row["status"] == "dead" and row["failures"] == 3
    found, _ = delivery.list_deliveries(books, status="dead")
    message, attempts = delivery.message_detail(books, found[0].id)
    assert [a["outcome"] for a in attempts] == ["failed", "failed", "dead"]
    assert "451" in message.last_error
    smtp_server.inbox.busy = False
    delivery.replay(books, message.id, by=OFFICER)
    assert deliver_once(books, settings(smtp_of(smtp_server))).sent == 1
    _, attempts = delivery.message_detail(books, message.id)
    assert [a["outcome"] for a in attempts] == ["failed", "failed", "dead", "replayed", "sent"]
    assert attempts[3]["by"] == OFFICER.name


def test_an_english_reader_reads_english_first_and_a_simplified_reader_simplified(
    books, smtp_server
) -> None:
    english = new_donor(books, "Ada Lee", language="en", email="ada@example.org")
    simplified = new_donor(books, "王芳", email="wang@example.cn")
    give(books, english, "10.00")
    give(books, simplified, "20.00")
    assert deliver_once(books, settings(smtp_of(smtp_server))).sent == 2
    texts = {}
    for _sender, [to], raw in smtp_server.inbox.messages:
        parsed = email.message_from_bytes(raw, policy=policy.default)
        texts[to] = (str(parsed["Subject"]), parsed.get_body(("plain",)).get_content())
    subject, text = texts["ada@example.org"]
    assert text.startswith("Dear Ada Lee") and "感谢您的捐赠" in text
    subject, text = texts["wang@example.cn"]
    assert "捐赠收据" in subject and text.startswith("王芳，您好")
    assert text.index("感谢") < text.index("Thank you")
