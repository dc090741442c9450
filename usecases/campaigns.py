"""Campaigns (众筹): drives with a goal under a fund, their gifts, matchers, updates and photos.

Invariants owned here:
- What a campaign raised is read from the journal, never kept as a counter: the gifts whose
  entry data names the campaign (`"campaign": slug`, hashed in the chain), less their
  reversals, valued in CNY by their cash lines. A matcher's gifts are tagged the same way and
  also name the gift they match (`"matches": entry id`).
- A gift may name a campaign only if the campaign is not a draft, takes gifts to that fund and
  runs on the gift's date (`NotFound` field `campaign` otherwise: nothing is recorded).
- A matcher matches each eligible gift (one tagged to the campaign, from another donor, in a
  currency worth CNY) at `ratio_num/ratio_den` of its CNY value, rounded down, in the same
  unit of work: a payment of the matcher's unconditional pledge with its own entry and
  receipt. The match never takes the matched total beyond the cap nor the pledge beyond its
  amount. The total matched so far is read from the journal inside the gift's unit of work,
  which holds the books' writer lock, so concurrent gifts cannot overshoot the cap.
- A replayed gift (same idempotency key) posts no second match: the match of an entry is found
  by its `matches` tag.
- A campaign that ends short of its goal keeps its gifts in its fund: nothing is moved.
- Photos are accepted by their bytes (PNG, JPEG or WebP; at most `PHOTO_LIMIT`), whatever the
  file's name or declared type says.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from ledger import services
from ledger.accounts import PROGRAM_EXPENSES
from ledger.campaigns import (
    Matcher,
    check_campaign_gift,
    gift_values,
    match_gift,
    matcher_of,
)
from ledger.entries import PostedEntry
from ledger.errors import AlreadyExists, InvalidEntry, NotFound
from ledger.money import FUNCTIONAL_CURRENCY, Money
from ledger.storage.tables import (
    acknowledgments,
    campaign_matchers,
    campaign_updates,
    campaigns,
    donors,
    journal_entries,
    postings,
    programme_photos,
)
from ledger.storage.unit_of_work import UnitOfWork, uuid7_text
from ledger.text import text_problem
from usecases.books import Books
from usecases.places import load_places, project_places_of
from usecases.places import path_of as _path
from usecases.receipts import issue_receipt_of
from usecases.reference import _once
from usecases.unit import Actor, AuditFacts, read, write

__all__ = [
    "PHOTO_LIMIT",
    "STATUSES",
    "UPDATE_PHOTOS",
    "Campaign",
    "Matcher",
    "Overview",
    "Payment",
    "Progress",
    "TaggedGift",
    "campaign_gift_in",
    "create_campaign",
    "edit_campaign",
    "get_campaign",
    "list_campaigns",
    "list_campaigns_in",
    "load_campaign",
    "matcher_of",
    "overview",
    "photo",
    "post_update",
    "progress_of",
    "set_matcher",
    "spending_of",
    "store_photo",
    "updates_of",
]

STATUSES = ("draft", "open", "closed")
PHOTO_LIMIT = 5 * 1024 * 1024
#: How many photos one update may show.
UPDATE_PHOTOS = 9
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,59}")
_EDITABLE = ("title_zh", "title_en", "story_zh", "story_en", "cover", "ends_on", "status")


@dataclass(frozen=True, slots=True)
class Campaign:
    """A campaign as stored: what it is for and its public text (never what it raised)."""

    slug: str
    fund: str
    project: str
    place: str
    title_zh: str
    title_en: str
    story_zh: str
    story_en: str
    goal_minor: int
    currency: str
    starts_on: str
    ends_on: str
    cover: str
    status: str

    def title(self, language: str = "zh") -> str:
        return self.title_en if language.startswith("en") and self.title_en else self.title_zh

    def story(self, language: str = "zh") -> str:
        return self.story_en if language.startswith("en") and self.story_en else self.story_zh

    def phase(self, today: dt.date) -> str:
        """draft, upcoming, running or ended (closed by an officer, or past its end date)."""
        if self.status == "draft":
            return "draft"
        if self.status == "closed" or today.isoformat() > self.ends_on:
            return "ended"
        return "upcoming" if today.isoformat() < self.starts_on else "running"


@dataclass(frozen=True, slots=True)
class WallName:
    """A donor on the wall: their name, or None for a donor who asked to be anonymous."""

    name: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class Progress:
    """What the journal says a campaign raised, in CNY minor units."""

    goal_minor: int
    gifts_minor: int  # donors' gifts, less reversals
    matched_minor: int  # the matcher's gifts, less reversals
    reversed_minor: int  # what reversals took back (positive)
    donors: int
    wall: tuple[WallName, ...] = field(default=())
    # the matcher's gifts, standing, whose matched gift was reversed (decision 0015: the
    # firm's money was received, so its match is not reversed with the gift); part of matched
    matched_for_reversed_minor: int = 0

    @property
    def raised_minor(self) -> int:
        return self.gifts_minor + self.matched_minor

    @property
    def percent(self) -> int:
        """Raised as a whole percentage of the goal (0 for no goal), not capped at 100."""
        return self.raised_minor * 100 // self.goal_minor if self.goal_minor > 0 else 0


@dataclass(frozen=True, slots=True)
class TaggedGift:
    """A gift recorded for a campaign: its entry and receipt, and the matcher's, if any."""

    entry: PostedEntry
    receipt: Any
    match: PostedEntry | None = None
    match_receipt: Any = None


