"""Fixtures of the delivery tests: books with a restricted fund and a project in 炉霍县, a real
SMTP server (aiosmtpd) and a webhook receiver, both on loopback, that keep what they got.

The receiver checks every request with the reference `standardwebhooks` library, so our
signatures are judged by code we did not write.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from delivery.outbox import Schedule
from ledger import services
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork
from tests.api.conftest import (  # noqa: F401 - fixtures shared with the API tests
    admin,
    anonymous,
    app,
    app_config,
    auditor,
    client,
    officer,
    tokens,
)
from usecases import delivery, gifts, spending
from usecases.books import Books, open_books
from usecases.delivery import DeliverySettings
from usecases.unit import Actor

OFFICER = Actor("王会计", ("officer",))
BASE_URL = "https://receipts.example.org"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def books(engine: Engine, tmp_path: Path) -> Books:
    """The use cases' books: restricted fund R with project P in 炉霍县, public base URL set."""
    with UnitOfWork(engine) as uow:
        services.open_fund(uow, code="R", name="医疗援助", restricted=True, purpose="medical")
        services.open_project(
            uow, code="P", name="乡村卫生室设备", fund="R", county="炉霍县", town="新都镇"
        )
        uow.commit()
    return open_books(
        engine,
        tmp_path / "home",
        group_commit_max=1,
        pseudonym_secret=b"k" * 32,
        receipt_settings={"PUBLIC_BASE_URL": BASE_URL},
    )


def new_donor(books: Books, name: str, *, language: str = "zh-Hans", email: str = "") -> str:
    with UnitOfWork(books.engine) as uow:
        donor = services.register_donor(uow, name=name, language=language)
        uow.commit()
    if email:
        delivery.record_donor_email(books, donor.id, email, by=OFFICER)
    return donor.id


def give(books: Books, donor_id: str, amount: str, *, fund: str = "R") -> gifts.Gift:
    return gifts.record_donation(
        books,
        by=OFFICER,
        donor_id=donor_id,
        fund=fund,
        amount=Money.parse(amount, "CNY"),
        received_on=dt.date.today(),
    )


def spend(books: Books, amount: str, *, project: str = "P") -> Any:
    return spending.record_disbursement(
        books,
        by=OFFICER,
        fund="R",
        project=project,
        amount=Money.parse(amount, "CNY"),
        paid_on=dt.date.today(),
        memo="设备采购",
    )


def settings(
    smtp: Any = None, *, attempts: int = 3, base: float = 0.0, lease: float = 60.0
) -> DeliverySettings:
    return DeliverySettings(smtp, Schedule(max_attempts=attempts, base=base, cap=3600), lease)


# -- SMTP on loopback ----------------------------------------------------------------------------
@dataclass
class Inbox:
    """What the SMTP server accepted: (envelope sender, recipients, raw message bytes)."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    busy: bool = False  # answer every RCPT 451 (try again later)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.busy:
            return "451 4.3.0 try again later"
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, inbox)
    finally:
        controller.stop()


# -- a webhook receiver on loopback ---------------------------------------------------------------
@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    payload: dict[str, Any]


@dataclass
class Receiver:
    """A subscriber: keeps every verified request; `fail` answers 500 that many times; `stall`
    holds the first request that long before answering (a worker dies meanwhile)."""

    url: str
    secret: str = ""
    got: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    fail: int = 0
    stall: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> set[str]:
        return {r.headers["webhook-id"] for r in self.got}

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.ids()) < count and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with state.lock:
                stall, state.stall = state.stall, 0.0
                failing = state.fail > 0
                state.fail -= failing
            if stall:
                time.sleep(stall)
            try:
                payload = Webhook(state.secret).verify(body, headers)
            except WebhookVerificationError as err:
                state.refused.append(str(err))
                self.send_response(401)
                self.end_headers()
                return
            if failing:
                self.send_response(500)
                self.end_headers()
                return
            with state.lock:
                state.got.append(Received(headers, body, payload))
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/huiquan"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def subscribe(books: Books, receiver: Receiver, *events: str) -> str:
    made = delivery.create_subscription(
        books, by=Actor("admin", ("admin",)), url=receiver.url, events=list(events)
    )
    assert made.secret is not None and made.secret.startswith("whsec_")
    receiver.secret = made.secret
    return made.id


def payloads(received: list[Received], event_type: str) -> list[dict[str, Any]]:
    return [
        json.loads(r.body)["data"] for r in received if json.loads(r.body)["type"] == event_type
    ]
