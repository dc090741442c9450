"""Delivery as use cases: events announced in their operation's transaction, sent by a worker.

Invariants owned here:
- Events are emitted here, in the application layer, inside the unit of work of the operation
  they announce (`receipt_issued` from `usecases.receipts.issue_receipt_of`, `gift_spent` from
  `usecases.spending.disbursement_in` and the scholarship payout, `gift_handed_over` from
  `usecases.handover.hand_over`, `need_answered` for the needs board): the outbox rows
  commit with the operation or not at all. Nothing is sent on the request's path.
- Event types: `receipt.issued` (a gift's receipt), `gift.spent` (a disbursement or a
  scholarship payout that a donor's gift paid, by `receipts.allocation.gifts_paying`, one event
  per gift; or goods given in kind handed over), and
  `need.answered` (a need on the needs board was met). Their payloads carry ids, amounts,
  serials, project names and places only: never a beneficiary's pseudonym or personal data,
  never a memo (free text could name someone). A donor's email address goes only into that
  donor's own email message.
- A receipt email goes to the donor's newest address (`donor_contacts`) when the receipt is
  issued; without one, none is queued. It is bilingual (Chinese in the donor's script, then
  English) and carries the receipt's link and its PDF, both made when it is sent. An address
  is kept only if it is one (`is_email_address`, at most `EMAIL_MAX` characters), whichever
  door it came through (`record_donor_email`).
- Once a donor's addresses are erased (`usecases.erasure`) none is queued for them, and a
  message whose recipient was erased is dead-lettered, never sent.
- A webhook subscription's secret is shown once, when made; it is kept sealed (AES-GCM) under
  `$HUIQUAN_HOME/keys/webhook-secrets.key`, so the database alone signs nothing. A disabled
  subscription gets no new events and its queued ones are dead-lettered, not sent.
- The worker (`deliver_once`, `run_loop`) sends due messages at least once
  (`delivery.outbox`); with no SMTP host configured, email waits in the queue untouched.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, select

from delivery import mail, outbox, signing, webhook
from delivery.outbox import Claimed, Message, Schedule, stamp
from ledger.accounts import cash_account
from ledger.entries import EntryKind, PostedEntry
from ledger.errors import InvalidEntry, NotFound
from ledger.idempotency import remember, remembered
from ledger.keyfile import KEY_BYTES, secret_key_file
from ledger.money import format_minor
from ledger.storage.tables import (
    donor_contacts,
    donors,
    journal_entries,
    projects,
    webhook_disables,
    webhook_subscriptions,
)
from ledger.storage.unit_of_work import UnitOfWork, utc_now
from ledger.text import text_problem
from receipts.allocation import gifts_paying
from receipts.views import latest_receipt_of_entry, load_context, preferred_language
from usecases.books import Books
from usecases.unit import Actor, AuditFacts, write

__all__ = [
    "EVENT_TYPES",
    "GIFT_SPENT",
    "NEED_ANSWERED",
    "RECEIPT_ISSUED",
    "DeliverySettings",
    "Pass",
    "Subscription",
    "create_subscription",
    "deliver_once",
    "delivery_settings",
    "disable_subscription",
    "donor_email",
    "gift_spent",
    "is_email_address",
    "list_deliveries",
    "list_subscriptions",
    "message_detail",
    "need_answered",
    "receipt_issued",
    "record_donor_email",
    "replay",
    "run_loop",
]

log = logging.getLogger("huiquan.delivery")

RECEIPT_ISSUED = "receipt.issued"
GIFT_SPENT = "gift.spent"
NEED_ANSWERED = "need.answered"
EVENT_TYPES = (RECEIPT_ISSUED, GIFT_SPENT, NEED_ANSWERED)
#: The longest webhook URL and subscription description (characters).
URL_MAX = 2000
DESCRIPTION_MAX = 200
#: The longest donor's email address (characters; RFC 5321's path less its brackets).
EMAIL_MAX = 254
#: The webhook-secret key's file, under ``$HUIQUAN_HOME/keys/``.
SECRET_KEY_FILE = "webhook-secrets.key"  # noqa: S105 - a file name
_SEAL_CONTEXT = b"huiquan webhook secret v1\n"
_GIFTS = {EntryKind.DONATION.value, EntryKind.PLEDGE_PAYMENT.value}


# -- subscriptions -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Subscription:
    """A webhook subscription; `secret` only in the answer that made it."""

    id: str
    url: str
    events: tuple[str, ...]
    description: str
    created_at: str
    created_by: str
    active: bool
    disabled_at: str | None = None
    secret: str | None = None


def _cipher(books: Books) -> AESGCM:
    key = secret_key_file(books.home / "keys" / SECRET_KEY_FILE)
    if len(key) != KEY_BYTES:
        raise RuntimeError(f"{SECRET_KEY_FILE} does not hold {KEY_BYTES} bytes; refusing it")
    return AESGCM(key)


def _seal(books: Books, subscription_id: str, secret: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = _cipher(books).encrypt(
        nonce, secret.encode(), _SEAL_CONTEXT + subscription_id.encode()
    )
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def _unseal(books: Books, subscription_id: str, sealed: str) -> str | None:
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        plain = _cipher(books).decrypt(raw[:12], raw[12:], _SEAL_CONTEXT + subscription_id.encode())
    except (InvalidTag, ValueError, binascii.Error):
        return None
    return plain.decode("ascii")


def create_subscription(
    books: Books,
    *,
    by: Actor,
    url: str,
    events: tuple[str, ...] | list[str],
    description: str = "",
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Subscription:
    """Subscribe `url` to `events`; the answer carries the new `whsec_` secret, once (a replay
    of `key` answers the same subscription without it: only its sealed form is kept).

    Raises:
        InvalidEntry: an unknown event type, none at all, a URL that is not an http(s) address
            with a host, or a description of several lines or over 200 characters.
        IdempotencyConflict: the key was used with a different request.
    """
    wanted = tuple(dict.fromkeys(events))
    unknown = [e for e in wanted if e not in EVENT_TYPES]
    if not wanted or unknown:
        raise InvalidEntry(f"events must be some of {', '.join(EVENT_TYPES)}", field="events")
    if not _web_address(url):
        raise InvalidEntry("the URL must be an http:// or https:// address", field="url")
    if len(description) > DESCRIPTION_MAX or text_problem(description) is not None:
        raise InvalidEntry(
            f"the description: one line of at most {DESCRIPTION_MAX} characters",
            field="description",
        )
    secret = signing.new_secret()
    subscription_id = outbox.new_id("sub")

    body = {"url": url, "events": list(wanted), "description": description}

    def work(uow: UnitOfWork) -> Subscription:
        earlier = remembered(uow, key, "webhooks", body, books.pseudonym_secret())
        if earlier is not None:
            found = _subscriptions(uow.connection, active_only=False)
            return next(s for s in found if s.id == earlier)
        now = uow.now()
        remember(uow, key, "webhooks", body, subscription_id, books.pseudonym_secret())
        uow.connection.execute(
            webhook_subscriptions.insert().values(
                id=subscription_id,
                url=url,
                events=" ".join(wanted),
                description=description,
                secret_sealed=_seal(books, subscription_id, secret),
                created_at=now,
                created_by=by.name,
            )
        )
        return Subscription(
            subscription_id, url, wanted, description, now, by.name, True, secret=secret
        )

    return write(books, work, audit=audit)


def _web_address(url: str) -> bool:
    """Whether `url` is an http(s) address with a host, as a webhook can be sent to."""
    if len(url) > URL_MAX or text_problem(url) is not None or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host)


def _subscriptions(conn: Connection, *, active_only: bool) -> list[Subscription]:
    s, d = webhook_subscriptions.c, webhook_disables.c
    query = (
        select(s.id, s.url, s.events, s.description, s.created_at, s.created_by, d.disabled_at)
        .outerjoin(webhook_disables, d.subscription_id == s.id)
        .order_by(s.id)
    )
    if active_only:
        query = query.where(d.disabled_at.is_(None))
    return [
        Subscription(
            r.id,
            r.url,
            tuple(r.events.split()),
            r.description,
            r.created_at,
            r.created_by,
            r.disabled_at is None,
            r.disabled_at,
        )
        for r in conn.execute(query)
    ]


def list_subscriptions(books: Books) -> list[Subscription]:
    """Every subscription, active or disabled, oldest first (no secrets)."""
    with books.engine.connect() as conn:
        return _subscriptions(conn, active_only=False)


def disable_subscription(
    books: Books, subscription_id: str, *, by: Actor, audit: AuditFacts | None = None
) -> Subscription:
    """Disable a subscription for good (a disabled one is answered as it is).

    Raises:
        NotFound: no such subscription.
    """

    def work(uow: UnitOfWork) -> Subscription:
        conn = uow.connection
        found = {s.id: s for s in _subscriptions(conn, active_only=False)}.get(subscription_id)
        if found is None:
            raise NotFound(f"there is no webhook subscription {subscription_id!r}")
        if not found.active:
            return found
        conn.execute(
            webhook_disables.insert().values(
                subscription_id=subscription_id, disabled_at=uow.now(), disabled_by=by.name
            )
        )
        return Subscription(
            found.id,
            found.url,
            found.events,
            found.description,
            found.created_at,
            found.created_by,
            False,
            uow.now(),
        )

    return write(books, work, audit=audit)


# -- donors' addresses -------------------------------------------------------------------------
def _email_of(conn: Connection, donor_id: str) -> str:
    c = donor_contacts.c
    found = conn.scalar(
        select(c.email).where(c.donor_id == donor_id).order_by(c.recorded_at.desc()).limit(1)
    )
    return str(found or "")


def donor_email(books: Books, donor_id: str) -> str:
    """The donor's current address ("" when none)."""
    with books.engine.connect() as conn:
        return _email_of(conn, donor_id)