# -- reading ------------------------------------------------------------------------------------
def _campaign(row: Any) -> Campaign:
    return Campaign(*(getattr(row, name) for name in Campaign.__slots__))


def load_campaign(conn: Connection, slug: str) -> Campaign | None:
    """The campaign `slug`, or None."""
    row = conn.execute(select(campaigns).where(campaigns.c.slug == slug)).first()
    return None if row is None else _campaign(row)


def _found(conn: Connection, slug: str, field_name: str | None = None) -> Campaign:
    found = load_campaign(conn, slug)
    if found is None:
        raise NotFound(f"There is no campaign {slug!r}.", field=field_name)
    return found


def get_campaign(books: Books, slug: str) -> Campaign:
    """One campaign.

    Raises:
        NotFound.
    """
    return read(books, lambda repo: _found(repo.conn, slug))


def list_campaigns_in(
    conn: Connection, *, public: bool = False, place: Sequence[str] = (), fund: str | None = None
) -> list[Campaign]:
    """Campaigns, newest start first: all, or only those the public sees (not drafts), or
    those at one of the `place` codes, or of one fund."""
    query = select(campaigns).order_by(campaigns.c.starts_on.desc(), campaigns.c.slug)
    if public:
        query = query.where(campaigns.c.status != "draft")
    if place:
        query = query.where(campaigns.c.place.in_(list(place)))
    if fund:
        query = query.where(campaigns.c.fund == fund)
    return [_campaign(r) for r in conn.execute(query)]


def list_campaigns(
    books: Books, *, public: bool = False, place: Sequence[str] = (), fund: str | None = None
) -> list[Campaign]:
    """`list_campaigns_in`, in a read transaction of its own."""
    return read(
        books, lambda repo: list_campaigns_in(repo.conn, public=public, place=place, fund=fund)
    )


def progress_of(conn: Connection, campaign: Campaign) -> Progress:
    """What the journal says the campaign raised (see the module docstring)."""
    tagged, net, cash = gift_values(conn, campaign.slug)
    gifts = matched = reversed_ = standing = 0
    by_donor: dict[str, int] = {}
    for entry_id, data in tagged.items():
        reversed_ += cash.get(entry_id, 0) - net[entry_id]
        if "matches" in data:
            matched += net[entry_id]
            gift = str(data["matches"])
            if gift in net and net[gift] < cash.get(gift, 0):
                standing += net[entry_id]
            continue
        gifts += net[entry_id]
        donor = str(data.get("donor_id", ""))
        by_donor[donor] = by_donor.get(donor, 0) + net[entry_id]
    givers = [d for d in sorted(by_donor) if by_donor[d] > 0]
    names = {
        r.id: WallName(None if r.anonymous else r.name, r.kind)
        for r in conn.execute(select(donors).where(donors.c.id.in_(givers)))
    }
    wall = tuple(names[d] for d in givers if d in names)
    return Progress(campaign.goal_minor, gifts, matched, reversed_, len(givers), wall, standing)


