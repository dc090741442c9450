"""The needs board (云上"荟"泉: 社区出题、统战答卷) and services to choose (资源上云、群众自选).

Invariants owned here:
- Nothing is edited: a need's moderation (published, declined), its public text's edits, its
  report, each offer, delivery, volunteer hour, sign-up and attendance is an appended row.
- A need's status is computed, never typed: pending → (declined | open) → answered (it has an
  offer) → fulfilled (what it asked for is covered by what the books show: its money offers'
  pledges paid, net of reversals; its goods delivered as in-kind gifts; its hours served) →
  reported (a report was appended, allowed only once fulfilled).
- A money offer is a pledge to the need's fund (`usecases.pledges.pledge_in`, so it is in the
  books with its acknowledgment); goods arrive as an in-kind gift with its receipt
  (`usecases.gifts.in_kind_donation_in`); volunteer hours are a register of their own, never
  money in the books (民非制度: contributed services are disclosed, not recognised).
- Contact details (a need's poster, a service's resident) are encrypted with a key of their own
  in `community_contacts`; only `contact_of` (officers' pages) reads them, no public query does.
  They are erased for good by `usecases.erasure` (by hand, and when a need is declined).
- A need and a service are at a known place (`usecases.places`: county, town or village); the
  board's place filter takes a place and everything under it (a child's code starts with its
  parent's).
- A public post is refused past `POSTS_PER_HOUR` from one address (a keyed hash of it is kept,
  not the address); the honeypot is the entrance's job (it never calls `post_need`).
- A sign-up takes the next number of its service under the books' writer lock (every write is
  serialised), and (service, number) is unique, so a service never takes more than its capacity.
- `need_answered` is the one place a need becomes answered (its first offer): what should
  follow that moment (an event row now, a webhook later) goes there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select
from sqlalchemy.engine import Row

from ledger.errors import (
    InvalidEntry,
    LedgerError,
    NotFound,
    UnknownDonor,
    UnknownFund,
    UnknownProject,
)
from ledger.idempotency import remember, remembered
from ledger.money import FUNCTIONAL_CURRENCY, Money
from ledger.storage import queries as sql
from ledger.storage import tables as t
from ledger.storage.db import checkpoint_wal
from ledger.storage.repository import SqlRepository
from ledger.storage.unit_of_work import UnitOfWork
from ledger.text import text_problem
from usecases import delivery, erasure, gifts, pledges
from usecases.books import Books
from usecases.places import load_places
from usecases.unit import Actor, AuditFacts, read, write

__all__ = [
    "CATEGORIES",
    "KINDS",
    "POSTS_PER_HOUR",
    "SERVICE_KINDS",
    "STATUSES",
    "GoodsLine",
    "Need",
    "NeedClosed",
    "Offer",
    "Service",
    "ServiceFull",
    "SignUp",
    "TooManyPosts",
    "board_counts",
    "client_tag",
    "contact_of",
    "decline_need",
    "edit_need",
    "get_need",
    "get_service",
    "list_needs",
    "list_offers",
    "list_services",
    "matching",
    "need_answered",
    "need_photo",
    "person_times_served",
    "pledges_paid",
    "post_need",
    "publish_need",
    "publish_service",
    "record_attendance",
    "record_delivery",
    "record_hours",
    "record_offer",
    "report_need",
    "sign_up",
    "signups_of",
]

CATEGORIES = (
    "elder_care",
    "children",
    "health",
    "education",
    "community_space",
    "village_industry",
)
KINDS = ("money", "goods", "hours")
SERVICE_KINDS = ("clinic", "course", "legal", "other")
STATUSES = ("pending", "declined", "open", "answered", "fulfilled", "reported")
PUBLIC_STATUSES = ("open", "answered", "fulfilled", "reported")
POSTS_PER_HOUR = 5
TITLE_MAX = 200
TEXT_MAX = 100_000
CONTACT_MAX = 500
PHOTO_MAX = 2 * 1024 * 1024
MAX_HOURS = 100_000
MAX_QUANTITY = 1_000_000


class NeedClosed(LedgerError):
    """Raised when a need is not in a state that allows the step (an offer to an unpublished
    need, moderating a decided one, reporting one not yet fulfilled)."""

    code = "need_closed"


class ServiceFull(LedgerError):
    """Raised when a service has as many sign-ups as its capacity."""

    code = "service_full"


class TooManyPosts(LedgerError):
    """Raised when one address posted `POSTS_PER_HOUR` needs within the last hour."""

    code = "too_many_posts"


@dataclass(frozen=True, slots=True)
class GoodsLine:
    item: str
    quantity: int
    unit: str = ""


@dataclass(frozen=True, slots=True)
class Offer:
    id: str
    need_id: str
    donor_id: str
    kind: str
    at: str
    by: str
    note: str
    pledge_id: str | None = None
    amount_minor: int = 0
    paid_minor: int = 0
    goods: tuple[GoodsLine, ...] = ()
    delivered: tuple[GoodsLine, ...] = ()
    hours: int = 0
    hours_served: int = 0

    @property
    def fulfilled(self) -> bool:
        if self.kind == "money":
            return self.amount_minor > 0 and self.paid_minor >= self.amount_minor
        if self.kind == "goods":
            return _covered(self.goods, self.delivered)
        return self.hours_served >= self.hours > 0


@dataclass(frozen=True, slots=True)
class Need:
    """A need as the board shows it: its public text (the latest edit) and computed figures."""

    id: str
    posted_at: str
    category: str
    place: str
    kind: str
    title: str
    description: str
    status: str
    goal_minor: int | None = None
    currency: str | None = None
    goods: tuple[GoodsLine, ...] = ()
    hours: int | None = None
    fund: str | None = None
    project: str | None = None
    reason: str = ""
    offers: tuple[Offer, ...] = ()
    report: str = ""
    reported_at: str = ""
    photos: tuple[str, ...] = ()
    history: tuple[tuple[str, str, str], ...] = field(default=())  # (at, action, by)

    @property
    def pledged_minor(self) -> int:
        return sum(o.amount_minor for o in self.offers if o.kind == "money")

    @property
    def paid_minor(self) -> int:
        return sum(o.paid_minor for o in self.offers if o.kind == "money")

    @property
    def delivered(self) -> tuple[GoodsLine, ...]:
        return _sum_goods([g for o in self.offers for g in o.delivered])

    @property
    def hours_served(self) -> int:
        return sum(o.hours_served for o in self.offers)

    @property
    def public(self) -> bool:
        return self.status in PUBLIC_STATUSES


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    kind: str
    title: str
    description: str
    place: str
    starts_on: dt.date
    ends_on: dt.date
    capacity: int
    signed_up: int
    attended: int
    by: str

    @property
    def places_left(self) -> int:
        return max(0, self.capacity - self.signed_up)


@dataclass(frozen=True, slots=True)
class SignUp:
    id: str
    service_id: str
    number: int
    at: str
    attended: bool


# -- rules on input ----------------------------------------------------------------------------


def _text(
    value: str, name: str, *, limit: int, multiline: bool = False, required: bool = True
) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidEntry(f"{name} is required", field=name)
    if len(value) > limit:
        raise InvalidEntry(f"{name} is at most {limit} characters", field=name)
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise InvalidEntry(f"{name} {problem}", field=name)
    return value


def _choice(value: str, name: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise InvalidEntry(f"{name} must be one of {', '.join(allowed)}", field=name)
    return value


def _goods(lines: Sequence[GoodsLine], name: str = "goods") -> tuple[GoodsLine, ...]:
    if not lines:
        raise InvalidEntry("name at least one item and its quantity", field=name)
    if len(lines) > 50:
        raise InvalidEntry("at most 50 items", field=name)
    checked = []
    for line in lines:
        item = _text(line.item, name, limit=200)
        unit = _text(line.unit, name, limit=20, required=False)
        if not isinstance(line.quantity, int) or not 0 < line.quantity <= MAX_QUANTITY:
            raise InvalidEntry(f"a quantity is a whole number from 1 to {MAX_QUANTITY}", field=name)
        checked.append(GoodsLine(item, line.quantity, unit))
    return tuple(checked)


def _hours(value: int | None, name: str = "hours") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_HOURS:
        raise InvalidEntry(f"hours are a whole number from 1 to {MAX_HOURS}", field=name)
    return value


def _goods_json(lines: Sequence[GoodsLine]) -> str:
    return json.dumps(
        [{"item": g.item, "quantity": g.quantity, "unit": g.unit} for g in lines],
        ensure_ascii=False,
    )


def _goods_of(raw: str | None) -> tuple[GoodsLine, ...]:
    return tuple(
        GoodsLine(g["item"], int(g["quantity"]), g["unit"]) for g in json.loads(raw or "[]")
    )


def _sum_goods(lines: Sequence[GoodsLine]) -> tuple[GoodsLine, ...]:
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for g in lines:
        totals[(g.item, g.unit)] += g.quantity
    return tuple(GoodsLine(item, q, unit) for (item, unit), q in totals.items())


def _covered(wanted: Sequence[GoodsLine], got: Sequence[GoodsLine]) -> bool:
    have = {(g.item, g.unit): g.quantity for g in _sum_goods(got)}
    return bool(wanted) and all(
        have.get((g.item, g.unit), 0) >= g.quantity for g in _sum_goods(wanted)
    )


def client_tag(books: Books, address: str) -> str:
    """The keyed hash of a client address that rate limits count (the address is not kept)."""
    return hmac.new(books.pseudonym_secret(), b"client:" + address.encode(), "sha256").hexdigest()[
        :64
    ]


def _id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def _seal(conn: Connection, owner: str, contact: Mapping[str, str]) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, json.dumps(dict(contact)).encode(), None)
    conn.execute(insert(t.community_contacts).values(owner_id=owner, key=key, ciphertext=sealed))


def _audit(by: Actor, action: str, target: str, audit: AuditFacts | None) -> AuditFacts:
    return audit or AuditFacts(actor=by.name, role=by.role, action=action, target=target)


# -- needs ---------------------------------------------------------------------------------------


def post_need(
    books: Books,
    *,
    title: str,
    description: str,
    category: str,
    place: str,
    kind: str,
    contact: str,
    client: str,
    goal: Money | None = None,
    goods: Sequence[GoodsLine] = (),
    hours: int | None = None,
    by: Actor | None = None,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Need:
    """Post a need (anyone: `by` None is a resident through the public form); it waits for a
    moderator. `client` is `client_tag` of the poster's address; `contact` stays private.

    Raises:
        InvalidEntry: a missing or bad field. TooManyPosts: this address posted too often.
        IdempotencyConflict.
    """
    row = _need_row(title, description, category, place, kind, goal, goods, hours)
    contact = _text(contact, "contact", limit=CONTACT_MAX, multiline=True)
    poster = by or Actor("resident", ())
    body = {**row, "contact": contact}

    def work(uow: UnitOfWork) -> Need:
        earlier = remembered(uow, key, "needs", body, books.pseudonym_secret())
        if earlier is not None:
            return _load_need(uow.connection, earlier)
        since = (uow_now(uow) - dt.timedelta(hours=1)).isoformat()
        recent = uow.connection.scalar(
            select(func.count()).where(t.needs.c.client == client, t.needs.c.posted_at > since)
        )
        if by is None and int(recent or 0) >= POSTS_PER_HOUR:
            raise TooManyPosts("too many needs from this address in the last hour; try later")
        _known_place(uow.connection, row["place"])
        need_id = _id("N")
        uow.connection.execute(
            insert(t.needs).values(
                id=need_id, posted_at=uow.now(), client=client, posted_by=poster.name, **row
            )
        )
        _seal(uow.connection, need_id, {"contact": contact})
        remember(uow, key, "needs", body, need_id, books.pseudonym_secret())
        return _load_need(uow.connection, need_id)

    facts = audit or AuditFacts(actor=poster.name, role=poster.role, action="need.post")
    return write(books, work, key=key, audit=facts)


def uow_now(uow: UnitOfWork) -> dt.datetime:
    return dt.datetime.fromisoformat(uow.now())


def _need_row(
    title: str,
    description: str,
    category: str,
    place: str,
    kind: str,
    goal: Money | None,
    goods: Sequence[GoodsLine],
    hours: int | None,
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "title": _text(title, "title", limit=TITLE_MAX),
        "description": _text(description, "description", limit=TEXT_MAX, multiline=True),
        "category": _choice(category, "category", CATEGORIES),
        "place": _text(place, "place", limit=40),
        "kind": _choice(kind, "kind", KINDS),
        "goal_minor": None,
        "currency": None,
        "goods": None,
        "hours": None,
    }
    if kind == "money":
        if goal is None:
            raise InvalidEntry("a money need names its goal", field="goal")
        if goal.currency != FUNCTIONAL_CURRENCY or goal.minor <= 0:
            raise InvalidEntry("a goal is a positive amount in CNY", field="goal")
        row.update(goal_minor=goal.minor, currency=goal.currency)
    elif kind == "goods":
        row["goods"] = _goods_json(_goods(goods))
    else:
        row["hours"] = _hours(hours)
    return row


def _known_place(conn: Connection, code: str) -> None:
    """Refuse a place code that names no county, town or village (`usecases.places`)."""
    if code not in load_places(conn):
        raise InvalidEntry(f"there is no place {code!r}", field="place")


def _event(conn: Connection, need_id: str, action: str, by: str, now: str, **values: Any) -> None:
    conn.execute(
        insert(t.need_events).values(
            id=_id("NE"), need_id=need_id, at=now, action=action, by=by, **values
        )
    )


def _moderate(
    books: Books,
    need_id: str,
    *,
    by: Actor,
    action: str,
    allowed: Sequence[str],
    values: dict[str, Any],
    audit: AuditFacts | None,
    check: Any = None,
    key: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Need:
    """Append the step `action` to a need in state `allowed`; with a `key`, a retry (same
    body) answers the need as it is instead of refusing the step as already taken."""
    body = {"need": need_id, "action": action, **values, **(extra or {})}

    def work(uow: UnitOfWork) -> Need:
        if remembered(uow, key, "need_steps", body, b"") is not None:
            return _load_need(uow.connection, need_id)
        need = _load_need(uow.connection, need_id)
        if need.status not in allowed:
            raise NeedClosed(f"need {need_id} is {need.status}; it cannot be {action}")
        if check is not None:
            check(uow, need)
        _event(uow.connection, need_id, action, by.name, uow.now(), **values)
        remember(uow, key, "need_steps", body, need_id, b"")
        return _load_need(uow.connection, need_id)

    return write(books, work, key=key, audit=_audit(by, f"need.{action}", need_id, audit))


def publish_need(
    books: Books,
    need_id: str,
    *,
    fund: str,
    project: str | None = None,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Need:
    """Publish a pending need on the board, naming the fund (and project) its money goes to.

    Raises:
        NotFound, NeedClosed (not pending), UnknownFund, UnknownProject.
    """

    def check(uow: UnitOfWork, need: Need) -> None:
        if uow.repo.get_fund(fund) is None:
            raise UnknownFund(f"no fund {fund!r}", field="fund")
        if project:
            found = uow.repo.get_project(project)
            if found is None or found.fund != fund:
                raise UnknownProject(f"no project {project!r} in fund {fund}", field="project")

    return _moderate(
        books,
        need_id,
        by=by,
        action="published",
        allowed=("pending",),
        values={"fund": fund, "project": project or None},
        audit=audit,
        check=check,
        key=key,
    )


def decline_need(
    books: Books,
    need_id: str,
    *,
    reason: str,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Need:
    """Decline a pending need, with a reason (kept, shown to officers only); its poster's
    contact is erased in the same unit of work (`usecases.erasure`, with its own audit event).

    Raises:
        NotFound, NeedClosed (not pending), InvalidEntry (no reason).
    """
    reason = _text(reason, "reason", limit=2000, multiline=True)

    def check(uow: UnitOfWork, need: Need) -> None:
        facts = AuditFacts(
            actor=by.name,
            role=by.role,
            action="need_contact.erase",
            target=need.id,
            request_id=audit.request_id if audit else "",
            client=audit.client if audit else "",
        )
        erasure.erase_in(
            uow, "need_contact", need.id, reason=erasure.NEED_DECLINED, by=by, audit=facts
        )

    declined = _moderate(
        books,
        need_id,
        by=by,
        action="declined",
        allowed=("pending",),
        values={"reason": reason},
        audit=audit,
        check=check,
        key=key,
    )
    checkpoint_wal(books.engine)  # SQLite: the erased contact's old page leaves the log now
    return declined


def edit_need(
    books: Books,
    need_id: str,
    *,
    title: str,
    description: str,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Need:
    """Replace a need's public text (an appended edit; the poster's words are kept).

    Raises:
        NotFound, NeedClosed (declined), InvalidEntry.
    """
    values = {
        "title": _text(title, "title", limit=TITLE_MAX),
        "description": _text(description, "description", limit=TEXT_MAX, multiline=True),
    }
    allowed = tuple(s for s in STATUSES if s != "declined")
    return _moderate(
        books,
        need_id,
        by=by,
        action="edited",
        allowed=allowed,
        values=values,
        audit=audit,
        key=key,
    )


def report_need(
    books: Books,
    need_id: str,
    *,
    report: str,
    photos: Sequence[bytes] = (),
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Need:
    """Report on a fulfilled need: a short text and up to four photos (JPEG or PNG).

    Raises:
        NotFound, NeedClosed (not fulfilled), InvalidEntry (no text, a photo too large or not
        a JPEG or PNG).
    """
    report = _text(report, "report", limit=5000, multiline=True)
    if len(photos) > 4:
        raise InvalidEntry("at most four photos", field="photos")
    kinds = [_photo_type(p) for p in photos]

    def check(uow: UnitOfWork, need: Need) -> None:
        for content, media in zip(photos, kinds, strict=True):
            uow.connection.execute(
                insert(t.need_photos).values(
                    id=_id("PH"),
                    need_id=need_id,
                    media_type=media,
                    sha256=hashlib.sha256(content).hexdigest(),
                    content=content,
                    at=uow.now(),
                )
            )

    return _moderate(
        books,
        need_id,
        by=by,
        action="reported",
        allowed=("fulfilled",),
        values={"reason": report},
        audit=audit,
        check=check,
        key=key,
        extra={"photos": [hashlib.sha256(p).hexdigest() for p in photos]},
    )


def _photo_type(content: bytes) -> str:
    if len(content) > PHOTO_MAX:
        raise InvalidEntry("a photo is at most 2 MB", field="photos")
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    raise InvalidEntry("a photo is a JPEG or PNG image", field="photos")


def need_photo(books: Books, photo_id: str) -> tuple[str, bytes, str] | None:
    """A published need's photo: (media type, bytes, need id), or None."""

    def work(repo: SqlRepository) -> tuple[str, bytes, str] | None:
        row = repo.conn.execute(select(t.need_photos).where(t.need_photos.c.id == photo_id)).first()
        if row is None:
            return None
        return row.media_type, bytes(row.content), row.need_id

    return read(books, work)