# The address rule is the one the API has always applied (marshmallow's `validate.Email`,
# which a test holds this equal to): a dot-atom or quoted local part, and a domain of labels
# with a top-level name, an IPv4 literal, or `localhost`.
_LETTERS = "\u00a1-\uffff"
_EMAIL_USER = re.compile(
    r"(^[-!#$%&'*+/=?^`{}|~\w]+(\.[-!#$%&'*+/=?^`{}|~\w]+)*\Z"
    r'|^"([\001-\010\013\014\016-\037!#-\[\]-\177]|\\[\001-\011\013\014\016-\177])*"\Z)',
    re.IGNORECASE,
)
_EMAIL_DOMAIN = re.compile(
    rf"(?:[A-Z0-9{_LETTERS}](?:[A-Z0-9{_LETTERS}-]{{0,61}}[A-Z0-9{_LETTERS}])?\.)+"
    rf"(?:[A-Z{_LETTERS}]{{2,6}}|[A-Z0-9{_LETTERS}-]{{2,}})\Z"
    r"|^\[(25[0-5]|2[0-4]\d|[0-1]?\d?\d)(\.(25[0-5]|2[0-4]\d|[0-1]?\d?\d)){3}\]\Z",
    re.IGNORECASE,
)


def is_email_address(text: str) -> bool:
    """Whether `text` is an email address a donor's receipts may be sent to (its form only:
    nothing is looked up)."""
    if "@" not in text:
        return False
    user, domain = text.rsplit("@", 1)
    if not _EMAIL_USER.match(user):
        return False
    return domain == "localhost" or bool(_EMAIL_DOMAIN.match(domain))


