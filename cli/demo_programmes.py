"""The demo's programmes: places, a Luhuo campaign with a matcher, one that ended short, two
honorary village chiefs. Run by `huiquan demo` after the demo books and their receipts.

Everything goes through the use cases the API and the console call (`usecases.places`,
`usecases.campaigns`, `usecases.gifts`, `usecases.chiefs`), so the gifts get their receipts, the
matcher's gifts are posted from its pledge and every figure on the pages comes from the books.
Its entries are dated within the demo's history (up to the last day of the demo data,
`as_of`); the Luhuo campaign runs on past today, so it is running whenever the demo is loaded.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from ledger.money import Money
from usecases import campaigns, chiefs, evidence, gifts, places, pledges, spending
from usecases.books import open_books
from usecases.unit import Actor

__all__ = ["DemoProgrammes", "load_programmes"]

ACTOR = Actor("demo", ("admin",))
LUHUO_SLUG, JIANYANG_SLUG = "luhuo-kaniang-yak", "jianyang-zhenjin-loquat"
JIAONA, SANGUO = "513327100201", "513327212001"
#: (donor, amount in yuan) of the Luhuo campaign's gifts; D-0095 asked to stay anonymous.
LUHUO_GIFTS = (
    ("D-0021", "20000.00"),
    ("D-0026", "500.00"),
    ("D-0050", "3000.00"),
    ("D-0095", "8800.00"),
    ("D-0022", "12000.00"),
    ("D-0070", "15000.00"),
    ("D-0027", "1000.00"),
    ("D-0033", "2600.00"),
    ("D-0012", "30000.00"),
    ("D-0100", "1200.00"),
    ("D-0040", "666.00"),
    ("D-0023", "9000.00"),
)


@dataclass(frozen=True, slots=True)
class DemoProgrammes:
    """What the demo's programmes step recorded, and where to see it."""

    places: int
    entries: int
    gifts: int
    matched_minor: int
    pages: tuple[str, ...]


