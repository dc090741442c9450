"""The three statutory statements tie: 01's net asset movement is 02's change, and 01's cash is
03's ending cash, with the forms' own line numbers, on the worked example and on generated books.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from audits.statements import Params, statements_from_db
from ledger import services
from ledger.errors import LedgerError
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork
from usecases.books import Books
from usecases.depreciation import run_depreciation
from usecases.unit import SYSTEM

POSITION_NUMBERS = [
    "1", "2", "3", "4", "8", "9", "15", "18", "20", "21", "24", "30", "31", "32", "33", "34",
    "35", "38", "40", "41", "51", "60", "61", "62", "63", "65", "66", "71", "72", "74", "78",
    "80", "81", "84", "88", "90", "91", "100", "101", "105", "110", "120",
]  # fmt: skip
ACTIVITY_NUMBERS = "1 2 3 4 5 6 9 11 12 21 24 28 35 40 45".split()
CASH_NUMBERS = [
    "1", "2", "3", "4", "5", "8", "13", "14", "15", "16", "19", "23", "24", "25", "26", "27",
    "30", "34", "35", "36", "39", "43", "44", "45", "48", "50", "51", "52", "55", "58", "59",
    "60", "61",
]  # fmt: skip


def _statements(engine, **params):
    with engine.connect() as conn:
        statements, _ = statements_from_db(conn, Params.make(**params))
    return statements


def _by_line(statement, column):
    return {r["line"]: r.get(column) for r in statement.rows}


def assert_the_three_tie(statements) -> None:
    position, acts, cash = (
        statements[k] for k in ("financial-position", "activities", "cash-flows")
    )
    opening, closing = _by_line(position, "opening"), _by_line(position, "closing")
    now = {r["line"]: r for r in acts.rows}
    moved = closing["total_net_assets"] - opening["total_net_assets"]
    assert moved == now["change"]["total"]
    assert closing["unrestricted"] - opening["unrestricted"] == now["change"]["unrestricted"]
    assert closing["restricted"] - opening["restricted"] == now["change"]["restricted"]
    flows = _by_line(cash, "amount")
    assert (flows["opening"], flows["closing"]) == (opening["cash"], closing["cash"])
    assert flows["opening"] + flows["net"] == flows["closing"]
    for s in (position, acts, cash):
        assert s.checks == (), s.checks
    for key in ("total_assets", "total_liabilities_and_net_assets"):
        assert closing[key] == (
            closing["total_current_assets"]
            + closing["total_long_term_investments"]
            + closing["fixed"]
            + closing["intangible"]
            + closing["agency_assets"]
            if key == "total_assets"
            else closing["total_liabilities"] + closing["total_net_assets"]
        )


def test_the_statutory_line_numbers_are_the_forms(engine, worked):
    s = _statements(engine, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31))
    numbers = {
        kind: [r["row_no"] for r in s[kind].rows if r["row_no"]]
        for kind in ("financial-position", "activities", "cash-flows")
    }
    assert numbers == {
        "financial-position": POSITION_NUMBERS,
        "activities": ACTIVITY_NUMBERS,
        "cash-flows": CASH_NUMBERS,
    }


@pytest.mark.parametrize("fund", [None, "LUHUO", "JINLU", "GENERAL"])
def test_the_worked_example_ties_across_01_02_03(engine, worked, fund):
    for dates in (
        {"date_from": dt.date(2026, 1, 1), "date_to": dt.date(2026, 12, 31)},
        {"date_from": dt.date(2026, 3, 1), "date_to": dt.date(2026, 3, 31)},
    ):
        assert_the_three_tie(_statements(engine, fund=fund, **dates))


def test_a_month_shows_this_month_beside_the_year_to_date(engine, worked):
    march = _statements(
        engine, fund="LUHUO", date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 31)
    )
    acts = march["activities"]
    labels = [c.label_cn for c in acts.columns if c.type == "money"]
    assert labels[0].startswith("本月数") and labels[3].startswith("本年累计数")
    rows = {r["line"]: r for r in acts.rows}
    # March: HKD 10,000 at 0.92 and CNY 20,000; by March the pledge of 50,000 is booked too
    assert rows["donations"]["restricted"] == 2_920_000
    assert rows["donations"]["prior_restricted"] == 7_920_000


def _generated_books(engine, tmp_path: Path, seed: int) -> None:
    """A year of random but legal operations over three funds, with equipment depreciated."""
    rng = random.Random(seed)
    with UnitOfWork(engine) as uow:
        for code, restricted in (("A", True), ("B", True), ("U", False)):
            services.open_fund(uow, code=code, name=code, restricted=restricted, purpose="p")
            services.open_project(
                uow, code=f"P{code}", name=f"项目{code}", fund=code, county="炉霍县"
            )
        donor = services.register_donor(uow, name="甲", kind="organisation").id
        shy = services.register_donor(uow, name="乙", anonymous=True).id
        services.record_in_kind_donation(
            uow,
            donor_id=donor,
            fund="A",
            description="手术设备",
            quantity="1",
            fair_value=Money.parse("2166000", "CNY"),
            valuation_basis="invoice",
            received_on=dt.date(2025, 11, 20),
            asset="equipment",
        )
        posted = []
        for _ in range(120):
            on = dt.date(2025, 6, 1) + dt.timedelta(days=rng.randrange(0, 500))
            fund = rng.choice("ABU")
            amount = Money(rng.randrange(100, 5_000_000), "CNY")
            step = rng.random()
            try:
                if step < 0.4:
                    who = rng.choice((donor, shy))
                    posted.append(
                        services.record_donation(
                            uow, donor_id=who, fund=fund, amount=amount, received_on=on
                        )
                    )
                elif step < 0.7:
                    posted.append(
                        services.record_disbursement(
                            uow, fund=fund, project=f"P{fund}", amount=amount, paid_on=on
                        )
                    )
                elif step < 0.8:
                    services.record_fee(
                        uow, fund=fund, amount=Money(rng.randrange(1, 5000), "CNY"), paid_on=on
                    )
                elif step < 0.9:
                    other = rng.choice([f for f in "ABU" if f != fund])
                    services.transfer_between_funds(
                        uow, from_fund=fund, to_fund=other, amount=amount, on=on, reason="调剂"
                    )
                elif posted:
                    services.reverse(
                        uow, entry_id=posted.pop(rng.randrange(len(posted))).id, reason="错", on=on
                    )
            except LedgerError:
                continue  # a refused operation changes nothing
        uow.commit()
    run_depreciation(Books(engine=engine, home=tmp_path), through="2026-09", by=SYSTEM)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_generated_book_ties_across_01_02_03(engine, tmp_path, seed):
    _generated_books(engine, tmp_path, seed)
    for fund in (None, "A", "B", "U"):
        for dates in (
            {"date_from": dt.date(2026, 1, 1), "date_to": dt.date(2026, 12, 31)},
            {"date_from": dt.date(2025, 1, 1), "date_to": dt.date(2025, 12, 31)},
            {"date_from": dt.date(2026, 2, 1), "date_to": dt.date(2026, 2, 28)},
        ):
            assert_the_three_tie(_statements(engine, fund=fund, **dates))
    closing = _by_line(_statements(engine, fund="A")["financial-position"], "closing")
    # 2,166,000 over 60 months from December 2025: 10 months through September 2026
    assert closing["fixed_cost"] == 216_600_000
    assert closing["accumulated_depreciation"] == 10 * 3_610_000
    assert closing["fixed_net"] == closing["fixed"] == 216_600_000 - 10 * 3_610_000


def test_registers_show_the_voucher_maker_and_the_checker_who_approved(engine, worked):
    from usecases.approvals import _Checked

    with UnitOfWork(engine) as uow:
        checked = _Checked(uow, {"request": "R-1", "checkers": ["李四"]})
        entry = services.record_disbursement(
            checked,
            fund="LUHUO",
            project="CLINIC",
            amount=Money.parse("2000", "CNY"),
            paid_on=dt.date(2026, 6, 3),
            maker="张三",
        )
        uow.commit()
    s = _statements(engine, date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31))
    payments = [r for r in s["disbursements"].rows if r["group"] == "payment"]
    approved = next(r for r in payments if r["voucher"] == str(entry.sequence))
    assert (approved["maker"], approved["checker"], approved["amount"]) == ("张三", "李四", 200_000)
    assert all(r["checker"] == "" for r in payments if r is not approved)
    towns = {r["project"]: r["town"] for r in s["disbursements"].rows if r["group"] == "project"}
    assert all(r["town"] == towns[r["project"]] for r in payments)  # each payment names its town
    [pledge, _total] = s["pledges"].rows
    assert pledge["donor"] == "锦江某公司" and pledge["voucher"] == "1"
