"""Pledge acknowledgments as use cases: issued with the pledge, shown by their secret link.

Invariants owned here:
- A pledge's acknowledgment is issued in the pledge's own unit of work (`acknowledge`), so
  its `HQP` serial is gapless like receipts' and rolls back with a failed pledge.
- Its link token is an HMAC of the serial under a key derived from the books' pseudonym secret
  (label `ACK_KEY_LABEL`): an idempotent replay of the pledge shows the very same link, and only
  the token's hash is stored.
- The acknowledgment names the issuer of the pledge's fund at the time it was issued, like a
  receipt (`receipts.issuers.issuer_at`). It is rendered when its link is opened, never on
  the pledge's request.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from ledger.model import Pledge
from ledger.storage.repository import SqlRepository
from ledger.storage.unit_of_work import UnitOfWork
from receipts.acknowledgments import (
    Acknowledgment,
    acknowledgment_of_token,
    issue_acknowledgment,
)
from receipts.issuers import issuer_at
from receipts.model import LANGUAGES, AcknowledgmentView, Language
from receipts.render import render_acknowledgment_html, render_acknowledgment_pdf
from usecases.books import Books

__all__ = [
    "ACK_KEY_LABEL",
    "AcknowledgmentLink",
    "acknowledge",
    "acknowledgment_html",
    "acknowledgment_pdf",
    "open_acknowledgment",
]

ACK_KEY_LABEL = b"huiquan pledge acknowledgment links v1"


@dataclass(frozen=True, slots=True)
class AcknowledgmentLink:
    """An acknowledgment's serial and its secret-link token."""

    serial: str
    token: str

    def urls(self, base: str) -> dict[str, str]:
        """The serial, the page's URL and the PDF's URL under the public base URL `base`."""
        url = f"{base}/r/p/{self.token}"
        return {"serial": self.serial, "url": url, "pdf_url": f"{url}.pdf"}


def _token(books: Books, serial: str) -> str:
    key = hmac.new(books.pseudonym_secret(), ACK_KEY_LABEL, hashlib.sha256).digest()
    mac = hmac.new(key, serial.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:24]).decode("ascii")


def acknowledge(
    uow: UnitOfWork, books: Books, pledge: Pledge, *, pledged_on: dt.date, officer: str
) -> AcknowledgmentLink:
    """Issue (or find) the acknowledgment of a pledge, in the pledge's unit of work."""
    serial = issue_acknowledgment(
        uow,
        pledge,
        pledged_on=pledged_on,
        officer=officer,
        token_for=lambda s: _token(books, s),
    )
    return AcknowledgmentLink(serial, _token(books, serial))


def open_acknowledgment(conn: Connection, token: str) -> Acknowledgment | None:
    """The acknowledgment a link opens, or None."""
    return acknowledgment_of_token(conn, token)


def _view(
    conn: Connection, books: Books, ack: Acknowledgment, lang: str | None
) -> AcknowledgmentView:
    repo = SqlRepository(conn)
    donor = repo.get_donor(ack.donor_id)
    fund = repo.get_fund(ack.fund)
    found = issuer_at(conn, ack.fund, ack.issued_at)
    fallback = books.receipts.fallback_issuer()
    language: Language = "zh-Hans"
    for choice in (lang, donor.language if donor else None):
        if choice in LANGUAGES:
            language = choice  # type: ignore[assignment]
            break
    return AcknowledgmentView(
        serial=ack.serial,
        issuer_name=found.name if found else fallback.name,
        issuer_registration_no=found.registration_no if found else fallback.registration_no,
        issuer_seal_text=(found.seal_text if found else fallback.name),
        issuer_demo=bool(found and found.demo),
        issuer_configured=found is not None or fallback.configured,
        issued_on=dt.date.fromisoformat(ack.issued_at[:10]),
        pledged_on=ack.pledged_on,
        due_on=ack.due_on,
        donor_name=donor.name if donor else "",
        amount_minor=ack.amount_minor,
        currency=ack.currency,
        fund_name=fund.name if fund else ack.fund,
        fund_purpose=fund.purpose if fund else "",
        conditional=ack.conditional,
        signing_officer=ack.officer,
        language=language,
    )


def acknowledgment_html(
    books: Books, conn: Connection, ack: Acknowledgment, lang: str | None, *, pdf_url: str
) -> tuple[str, Language]:
    """The acknowledgment's page in the language asked for (else the donor's)."""
    view = _view(conn, books, ack, lang)
    return render_acknowledgment_html(view, pdf_url=pdf_url), view.language


def acknowledgment_pdf(
    books: Books, conn: Connection, ack: Acknowledgment, lang: str | None
) -> Any:
    """The acknowledgment's one-page PDF/A in the language asked for (else the donor's)."""
    return render_acknowledgment_pdf(_view(conn, books, ack, lang))