def _check_email(email: str) -> None:
    """An address the books keep: "" (none), or an email address of at most `EMAIL_MAX`.

    Raises:
        InvalidEntry: naming the field `email`.
    """
    if not email:
        return
    if len(email) > EMAIL_MAX:
        raise InvalidEntry(f"email is at most {EMAIL_MAX} characters", field="email")
    if text_problem(email) is not None or not is_email_address(email):
        raise InvalidEntry("not an email address", field="email")


def record_donor_email(
    books: Books, donor_id: str, email: str, *, by: Actor, audit: AuditFacts | None = None
) -> str:
    """Record the donor's address from now on ("" withdraws it); the address kept. The same
    address again appends nothing.

    Raises:
        InvalidEntry: not an email address (field `email`), nothing recorded.
        NotFound: no such donor.
    """
    _check_email(email)

    def work(uow: UnitOfWork) -> str:
        if uow.repo.get_donor(donor_id) is None:
            raise NotFound(f"there is no donor {donor_id!r}")
        if _email_of(uow.connection, donor_id) == email:
            return email  # already so: nothing to append
        uow.connection.execute(
            donor_contacts.insert().values(
                donor_id=donor_id, recorded_at=uow.now(), email=email, recorded_by=by.name
            )
        )
        return email

    return write(books, work, audit=audit)


