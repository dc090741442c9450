"""The generator of the demo books: how `cli/demo_data/` was written (domain notes, section 6).

`huiquan demo` loads the data files in `cli/demo_data/` (`cli.demo`); this module is how they
were made, and how the demo is made for a seed other than the one they were written with
(`huiquan demo --seed N`). Rewrite the files after changing it (a test compares them)::

    python -m cli.demo_plan 2024       # writes cli/demo_data/ for seed 2024

What it plans, dated 2024-01 .. 2026-10:
- the funds raised through 锦江·归来荟 and its partners: 锦炉爱心助学基金 (restricted: scholarships
  for girls in 炉霍县), 炉霍结对帮扶 and 简阳镇金踏水结对帮扶 (restricted: village industry,
  education and medical projects; together over 12 million CNY raised), 女学教育基金, 华成助学金
  (about 200 students in 甘孜/阿坝/凉山, 380,000 CNY a year), 失独家庭关爱 (450,000 CNY raised,
  3,000 person-visits) and the unrestricted 锦基金 (themed events, courses, "cloud proposals");
- about fifty projects in 甘孜州炉霍县, 简阳市 镇金镇 / 踏水镇 and 锦江区沙河街道;
- donors: local firms, democratic-party organisations and members, returnees, Hong Kong, Macau,
  Taiwan and overseas Chinese donors (HKD, MOP, TWD and USD gifts at the day's rate, with its
  source), pledges and their instalments, one conditional matching pledge (off the books);
- in kind: surgical equipment appraised at 1,186,000 CNY and 30,000 CNY of consumables for
  Luhuo, books, and winter clothes passed through to a school the donor named;
- 131 girls and about 320 students as beneficiaries with made-up personal data (sealed by
  `register_beneficiary` when loaded, never printed), awards per term or year and their
  payouts; monthly bank fees, wire fees on foreign gifts, two transfers between funds, and
  three corrections by reversal.

Invariants owned here:
- The operations are rows in the importer's format (`ledger.importer`), so loading them obeys
  every rule of the ledger's services; spending is planned against a running model of each
  fund's cash, so no fund is ever overdrawn (a payment that would is trimmed or dropped).
- The same seed gives the same reference data and operations; nothing here reads a clock, a
  file or the books.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger.money import format_minor

__all__ = [
    "DEMO_FUNDS",
    "demo_data",
    "demo_plan",
    "plan_operations",
    "write_demo_data",
]

START, END = dt.date(2024, 1, 1), dt.date(2026, 10, 31)
LUHUO, JIANYANG, SHAHE = "甘孜州炉霍县", "简阳市", "成都市锦江区"

#: code, name, restricted, purpose
DEMO_FUNDS: tuple[tuple[str, str, bool, str], ...] = (
    ("JINLU-EDU", "锦炉爱心助学基金", True, "资助炉霍县困境女童返校就读的助学金"),
    ("LUHUO-PAIR", "炉霍结对帮扶", True, "甘孜州炉霍县村级产业、教育与医疗帮扶项目"),
    ("JIANYANG-PAIR", "简阳镇金踏水结对帮扶", True, "简阳市镇金镇、踏水镇村级产业与教育帮扶项目"),
    ("NVXUE-EDU", "女学教育基金", True, "成都女学文化研究会的女性与儿童教育课程"),
    ("HUACHENG-EDU", "华成助学金（甘孜·阿坝·凉山）", True, "甘孜、阿坝、凉山困难学生助学金"),
    ("SHIDU-CARE", "失独家庭关爱", True, "失独家庭探访、陪伴与心理支持服务"),
    ("JIN-FUND", "锦基金", False, ""),
)

_LUHUO_TOWNS = (
    "新都镇",
    "朱倭镇",
    "虾拉沱镇",
    "宜木乡",
    "雅德乡",
    "洛秋乡",
    "仁达乡",
    "旦都乡",
    "充古乡",
    "更知乡",
    "卡娘乡",
    "宗塔乡",
    "宗麦乡",
    "斯木乡",
)
_LUHUO_INDUSTRY = (
    "牦牛养殖合作社",
    "青稞加工坊",
    "藏香猪养殖",
    "川贝母种植",
    "乡村民宿",
    "唐卡工坊",
    "蔬菜大棚",
    "食用菌种植",
    "酥油与奶制品加工",
    "畜牧暖棚",
    "藏式家具作坊",
)
_JIANYANG_INDUSTRY = (
    "晚熟柑橘种植",
    "简阳羊肉养殖合作社",
    "枇杷种植",
    "蔬菜基地",
    "村级电商服务站",
    "稻渔综合种养",
    "乡村旅游步道",
)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力斌宇浩凯婷雪琳晨欣怡"
_TIBETAN = ("卓玛", "拉姆", "央金", "泽仁", "次仁", "格桑", "曲珍", "德吉", "益西", "白玛", "措姆")
_YI = ("阿依", "吉克", "沙马", "阿苏", "海来", "曲比", "吉木", "阿西", "俄木", "木乃")

_PBOC = "中国人民银行授权中国外汇交易中心公布的人民币汇率中间价"
_BOC = "中国银行外汇牌价（现汇买入价）"
#: currency: (rate source, anchor rates in CNY per unit at `_FX_ANCHORS`, decimals)
_FX: dict[str, tuple[str, tuple[float, ...], int]] = {
    "USD": (_PBOC, (7.1000, 7.1880, 7.1650, 7.0800, 7.0500), 4),
    "HKD": (_PBOC, (0.9085, 0.9230, 0.9125, 0.9090, 0.9060), 5),
    "MOP": (_BOC, (0.8800, 0.8950, 0.8860, 0.8820, 0.8790), 4),
    "TWD": (_BOC, (0.2250, 0.2195, 0.2210, 0.2320, 0.2280), 4),
}
_FX_ANCHORS = (0, 11, 17, 23, 33)  # month indexes of the anchor rates (2024-01 .. 2026-10)


@dataclass(slots=True)
class _Event:
    on: dt.date
    priority: int
    order: int
    row: dict[str, Any]
    minor: int = 0
    fixed: bool = False
    label_of: str | None = None  # a reversal's target label


@dataclass(slots=True)
class _Plan:
    """The reference data and the dated operations of the demo, before the cash check."""

    rng: random.Random
    events: list[_Event] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    donors: list[dict[str, Any]] = field(default_factory=list)
    by_group: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    girls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    students: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    labels: int = 0

    def add(self, on: dt.date, priority: int, row: dict[str, Any], minor: int = 0) -> _Event:
        event = _Event(on, priority, len(self.events), row, minor)
        self.events.append(event)
        return event

    def label(self, prefix: str) -> str:
        self.labels += 1
        return f"{prefix}{self.labels}"


# -- helpers ------------------------------------------------------------------------------------
def _months() -> Iterator[tuple[int, int, int]]:
    """(index, year, month) from 2024-01 to 2026-10."""
    year, month, index = START.year, START.month, 0
    while (year, month) <= (END.year, END.month):
        yield index, year, month
        index += 1
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _day(rng: random.Random, year: int, month: int, lo: int = 1, hi: int = 28) -> dt.date:
    return dt.date(year, month, rng.randint(lo, hi))


def _between(rng: random.Random, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=rng.randint(0, max(0, (hi - lo).days)))


def _yuan(rng: random.Random, lo: int, hi: int, step: int = 100) -> int:
    """A round amount in fen between lo and hi yuan."""
    return rng.randint(lo // step, hi // step) * step * 100


def _rate(rng: random.Random, currency: str, on: dt.date) -> str:
    """CNY per unit on `on`: the anchors interpolated by month, with a little daily noise."""
    _source, anchors, decimals = _FX[currency]
    x = (on.year - START.year) * 12 + on.month - 1 + (on.day - 1) / 31
    base = anchors[-1]
    for (i0, r0), (i1, r1) in itertools.pairwise(zip(_FX_ANCHORS, anchors, strict=True)):
        if i0 <= x <= i1:
            base = r0 + (r1 - r0) * (x - i0) / (i1 - i0)
            break
    return f"{base * (1 + rng.uniform(-0.0015, 0.0015)):.{decimals}f}"


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))


# -- reference data -----------------------------------------------------------------------------
def _plan_projects(plan: _Plan) -> None:
    rng = plan.rng
    add = plan.projects.append
    add(
        dict(
            code="LH-JIAONA-CLINIC",
            name="交纳村卫生室建设",
            fund="LUHUO-PAIR",
            county=LUHUO,
            budget=820_000,
            kind="medical",
        )
    )
    add(
        dict(
            code="LH-HOSP-SURGERY",
            name="炉霍县人民医院手术室设备安装与培训",
            fund="LUHUO-PAIR",
            county=LUHUO,
            town="新都镇",
            budget=160_000,
            kind="medical",
        )
    )
    add(
        dict(
            code="LH-VILLAGE-DOCTORS",
            name="乡村医生培训",
            fund="LUHUO-PAIR",
            county=LUHUO,
            budget=120_000,
            kind="medical",
        )
    )
    for n, name in enumerate(("学校图书角", "冬季校服", "寄宿制学校热水设施"), 1):
        add(
            dict(
                code=f"LH-EDU-{n:02d}",
                name=name,
                fund="LUHUO-PAIR",
                county=LUHUO,
                budget=_yuan(rng, 60_000, 140_000, 1000) // 100,
                kind="education",
            )
        )
    towns = list(_LUHUO_TOWNS)
    for n in range(1, 23):
        town = towns[(n - 1) % len(towns)]
        industry = _LUHUO_INDUSTRY[(n * 7) % len(_LUHUO_INDUSTRY)]
        add(
            dict(
                code=f"LH-IND-{n:02d}",
                name=f"{town}{industry}",
                fund="LUHUO-PAIR",
                county=LUHUO,
                town=town,
                budget=_yuan(rng, 140_000, 330_000, 1000) // 100,
                kind="industry",
            )
        )
    for n in range(1, 15):
        town = ("镇金镇", "踏水镇")[n % 2]
        industry = _JIANYANG_INDUSTRY[n % len(_JIANYANG_INDUSTRY)]
        add(
            dict(
                code=f"JY-IND-{n:02d}",
                name=f"{town}{industry}（第{(n + 1) // 2}期）",
                fund="JIANYANG-PAIR",
                county=JIANYANG,
                town=town,
                budget=_yuan(rng, 220_000, 380_000, 1000) // 100,
                kind="industry",
            )
        )
    for n, (town, name) in enumerate(
        (("镇金镇", "村小营养午餐"), ("踏水镇", "留守儿童课后服务")), 1
    ):
        add(
            dict(
                code=f"JY-EDU-{n:02d}",
                name=name,
                fund="JIANYANG-PAIR",
                county=JIANYANG,
                town=town,
                budget=150_000,
                kind="education",
            )
        )
    for code, name, fund, budget in (
        ("SD-CARE", "失独家庭关爱服务（探访陪伴 3,000 人次）", "SHIDU-CARE", 430_000),
        ("JJ-EVENTS", "锦江·归来荟主题活动", "JIN-FUND", 420_000),
        ("JJ-COURSES", "社区课程与活动", "JIN-FUND", 200_000),
        ("JJ-CLOUD", "居民“云提案”微项目", "JIN-FUND", 160_000),
        ("NX-COURSES", "女学课程（与成都女学文化研究会合办）", "NVXUE-EDU", 200_000),
        ("NX-READING", "女童读书会", "NVXUE-EDU", 80_000),
        ("JL-SCHOLAR", "锦炉助学：困境女童返校", "JINLU-EDU", 0),
        ("HC-SCHOLAR", "甘阿凉困难学生助学金", "HUACHENG-EDU", 0),
    ):
        add(
            dict(
                code=code,
                name=name,
                fund=fund,
                county=SHAHE
                if code[:2] in {"SD", "JJ", "NX"}
                else (LUHUO if code == "JL-SCHOLAR" else "甘孜州、阿坝州、凉山州"),
                town="沙河街道" if code[:2] in {"SD", "JJ", "NX"} else "",
                budget=budget,
                kind="service",
            )
        )


def _plan_donors(plan: _Plan) -> None:
    rng = plan.rng
    n = 0

    def donor(
        group: str, name: str, kind: str, language: str, region: str, anonymous: bool = False
    ) -> None:
        nonlocal n
        n += 1
        donor_id = f"D-{n:04d}"
        plan.donors.append(
            dict(
                donor_id=donor_id,
                name=name,
                kind=kind,
                language=language,
                region=region,
                anonymous=anonymous,
            )
        )
        plan.by_group[group].append(donor_id)

    firm_words = (
        "锦华",
        "蓉欣",
        "沙河源",
        "东湖",
        "天府",
        "合江",
        "望江",
        "锦官",
        "春熙",
        "红星",
        "晨光",
        "宏达",
        "川西",
        "嘉禾",
        "瑞丰",
        "金沙",
        "蜀韵",
        "博雅",
        "安和",
        "同心",
    )
    trades = (
        "置业有限公司",
        "商贸有限公司",
        "餐饮管理有限公司",
        "科技有限公司",
        "建设工程有限公司",
        "医药连锁有限公司",
        "文化传播有限公司",
        "物业服务有限公司",
    )
    for i, word in enumerate(firm_words):
        donor(
            "firm",
            f"成都{word}{trades[i % len(trades)]}",
            "organisation",
            "zh-Hans",
            "四川省成都市",
        )
    for party in (
        "民建锦江区总支",
        "民盟锦江区基层委员会",
        "九三学社锦江区支社",
        "致公党锦江区支部",
        "农工党锦江区总支",
    ):
        donor("party_org", party, "organisation", "zh-Hans", "四川省成都市锦江区")
    for _ in range(24):
        donor("party_member", _person(rng), "person", "zh-Hans", "四川省成都市锦江区")
    for i in range(20):
        donor(
            "returnee",
            _person(rng),
            "person",
            "en" if i % 4 == 0 else "zh-Hans",
            "锦江·归来荟（归国留学人员）",
        )
    for i in range(8):
        donor(
            "HKD",
            _person(rng) if i % 3 else "香港蜀港同乡联谊会",
            "person" if i % 3 else "organisation",
            "zh-Hant",
            "香港特别行政区",
        )
    for _ in range(4):
        donor("MOP", _person(rng), "person", "zh-Hant", "澳门特别行政区")
    for _ in range(5):
        donor("TWD", _person(rng), "person", "zh-Hant", "台湾地区")
    for i in range(8):
        donor(
            "USD",
            _person(rng),
            "person",
            "en" if i % 2 else "zh-Hant",
            ("美国加利福尼亚州", "加拿大不列颠哥伦比亚省", "美国纽约州", "澳大利亚新南威尔士州")[
                i % 4
            ],
        )
    for i in range(90):
        donor(
            "resident",
            _person(rng),
            "person",
            "zh-Hans",
            "四川省成都市锦江区沙河街道",
            anonymous=i % 5 == 0,
        )
    donor("foundation", "四川省华成慈善基金会", "organisation", "zh-Hans", "四川省成都市")
    donor("womens", "成都女学文化研究会", "organisation", "zh-Hans", "四川省成都市")
    donor("social", "543社工中心", "organisation", "zh-Hans", "四川省成都市锦江区")


def _plan_beneficiaries(plan: _Plan) -> None:
    """131 girls in three cohorts and about 320 students over three years (made-up data)."""
    rng = plan.rng
    schools = ("炉霍县中学", "炉霍县民族中学", "炉霍县新都镇中心小学", "炉霍县宜木乡寄宿制学校")
    for n in range(1, 132):
        cohort = (
            "锦炉助学 2024秋" if n <= 60 else ("锦炉助学 2025秋" if n <= 105 else "锦炉助学 2026春")
        )
        personal = {
            "name": rng.choice(_TIBETAN) + rng.choice(_TIBETAN),
            "id_number": f"DEMO-G{n:04d}",
            "school": rng.choice(schools),
            "guardian": rng.choice(_TIBETAN) + rng.choice(_TIBETAN),
            "phone": f"DEMO-139{rng.randint(10_000_000, 99_999_999)}",
        }
        plan.girls.append((cohort, LUHUO, personal))
    counties = (
        "甘孜州理塘县",
        "甘孜州色达县",
        "甘孜州石渠县",
        "阿坝州壤塘县",
        "阿坝州阿坝县",
        "阿坝州红原县",
        "凉山州昭觉县",
        "凉山州布拖县",
        "凉山州美姑县",
        "凉山州越西县",
    )
    for n in range(1, 321):
        county = counties[n % len(counties)]
        first = _YI if county.startswith("凉山") else _TIBETAN
        cohort = "华成助学 2024" if n <= 200 else ("华成助学 2025" if n <= 262 else "华成助学 2026")
        personal = {
            "name": rng.choice(first) + rng.choice(_TIBETAN + _YI),
            "id_number": f"DEMO-S{n:04d}",
            "school": f"{county}中学",
            "phone": f"DEMO-138{rng.randint(10_000_000, 99_999_999)}",
        }
        plan.students.append((cohort, county, personal))


# -- operations ---------------------------------------------------------------------------------
def _gift(
    plan: _Plan,
    on: dt.date,
    donor: str,
    fund: str,
    minor: int,
    memo: str = "",
    method: str = "bank",
    currency: str = "CNY",
    label: str | None = None,
) -> _Event:
    row: dict[str, Any] = dict(
        op="donation",
        date=on.isoformat(),
        donor_id=donor,
        fund=fund,
        amount=format_minor(minor, currency),
        currency=currency,
        method=method,
        memo=memo,
    )
    if currency != "CNY":
        row.update(
            fx_rate=_rate(plan.rng, currency, on),
            fx_source=_FX[currency][0],
            fx_date=on.isoformat(),
        )
    if label:
        row["label"] = label
    return plan.add(on, 1, row, minor)


def _plan_income(plan: _Plan) -> None:
    rng = plan.rng
    g = plan.by_group
    # fund: (donor groups, individual gifts per month, firm gifts over the period, range yuan)
    streams = {
        "LUHUO-PAIR": (("resident", "party_member", "returnee"), 6, 45, (20_000, 90_000)),
        "JIANYANG-PAIR": (("resident", "party_member"), 5, 35, (20_000, 80_000)),
        "JINLU-EDU": (("party_member", "returnee", "resident"), 6, 6, (10_000, 40_000)),
        "HUACHENG-EDU": (("returnee", "resident"), 2, 4, (20_000, 60_000)),
        "NVXUE-EDU": (("resident", "returnee"), 4, 8, (10_000, 30_000)),
        "JIN-FUND": (("resident", "party_member", "returnee"), 6, 30, (10_000, 40_000)),
    }
    for fund, (groups, per_month, firm_gifts, (lo, hi)) in streams.items():
        for _i, year, month in _months():
            for _ in range(rng.randint(per_month - 2, per_month + 2)):
                donor = rng.choice(g[rng.choice(groups)])
                _gift(
                    plan,
                    _day(rng, year, month),
                    donor,
                    fund,
                    _yuan(rng, 100, 5000, 50),
                    method=rng.choice(("online", "online", "bank")),
                )
        for _ in range(firm_gifts):
            on = _between(rng, START, END)
            who = rng.choice(g["firm"] + g["party_org"])
            _gift(plan, on, who, fund, _yuan(rng, lo, hi, 1000), memo="企业/组织捐赠")
    # the foundation channels money for the students' scholarships once a term
    for year in (2024, 2025, 2026):
        for month in (2, 8):
            _gift(
                plan,
                _day(rng, year, month, 1, 20),
                g["foundation"][0],
                "HUACHENG-EDU",
                _yuan(rng, 120_000, 160_000, 1000),
                memo="四川省华成慈善基金会 定向助学拨款",
            )
    for _ in range(20):
        _gift(
            plan,
            _between(rng, START, END),
            g["womens"][0],
            "NVXUE-EDU",
            _yuan(rng, 3000, 12_000, 100),
            memo="女学课程学员捐赠",
        )
    # 失独家庭关爱: exactly 450,000.00 raised
    target, amounts = 45_000_000, []
    while sum(amounts) < target - 2_000_000:
        amounts.append(_yuan(rng, 500, 20_000, 100))
    amounts.append(target - sum(amounts))
    for minor in amounts:
        who = rng.choice(g["resident"] + g["party_member"] + g["firm"] + g["social"])
        _gift(
            plan,
            _between(rng, START, dt.date(2026, 6, 30)),
            who,
            "SHIDU-CARE",
            minor,
            memo="失独家庭关爱专项",
        )
    # Hong Kong, Macau, Taiwan and overseas gifts, in their own currency, with wire fees
    ranges = {
        "HKD": (5000, 200_000),
        "MOP": (3000, 50_000),
        "TWD": (10_000, 300_000),
        "USD": (500, 30_000),
    }
    fees = {"HKD": 5000, "MOP": 5000, "TWD": 30_000, "USD": 1500}
    targets = ("LUHUO-PAIR", "JIANYANG-PAIR", "JINLU-EDU", "HUACHENG-EDU")
    for currency, (lo, hi) in ranges.items():
        for _ in range(14):
            on = _between(rng, START, END)
            fund = rng.choice(targets)
            _gift(
                plan,
                on,
                rng.choice(g[currency]),
                fund,
                _yuan(rng, lo, hi, 100),
                currency=currency,
                memo="港澳台及海外侨胞捐赠",
            )
            if rng.random() < 0.5:
                plan.add(
                    on,
                    3,
                    dict(
                        op="fee",
                        date=on.isoformat(),
                        fund=fund,
                        amount=format_minor(fees[currency], currency),
                        currency=currency,
                        memo="境外汇款手续费",
                    ),
                    fees[currency],
                )
    _plan_pledges(plan)


def _plan_pledges(plan: _Plan) -> None:
    rng = plan.rng
    firms = plan.by_group["firm"]
    pledges = (
        [("LUHUO-PAIR", 250_000, 600_000)] * 8
        + [("JIANYANG-PAIR", 200_000, 500_000)] * 7
        + [("JINLU-EDU", 100_000, 200_000)] * 3
        + [("HUACHENG-EDU", 100_000, 200_000)] * 2
    )
    for fund, lo, hi in pledges:
        on = _between(rng, START, dt.date(2026, 8, 31))
        donor = rng.choice(firms)
        minor = _yuan(rng, lo, hi, 10_000)
        label = plan.label("pledge-")
        due = on + dt.timedelta(days=365)
        plan.add(
            on,
            0,
            dict(
                op="pledge",
                date=on.isoformat(),
                donor_id=donor,
                fund=fund,
                amount=format_minor(minor, "CNY"),
                due_on=due.isoformat(),
                memo="认捐协议（分期到账）",
                label=label,
            ),
        )
        parts = rng.randint(2, 4)
        share = minor // parts
        paid_on = on
        for k in range(parts):
            paid_on = paid_on + dt.timedelta(days=rng.randint(40, 150))
            if paid_on > END:
                break  # still receivable at the end of the demo
            amount = share if k < parts - 1 else minor - share * (parts - 1)
            event = _gift(plan, paid_on, donor, fund, amount, memo=f"认捐第{k + 1}期到账")
            event.row["pledge_id"] = f"@{label}"
    on = dt.date(2025, 9, 1)
    plan.add(
        on,
        0,
        dict(
            op="pledge",
            date=on.isoformat(),
            donor_id=firms[0],
            fund="JIN-FUND",
            amount="100000.00",
            conditional="true",
            memo="配捐承诺：社区年度筹款达到 20 万元时配捐 10 万元（附条件，未入账）",
        ),
    )


def _plan_in_kind(plan: _Plan) -> None:
    g = plan.by_group
    items = (
        (
            dt.date(2024, 8, 16),
            g["firm"][5],
            "LUHUO-PAIR",
            "腹腔镜手术系统及配套手术器械",
            "1套",
            118_600_000,
            "第三方资产评估报告（市场法）",
            "equipment",
            "评估报告 DEMO-PG-2024-031；捐赠协议",
            None,
        ),
        (
            dt.date(2024, 9, 10),
            g["firm"][5],
            "LUHUO-PAIR",
            "一次性手术耗材（缝合线、手术包等）",
            "120箱",
            3_000_000,
            "供应商增值税发票价格",
            "inventory",
            "增值税发票 DEMO-FP-0092817",
            None,
        ),
        (
            dt.date(2025, 3, 5),
            g["womens"][0],
            "JINLU-EDU",
            "课外读物与学习用品",
            "2,400册/套",
            3_600_000,
            "出版社发票（按实际折扣价）",
            "inventory",
            "发票 DEMO-FP-2025-0311",
            None,
        ),
        (
            dt.date(2025, 10, 20),
            g["HKD"][0],
            "JIANYANG-PAIR",
            "儿童冬衣",
            "800件",
            9_600_000,
            "捐赠方提供的采购发票",
            "inventory",
            "采购发票 DEMO-HK-2025-118",
            "简阳市踏水镇中心小学",
        ),
    )
    for on, donor, fund, description, qty, minor, basis, asset, evidence, to in items:
        row = dict(
            op="in_kind",
            date=on.isoformat(),
            donor_id=donor,
            fund=fund,
            description=description,
            quantity=qty,
            amount=format_minor(minor, "CNY"),
            valuation_basis=basis,
            asset=asset,
            evidence=evidence,
            memo="物资捐赠：受赠日按公允价值入账",
        )
        if to:
            row.update(pass_through_to=to, memo="代为转赠捐赠人指定的受赠学校（受托代理）")
        plan.add(on, 1, row)


def _disburse(
    plan: _Plan, on: dt.date, project: dict[str, Any], minor: int, memo: str, priority: int = 4
) -> _Event:
    return plan.add(
        on,
        priority,
        dict(
            op="disbursement",
            date=on.isoformat(),
            fund=project["fund"],
            project=project["code"],
            amount=format_minor(minor, "CNY"),
            memo=memo,
        ),
        minor,
    )


def _plan_spending(plan: _Plan) -> None:
    rng = plan.rng
    by_code = {p["code"]: p for p in plan.projects}
    for project in plan.projects:
        if project["fund"] not in {"LUHUO-PAIR", "JIANYANG-PAIR"}:
            continue
        start = _between(rng, dt.date(2024, 3, 1), dt.date(2026, 2, 28))
        tranches = rng.randint(4, 8)
        total = project["budget"] * 100
        share = total // tranches
        on = start
        for k in range(tranches):
            if on > END:
                break
            amount = share if k < tranches - 1 else total - share * (tranches - 1)
            _disburse(plan, on, project, amount, f"{project['name']} 第{k + 1}期拨付")
            on += dt.timedelta(days=rng.randint(30, 100))
    visits_left = 3000
    months = list(_months())
    for i, year, month in months:
        visits = visits_left if i == len(months) - 1 else rng.randint(70, 105)
        visits_left -= visits
        on = _day(rng, year, month, 20, 28)
        _disburse(
            plan,
            on,
            by_code["SD-CARE"],
            visits * 13_500,
            f"失独家庭探访陪伴 {visits} 人次（社工服务费）",
        )
        _disburse(
            plan,
            _day(rng, year, month, 5, 25),
            by_code["JJ-COURSES"],
            _yuan(rng, 3000, 7000, 100),
            "社区课程与活动（当月 40 余场）",
        )
        _disburse(
            plan,
            _day(rng, year, month, 5, 25),
            by_code["NX-COURSES"],
            _yuan(rng, 3000, 6000, 100),
            "女学课程讲师费与场地费",
        )
        if i % 3 == 0:
            _disburse(
                plan,
                _day(rng, year, month),
                by_code["NX-READING"],
                _yuan(rng, 3000, 8000, 100),
                "女童读书会 图书与活动",
            )
    for n in range(1, 166):
        on = _between(rng, START, END)
        _disburse(
            plan, on, by_code["JJ-EVENTS"], _yuan(rng, 1200, 4000, 100), f"归来荟主题活动 第{n}场"
        )
    for n in range(1, 41):
        on = _between(rng, dt.date(2024, 4, 1), END)
        _disburse(
            plan,
            on,
            by_code["JJ-CLOUD"],
            _yuan(rng, 1500, 5000, 100),
            f"居民“云提案”第{n * 5}号 落地经费",
        )
    fee_funds = [f[0] for f in DEMO_FUNDS]
    for _i, year, month in months:
        last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
        for fund in fee_funds:
            minor = rng.randint(10, 60) * 100
            plan.add(
                last,
                5,
                dict(
                    op="fee",
                    date=last.isoformat(),
                    fund=fund,
                    amount=format_minor(minor, "CNY"),
                    memo="银行账户管理费及网银手续费",
                ),
                minor,
            )
    for on, to, minor, reason in (
        (
            dt.date(2025, 8, 28),
            "JINLU-EDU",
            5_000_000,
            "理事会决议（2025-08）：以非限定性资金补足2025秋季助学金",
        ),
        (
            dt.date(2026, 2, 26),
            "HUACHENG-EDU",
            3_000_000,
            "理事会决议（2026-02）：以非限定性资金补足2026学年助学金",
        ),
    ):
        plan.add(
            on,
            2,
            dict(
                op="transfer",
                date=on.isoformat(),
                from_fund="JIN-FUND",
                to_fund=to,
                amount=format_minor(minor, "CNY"),
                reason=reason,
            ),
            minor,
        )


def _plan_scholarships(plan: _Plan, girls: list[str], students: list[str]) -> None:
    rng = plan.rng
    terms = (
        ("2024秋", dt.date(2024, 9, 2)),
        ("2025春", dt.date(2025, 2, 24)),
        ("2025秋", dt.date(2025, 9, 1)),
        ("2026春", dt.date(2026, 3, 2)),
        ("2026秋", dt.date(2026, 9, 1)),
    )
    joins = {"锦炉助学 2024秋": 0, "锦炉助学 2025秋": 2, "锦炉助学 2026春": 3}
    for (cohort, _county, _personal), pseudonym in zip(plan.girls, girls, strict=True):
        for term, start in terms[joins[cohort] :]:
            on = start + dt.timedelta(days=rng.randint(0, 6))
            label = plan.label("award-")
            plan.add(
                on,
                2,
                dict(
                    op="award",
                    date=on.isoformat(),
                    fund="JINLU-EDU",
                    beneficiary_id=pseudonym,
                    amount="2000.00",
                    term=term,
                    project="JL-SCHOLAR",
                    label=label,
                ),
            )
            paid = on + dt.timedelta(days=rng.randint(7, 20))
            plan.add(
                paid,
                4,
                dict(op="payout", date=paid.isoformat(), award_id=f"@{label}", amount="2000.00"),
                200_000,
            )
    years = {"华成助学 2024": 2024, "华成助学 2025": 2025, "华成助学 2026": 2026}
    rosters: dict[int, list[str]] = {2024: [], 2025: [], 2026: []}
    for (cohort, _county, _personal), pseudonym in zip(plan.students, students, strict=True):
        first = years[cohort]
        for year in range(first, 2027):
            if year > first and rng.random() < 0.30:
                break  # graduated or left
            rosters[year].append(pseudonym)
    for year, roster in rosters.items():
        for pseudonym in roster[:200]:
            on = dt.date(year, 3, rng.randint(10, 20))
            label = plan.label("award-")
            plan.add(
                on,
                2,
                dict(
                    op="award",
                    date=on.isoformat(),
                    fund="HUACHENG-EDU",
                    beneficiary_id=pseudonym,
                    amount="1900.00",
                    term=f"{year}学年",
                    project="HC-SCHOLAR",
                    label=label,
                ),
            )
            for month in (3, 10):
                paid = dt.date(year, month, rng.randint(21, 28))
                plan.add(
                    paid,
                    4,
                    dict(op="payout", date=paid.isoformat(), award_id=f"@{label}", amount="950.00"),
                    95_000,
                )


def _plan_corrections(plan: _Plan) -> None:
    g = plan.by_group
    on = dt.date(2025, 3, 12)
    first = _gift(
        plan, on, g["firm"][2], "JIN-FUND", 2_000_000, memo="企业捐赠（银行回单 0312-07）"
    )
    dup = _gift(
        plan,
        on,
        g["firm"][2],
        "JIN-FUND",
        2_000_000,
        memo="企业捐赠（银行回单 0312-07）",
        label="duplicate-gift",
    )
    first.fixed = dup.fixed = True
    fix = plan.add(
        on + dt.timedelta(days=1),
        6,
        dict(
            op="reversal",
            entry_id="@duplicate-gift",
            date=(on + dt.timedelta(days=1)).isoformat(),
            reason="重复入账：同一银行回单导入两次，冲销重复记录",
        ),
    )
    fix.label_of = "duplicate-gift"
    project = next(p for p in plan.projects if p["code"] == "LH-IND-03")
    on = dt.date(2025, 6, 18)
    wrong = _disburse(plan, on, project, 6_350_000, f"{project['name']} 专项拨付")
    wrong.row["label"], wrong.fixed = "wrong-amount", True
    later = on + dt.timedelta(days=2)
    fix = plan.add(
        later,
        6,
        dict(
            op="reversal",
            entry_id="@wrong-amount",
            date=later.isoformat(),
            reason="金额录入错误（应为 36,500.00 元），冲销后按正确金额重新入账",
        ),
    )
    fix.label_of = "wrong-amount"
    right = _disburse(plan, later, project, 3_650_000, f"{project['name']} 专项拨付（更正）", 7)
    right.fixed = True
    on = dt.date(2024, 11, 30)
    fee = plan.add(
        on,
        5,
        dict(
            op="fee",
            date=on.isoformat(),
            fund="NVXUE-EDU",
            amount="80.00",
            memo="网银手续费",
            label="wrong-fund-fee",
        ),
        8000,
    )
    fee.fixed = True
    later = dt.date(2024, 12, 2)
    fix = plan.add(
        later,
        6,
        dict(
            op="reversal",
            entry_id="@wrong-fund-fee",
            date=later.isoformat(),
            reason="费用记错基金（应由锦基金承担），冲销后改记",
        ),
    )
    fix.label_of = "wrong-fund-fee"
    plan.add(
        later,
        7,
        dict(
            op="fee",
            date=later.isoformat(),
            fund="JIN-FUND",
            amount="80.00",
            memo="网银手续费（更正：由锦基金承担）",
        ),
        8000,
    ).fixed = True


# -- the cash check -----------------------------------------------------------------------------
_SPENDING = {"disbursement", "payout", "fee"}


def _minor(amount: str) -> int:
    return int(Decimal(amount) * 100)


def _cash_checked(events: list[_Event], budgets: dict[str, int]) -> list[dict[str, Any]]:
    """Order the events by date and trim or drop spending that would overdraw a fund, or take a
    project beyond its budget (`budgets`, fen).

    An award is dropped (with its payouts) when it would commit more than the fund can pay:
    its cash less the unpaid awards (pledges receivable are left out: a safe side of the
    ledger's limit, which counts them).
    """
    cash: dict[tuple[str, str], int] = defaultdict(int)
    unpaid: dict[str, int] = defaultdict(int)
    kept: dict[str, _Event] = {}
    award_fund: dict[str, str] = {}
    dropped: set[str] = set()
    rows: list[dict[str, Any]] = []
    for event in sorted(events, key=lambda e: (e.on, e.priority, e.order)):
        row, op = event.row, event.row["op"]
        currency = row.get("currency", "CNY")
        if op == "award":
            committed = _minor(row["amount"])
            if committed > cash[(row["fund"], currency)] - unpaid[row["fund"]]:
                dropped.add(row["label"])
                continue
            unpaid[row["fund"]] += committed
            award_fund[row["label"]] = row["fund"]
        if op == "payout" and row["award_id"][1:] in dropped:
            continue
        if op == "donation":
            cash[(row["fund"], currency)] += event.minor
        elif op in _SPENDING or op == "transfer":
            fund = row.get("fund") or row.get("from_fund") or award_fund[row["award_id"][1:]]
            have = cash[(fund, currency)]
            if op == "disbursement" and row["project"] in budgets:
                have = min(have, budgets[row["project"]])
            if event.minor > have:
                if event.fixed or op in {"fee", "transfer"}:
                    continue
                trimmed = have // 10_000 * 10_000
                if trimmed < 50_000:
                    continue
                event.minor = trimmed
                row["amount"] = format_minor(trimmed, currency)
                if op == "disbursement":
                    row["memo"] += "（按可用资金部分拨付）"
            cash[(fund, currency)] -= event.minor
            if op == "payout":
                unpaid[fund] -= event.minor
            if op == "disbursement" and row["project"] in budgets:
                budgets[row["project"]] -= event.minor
            if op == "transfer":
                cash[(row["to_fund"], currency)] += event.minor
        elif op == "reversal":
            target = kept.get(event.label_of or "")
            if target is None:
                continue
            key = (target.row["fund"], target.row.get("currency", "CNY"))
            sign = -1 if target.row["op"] == "donation" else 1
            if cash[key] + sign * target.minor < 0:
                continue
            cash[key] += sign * target.minor
        if "label" in row:
            kept[row["label"]] = event
        rows.append(row)
    return rows


def plan_operations(plan: _Plan, girls: list[str], students: list[str]) -> list[dict[str, Any]]:
    """The demo's operations as import rows, dated and checked against each fund's cash.

    `girls` and `students` are the pseudonyms of `plan.girls` and `plan.students`, in order.
    """
    _plan_income(plan)
    _plan_in_kind(plan)
    _plan_spending(plan)
    _plan_scholarships(plan, girls, students)
    _plan_corrections(plan)
    budgets = {p["code"]: p["budget"] * 100 for p in plan.projects if p["budget"]}
    return _cash_checked(plan.events, budgets)


def demo_plan(seed: int) -> _Plan:
    """The reference data of the demo (projects, donors, beneficiaries) for `seed`."""
    plan = _Plan(random.Random(seed))
    _plan_projects(plan)
    _plan_donors(plan)
    _plan_beneficiaries(plan)
    return plan


def demo_data(seed: int) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The demo for `seed` in the form of its data files: (reference data, operation rows).

    Beneficiaries are named by reference (`G0001`, `S0001`, ...): an award row's
    `beneficiary_id` is `@` + that reference, replaced by the pseudonym when loaded.
    """
    plan = demo_plan(seed)
    girls = [f"G{n:04d}" for n in range(1, len(plan.girls) + 1)]
    students = [f"S{n:04d}" for n in range(1, len(plan.students) + 1)]
    rows = plan_operations(plan, [f"@{g}" for g in girls], [f"@{s}" for s in students])
    beneficiaries = [
        {"ref": ref, "cohort": cohort, "county": county, "personal": personal}
        for ref, (cohort, county, personal) in zip(
            girls + students, plan.girls + plan.students, strict=True
        )
    ]
    reference = {
        "seed": seed,
        "funds": [
            {"code": c, "name": n, "restricted": r, "purpose": p} for c, n, r, p in DEMO_FUNDS
        ],
        "projects": [
            {
                **{k: v for k, v in p.items() if k not in ("budget", "kind") and v},
                **({"budget": format_minor(p["budget"] * 100, "CNY")} if p["budget"] else {}),
            }
            for p in plan.projects
        ],
        "donors": plan.donors,
        "beneficiaries": beneficiaries,
    }
    operations = [{k: v for k, v in row.items() if v not in ("", None)} for row in rows]
    return reference, operations


def write_demo_data(folder: Path, seed: int) -> None:
    """Write `reference.json` and `operations.jsonl` for `seed` into `folder`."""
    reference, operations = demo_data(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "reference.json").write_text(_one_record_a_line(reference), encoding="utf-8")
    lines = (json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in operations)
    (folder / "operations.jsonl").write_text("".join(f"{line}\n" for line in lines), "utf-8")


def _one_record_a_line(reference: dict[str, Any]) -> str:
    """JSON that reads (and diffs) as a table: one fund, project, donor or person a line."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))

    parts = []
    for key, value in reference.items():
        if isinstance(value, list):
            rows = ",\n".join(f"  {dump(item)}" for item in value)
            parts.append(f" {dump(key)}: [\n{rows}\n ]")
        else:
            parts.append(f" {dump(key)}: {dump(value)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


if __name__ == "__main__":
    write_demo_data(Path(__file__).with_name("demo_data"), int(sys.argv[1]))
