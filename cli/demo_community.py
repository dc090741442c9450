"""The demo's programmes: the needs board in every state, services with sign-ups, recurring
sponsorships, all through the same use cases as the API and the console.

`load_community_demo(books, secret)` runs after the demo's books are loaded (`cli.demo`): it
adds the Huiquan Road community under 锦江区 (a locally assigned code, not official), posts
eight needs as residents would, moderates them, records offers (pledges, goods delivered as
in-kind gifts with receipts, volunteer hours), payments against the pledges (receipted),
reports, three services with sign-ups and attendance, and three recurring pledges with some
instalments paid. Contacts and sign-up names are made up (`示例`), never real people's.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.money import Money
from usecases import community, gifts, places, recurring
from usecases.books import Books, open_books
from usecases.community import GoodsLine
from usecases.unit import Actor

__all__ = ["CommunityDemo", "load_community_demo", "summary"]

DATA = Path(__file__).with_name("demo_data")
RESIDENT = Actor("居民（示例）", ())
MODERATOR = Actor("陈审核（示例）", ("officer", "moderator"))
OFFICER = Actor("王经办（示例）", ("officer",))
#: The hub's own places, under 锦江区: codes assigned for the demo (not official).
#: The day the demo's offers, payments and deliveries are dated: inside the demo's history
#: (2024-01 .. 2026-10), as the rest of its entries.
ON = dt.date(2026, 10, 20)
HUB = [
    {"code": "510104017", "kind": "town", "name": "沙河街道", "parent": "510104"},
    {"code": "510104017001", "kind": "village", "name": "汇泉路社区", "parent": "510104017"},
]


@dataclass(frozen=True)
class CommunityDemo:
    needs: dict[str, int]
    services: int
    signups: int
    served: int
    schedules: int


def cny(text: str) -> Money:
    return Money.parse(text, "CNY")


def _photo() -> bytes:
    """A small PNG (a green square) standing in for a report's photo."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x2e\x8b\x57" * 48 for _ in range(32))
    header = struct.pack(">IIBBBBB", 48, 32, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


NEEDS: list[dict[str, Any]] = [
    {
        "key": "pending",
        "title": "老旧楼栋楼道加装扶手",
        "description": "汇泉路社区 3 号院 6 层无电梯，独居老人上下楼不便，希望每层加装扶手。",
        "category": "elder_care",
        "place": "510104017001",
        "kind": "goods",
        "goods": [GoodsLine("不锈钢楼道扶手", 12, "段")],
    },
    {
        "key": "declined",
        "title": "小区门口安装收费道闸",
        "description": "希望给小区门口装一个停车道闸。",
        "category": "community_space",
        "place": "510104017001",
        "kind": "money",
        "goal": "20000.00",
        "decline": "物业管理事项，不属于公益需求；已转告社区物业服务中心。",
    },
    {
        "key": "open",
        "title": "留守儿童课后辅导志愿者",
        "description": "踏水镇村小四十多名留守儿童放学后无人辅导作业，需要志愿者每周两次线上辅导。",
        "category": "children",
        "place": "510185101",
        "kind": "hours",
        "hours": 120,
        "fund": "JIANYANG-PAIR",
        "project": "JY-EDU-02",
    },
    {
        "key": "answered",
        "title": "长者食堂添置六张餐桌",
        "description": "社区长者食堂每天为六十多位老人供应午餐，餐桌不够，老人需要排队等位。",
        "category": "elder_care",
        "place": "510104017001",
        "kind": "money",
        "goal": "6000.00",
        "fund": "JIN-FUND",
        "project": "JJ-CLOUD",
        "offers": [("D-0003", "4000.00", "2000.00")],
    },
    {
        "key": "answered-goods",
        "title": "镇金镇枇杷采摘季包装箱",
        "description": "合作社枇杷五月上市，需要印有产地信息的包装箱，便于进城销售。",
        "category": "village_industry",
        "place": "510185100",
        "kind": "goods",
        "goods": [GoodsLine("枇杷包装箱", 2000, "个")],
        "fund": "JIANYANG-PAIR",
        "project": "JY-IND-02",
        "goods_offers": [("D-0010", [GoodsLine("枇杷包装箱", 2000, "个")], None)],
    },
    {
        "key": "fulfilled",
        "title": "交纳村卫生室电子血压计",
        "description": "村卫生室为高原慢病老人定期测血压，需要十台电子血压计分发到各组。",
        "category": "health",
        "place": "513327100201",
        "kind": "goods",
        "goods": [GoodsLine("电子血压计", 10, "台")],
        "fund": "LUHUO-PAIR",
        "project": "LH-JIAONA-CLINIC",
        "goods_offers": [("D-0006", [GoodsLine("电子血压计", 10, "台")], "2400.00")],
    },
    {
        "key": "fulfilled-hours",
        "title": "失独家庭节日探访",
        "description": "春节前为辖区失独家庭上门探访、陪伴，需要志愿者四十小时。",
        "category": "elder_care",
        "place": "510104017",
        "kind": "hours",
        "hours": 40,
        "fund": "SHIDU-CARE",
        "project": "SD-CARE",
        "hours_offers": [("D-0007", 40, [16, 24])],
    },
    {
        "key": "reported",
        "title": "社区图书角添置儿童绘本",
        "description": "社区图书角的儿童绘本太旧太少，希望添置三百册适合三到八岁孩子的绘本。",
        "category": "education",
        "place": "510104017001",
        "kind": "money",
        "goal": "3000.00",
        "fund": "NVXUE-EDU",
        "project": "NX-READING",
        "offers": [("D-0004", "2000.00", "2000.00"), ("D-0011", "1000.00", "1000.00")],
        "report": "三百二十册绘本已上架，每周六上午有志愿者带读，首月借阅四百余人次。",
    },
]

SERVICES: list[dict[str, Any]] = [
    {
        "kind": "clinic",
        "title": "社区义诊日：血压血糖筛查",
        "description": "合江医药的医生志愿者为六十岁以上居民免费测血压血糖、解读体检报告。",
        "place": "510104017001",
        "days": (0, 0),
        "capacity": 40,
        "signups": 31,
        "attended": 27,
    },
    {
        "kind": "course",
        "title": "老年人智能手机课（四次课）",
        "description": "学用微信视频、扫码就医、防范电信诈骗。",
        "place": "510104017001",
        "days": (10, 31),
        "capacity": 20,
        "signups": 14,
        "attended": 0,
    },
    {
        "kind": "legal",
        "title": "律师驻点法律咨询",
        "description": "婚姻家事、劳动争议、房屋租赁，每次一对一半小时。",
        "place": "510104017",
        "days": (3, 3),
        "capacity": 8,
        "signups": 8,
        "attended": 0,
    },
]

SPONSORSHIPS: list[dict[str, Any]] = [
    {
        "donor_id": "D-0001",
        "fund": "HUACHENG-EDU",
        "instalment": "3800.00",
        "frequency": "yearly",
        "count": 3,
        "first_due": "2025-09-01",
        "purpose": "资助一名阿坝州高中生三年学费生活费",
        "paid": ["3800.00"],
    },
    {
        "donor_id": "D-0008",
        "fund": "JINLU-EDU",
        "instalment": "200.00",
        "frequency": "monthly",
        "count": 24,
        "first_due": "2026-01-05",
        "purpose": "每月捐助炉霍女童返校",
        "paid": ["200.00"] * 9,
    },
    {
        "donor_id": "D-0012",
        "fund": "JIN-FUND",
        "instalment": "1500.00",
        "frequency": "quarterly",
        "count": 8,
        "first_due": "2025-07-01",
        "purpose": "按季捐助社区微项目",
        "paid": ["1500.00"] * 4,
    },
]


def load_community_demo(engine: Any, home: Path, *, secret: bytes) -> CommunityDemo:
    """Build the programmes' demo in the loaded demo books (see the module docstring)."""
    books = open_books(engine, home, pseudonym_secret=secret, group_commit_max=1)
    shipped = json.loads((DATA / "places.json").read_text("utf-8"))["places"]
    places.ensure_places(books, [*shipped, *HUB], by=OFFICER)
    today = dt.datetime.now(dt.UTC).date()
    for n, spec in enumerate(NEEDS):
        _need(books, spec, n)
    signups = served = 0
    for spec in SERVICES:
        made, attended = _service(books, spec, today)
        signups += made
        served += attended
    for spec in SPONSORSHIPS:
        _sponsor(books, spec)
    states = community.board_counts(community.list_needs(books, public=False))
    return CommunityDemo(states, len(SERVICES), signups, served, len(SPONSORSHIPS))


def summary(engine: Any, home: Path, *, secret: bytes) -> str:
    """Load the programmes' demo and say what it made, in a line (for `huiquan demo`)."""
    from ledger.storage.unit_of_work import read_only

    with read_only(engine) as repo:
        before, _hash = repo.head()
    made = load_community_demo(engine, home, secret=secret)
    with read_only(engine) as repo:
        entries, _hash = repo.head()
    states = ", ".join(f"{n} {state}" for state, n in made.needs.items())
    return (
        f"needs board: {sum(made.needs.values())} needs ({states}); {made.services} services, "
        f"{made.signups} sign-ups, {made.served} person-times served; {made.schedules} "
        f"recurring pledges; community: {entries - before} entries, the books now hold "
        f"{entries} entries (see /needs, /services and /console/community/recurring)"
    )


def _need(books: Books, spec: dict[str, Any], n: int) -> None:
    need = community.post_need(
        books,
        title=spec["title"],
        description=spec["description"],
        category=spec["category"],
        place=spec["place"],
        kind=spec["kind"],
        goal=cny(spec["goal"]) if "goal" in spec else None,
        goods=spec.get("goods", ()),
        hours=spec.get("hours"),
        contact=f"示例联系人 {n + 1}（演示数据，非真实号码）",
        client=f"demo-{n}",
    )
    if "decline" in spec:
        community.decline_need(books, need.id, reason=spec["decline"], by=MODERATOR)
        return
    if "fund" not in spec:
        return  # left in the moderation queue
    community.publish_need(
        books, need.id, fund=spec["fund"], project=spec.get("project"), by=MODERATOR
    )
    for donor, amount, paid in spec.get("offers", ()):
        offer = community.record_offer(
            books,
            need.id,
            donor_id=donor,
            kind="money",
            amount=cny(amount),
            pledged_on=ON,
            by=OFFICER,
        )
        gifts.record_donation(
            books,
            by=OFFICER,
            donor_id=donor,
            fund=spec["fund"],
            amount=cny(paid),
            received_on=ON,
            pledge_id=offer.pledge_id,
        )
    for donor, lines, value in spec.get("goods_offers", ()):
        offer = community.record_offer(
            books, need.id, donor_id=donor, kind="goods", goods=lines, by=OFFICER
        )
        if value is not None:
            community.record_delivery(
                books,
                offer.id,
                goods=lines,
                fair_value=cny(value),
                valuation_basis="捐赠方提供的销售发票",
                received_on=ON,
                by=OFFICER,
            )
    for donor, hours, served in spec.get("hours_offers", ()):
        offer = community.record_offer(
            books, need.id, donor_id=donor, kind="hours", hours=hours, by=OFFICER
        )
        for part in served:
            community.record_hours(books, offer.id, hours=part, served_on=ON, by=OFFICER)
    if "report" in spec:
        community.report_need(
            books, need.id, report=spec["report"], photos=[_photo()], by=MODERATOR
        )


def _service(books: Books, spec: dict[str, Any], today: dt.date) -> tuple[int, int]:
    start, end = (today + dt.timedelta(days=d) for d in spec["days"])
    service = community.publish_service(
        books,
        kind=spec["kind"],
        title=spec["title"],
        description=spec["description"],
        place=spec["place"],
        starts_on=start,
        ends_on=end,
        capacity=spec["capacity"],
        by=OFFICER,
    )
    made = [
        community.sign_up(
            books,
            service.id,
            name=f"示例居民 {i + 1}",
            contact=f"演示 {i + 1:03d}",
            client=f"demo-signup-{i}",
        )
        for i in range(spec["signups"])
    ]
    for signup in made[: spec["attended"]]:
        community.record_attendance(books, signup.id, by=OFFICER)
    return len(made), spec["attended"]


def _sponsor(books: Books, spec: dict[str, Any]) -> None:
    made = recurring.create_recurring_pledge(
        books,
        donor_id=spec["donor_id"],
        fund=spec["fund"],
        instalment=cny(spec["instalment"]),
        frequency=spec["frequency"],
        count=spec["count"],
        first_due=dt.date.fromisoformat(spec["first_due"]),
        purpose=spec["purpose"],
        pledged_on=dt.date.fromisoformat(spec["first_due"]),
        by=OFFICER,
    )
    for amount in spec["paid"]:
        gifts.record_donation(
            books,
            by=OFFICER,
            donor_id=spec["donor_id"],
            fund=spec["fund"],
            amount=cny(amount),
            received_on=ON,
            pledge_id=made.pledge_id,
        )