@dataclass(frozen=True, slots=True)
class Payment:
    """A disbursement to the campaign's project and whether the recipient acknowledged it."""

    entry_id: str
    paid_on: str
    amount_minor: int
    memo: str  # officers' words: never shown on a public page
    acknowledged_on: str | None
    project: str = ""


def spending_of(conn: Connection, project: str) -> list[Payment]:
    """The project's disbursements (program expense lines, reversals dropped), oldest first.
    Lines to a beneficiary (scholarship awards: a party on the line) are left out: they are
    published only by cohort."""
    if not project:
        return []
    query = (
        select(
            postings.c.entry_id,
            postings.c.occurred_on,
            func.sum(postings.c.functional).label("amount"),
            journal_entries.c.memo,
            journal_entries.c.reverses,
            acknowledgments.c.acknowledged_on,
        )
        .join(journal_entries, journal_entries.c.id == postings.c.entry_id)
        .outerjoin(acknowledgments, acknowledgments.c.entry_id == postings.c.entry_id)
        .where(postings.c.project == project, postings.c.account == PROGRAM_EXPENSES)
        .where(postings.c.party == "")
        .group_by(
            postings.c.entry_id,
            postings.c.occurred_on,
            journal_entries.c.memo,
            journal_entries.c.reverses,
            acknowledgments.c.acknowledged_on,
            postings.c.sequence,
        )
        .order_by(postings.c.sequence)
    )
    rows = conn.execute(query).all()
    reversed_ids = {r.reverses for r in rows if r.reverses}
    return [
        Payment(r.entry_id, r.occurred_on, int(r.amount), r.memo, r.acknowledged_on, project)
        for r in rows
        if not r.reverses and r.entry_id not in reversed_ids
    ]


def updates_of(conn: Connection, slug: str) -> list[dict[str, Any]]:
    """The campaign's updates, newest first: id, bodies, photo digests, posted_at."""
    query = (
        select(campaign_updates)
        .where(campaign_updates.c.campaign == slug)
        .order_by(campaign_updates.c.posted_at.desc())
    )
    return [
        {
            "id": r.id,
            "body_zh": r.body_zh,
            "body_en": r.body_en,
            "photos": json.loads(r.photos),
            "posted_at": r.posted_at,
        }
        for r in conn.execute(query)
    ]


def photo(books: Books, digest: str) -> tuple[str, bytes] | None:
    """A stored photo's media type and bytes, or None."""

    def work(repo: Any) -> tuple[str, bytes] | None:
        row = repo.conn.execute(
            select(programme_photos.c.media_type, programme_photos.c.content).where(
                programme_photos.c.sha256 == digest
            )
        ).first()
        return None if row is None else (row.media_type, bytes(row.content))

    result: tuple[str, bytes] | None = read(books, work)
    return result


# -- writing ------------------------------------------------------------------------------------
def _text(
    value: str, name: str, limit: int, *, multiline: bool = False, required: bool = False
) -> str:
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise InvalidEntry(f"{name} {problem}", field=name)
    if len(value) > limit or (required and not value.strip()):
        raise InvalidEntry(f"{name} must be 1-{limit} characters", field=name)
    return value.strip()


def _date(value: Any, name: str) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InvalidEntry(f"{name} must be a date written YYYY-MM-DD", field=name) from None


def _check_cover(conn: Connection, cover: str) -> str:
    if (
        cover
        and conn.execute(
            select(programme_photos.c.sha256).where(programme_photos.c.sha256 == cover)
        ).first()
        is None
    ):
        raise NotFound(f"There is no photo {cover!r}; upload it first.", field="cover")
    return cover