def _photo() -> bytes:
    """A small picture for the campaign's update: a shed on the grassland (drawn, not taken)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 270), (135, 190, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 170, 480, 270), fill=(96, 160, 72))
    draw.polygon([(40, 170), (160, 80), (280, 170)], fill=(230, 235, 240))
    draw.rectangle((150, 120, 400, 200), fill=(170, 120, 80))
    draw.polygon([(140, 120), (275, 60), (410, 120)], fill=(120, 60, 40))
    draw.rectangle((250, 150, 290, 200), fill=(80, 50, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _head(books: Any) -> int:
    with books.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM journal_entries").scalar_one())


def _places(books: object) -> int:
    data = json.loads((files("cli") / "demo_data" / "places.json").read_text(encoding="utf-8"))
    return places.ensure_places(
        books,  # type: ignore[arg-type]
        data["places"],
        by=ACTOR,
        projects_at=data["projects"],
    )


def load_programmes(
    engine: object, *, home: Path, secret: bytes, base_url: str, as_of: dt.date
) -> DemoProgrammes:
    """Record the demo's places, campaigns, matcher, gifts, update and chiefs, dated up to
    `as_of` (the demo data's last day)."""
    today = as_of
    now = dt.datetime.now(dt.UTC).date()
    books = open_books(
        engine,  # type: ignore[arg-type]
        home,
        group_commit_max=1,
        pseudonym_secret=secret,
        receipt_settings={"PUBLIC_BASE_URL": base_url},
    )
    added = _places(books)
    before = _head(books)
    start = today - dt.timedelta(days=40)
    campaigns.create_campaign(
        books,
        by=ACTOR,
        slug=LUHUO_SLUG,
        fund="LUHUO-PAIR",
        project="LH-IND-11",
        title_zh="卡娘乡牦牛养殖合作社 · 冬季暖棚众筹",
        title_en="Winter shelters for the Kaniang yak cooperative",
        story_zh=(
            "炉霍县卡娘乡海拔三千六百米，冬季长达七个月。合作社的四十二户牧民希望建起两座"
            "暖棚，让母牦牛和小牛安全过冬。每一笔捐赠都记入只追加的账本，本页的数字直接"
            "来自账簿。成都东湖科技有限公司按 1:1 配捐，上限八万元。"
        ),
        story_en=(
            "Kaniang lies at 3,600 m in Luhuo County, where winter lasts seven months. The 42 "
            "families of the cooperative want two shelters so their yaks and calves survive it. "
            "Every gift is recorded in the append-only books this page reads from. Chengdu "
            "Donghu Technology matches every gift 1:1, up to ¥80,000."
        ),
        goal=Money.parse("300000.00", "CNY"),
        starts_on=start,
        ends_on=max(today, now) + dt.timedelta(days=60),
        status="open",
    )
    pledge = pledges.record_pledge(
        books,
        by=ACTOR,
        donor_id="D-0004",
        fund="LUHUO-PAIR",
        amount=Money.parse("100000.00", "CNY"),
        pledged_on=start,
        memo="配捐承诺：卡娘乡牦牛暖棚众筹",
    ).pledge
    campaigns.set_matcher(
        books,
        LUHUO_SLUG,
        pledge_id=pledge.id,
        ratio="1:1",
        cap=Money.parse("80000.00", "CNY"),
        by=ACTOR,
    )
    recorded = []
    for n, (donor, amount) in enumerate(LUHUO_GIFTS):
        on = start + dt.timedelta(days=1 + n * 2)
        gift = gifts.record_donation(
            books,
            by=ACTOR,
            donor_id=donor,
            fund="LUHUO-PAIR",
            amount=Money.parse(amount, "CNY"),
            received_on=min(on, today),
            method="online" if n % 2 else "bank",
            campaign=LUHUO_SLUG,
        )
        recorded.append(gift)
    photo = campaigns.store_photo(books, _photo(), by=ACTOR)
    campaigns.edit_campaign(books, LUHUO_SLUG, cover=photo, by=ACTOR)
    campaigns.post_update(
        books,
        LUHUO_SLUG,
        body_zh="第一座暖棚的钢材已运到卡娘乡，合作社的牧民正在平整地基。",
        body_en="The steel for the first shelter has reached Kaniang; the families are levelling "
        "the ground.",
        photos=[photo],
        by=ACTOR,
    )
    spending.record_disbursement(
        books,
        by=ACTOR,
        fund="LUHUO-PAIR",
        project="LH-IND-11",
        amount=Money.parse("8600.00", "CNY"),
        paid_on=today - dt.timedelta(days=2),
        memo="暖棚钢材首付款",
    )
    _ended_short(books, today)
    _chiefs(books, today)
    for project in ("LH-JIAONA-CLINIC", "LH-IND-11"):
        _acknowledge_first_payment(books, project, today)
    matched = sum(
        sum(p.functional for p in g.match.entry.postings if p.functional > 0)
        for g in recorded
        if g.match is not None
    )
    return DemoProgrammes(
        places=added,
        entries=_head(books) - before,
        gifts=len(recorded),
        matched_minor=matched,
        pages=(f"/c/{LUHUO_SLUG}", f"/c/{JIANYANG_SLUG}", f"/v/{JIAONA}", "/v/513327"),
    )


def _acknowledge_first_payment(books: Any, project: str, as_of: dt.date) -> None:
    """The recipient's signed acknowledgment of the project's first payment (a drawn sheet
    standing in for the scan), so the place and campaign pages show one acknowledged."""
    from PIL import Image, ImageDraw

    with books.engine.connect() as conn:
        paid = campaigns.spending_of(conn, project)
    if not paid:
        return
    first = paid[0]
    image = Image.new("RGB", (420, 300), (255, 253, 249))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 400, 280), outline=(120, 20, 24), width=3)
    draw.ellipse((300, 190, 380, 270), outline=(158, 27, 32), width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    on = min(dt.date.fromisoformat(first.paid_on) + dt.timedelta(days=7), as_of)
    evidence.acknowledge(
        books,
        first.entry_id,
        acknowledged_on=on,
        by=ACTOR,
        upload=evidence.Upload(buffer, "acknowledgment.png"),
        note="受助方签收单（演示） Recipient's signed acknowledgment (demo)",
    )


def _ended_short(books: object, today: dt.date) -> None:
    """A Jianyang campaign that ended short of its goal: its gifts stay in its fund."""
    start, end = today - dt.timedelta(days=120), today - dt.timedelta(days=60)
    campaigns.create_campaign(
        books,  # type: ignore[arg-type]
        by=ACTOR,
        slug=JIANYANG_SLUG,
        fund="JIANYANG-PAIR",
        project="JY-IND-02",
        title_zh="镇金镇枇杷种植 · 果苗众筹",
        title_en="Loquat saplings for Zhenjin",
        story_zh="为镇金镇的枇杷种植户购买嫁接果苗。",
        story_en="Grafted loquat saplings for the growers of Zhenjin.",
        goal=Money.parse("120000.00", "CNY"),
        starts_on=start,
        ends_on=end,
        status="closed",
    )
    for n, (donor, amount) in enumerate((("D-0028", "6000.00"), ("D-0051", "3800.00"))):
        gifts.record_donation(
            books,  # type: ignore[arg-type]
            by=ACTOR,
            donor_id=donor,
            fund="JIANYANG-PAIR",
            amount=Money.parse(amount, "CNY"),
            received_on=start + dt.timedelta(days=5 + n * 10),
            campaign=JIANYANG_SLUG,
        )


def _chiefs(books: object, today: dt.date) -> None:
    """Two honorary chiefs: a firm shown by name, a returnee who chose to stay anonymous."""
    chiefs.appoint_chief(
        books,  # type: ignore[arg-type]
        village=JIAONA,
        donor_id="D-0006",
        starts_on=dt.date(today.year, 1, 1),
        ends_on=dt.date(today.year + 2, 12, 31),
        citation_zh="成都合江医药连锁有限公司捐建交纳村卫生室，并资助乡村医生培训。",
        citation_en="Chengdu Hejiang Pharmacy built the Jiaona village clinic and funds the "
        "training of its village doctors.",
        shown="name",
        by=ACTOR,
    )
    chiefs.appoint_chief(
        books,  # type: ignore[arg-type]
        village=SANGUO,
        donor_id="D-0050",
        starts_on=dt.date(today.year, 3, 1),
        ends_on=dt.date(today.year + 1, 2, 28),
        citation_zh="一位归国留学人员连续三年资助三果村的牧民合作社，本人希望不具名。",
        citation_en="A returnee who has supported the Sanguo herders' cooperative for three "
        "years, and asked not to be named.",
        shown="anonymous",
        by=ACTOR,
    )
