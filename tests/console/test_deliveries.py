"""The console's deliveries page: officers see failures, bounces and dead letters with their
reasons, and replay one; auditors may not (the list names donors' addresses)."""

from __future__ import annotations

from flask import Flask

from delivery.outbox import Schedule
from tests.console.conftest import csrf_of, sign_in
from usecases import delivery
from usecases.delivery import DeliverySettings, deliver_once
from usecases.unit import SYSTEM


def _dead_email(app: Flask, seeded) -> str:
    """A donor with an address, a gift, and an email that failed for good (no server)."""
    from delivery.mail import SmtpSettings
    from ledger.money import Money
    from tests.console.conftest import TODAY
    from usecases import gifts

    books = app.extensions["huiquan"].books
    delivery.record_donor_email(books, seeded.donor, "donor@example.com", by=SYSTEM)
    gifts.record_donation(
        books,
        by=SYSTEM,
        donor_id=seeded.donor,
        fund="GEN",
        amount=Money.parse("66.00", "CNY"),
        received_on=TODAY,
    )
    nowhere = SmtpSettings("127.0.0.1", 1, "none", "receipts@example.org", timeout=2)
    deliver_once(books, DeliverySettings(nowhere, Schedule(max_attempts=1, base=0)))
    [dead], _ = delivery.list_deliveries(books, status="dead")
    return dead.id


def test_an_officer_sees_a_dead_letter_with_its_reason_and_replays_it(
    app: Flask, client, users, seeded
) -> None:
    message_id = _dead_email(app, seeded)
    sign_in(client, users["officer"])
    page = client.get("/console/deliveries?status=dead")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "死信" in html and "donor@example.com" in html
    assert "PUBLIC_BASE_URL is not set" in html
    assert "收据已开具" in html and 'href="/console/deliveries"' in html  # the menu names it
    replayed = client.post(
        f"/console/deliveries/{message_id}/replay", data={"csrf_token": csrf_of(page)}
    )
    assert replayed.status_code == 302
    after = client.get(replayed.headers["Location"]).get_data(as_text=True)
    assert "已排队重新发送" in after
    message, history = delivery.message_detail(app.extensions["huiquan"].books, message_id)
    assert message.status == "pending" and history[-1]["by"] == "王经办"


def test_the_page_speaks_english_and_refuses_auditors_and_forged_posts(
    app: Flask, client, users, seeded
) -> None:
    message_id = _dead_email(app, seeded)
    sign_in(client, users["auditor"])
    assert client.get("/console/deliveries").status_code == 403
    client.post("/console/logout", data={"csrf_token": csrf_of(client.get("/console/"))})
    sign_in(client, users["officer"])
    client.get("/lang/en")
    html = client.get("/console/deliveries").get_data(as_text=True)
    assert "Dead letter (1)" in html and "Replay" in html
    forged = client.post(f"/console/deliveries/{message_id}/replay", data={})
    assert forged.status_code == 400
    assert delivery.message_detail(app.extensions["huiquan"].books, message_id)[0].status == "dead"