# -- emission, in the operation's unit of work ----------------------------------------------------
def _subscribers(uow: UnitOfWork, event_type: str) -> list[Subscription]:
    memo = uow.memo_of("delivery")
    if "subscriptions" not in memo:  # once per (group-committed) transaction
        memo["subscriptions"] = _subscriptions(uow.connection, active_only=True)
    return [s for s in memo["subscriptions"] if event_type in s.events]


def _announce(uow: UnitOfWork, event_type: str, data: dict[str, Any], event_id: str) -> int:
    """Queue the event for every active subscriber; how many messages."""
    now = uow.now()
    subscribers = _subscribers(uow, event_type)
    for sub in subscribers:
        outbox.enqueue(
            uow.queue_row,
            channel="webhook",
            event_type=event_type,
            event_id=event_id,
            payload={"type": event_type, "timestamp": now, "data": data},
            now=now,
            recipient=sub.url,
            subscription_id=sub.id,
        )
    return len(subscribers)


def _gift_amount(entry: PostedEntry) -> tuple[str, str, str]:
    debit = next(p for p in entry.postings if p.amount > 0)
    return format_minor(debit.amount, debit.currency), debit.currency, debit.fund


def receipt_issued(uow: UnitOfWork, entry: PostedEntry, serial: str) -> None:
    """Announce a gift's new receipt: the donor's email (if they gave an address) and the
    `receipt.issued` webhooks, with the gift's transaction."""
    donor_id = str(entry.data.get("donor_id", ""))
    amount, currency, fund = _gift_amount(entry)
    data = {
        "receipt": serial,
        "entry_id": entry.id,
        "donor_id": donor_id,
        "amount": amount,
        "currency": currency,
        "fund": fund,
        "received_on": entry.occurred_on.isoformat(),
    }
    event_id = outbox.new_id("evt")
    _announce(uow, RECEIPT_ISSUED, data, event_id)
    address = _email_of(uow.connection, donor_id) if donor_id else ""
    if address:
        outbox.enqueue(
            uow.queue_row,
            channel="email",
            event_type=RECEIPT_ISSUED,
            event_id=event_id,
            payload={"type": RECEIPT_ISSUED, "timestamp": uow.now(), "data": data},
            now=uow.now(),
            recipient=address,
        )


#: What spent a gift (`use` in a `gift.spent` event): a disbursement to a project, a scholarship
#: payout, or the hand-over of goods given in kind.
SPENT_ON_PROJECT, SPENT_ON_SCHOLARSHIP, HANDED_OVER = "project", "scholarship", "in_kind_handover"