def _create(uow: UnitOfWork, by: Actor, details: Mapping[str, Any]) -> Campaign:
    conn = uow.connection
    slug = str(details["slug"])
    if not _SLUG.fullmatch(slug):
        raise InvalidEntry("slug is 2-60 lower-case letters, digits or '-'", field="slug")
    if load_campaign(conn, slug) is not None:
        raise AlreadyExists(f"campaign {slug!r} already exists", field="slug")
    fund = uow.repo.get_fund(str(details["fund"]))
    if fund is None:
        raise NotFound(f"There is no fund {details['fund']!r}.", field="fund")
    project = str(details.get("project") or "")
    if project:
        found = uow.repo.get_project(project)
        if found is None or found.fund != fund.code:
            raise InvalidEntry("the project must be one of the campaign's fund", field="project")
    place = str(details.get("place") or "")
    if place:
        if place not in load_places(conn):
            raise NotFound(f"There is no place {place!r}.", field="place")
    goal: Money = details["goal"]
    if goal.currency != FUNCTIONAL_CURRENCY or goal.minor <= 0:
        raise InvalidEntry("the goal is a positive amount in CNY", field="goal")
    starts, ends = _date(details["starts_on"], "starts_on"), _date(details["ends_on"], "ends_on")
    if ends < starts:
        raise InvalidEntry("a campaign ends on or after its start", field="ends_on")
    status = str(details.get("status") or "draft")
    if status not in STATUSES:
        raise InvalidEntry("status is draft, open or closed", field="status")
    now = uow.now()
    row = {
        "slug": slug,
        "fund": fund.code,
        "project": project,
        "place": place,
        "title_zh": _text(str(details["title_zh"]), "title_zh", 200, required=True),
        "title_en": _text(str(details.get("title_en") or ""), "title_en", 200),
        "story_zh": _text(str(details.get("story_zh") or ""), "story_zh", 20000, multiline=True),
        "story_en": _text(str(details.get("story_en") or ""), "story_en", 20000, multiline=True),
        "goal_minor": goal.minor,
        "currency": goal.currency,
        "starts_on": starts,
        "ends_on": ends,
        "cover": _check_cover(conn, str(details.get("cover") or "")),
        "status": status,
    }
    conn.execute(
        insert(campaigns).values(**row, created_at=now, created_by=by.name, updated_at=now)
    )
    return Campaign(**row)


def create_campaign(
    books: Books,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
    **details: Any,
) -> Campaign:
    """Create a campaign (slug, fund, project, place, title_zh/en, story_zh/en, goal (Money,
    CNY), starts_on, ends_on, cover, status).

    Raises:
        InvalidEntry, AlreadyExists, NotFound (fund, place or cover): nothing is recorded.
    """

    def work(uow: UnitOfWork) -> Campaign:
        slug = _once(uow, books, key, "campaigns", details, lambda: _create(uow, by, details).slug)
        return _found(uow.connection, slug)

    return write(books, work, audit=audit)


def edit_campaign(
    books: Books, slug: str, *, by: Actor, audit: AuditFacts | None = None, **changes: Any
) -> Campaign:
    """Change a campaign's public text, cover, end date or status (other fields are fixed:
    its fund, project, place, goal and start).

    Raises:
        NotFound, InvalidEntry: nothing is changed.
    """

    def work(uow: UnitOfWork) -> Campaign:
        conn = uow.connection
        current = _found(conn, slug)
        unknown = set(changes) - set(_EDITABLE)
        if unknown:
            raise InvalidEntry(f"{sorted(unknown)[0]} cannot be changed", field=sorted(unknown)[0])
        values: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "status" and value not in STATUSES:
                raise InvalidEntry("status is draft, open or closed", field="status")
            if name == "ends_on":
                value = _date(value, "ends_on")
                if value < current.starts_on:
                    raise InvalidEntry("a campaign ends on or after its start", field="ends_on")
            elif name == "cover":
                value = _check_cover(conn, str(value or ""))
            elif name.startswith("title"):
                value = _text(str(value or ""), name, 200, required=name == "title_zh")
            elif name.startswith("story"):
                value = _text(str(value or ""), name, 20000, multiline=True)
            values[name] = value
        if values:
            conn.execute(
                update(campaigns)
                .where(campaigns.c.slug == slug)
                .values(**values, updated_at=uow.now())
            )
        return _found(conn, slug)

    return write(books, work, audit=audit)


