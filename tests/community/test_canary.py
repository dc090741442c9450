"""The contact canary: a resident's telephone, given when posting a need or signing up for a
service, appears in no export of the books, no public figure, no audit event and no log line;
only `contact_of` (officers' pages) reads it back."""

from __future__ import annotations

import io
import logging
import zipfile

import pytest
from sqlalchemy import text

from audits.exports import csv_chunks, jsonl_chunks, write_xlsx
from audits.transparency import public_csv, public_figures
from ledger.money import Money
from tests.community.conftest import MODERATOR, OFFICER, TODAY, World
from usecases import community, gifts

CANARY = "canary-13688889999"
NAME = "canary-name-卓玛"


def test_a_contact_is_in_no_export_public_figure_audit_event_or_log(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    need = community.post_need(
        world.books,
        title="长者食堂",
        description="午餐",
        category="elder_care",
        place="510104",
        kind="money",
        goal=Money.parse("100.00", "CNY"),
        contact=f"{NAME} {CANARY}",
        client="c",
    )
    community.publish_need(world.books, need.id, fund=world.fund, by=MODERATOR)
    offer = community.record_offer(
        world.books,
        need.id,
        donor_id=world.donor,
        kind="money",
        amount=Money.parse("100.00", "CNY"),
        by=OFFICER,
    )
    gifts.record_donation(
        world.books,
        by=OFFICER,
        donor_id=world.donor,
        fund=world.fund,
        amount=Money.parse("100.00", "CNY"),
        received_on=TODAY,
        pledge_id=offer.pledge_id,
    )
    service = community.publish_service(
        world.books,
        kind="legal",
        title="法律咨询",
        description="一对一",
        place="510104",
        starts_on=TODAY,
        ends_on=TODAY,
        capacity=3,
        by=OFFICER,
    )
    signup = community.sign_up(world.books, service.id, name=NAME, contact=CANARY, client="c")
    assert community.contact_of(world.books, signup.id) == {"name": NAME, "contact": CANARY}
    with world.books.engine.connect() as conn:
        outputs = {
            "CSV export": b"".join(csv_chunks(conn)).decode(),
            "JSONL export": b"".join(jsonl_chunks(conn)).decode(),
            "public figures": public_csv(public_figures(conn)),
            "audit events": " ".join(
                str(r) for r in conn.execute(text("SELECT * FROM audit_events"))
            ),
            "journal": " ".join(
                str(r) for r in conn.execute(text("SELECT data FROM journal_entries"))
            ),
        }
        xlsx = io.BytesIO()
        write_xlsx(conn, xlsx)
    with zipfile.ZipFile(io.BytesIO(xlsx.getvalue())) as zf:
        outputs["XLSX export"] = " ".join(
            zf.read(n).decode("utf-8", "replace") for n in zf.namelist()
        )
    outputs["log"] = caplog.text
    for where, output in outputs.items():
        assert CANARY not in output and "canary-name" not in output, where