def gift_spent(uow: UnitOfWork, disbursement: PostedEntry, *, use: str = SPENT_ON_PROJECT) -> int:
    """Announce, with the outflow's transaction, each donor gift it spent (first in, first out,
    as the receipts show it): one `gift.spent` event per gift; how many. `disbursement` is a
    disbursement (`use` "project") or a scholarship payout ("scholarship"): a payout names no
    student, only that a scholarship was paid."""
    if disbursement.id not in uow.posted or not _subscribers(uow, GIFT_SPENT):
        return 0  # an idempotent replay announces nothing again
    cash = next(
        (
            p
            for p in disbursement.postings
            if p.amount < 0 and p.account == cash_account(p.currency)
        ),
        None,
    )
    if cash is None:
        return 0
    line = next((p for p in disbursement.postings if p.project), None)
    uow.flush()  # the disbursement's own rows are queued until then
    conn = uow.connection
    paid = gifts_paying(
        conn, fund=cash.fund, currency=cash.currency, outflow_sequence=disbursement.sequence
    )
    place = _project(conn, line.project) if line is not None else {}
    sent = 0
    for sequence, minor in paid:
        gift = conn.execute(
            select(journal_entries.c.id, journal_entries.c.kind, journal_entries.c.data).where(
                journal_entries.c.sequence == sequence
            )
        ).one_or_none()
        if gift is None or gift.kind not in _GIFTS:
            continue  # a transfer in, not a donor's gift
        amount = format_minor(minor, cash.currency)
        data = _spent(conn, gift.id, json.loads(gift.data), disbursement, use, place)
        data.update(
            amount=amount,
            currency=cash.currency,
            fund=cash.fund,
            summary=_spent_summary(use, amount, cash.currency, place),
        )
        _announce(uow, GIFT_SPENT, data, outbox.new_id("evt"))
        sent += 1
    return sent


def gift_handed_over(uow: UnitOfWork, handover: PostedEntry) -> int:
    """Announce, with the handover's transaction, that goods a donor gave in kind were handed
    over (`gift.spent`, `use` "in_kind_handover", `amount` the part's carrying value): one event,
    or none on a replay. The recipient is not named (it may be a person's pseudonym)."""
    if handover.id not in uow.posted or not _subscribers(uow, GIFT_SPENT):
        return 0
    gift_id = str(handover.data["gift_entry_id"])
    uow.flush()
    conn = uow.connection
    gift = conn.execute(
        select(journal_entries.c.data).where(journal_entries.c.id == gift_id)
    ).scalar_one()
    line = next((p for p in handover.postings if p.project), None)
    place = _project(conn, line.project) if line is not None else {}
    amount = format_minor(int(handover.data["cny_minor"]), "CNY")
    goods = {
        "description": str(handover.data.get("description", "")),
        "quantity": str(handover.data.get("quantity", "")),
        "unit": str(handover.data.get("unit", "")),
    }
    data = _spent(conn, gift_id, json.loads(gift), handover, HANDED_OVER, place)
    fund = next((p.fund for p in handover.postings), "")
    data.update(
        amount=amount,
        currency="CNY",
        fund=fund,
        goods=goods,
        summary=_spent_summary(HANDED_OVER, amount, "CNY", place, goods),
    )
    _announce(uow, GIFT_SPENT, data, outbox.new_id("evt"))
    return 1


def _spent(
    conn: Connection,
    gift_id: str,
    gift_data: Mapping[str, Any],
    outflow: PostedEntry,
    use: str,
    place: Mapping[str, str],
) -> dict[str, Any]:
    return {
        "donor_id": str(gift_data.get("donor_id", "")),
        "gift_entry_id": gift_id,
        "receipt": latest_receipt_of_entry(conn, gift_id),
        "use": use,
        "disbursement_id": outflow.id,
        "spent_on": outflow.occurred_on.isoformat(),
        "project": dict(place),
    }


def _project(conn: Connection, code: str) -> dict[str, str]:
    p = projects.c
    row = conn.execute(select(p.code, p.name, p.county, p.town).where(p.code == code)).one_or_none()
    if row is None:
        return {}
    return {"code": row.code, "name": row.name, "county": row.county, "town": row.town}