def _ratio(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"([1-9][0-9]{0,2}):([1-9][0-9]{0,2})", text.strip())
    if match is None:
        raise InvalidEntry("ratio is written like 1:1 or 1:2 (matched:given)", field="ratio")
    return int(match.group(1)), int(match.group(2))


def set_matcher(
    books: Books,
    slug: str,
    *,
    pledge_id: str,
    ratio: str,
    cap: Money,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> Matcher:
    """Give a campaign its matcher: the donor of `pledge_id`, an unconditional CNY pledge to the
    campaign's fund, matching `ratio` ("1:1": one yuan per yuan given) up to `cap`. Once.

    Raises:
        NotFound (campaign, pledge), InvalidEntry, AlreadyExists: nothing is recorded.
    """
    num, den = _ratio(ratio)

    def work(uow: UnitOfWork) -> Matcher:
        body = {"slug": slug, "pledge_id": pledge_id, "ratio": ratio, "cap": cap}
        _once(uow, books, key, "matchers", body, lambda: add(uow))
        found = matcher_of(uow.connection, slug)
        if found is None:  # pragma: no cover - just added or remembered
            raise NotFound(f"campaign {slug!r} has no matcher")
        return found

    def add(uow: UnitOfWork) -> str:
        conn = uow.connection
        campaign = _found(conn, slug)
        if matcher_of(conn, slug) is not None:
            raise AlreadyExists(f"campaign {slug!r} has its matcher", field="pledge_id")
        pledge = uow.repo.get_pledge(pledge_id)
        if pledge is None or pledge.conditional:
            raise NotFound(f"no unconditional pledge {pledge_id!r}", field="pledge_id")
        if pledge.fund != campaign.fund or pledge.currency != FUNCTIONAL_CURRENCY:
            raise InvalidEntry("the pledge is in CNY, to the campaign's fund", field="pledge_id")
        if cap.currency != FUNCTIONAL_CURRENCY or not 0 < cap.minor <= pledge.amount_minor:
            raise InvalidEntry("the cap is in CNY, above zero and within the pledge", field="cap")
        conn.execute(
            insert(campaign_matchers).values(
                campaign=slug,
                donor_id=pledge.donor_id,
                pledge_id=pledge.id,
                ratio_num=num,
                ratio_den=den,
                cap_minor=cap.minor,
                created_at=uow.now(),
                created_by=by.name,
            )
        )
        return slug

    return write(books, work, audit=audit)


def _sniff(content: bytes) -> str | None:
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(content) > 12 and content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def store_photo(
    books: Books,
    content: bytes,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> str:
    """Keep a photo (PNG, JPEG or WebP by its bytes); its SHA-256, the same for the same bytes.

    Raises:
        InvalidEntry (field `photo`): not an image of those types, empty, or too large.
    """
    if not content or len(content) > PHOTO_LIMIT:
        raise InvalidEntry(f"a photo is 1 byte to {PHOTO_LIMIT // 1048576} MiB", field="photo")
    media_type = _sniff(content)
    if media_type is None:
        raise InvalidEntry("a photo is a PNG, JPEG or WebP image", field="photo")
    digest = hashlib.sha256(content).hexdigest()

    def work(uow: UnitOfWork) -> str:
        return _once(uow, books, key, "photos", {"sha256": digest}, lambda: keep(uow))

    def keep(uow: UnitOfWork) -> str:
        conn = uow.connection
        known = select(programme_photos.c.sha256).where(programme_photos.c.sha256 == digest)
        if conn.execute(known).first() is None:
            conn.execute(
                insert(programme_photos).values(
                    sha256=digest,
                    media_type=media_type,
                    size=len(content),
                    content=content,
                    created_at=uow.now(),
                    created_by=by.name,
                )
            )
        return digest

    return write(books, work, audit=audit)


def post_update(
    books: Books,
    slug: str,
    *,
    body_zh: str,
    body_en: str = "",
    photos: Sequence[str] = (),
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> dict[str, Any]:
    """Post an update on a campaign (text, and photos stored before). Its record. With `key`,
    a retry answers the update the first call posted.

    Raises:
        NotFound (campaign, photo), InvalidEntry: nothing is recorded.
    """

    def work(uow: UnitOfWork) -> dict[str, Any]:
        body = {"slug": slug, "body_zh": body_zh, "body_en": body_en, "photos": list(photos)}
        ident = _once(uow, books, key, "campaign-updates", body, lambda: post(uow))
        return next(u for u in updates_of(uow.connection, slug) if u["id"] == ident)

    def post(uow: UnitOfWork) -> str:
        conn = uow.connection
        _found(conn, slug)
        zh = _text(body_zh, "body_zh", 5000, multiline=True, required=True)
        en = _text(body_en, "body_en", 5000, multiline=True)
        if len(photos) > UPDATE_PHOTOS:
            raise InvalidEntry(f"an update shows at most {UPDATE_PHOTOS} photos", field="photos")
        for digest in photos:
            _check_cover(conn, digest)
        now = uow.now()
        ident = "U-" + uuid7_text(int(uow.clock().timestamp() * 1000), secrets.randbits(80))
        conn.execute(
            insert(campaign_updates).values(
                id=ident,
                campaign=slug,
                body_zh=zh,
                body_en=en,
                photos=json.dumps(list(photos)),
                posted_at=now,
                posted_by=by.name,
            )
        )
        return ident

    return write(books, work, audit=audit)


# -- gifts --------------------------------------------------------------------------------------
def campaign_gift_in(
    uow: UnitOfWork,
    books: Books,
    *,
    campaign: str,
    by: Actor,
    key: str | None = None,
    **details: Any,
) -> TaggedGift:
    """Record a cash gift tagged to `campaign`, its receipt and the matcher's gift, in the
    caller's unit of work (`details`: `services.record_donation`'s).

    Raises:
        NotFound (field `campaign`), and whatever `services.record_donation` raises.
    """
    check_campaign_gift(uow.connection, campaign, details["fund"], details["received_on"])
    entry = services.record_donation(
        uow, **details, maker=by.name, key=key, tags={"campaign": campaign}
    )
    receipt = issue_receipt_of(uow, books, entry)
    match = match_gift(uow, campaign, entry, maker=by.name)
    return TaggedGift(entry, receipt, match, match and issue_receipt_of(uow, books, match))


@dataclass(frozen=True, slots=True)
class Overview:
    """Everything the campaign's pages show, read in one transaction."""

    campaign: Campaign
    progress: Progress
    matcher: Matcher | None
    matcher_name: str | None
    fund_name: str
    project_name: str
    place_path: tuple[str, ...]
    updates: tuple[dict[str, Any], ...]
    spending: tuple[Payment, ...]  # the project's payments since the campaign started
    phase: str

    @property
    def short_of_goal(self) -> bool:
        """Ended without reaching its goal (its gifts stay in its fund all the same)."""
        return self.phase == "ended" and self.progress.raised_minor < self.campaign.goal_minor


def overview(books: Books, slug: str, *, today: dt.date, public: bool = False) -> Overview:
    """The campaign, what the journal says it raised, its matcher, updates and spending.

    Raises:
        NotFound: no such campaign (or, for `public`, a draft).
    """

    def work(repo: Any) -> Overview:
        conn = repo.conn
        campaign = _found(conn, slug)
        if public and campaign.status == "draft":
            raise NotFound(f"There is no campaign {slug!r}.")
        matcher = matcher_of(conn, slug)
        matcher_donor = repo.get_donor(matcher.donor_id) if matcher else None
        fund = repo.get_fund(campaign.fund)
        project = repo.get_project(campaign.project) if campaign.project else None
        where = campaign.place
        if not where and project is not None:
            where = project_places_of(conn).get(project.code, "")
        known = load_places(conn)
        path = tuple(p.name for p in _path(known, where))
        return Overview(
            campaign,
            progress_of(conn, campaign),
            matcher,
            None if matcher_donor is None or matcher_donor.anonymous else matcher_donor.name,
            fund.name if fund else campaign.fund,
            project.name if project else "",
            path,
            tuple(updates_of(conn, slug)),
            tuple(
                p for p in spending_of(conn, campaign.project) if p.paid_on >= campaign.starts_on
            ),
            campaign.phase(today),
        )

    result: Overview = read(books, work)
    return result