# -- offers --------------------------------------------------------------------------------------


def record_offer(
    books: Books,
    need_id: str,
    *,
    donor_id: str,
    kind: str,
    amount: Money | None = None,
    goods: Sequence[GoodsLine] = (),
    hours: int | None = None,
    note: str = "",
    pledged_on: dt.date | None = None,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Offer:
    """Record a member's or donor's answer to a published need (`pledged_on`: the day a money
    offer was pledged, default the day its key was first used).

    Money is an unconditional pledge to the need's fund (in the books, acknowledged); goods are
    a promise of quantities, in the books when they arrive (`record_delivery`); hours are
    promised volunteer time (`record_hours`). The first offer makes the need answered
    (`need_answered`).

    Raises:
        NotFound, NeedClosed (not published, or reported), InvalidEntry, UnknownDonor,
        PeriodClosed, IdempotencyConflict.
    """
    kind = _choice(kind, "kind", KINDS)
    note = _text(note, "note", limit=2000, multiline=True, required=False)
    lines = _goods(goods) if kind == "goods" else ()
    counted = _hours(hours) if kind == "hours" else None
    if kind == "money" and (amount is None or amount.minor <= 0):
        raise InvalidEntry("a money offer names a positive amount", field="amount")
    body = {
        "need": need_id,
        "donor": donor_id,
        "kind": kind,
        "amount": amount,
        "goods": _goods_json(lines),
        "hours": counted,
        "note": note,
    }

    def work(uow: UnitOfWork) -> Offer:
        earlier = remembered(uow, key, "offers", body, b"")
        if earlier is not None:
            return _offers(uow.connection, [need_id])[need_id][earlier]
        need = _load_need(uow.connection, need_id)
        if need.status not in ("open", "answered", "fulfilled"):
            raise NeedClosed(f"need {need_id} is {need.status}; it takes no offers")
        if kind != need.kind:
            raise InvalidEntry(f"this need asks for {need.kind}", field="kind")
        if uow.repo.get_donor(donor_id) is None:
            raise UnknownDonor(f"no donor {donor_id!r}", field="donor_id")
        pledge_id = None
        if kind == "money":
            assert amount is not None and need.fund is not None
            memo = f"need {need_id}" + (f" · project {need.project}" if need.project else "")
            made = pledges.pledge_in(
                uow,
                by=by,
                books=books,
                pledged_on=pledged_on,
                donor_id=donor_id,
                fund=need.fund,
                amount=amount,
                memo=memo,
            )
            pledge_id = made.pledge.id
        offer_id = _id("O")
        uow.connection.execute(
            insert(t.offers).values(
                id=offer_id,
                need_id=need_id,
                donor_id=donor_id,
                kind=kind,
                pledge_id=pledge_id,
                goods=_goods_json(lines) if lines else None,
                hours=counted,
                note=note,
                at=uow.now(),
                by=by.name,
            )
        )
        if not need.offers:
            need_answered(
                uow,
                need,
                offer_id,
                by=by.name,
                donor_id=donor_id,
                amount=amount if kind == "money" else None,
            )
        remember(uow, key, "offers", body, offer_id, b"")
        return _offers(uow.connection, [need_id])[need_id][offer_id]

    return write(books, work, key=key, audit=_audit(by, "offer.record", need_id, audit))


def need_answered(
    uow: UnitOfWork,
    need: Need,
    offer_id: str,
    *,
    by: str,
    donor_id: str,
    amount: Money | None = None,
) -> None:
    """The need got its first offer (open → answered), in the offer's unit of work.

    The one place that moment is known: the board's history records it, and the
    `need.answered` event (webhooks) is queued in the same transaction, naming the need as
    published and its county and town (never the poster or their contact).
    """
    _event(uow.connection, need.id, "answered", by, uow.now(), reason=offer_id)
    known = load_places(uow.connection)
    chain: dict[str, str] = {}
    code = need.place
    while code in known:
        chain.setdefault(known[code].kind, known[code].name)
        code = known[code].parent
    delivery.need_answered(
        uow,
        need_id=need.id,
        title=need.title,
        county=chain.get("county", ""),
        town=chain.get("town", ""),
        answered_on=uow_now(uow).date(),
        amount=amount.to_decimal_string() if amount is not None else None,
        currency=amount.currency if amount is not None else None,
        donor_id=donor_id,
    )


def record_delivery(
    books: Books,
    offer_id: str,
    *,
    goods: Sequence[GoodsLine],
    fair_value: Money,
    valuation_basis: str,
    received_on: dt.date,
    evidence: str = "",
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Offer:
    """Goods of a goods offer arrived: an in-kind gift to the need's fund (its entry and
    receipt), and the quantities it brought, against the offer.

    Raises:
        NotFound, NeedClosed, InvalidEntry, PeriodClosed, IdempotencyConflict.
    """
    lines = _goods(goods)

    def work(uow: UnitOfWork) -> Offer:
        offer, need = _offer_and_need(uow.connection, offer_id)
        if offer.kind != "goods":
            raise InvalidEntry("only a goods offer has deliveries", field="offer")
        description = "; ".join(f"{g.item} {g.quantity}{g.unit}" for g in lines)[:500]
        assert need.fund is not None
        gift = gifts.in_kind_donation_in(
            uow,
            books,
            by=by,
            key=key,
            donor_id=offer.donor_id,
            fund=need.fund,
            description=description,
            quantity=str(sum(g.quantity for g in lines)),
            fair_value=fair_value,
            valuation_basis=valuation_basis,
            received_on=received_on,
            evidence=evidence,
            memo=f"need {need.id} · offer {offer_id}",
        )
        exists = uow.connection.scalar(
            select(t.offer_deliveries.c.id).where(t.offer_deliveries.c.entry_id == gift.entry.id)
        )
        if exists is None:
            uow.connection.execute(
                insert(t.offer_deliveries).values(
                    id=_id("OD"),
                    offer_id=offer_id,
                    entry_id=gift.entry.id,
                    goods=_goods_json(lines),
                    at=uow.now(),
                    by=by.name,
                )
            )
        return _offers(uow.connection, [need.id])[need.id][offer_id]

    return write(books, work, key=key, audit=_audit(by, "offer.delivery", offer_id, audit))


def record_hours(
    books: Books,
    offer_id: str,
    *,
    hours: int,
    served_on: dt.date,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Offer:
    """Volunteer hours served under an hours offer (a register, not money in the books).

    Raises:
        NotFound, NeedClosed, InvalidEntry.
    """
    counted = _hours(hours)

    body = {"offer": offer_id, "hours": counted, "served_on": served_on}

    def work(uow: UnitOfWork) -> Offer:
        offer, need = _offer_and_need(uow.connection, offer_id)
        if remembered(uow, key, "volunteer_hours", body, b"") is not None:
            return offer
        if offer.kind != "hours":
            raise InvalidEntry("only an hours offer has volunteer hours", field="offer")
        hours_id = _id("VH")
        uow.connection.execute(
            insert(t.volunteer_hours).values(
                id=hours_id,
                offer_id=offer_id,
                served_on=served_on.isoformat(),
                hours=counted,
                at=uow.now(),
                by=by.name,
            )
        )
        remember(uow, key, "volunteer_hours", body, hours_id, b"")
        return _offers(uow.connection, [need.id])[need.id][offer_id]

    return write(books, work, key=key, audit=_audit(by, "offer.hours", offer_id, audit))


def _offer_and_need(conn: Connection, offer_id: str) -> tuple[Offer, Need]:
    need_id = conn.scalar(select(t.offers.c.need_id).where(t.offers.c.id == offer_id))
    if need_id is None:
        raise NotFound(f"no offer {offer_id!r}", field="offer")
    need = _load_need(conn, need_id)
    if need.status not in ("answered", "fulfilled"):
        raise NeedClosed(f"need {need_id} is {need.status}")
    return next(o for o in need.offers if o.id == offer_id), need


# -- reading needs -------------------------------------------------------------------------------


def _offers(conn: Connection, need_ids: Sequence[str]) -> dict[str, dict[str, Offer]]:
    """Each need's offers with what the books and registers show against them."""
    found: dict[str, dict[str, Offer]] = {n: {} for n in need_ids}
    if not need_ids:
        return found
    rows = list(
        conn.execute(
            select(t.offers).where(t.offers.c.need_id.in_(need_ids)).order_by(t.offers.c.at)
        )
    )
    offer_ids = [r.id for r in rows]
    pledge_ids = [r.pledge_id for r in rows if r.pledge_id]
    paid = pledges_paid(conn, pledge_ids)
    delivered: dict[str, list[GoodsLine]] = defaultdict(list)
    hours: dict[str, int] = defaultdict(int)
    if offer_ids:
        reversed_entries = set(
            sql.reversals_of(
                conn,
                list(
                    conn.scalars(
                        select(t.offer_deliveries.c.entry_id).where(
                            t.offer_deliveries.c.offer_id.in_(offer_ids)
                        )
                    )
                ),
            )
        )
        for d in conn.execute(
            select(t.offer_deliveries).where(t.offer_deliveries.c.offer_id.in_(offer_ids))
        ):
            if d.entry_id not in reversed_entries:
                delivered[d.offer_id].extend(_goods_of(d.goods))
        for h in conn.execute(
            select(t.volunteer_hours.c.offer_id, func.sum(t.volunteer_hours.c.hours))
            .where(t.volunteer_hours.c.offer_id.in_(offer_ids))
            .group_by(t.volunteer_hours.c.offer_id)
        ):
            hours[h[0]] = int(h[1] or 0)
    for r in rows:
        amount, got = paid.get(r.pledge_id or "", (0, 0))
        found[r.need_id][r.id] = Offer(
            r.id,
            r.need_id,
            r.donor_id,
            r.kind,
            r.at,
            r.by,
            r.note,
            r.pledge_id,
            amount,
            got,
            _goods_of(r.goods),
            _sum_goods(delivered[r.id]),
            int(r.hours or 0),
            hours[r.id],
        )
    return found


def pledges_paid(conn: Connection, pledge_ids: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Per pledge: (amount, paid), paid being what it posted to 1122 less its balance there
    (payments net of their reversals); a reversed pledge counts nothing."""
    if not pledge_ids:
        return {}
    pl, b = t.pledges.c, t.balances.c
    rows = list(conn.execute(select(t.pledges).where(pl.id.in_(pledge_ids))))
    balances = {
        r.ref: int(r.amount)
        for r in conn.execute(
            select(b.ref, b.amount).where(
                b.account == "1122", b.project == "", b.ref.in_(pledge_ids)
            )
        )
    }
    reversed_by = sql.reversals_of(conn, [r.entry_id for r in rows if r.entry_id])
    result = {}
    for r in rows:
        if r.conditional or r.entry_id in reversed_by:
            result[r.id] = (0, 0)
            continue
        amount = int(r.amount_minor)
        result[r.id] = (amount, amount - balances.get(r.id, 0))
    return result


def _status(
    published: bool, declined: bool, reported: bool, offers: Sequence[Offer], fulfilled: bool
) -> str:
    if declined:
        return "declined"
    if not published:
        return "pending"
    if reported:
        return "reported"
    if fulfilled:
        return "fulfilled"
    return "answered" if offers else "open"


def _build(
    row: Row[Any], events: Sequence[Row[Any]], offers: Mapping[str, Offer], photos: Sequence[str]
) -> Need:
    title, description = row.title, row.description
    fund = project = None
    reason = report = reported_at = ""
    published = declined = reported = False
    for e in events:
        if e.action == "published":
            published, fund, project = True, e.fund, e.project
        elif e.action == "declined":
            declined, reason = True, e.reason or ""
        elif e.action == "edited":
            title, description = e.title, e.description
        elif e.action == "reported":
            reported, report, reported_at = True, e.reason or "", e.at
    answers = tuple(offers.values())
    goods = _goods_of(row.goods)
    if row.kind == "money":
        fulfilled = sum(o.paid_minor for o in answers) >= int(row.goal_minor or 0) > 0
    elif row.kind == "goods":
        fulfilled = _covered(goods, [g for o in answers for g in o.delivered])
    else:
        fulfilled = sum(o.hours_served for o in answers) >= int(row.hours or 0) > 0
    return Need(
        id=row.id,
        posted_at=row.posted_at,
        category=row.category,
        place=row.place,
        kind=row.kind,
        title=title,
        description=description,
        status=_status(published, declined, reported, answers, fulfilled),
        goal_minor=row.goal_minor,
        currency=row.currency,
        goods=goods,
        hours=row.hours,
        fund=fund,
        project=project,
        reason=reason,
        offers=answers,
        report=report,
        reported_at=reported_at,
        photos=tuple(photos),
        history=tuple((e.at, e.action, e.by) for e in events),
    )


def _needs(conn: Connection, need_ids: Sequence[str] | None = None) -> list[Need]:
    query = select(t.needs).order_by(t.needs.c.posted_at.desc(), t.needs.c.id)
    if need_ids is not None:
        query = query.where(t.needs.c.id.in_(need_ids))
    rows = list(conn.execute(query))
    ids = [r.id for r in rows]
    events: dict[str, list[Row[Any]]] = defaultdict(list)
    photos: dict[str, list[str]] = defaultdict(list)
    if ids:
        for e in conn.execute(
            select(t.need_events)
            .where(t.need_events.c.need_id.in_(ids))
            .order_by(t.need_events.c.at, t.need_events.c.id)
        ):
            events[e.need_id].append(e)
        for p in conn.execute(
            select(t.need_photos.c.id, t.need_photos.c.need_id)
            .where(t.need_photos.c.need_id.in_(ids))
            .order_by(t.need_photos.c.at, t.need_photos.c.id)
        ):
            photos[p.need_id].append(p.id)
    offers = _offers(conn, ids)
    return [_build(r, events[r.id], offers[r.id], photos[r.id]) for r in rows]


def _load_need(conn: Connection, need_id: str) -> Need:
    found = _needs(conn, [need_id])
    if not found:
        raise NotFound(f"no need {need_id!r}", field="need")
    return found[0]


def get_need(books: Books, need_id: str) -> Need:
    """One need, with its offers and figures. Raises: NotFound."""
    return read(books, lambda repo: _load_need(repo.conn, need_id))


def list_needs(
    books: Books,
    *,
    status: str | None = None,
    category: str | None = None,
    place: str | None = None,
    public: bool = True,
) -> list[Need]:
    """Needs, newest first; `public` keeps to those on the board (published, not declined)."""
    found = read(books, lambda repo: _needs(repo.conn))
    return matching(found, status=status, category=category, place=place, public=public)


def matching(
    needs: Sequence[Need],
    *,
    status: str | None = None,
    category: str | None = None,
    place: str | None = None,
    public: bool = True,
) -> list[Need]:
    """Those of `needs` in `status` and `category` at `place` or a place under it (a child's
    code starts with its parent's); `public`: only those on the board."""
    return [
        n
        for n in needs
        if (not public or n.public)
        and (status is None or n.status == status)
        and (category is None or n.category == category)
        and (place is None or n.place.startswith(place))
    ]


def board_counts(needs: Sequence[Need]) -> dict[str, int]:
    """How many needs are in each status (of those given)."""
    counts = dict.fromkeys(STATUSES, 0)
    for n in needs:
        counts[n.status] += 1
    return counts


def list_offers(books: Books, *, need_id: str | None = None) -> list[Offer]:
    """Every offer (of one need), oldest first."""

    def work(repo: SqlRepository) -> list[Offer]:
        query = select(t.offers.c.need_id).distinct()
        if need_id:
            query = query.where(t.offers.c.need_id == need_id)
        ids = list(repo.conn.scalars(query))
        return sorted(
            (o for per in _offers(repo.conn, ids).values() for o in per.values()),
            key=lambda o: (o.at, o.id),
        )

    return read(books, work)


def contact_of(books: Books, owner_id: str) -> dict[str, str] | None:
    """The private contact of a need's poster or a sign-up (officers' pages only); None once
    erased (`usecases.erasure.erasure_of` says when, by whom and why)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    def work(repo: SqlRepository) -> dict[str, str] | None:
        row = repo.conn.execute(
            select(t.community_contacts).where(t.community_contacts.c.owner_id == owner_id)
        ).first()
        if row is None:
            return None
        sealed = bytes(row.ciphertext)
        plain = AESGCM(bytes(row.key)).decrypt(sealed[:12], sealed[12:], None)
        return dict(json.loads(plain))

    return read(books, work)


# -- services to choose --------------------------------------------------------------------------


def publish_service(
    books: Books,
    *,
    kind: str,
    title: str,
    description: str,
    place: str,
    starts_on: dt.date,
    ends_on: dt.date,
    capacity: int,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Service:
    """Publish a service residents may sign up for (a clinic day, a course, legal advice).

    Raises:
        InvalidEntry: a bad field, an end before the start, a capacity outside 1..10000.
    """
    row = {
        "kind": _choice(kind, "kind", SERVICE_KINDS),
        "title": _text(title, "title", limit=TITLE_MAX),
        "description": _text(description, "description", limit=5000, multiline=True),
        "place": _text(place, "place", limit=40),
        "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat(),
        "capacity": capacity,
    }
    if ends_on < starts_on:
        raise InvalidEntry("a service ends on or after its start", field="ends_on")
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 < capacity <= 10_000:
        raise InvalidEntry("capacity is a whole number from 1 to 10000", field="capacity")

    def work(uow: UnitOfWork) -> Service:
        earlier = remembered(uow, key, "services", row, b"")
        if earlier is not None:
            return _services(uow.connection, earlier)[0]
        _known_place(uow.connection, str(row["place"]))
        service_id = _id("S")
        uow.connection.execute(
            insert(t.services_offered).values(id=service_id, at=uow.now(), by=by.name, **row)
        )
        remember(uow, key, "services", row, service_id, b"")
        return _services(uow.connection, service_id)[0]

    return write(books, work, key=key, audit=_audit(by, "service.publish", title[:100], audit))


def _services(conn: Connection, service_id: str | None = None) -> list[Service]:
    s = t.services_offered.c
    signed = select(func.count()).where(t.service_signups.c.service_id == s.id).scalar_subquery()
    attended = (
        select(func.count()).where(t.service_attendance.c.service_id == s.id).scalar_subquery()
    )
    query = select(t.services_offered, signed.label("signed"), attended.label("attended"))
    if service_id is not None:
        query = query.where(s.id == service_id)
    return [
        Service(
            r.id,
            r.kind,
            r.title,
            r.description,
            r.place,
            dt.date.fromisoformat(r.starts_on),
            dt.date.fromisoformat(r.ends_on),
            int(r.capacity),
            int(r.signed),
            int(r.attended),
            r.by,
        )
        for r in conn.execute(query.order_by(s.starts_on, s.id))
    ]


def list_services(
    books: Books, *, kind: str | None = None, place: str | None = None
) -> list[Service]:
    """Services by start date, with sign-ups and attendance counted."""
    found = read(books, lambda repo: _services(repo.conn))
    return [
        s
        for s in found
        if (kind is None or s.kind == kind)
        and (place is None or s.place == place or s.place.startswith(place))
    ]


def get_service(books: Books, service_id: str) -> Service:
    """One service. Raises: NotFound."""
    found = read(books, lambda repo: _services(repo.conn, service_id))
    if not found:
        raise NotFound(f"no service {service_id!r}", field="service")
    return found[0]


def sign_up(
    books: Books,
    service_id: str,
    *,
    name: str,
    contact: str,
    client: str,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> SignUp:
    """A resident signs up for a service (name and contact kept private).

    Raises:
        NotFound, ServiceFull, NeedClosed (the service has ended), InvalidEntry.
    """
    name = _text(name, "name", limit=100)
    contact = _text(contact, "contact", limit=CONTACT_MAX)
    body = {"service": service_id, "name": name, "contact": contact}

    def work(uow: UnitOfWork) -> SignUp:
        earlier = remembered(uow, key, "signups", body, books.pseudonym_secret())
        if earlier is not None:
            return next(s for s in _signups(uow.connection, service_id) if s.id == earlier)
        found = _services(uow.connection, service_id)
        if not found:
            raise NotFound(f"no service {service_id!r}", field="service")
        service = found[0]
        if service.ends_on < uow_now(uow).date():
            raise NeedClosed("this service has ended", field="service")
        if service.signed_up >= service.capacity:
            raise ServiceFull("this service is full", field="service")
        signup_id = _id("SU")
        uow.connection.execute(
            insert(t.service_signups).values(
                id=signup_id,
                service_id=service_id,
                number=service.signed_up + 1,
                client=client,
                at=uow.now(),
            )
        )
        _seal(uow.connection, signup_id, {"name": name, "contact": contact})
        remember(uow, key, "signups", body, signup_id, books.pseudonym_secret())
        return SignUp(signup_id, service_id, service.signed_up + 1, uow.now(), False)

    facts = audit or AuditFacts(actor="resident", role="", action="service.sign_up")
    return write(books, work, key=key, audit=facts)


def _signups(conn: Connection, service_id: str) -> list[SignUp]:
    su, at = t.service_signups.c, t.service_attendance.c
    attended = set(conn.scalars(select(at.signup_id).where(at.service_id == service_id)))
    return [
        SignUp(r.id, r.service_id, int(r.number), r.at, r.id in attended)
        for r in conn.execute(
            select(t.service_signups).where(su.service_id == service_id).order_by(su.number)
        )
    ]


def signups_of(books: Books, service_id: str) -> list[SignUp]:
    """A service's sign-ups in order (without their contacts: `contact_of`)."""
    return read(books, lambda repo: _signups(repo.conn, service_id))


def record_attendance(
    books: Books, signup_id: str, *, by: Actor, audit: AuditFacts | None = None
) -> SignUp:
    """Mark a sign-up as attended (once; a second mark answers the first).

    Raises:
        NotFound.
    """

    def work(uow: UnitOfWork) -> SignUp:
        row = uow.connection.execute(
            select(t.service_signups).where(t.service_signups.c.id == signup_id)
        ).first()
        if row is None:
            raise NotFound(f"no sign-up {signup_id!r}", field="signup")
        done = uow.connection.scalar(
            select(t.service_attendance.c.signup_id).where(
                t.service_attendance.c.signup_id == signup_id
            )
        )
        if done is None:
            uow.connection.execute(
                insert(t.service_attendance).values(
                    signup_id=signup_id, service_id=row.service_id, at=uow.now(), by=by.name
                )
            )
        return SignUp(row.id, row.service_id, int(row.number), row.at, True)

    return write(books, work, audit=_audit(by, "service.attendance", signup_id, audit))


def person_times_served(books: Books) -> int:
    """Person-times served: every attendance recorded, across services."""
    return int(
        read(
            books,
            lambda repo: repo.conn.scalar(select(func.count()).select_from(t.service_attendance)),
        )
        or 0
    )