def _spent_summary(
    use: str,
    amount: str,
    currency: str,
    place: Mapping[str, str],
    goods: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The event's sentence in Chinese and English (never a person's name)."""
    where_zh = "".join(x for x in (place.get("county", ""), place.get("town", "")) if x)
    where_en = ", ".join(x for x in (place.get("town", ""), place.get("county", "")) if x)
    name = place.get("name", "")
    if use == SPENT_ON_SCHOLARSHIP:
        return {
            "zh-Hans": f"您的善款 {currency} {amount} 已用于一笔助学金，资助学生就学。",
            "en": f"Your gift of {currency} {amount} paid a scholarship: a student's schooling.",
        }
    if use == HANDED_OVER:
        what = goods or {}
        thing, quantity, unit = (what.get(k, "") for k in ("description", "quantity", "unit"))
        count_zh = f"（{quantity}{unit}）" if quantity else ""
        count_en = f" ({' '.join(x for x in (quantity, unit) if x)})" if quantity else ""
        if name:
            return {
                "zh-Hans": f"您捐赠的{thing}{count_zh}已交付{where_zh}，用于「{name}」。",
                "en": f"The {thing}{count_en} you gave was handed over in {where_en}: {name}.",
            }
        return {
            "zh-Hans": f"您捐赠的{thing}{count_zh}已交付受助方。",
            "en": f"The {thing}{count_en} you gave was handed over to its recipient.",
        }
    return {
        "zh-Hans": f"您的善款 {currency} {amount} 已到达{where_zh}，用于「{name}」。",
        "en": f"Your gift of {currency} {amount} reached {where_en}: {name}.",
    }


def need_answered(
    uow: UnitOfWork,
    *,
    need_id: str,
    title: str,
    county: str,
    answered_on: dt.date,
    town: str = "",
    amount: str | None = None,
    currency: str | None = None,
    donor_id: str | None = None,
) -> int:
    """Announce, with the operation's transaction, that a need on the needs board was met.

    The payload: `need_id`, `title` (the need as published, never a person's name),
    `county`, `town`, `answered_on`, and optionally the `amount`/`currency` and `donor_id` of
    the gift that met it. How many messages were queued.
    """
    data: dict[str, Any] = {
        "need_id": need_id,
        "title": title,
        "county": county,
        "town": town,
        "answered_on": answered_on.isoformat(),
    }
    if amount is not None:
        data.update(amount=amount, currency=currency or "CNY")
    if donor_id is not None:
        data["donor_id"] = donor_id
    return _announce(uow, NEED_ANSWERED, data, outbox.new_id("evt"))


# -- officers' views and replays ---------------------------------------------------------------
def list_deliveries(
    books: Books,
    *,
    status: str | None = None,
    channel: str | None = None,
    event_type: str | None = None,
    before: str | None = None,
    limit: int = 50,
) -> tuple[list[Message], dict[str, int]]:
    """Messages newest first (filtered), and how many are in each status."""
    with books.engine.connect() as conn:
        found = outbox.list_messages(
            conn,
            status=status,
            channel=channel,
            event_type=event_type,
            before=before,
            limit=limit,
        )
        return found, outbox.counts(conn)


def message_detail(books: Books, message_id: str) -> tuple[Message, list[dict[str, Any]]]:
    """One message and its attempts.

    Raises:
        NotFound: no such message.
    """
    with books.engine.connect() as conn:
        found = outbox.get_message(conn, message_id)
        if found is None:
            raise NotFound(f"there is no delivery {message_id!r}")
        return found, outbox.attempts_of(conn, message_id)


def replay(books: Books, message_id: str, *, by: Actor, audit: AuditFacts | None = None) -> Message:
    """Send a message again, now, whatever became of it (same id: receivers deduplicate).

    Raises:
        NotFound: no such message.
    """

    def work(uow: UnitOfWork) -> Message:
        found = outbox.replay(uow.connection, message_id, by=by.name, now=uow.now())
        if found is None:
            raise NotFound(f"there is no delivery {message_id!r}")
        return found

    return write(books, work, audit=audit)


# -- the worker --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """SMTP (None: email waits), the retry schedule, a worker's lease and batch, timeouts."""

    smtp: mail.SmtpSettings | None
    schedule: Schedule = field(default_factory=Schedule)
    lease: float = 300.0
    batch: int = 50
    webhook_timeout: float = 10.0


def delivery_settings(env: Mapping[str, str] | None = None) -> DeliverySettings:
    """Read `HUIQUAN_SMTP_*` and `HUIQUAN_DELIVERY_*` (docs/configuration.md).

    Raises:
        ValueError: a setting that is not a number, or an SMTP setting `mail.smtp_settings`
            refuses.
    """
    env = os.environ if env is None else env
    try:
        schedule = Schedule(
            max_attempts=int(env.get("HUIQUAN_DELIVERY_MAX_ATTEMPTS") or 10),
            base=float(env.get("HUIQUAN_DELIVERY_BACKOFF_SECONDS") or 30),
            cap=float(env.get("HUIQUAN_DELIVERY_BACKOFF_MAX_SECONDS") or 6 * 3600),
        )
        lease = float(env.get("HUIQUAN_DELIVERY_LEASE_SECONDS") or 300)
    except ValueError as err:
        raise ValueError("HUIQUAN_DELIVERY_* settings must be numbers") from err
    if schedule.max_attempts < 1 or schedule.base < 0 or lease <= 0:
        raise ValueError("HUIQUAN_DELIVERY_* settings must be positive")
    return DeliverySettings(mail.smtp_settings(env), schedule, lease)


@dataclass
class Pass:
    """What one pass of the worker did."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    bounced: int = 0
    dead: int = 0

    def add(self, status: str) -> None:
        name = {"pending": "failed"}.get(status, status)
        setattr(self, name, getattr(self, name) + 1)


def deliver_once(
    books: Books, settings: DeliverySettings, *, now: dt.datetime | None = None
) -> Pass:
    """Send every due message (up to a batch), recording each attempt; what was done."""
    channels = ("webhook", "email") if settings.smtp is not None else ("webhook",)
    done, seen = Pass(), set[str]()
    while done.claimed < settings.batch:
        # One at a time: a message is leased only while it is being sent, never while it
        # waits behind slow ones in a batch (where another worker could take it again).
        claimed = outbox.claim(
            books.engine,
            now=now or utc_now(),
            lease=settings.lease,
            limit=1,
            channels=channels,
            exclude=seen,  # once per pass, even when a failure is due again at once
        )
        if not claimed:
            break
        held = claimed[0]
        seen.add(held.message.id)
        done.claimed += 1
        outcome, detail = _attempt(books, settings, held)
        status = outbox.record(
            books.engine,
            held,
            outcome,
            detail=detail,
            schedule=settings.schedule,
            now=utc_now(),
        )
        done.add(status)
        if status != "sent":
            log.warning("delivery %s %s: %s", held.message.id, status, detail)
    return done


def run_loop(
    books: Books, settings: DeliverySettings, *, interval: float, stop: threading.Event
) -> None:
    """Deliver until `stop` is set: at once again after a full batch, else every `interval`."""
    while not stop.is_set():
        try:
            done = deliver_once(books, settings)
        except Exception:  # the loop outlives a database hiccup; the next pass tries again
            log.exception("delivery pass failed")
            done = Pass()
        if done.claimed < settings.batch:
            stop.wait(interval)


def _attempt(books: Books, settings: DeliverySettings, held: Claimed) -> tuple[str, str]:
    """Make one attempt: ("sent" | "failed" | "bounced" | "dead", a one-line reason)."""
    message = held.message
    try:
        if message.channel == "email":
            return _email(books, settings, message)
        return _webhook(books, settings, message)
    except (mail.SendFailed, webhook.PostFailed) as err:
        permanent = isinstance(err, mail.SendFailed) and err.permanent
        return ("bounced" if permanent else "failed"), str(err)
    except _Final as err:
        return "dead", str(err)
    except Exception as err:  # a rendering or database failure: retried, shown to officers
        log.exception("delivery %s failed", message.id)
        return "failed", f"{type(err).__name__}: {err}"


class _Final(Exception):
    """Raised when a message can never be sent (its subscription was disabled, its receipt
    voided): dead-lettered at once."""


def _link(books: Books, serial: str) -> dict[str, str]:
    base = books.receipts.base_url
    if not base:
        return {}
    with books.engine.begin() as conn:  # may make the receipt's first showable link
        token = books.receipts.link_token(conn, serial, stamp(utc_now()))
    url = f"{base.rstrip('/')}/r/{token}"
    return {"receipt_url": url, "pdf_url": f"{url}.pdf"}


def _webhook(books: Books, settings: DeliverySettings, message: Message) -> tuple[str, str]:
    s, d = webhook_subscriptions.c, webhook_disables.c
    with books.engine.connect() as conn:
        sub = conn.execute(
            select(s.url, s.secret_sealed, d.disabled_at)
            .outerjoin(webhook_disables, d.subscription_id == s.id)
            .where(s.id == message.subscription_id)
        ).one_or_none()
    if sub is None or sub.disabled_at is not None:
        raise _Final("the subscription was disabled before this was sent")
    secret = _unseal(books, str(message.subscription_id), sub.secret_sealed)
    if secret is None:
        raise _Final("the subscription's secret cannot be opened (webhook-secrets.key changed)")
    payload = message.payload
    if message.event_type == RECEIPT_ISSUED:
        payload = {
            **payload,
            "data": {**payload["data"], **_link(books, payload["data"]["receipt"])},
        }
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    status = webhook.post(
        sub.url, secret, message.id, body.encode(), timeout=settings.webhook_timeout
    )
    return "sent", f"HTTP {status}"


def _email(books: Books, settings: DeliverySettings, message: Message) -> tuple[str, str]:
    smtp = settings.smtp
    assert smtp is not None  # email is claimed only with SMTP configured
    if not message.recipient:
        raise _Final("the address was erased before this was sent")
    serial = str(message.payload["data"]["receipt"])
    base = books.receipts.base_url
    if not base:
        return "failed", "PUBLIC_BASE_URL is not set: the email has no link to give"
    link = _link(books, serial)
    with books.engine.connect() as conn:
        ctx = load_context(conn, serial)
        if ctx is None:
            raise _Final(f"receipt {serial} is not in the books")
        if ctx.status == "void":
            raise _Final(f"receipt {serial} was voided before it was sent")
        language = preferred_language(ctx, None)
        pdf = books.receipts.render_pdf_bytes(conn, ctx, language, base=base)
        issuer = books.receipts.issuer_of(conn, ctx).name
        name = str(conn.scalar(select(donors.c.name).where(donors.c.id == ctx.donor.id)) or "")
    data = message.payload["data"]
    text = _receipt_text(language, name, serial, data, link["receipt_url"], issuer)
    email = mail.compose(
        smtp,
        message_id=message.id,
        to=message.recipient,
        subject=f"{_SUBJECT[_zh(language)]} {serial} · Donation receipt {serial}",
        text=text,
        attachment=(f"{serial}.pdf", pdf),
    )
    mail.send(smtp, email)
    return "sent", "accepted by the SMTP server"


_SUBJECT = {"zh-Hans": "捐赠收据", "zh-Hant": "捐贈收據"}
_BODY = {
    "zh-Hans": (
        "{name}，您好：\n\n感谢您的捐赠。您的捐赠收据 {serial}（{currency} {amount}，"
        "{date}）已开具，PDF 见附件。\n在线查看与核验：{url}\n此链接仅供您本人使用，请勿转发。\n"
    ),
    "zh-Hant": (
        "{name}，您好：\n\n感謝您的捐贈。您的捐贈收據 {serial}（{currency} {amount}，"
        "{date}）已開具，PDF 見附件。\n線上查看與核驗：{url}\n此連結僅供您本人使用，請勿轉發。\n"
    ),
    "en": (
        "Dear {name},\n\nThank you for your gift. Your donation receipt {serial} "
        "({currency} {amount}, {date}) is attached as a PDF.\nView and verify it online: {url}\n"
        "The link is for you alone; please do not forward it.\n"
    ),
}


def _zh(language: str) -> str:
    return "zh-Hant" if language == "zh-Hant" else "zh-Hans"


def _receipt_text(
    language: str, name: str, serial: str, data: Mapping[str, Any], url: str, issuer: str
) -> str:
    """The email's text: Chinese in the donor's script first (English first for an English
    reader), then the other, signed by the receipt's issuer."""
    facts = {
        "name": name,
        "serial": serial,
        "currency": data["currency"],
        "amount": data["amount"],
        "date": data["received_on"],
        "url": url,
    }
    parts = [_BODY[_zh(language)].format(**facts), _BODY["en"].format(**facts)]
    if language == "en":
        parts.reverse()
    return "\n".join(parts) + f"\n— {issuer}\n"
