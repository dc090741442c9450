"""Statements of the worked-example books, checked against hand-computed figures and goldens.

Goldens live in tests/audits/golden/; regenerate with HUIQUAN_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from decimal import Decimal
from pathlib import Path

from audits.statements import KINDS, Params, statement_csv, statements_from_db
from ledger import services
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork

GOLDEN = Path(__file__).parent / "golden"
YEAR = {"date_from": dt.date(2026, 1, 1), "date_to": dt.date(2026, 12, 31)}
STABLE = (
    "trial-balance",
    "financial-position",
    "activities",
    "cash-flows",
    "disbursements",
    "scholarships",
)


def _statements(engine, fund=None, **dates):
    params = Params.make(fund=fund, **(dates or YEAR))
    with engine.connect() as conn:
        statements, _ = statements_from_db(conn, params)
    return {k: s.to_dict() for k, s in statements.items()}


def _rows(statement, column):
    return {r["line"]: r.get(column) for r in statement["rows"]}


def test_the_restricted_hkd_gift_spent_on_luhuo_clinic_equipment(engine, worked131):
    s = _statements(engine, "LUHUO")
    position, acts, cash = s["financial-position"], s["activities"], s["cash-flows"]
    closing = _rows(position, "closing")
    assert closing["cash"] == "38680.00"  # CNY 35,000 + HKD 4,000 at 0.92
    assert closing["receivables"] == "20000.00"  # the pledge's unpaid 20,000
    assert (closing["restricted"], closing["unrestricted"]) == ("58680.00", "0.00")
    assert closing["total_assets"] == closing["total_liabilities_and_net_assets"] == "58680.00"
    release = next(r for r in acts["rows"] if r["line"] == "release")
    assert (release["unrestricted"], release["restricted"], release["total"]) == (
        "20520.00",
        "-20520.00",
        "0.00",
    )
    change = next(r for r in acts["rows"] if r["line"] == "change")
    assert (change["unrestricted"], change["restricted"]) == ("0.00", "58680.00")
    flows = _rows(cash, "amount")
    assert (flows["donations"], flows["grants_paid"], flows["net"]) == (
        "59200.00",
        "20520.00",
        "38680.00",
    )
    [clinic] = [r for r in s["disbursements"]["rows"] if r["group"] == "project"]
    assert (clinic["county"], clinic["payments"], clinic["amount"]) == ("炉霍县", 2, "20520.00")
    [pledge, _total] = s["pledges"]["rows"]
    assert (pledge["paid"], pledge["outstanding"], pledge["status"]) == (
        "30000.00",
        "20000.00",
        "outstanding",
    )
    assert all(not st["checks"] for st in s.values())


def test_a_131_student_cohort_paid_per_term(engine, worked131):
    s = _statements(engine, "JINLU")
    spring, autumn, *counties, total = s["scholarships"]["rows"]
    # Per county (the students alternate between two): the county rows add up to the total.
    assert [(c["group"], c["county"]) for c in counties] == [
        ("county", "炉霍县"),
        ("county", "简阳市"),
    ]
    for name in ("students", "awarded", "paid", "unpaid", "payouts", "acknowledged_amount"):
        figures = [c[name] for c in counties]
        if isinstance(total[name], int):
            assert sum(figures) == total[name], name
        else:
            assert f"{sum(Decimal(f) for f in figures):.2f}" == total[name], name
    assert counties[0]["students"] + counties[1]["students"] == 262  # 131 students, two terms
    assert (spring["term"], spring["students"], spring["awarded"], spring["unpaid"]) == (
        "2026春",
        131,
        "196500.00",
        "0.00",
    )
    assert (autumn["term"], autumn["students"], autumn["paid"], autumn["unpaid"]) == (
        "2026秋",
        131,
        "98250.00",
        "98250.00",
    )
    assert total["awarded"] == "393000.00"
    closing = _rows(s["financial-position"], "closing")
    assert (closing["cash"], closing["grants_payable"], closing["total_net_assets"]) == (
        "98250.00",
        "98250.00",
        "0.00",
    )
    assert _rows(s["cash-flows"], "amount")["grants_paid"] == "294750.00"
    assert _rows(s["activities"], "total")["program"] == "393000.00"


def test_consolidated_statements_add_up_the_funds(engine, worked131):
    s = _statements(engine)
    closing = _rows(s["financial-position"], "closing")
    assert closing["cash"] == "141880.00"  # 38,680 + 98,250 + 4,950
    assert (closing["unrestricted"], closing["restricted"]) == ("4950.00", "58680.00")
    tb = s["trial-balance"]["rows"][-1]
    assert tb["debit"] == tb["credit"]
    assert _rows(s["activities"], "unrestricted")["fundraising"] == "50.00"
    assert all(not st["checks"] for st in s.values())


def test_positions_as_of_an_earlier_date_and_a_period_of_one_month(engine, worked131):
    march = _statements(
        engine, "LUHUO", date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 31)
    )
    flows = _rows(march["cash-flows"], "amount")
    assert (flows["opening"], flows["donations"], flows["grants_paid"]) == (
        "0.00",
        "29200.00",
        "5520.00",
    )
    position = _rows(march["financial-position"], "opening")
    assert position["receivables"] == "50000.00"  # pledged in February
    assert all(not st["checks"] for st in march.values())


def test_an_interfund_transfer_nets_out_when_consolidated(engine, worked):
    with UnitOfWork(engine) as uow:
        services.transfer_between_funds(
            uow,
            from_fund="GENERAL",
            to_fund="LUHUO",
            amount=Money.parse("1000", "CNY"),
            on=dt.date(2026, 6, 2),
            reason="top-up",
        )
        uow.commit()
    general, everything = _statements(engine, "GENERAL"), _statements(engine)
    general_flows = _rows(general["cash-flows"], "amount")
    assert (general_flows["financing_other_paid"], general_flows["financing"]) == (
        "1000.00",
        "-1000.00",
    )
    luhuo_flows = _rows(_statements(engine, "LUHUO")["cash-flows"], "amount")
    assert luhuo_flows["financing_other_received"] == "1000.00"
    assert _rows(general["financial-position"], "closing")["other_current_assets"] == "1000.00"
    consolidated = _rows(everything["cash-flows"], "amount")
    assert consolidated["financing_other_paid"] == consolidated["financing"] == "0.00"
    assert _rows(everything["financial-position"], "closing")["other_current_assets"] == "0.00"
    assert all(not st["checks"] for st in [*general.values(), *everything.values()])


def test_statement_csv_has_one_row_per_line_and_neutralised_text(engine, worked):
    params = Params.make(**YEAR)
    with engine.connect() as conn:
        statements, _ = statements_from_db(conn, params)
    table = list(csv.reader(io.StringIO(statement_csv(statements["activities"]), newline="")))
    assert table[0] == [
        "line",
        "label_cn",
        "label_en",
        "row_no",
        "unrestricted",
        "restricted",
        "total",
        "prior_unrestricted",
        "prior_restricted",
        "prior_total",
    ]
    assert [r[3] for r in table if r[0] in ("donations", "management", "change")] == [
        "1",
        "21",
        "45",
    ]
    assert len(table) == len(statements["activities"].rows) + 1
    release = next(r for r in table if r[0] == "release")
    assert release[5].startswith("-") and release[5][1:].replace(".", "").isdigit()


def test_statements_match_the_reviewed_goldens(engine, worked131):
    for fund in (None, "LUHUO", "JINLU", "GENERAL"):
        current = {k: v for k, v in _statements(engine, fund).items() if k in STABLE}
        path = GOLDEN / f"statements-{fund or 'consolidated'}-2026.json"
        text = json.dumps(current, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        if os.environ.get("HUIQUAN_UPDATE_GOLDEN"):
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8"), path.name


def test_every_statement_kind_is_built(engine, worked):
    assert set(_statements(engine)) == set(KINDS)
