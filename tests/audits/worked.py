"""The worked-example books, hand-computed (all amounts CNY unless said otherwise).

LUHUO — restricted fund 炉霍县交纳村卫生室, project CLINIC (炉霍县 新都镇):
  2026-02-15  pledge by 锦江某公司                     Dr 1122 50,000.00 / Cr 4101-R
  2026-03-02  HKD 10,000.00 from an anonymous Hong Kong donor at 0.92 → CNY 9,200.00
  2026-03-05  CNY 20,000.00 from 锦江某公司
  2026-03-20  HKD 6,000.00 spent on clinic equipment, carrying rate 0.92 → CNY 5,520.00
              (releases 5,520.00 from restriction)
  2026-04-10  CNY 15,000.00 spent on clinic equipment (releases 15,000.00)
  2026-04-12  CNY 1,000.00 posted to CLINIC by mistake, reversed on 2026-04-13
  2026-05-08  锦江某公司 pays 30,000.00 of its pledge (20,000.00 outstanding)
  → at 2026-12-31: cash CNY 35,000.00 + HKD 4,000.00 (CNY 3,680.00), pledges 20,000.00;
    restricted net assets 58,680.00, unrestricted 0.

JINLU — restricted fund 锦炉爱心助学基金: a cohort of 131 students (2024秋), paid per term:
  2026-02-20  CNY 393,000.00 from 女学教育基金
  2026-03-01  131 awards of 1,500.00 for 2026春 (releases 196,500.00); paid in full 2026-03-10
  2026-09-01  131 awards of 1,500.00 for 2026秋 (releases 196,500.00); 750.00 each paid 2026-09-10
  → cash 98,250.00, scholarships payable 98,250.00, net assets 0.

GENERAL — unrestricted fund:
  2026-06-01  CNY 5,000.00 from an anonymous donor; bank fee 50.00 the same day
  → cash 4,950.00, unrestricted net assets 4,950.00.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ledger import services
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork
from tests.builders import SECRET

STUDENTS = 131
# The canary: a real-looking child's identity that must never leave the encrypted store.
CANARY = {"name": "卓玛拉姆", "id_number": "513327201203150042", "school": "炉霍县第二中学"}
CANARY_STRINGS = tuple(CANARY.values())


def cny(text: str) -> Money:
    return Money.parse(text, "CNY")


@dataclass
class Worked:
    firm: str = ""
    hk_donor: str = ""
    anon: str = ""
    foundation: str = ""
    pledge: str = ""
    mistaken: str = ""
    reversal: str = ""
    hkd_gift: str = ""
    students: list[str] = field(default_factory=list)
    canary: str = ""


def build_worked_books(engine: object, *, students: int = STUDENTS) -> Worked:
    w = Worked()
    with UnitOfWork(engine) as uow:  # type: ignore[arg-type]
        services.open_fund(
            uow, code="LUHUO", name="炉霍卫生室基金", restricted=True, purpose="交纳村卫生室设备"
        )
        services.open_fund(
            uow, code="JINLU", name="锦炉爱心助学基金", restricted=True, purpose="助学"
        )
        services.open_fund(uow, code="GENERAL", name="非限定性基金", restricted=False)
        services.open_project(
            uow, code="CLINIC", name="交纳村卫生室", fund="LUHUO", county="炉霍县", town="新都镇"
        )
        services.open_project(uow, code="SCHOLAR", name="锦炉助学", fund="JINLU", county="炉霍县")
        w.firm = services.register_donor(uow, name="锦江某公司", kind="organisation").id
        w.hk_donor = services.register_donor(
            uow, name="陈大文", language="zh-Hant", anonymous=True, region="HK"
        ).id
        w.anon = services.register_donor(uow, name="李匿名", anonymous=True).id
        w.foundation = services.register_donor(uow, name="女学教育基金", kind="organisation").id
        pledge, _ = services.record_pledge(
            uow,
            donor_id=w.firm,
            fund="LUHUO",
            amount=cny("50000"),
            pledged_on=dt.date(2026, 2, 15),
            due_on=dt.date(2026, 12, 31),
        )
        w.pledge = pledge.id
        w.hkd_gift = services.record_donation(
            uow,
            donor_id=w.hk_donor,
            fund="LUHUO",
            amount=Money.parse("10000", "HKD"),
            received_on=dt.date(2026, 3, 2),
            fx_rate="0.92",
            fx_source="PBOC central parity",
        ).id
        services.record_donation(
            uow,
            donor_id=w.firm,
            fund="LUHUO",
            amount=cny("20000"),
            received_on=dt.date(2026, 3, 5),
        )
        services.record_disbursement(
            uow,
            fund="LUHUO",
            project="CLINIC",
            amount=Money.parse("6000", "HKD"),
            paid_on=dt.date(2026, 3, 20),
            memo='=HYPERLINK("http://x") 设备',
        )
        services.record_disbursement(
            uow,
            fund="LUHUO",
            project="CLINIC",
            amount=cny("15000"),
            paid_on=dt.date(2026, 4, 10),
            memo="-15000 手术设备",
        )
        w.mistaken = services.record_disbursement(
            uow, fund="LUHUO", project="CLINIC", amount=cny("1000"), paid_on=dt.date(2026, 4, 12)
        ).id
        w.reversal = services.reverse(
            uow, entry_id=w.mistaken, reason="posted twice", on=dt.date(2026, 4, 13)
        ).id
        services.record_donation(
            uow,
            donor_id=w.firm,
            fund="LUHUO",
            amount=cny("30000"),
            received_on=dt.date(2026, 5, 8),
            pledge_id=w.pledge,
        )
        services.record_donation(
            uow,
            donor_id=w.foundation,
            fund="JINLU",
            amount=cny(str(1500 * 2 * students)),
            received_on=dt.date(2026, 2, 20),
        )
        canary = services.register_beneficiary(
            uow, cohort="2024秋", county="炉霍县", personal=CANARY, secret=SECRET
        )
        w.canary = canary.id
        w.students = [canary.id] + [
            services.register_beneficiary(
                uow,
                cohort="2024秋",
                county="炉霍县" if n % 2 else "简阳市",
                personal={"name": f"学生{n}", "id_number": f"ID{n:06d}"},
                secret=SECRET,
            ).id
            for n in range(1, students)
        ]
        for term, awarded_on, paid_on, paid in (
            ("2026春", dt.date(2026, 3, 1), dt.date(2026, 3, 10), "1500"),
            ("2026秋", dt.date(2026, 9, 1), dt.date(2026, 9, 10), "750"),
        ):
            for student in w.students:
                award, _ = services.award_scholarship(
                    uow,
                    fund="JINLU",
                    beneficiary_id=student,
                    amount=cny("1500"),
                    term=term,
                    awarded_on=awarded_on,
                    project="SCHOLAR",
                )
                services.pay_scholarship(uow, award_id=award.id, amount=cny(paid), paid_on=paid_on)
        services.record_donation(
            uow,
            donor_id=w.anon,
            fund="GENERAL",
            amount=cny("5000"),
            received_on=dt.date(2026, 6, 1),
        )
        services.record_fee(uow, fund="GENERAL", amount=cny("50"), paid_on=dt.date(2026, 6, 1))
        uow.commit()
    return w
