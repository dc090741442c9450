"""`huiquan import` holds rows to the approval policy: what needs an approver is refused."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from ledger import services
from ledger.storage import tables
from tests.builders import Books, cny
from tests.controls.test_spending_limits import ORG_CODE
from tests.integration.test_cli_support import head_sequence, huiquan, one_error_line


def test_an_import_row_that_needs_approval_refuses_the_file_naming_its_line(
    database_url, engine, tmp_path: Path
):
    books = Books(engine)
    books.fund("LUHUO")
    books.project("CLINIC")
    books.donor(donor_id="D-1")
    path = tmp_path / "ops.csv"
    path.write_text(
        "op,date,donor_id,fund,project,amount,reason,entry_id,label\n"
        "donation,2025-01-05,D-1,LUHUO,,50000,,,\n"
        "disbursement,2025-01-06,,LUHUO,CLINIC,9999.99,,,small\n"
        "disbursement,2025-01-07,,LUHUO,CLINIC,10000,,,\n"
        "reversal,2025-01-08,,,,,paid twice,@small,\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    result = huiquan(database_url, home, "import", str(path))
    assert result.exit_code == 1
    assert "nothing was posted" in one_error_line(result)
    assert "line 4: disbursement: needs approval" in result.stderr
    assert "line 5: reversal: needs approval" in result.stderr  # of a disbursement: always
    assert "line 3" not in result.stderr
    assert head_sequence(engine) == 0


def test_an_import_is_held_to_budgets_purposes_and_payees_as_the_api_is(
    database_url, engine, tmp_path: Path
):
    books = Books(engine)
    books.fund("LUHUO")
    books.donor(donor_id="D-1")
    books.run(
        services.open_project,
        code="LH-IND-01",
        name="新都镇食用菌种植",
        fund="LUHUO",
        county="甘孜州炉霍县",
        budget=cny("2170"),
    )
    books.run(services.set_fund_purposes, fund="LUHUO", purposes={"scholarships": True}, by="admin")
    path = tmp_path / "ops.csv"
    path.write_text(
        "op,date,donor_id,fund,project,amount,payee_kind,payee_name,payee_registration_number\n"
        "donation,2025-01-05,D-1,LUHUO,,5000,,,\n"
        "disbursement,2025-01-06,,LUHUO,LH-IND-01,100,,,\n",
        encoding="utf-8",
    )
    home = tmp_path / "home"
    result = huiquan(database_url, home, "import", str(path))
    assert result.exit_code == 1
    assert "line 3: disbursement: fund: fund LUHUO may pay for scholarships" in result.stderr
    books.run(
        services.set_fund_purposes,
        fund="LUHUO",
        purposes={"projects": True, "counties": ["甘孜州炉霍县"]},
        by="admin",
    )
    path.write_text(
        "op,date,donor_id,fund,project,amount,payee_kind,payee_name,payee_registration_number\n"
        "donation,2025-01-05,D-1,LUHUO,,5000,,,\n"
        f"disbursement,2025-01-06,,LUHUO,LH-IND-01,2000,organisation,交纳村,{ORG_CODE}\n"
        "disbursement,2025-01-07,,LUHUO,LH-IND-01,170.01,,,\n",
        encoding="utf-8",
    )
    result = huiquan(database_url, home, "import", str(path))
    assert result.exit_code == 1
    assert "line 4: disbursement: amount: project LH-IND-01 has 170.00 CNY" in result.stderr
    assert head_sequence(engine) == 0
    path.write_text(path.read_text(encoding="utf-8").replace("170.01", "170.00"), "utf-8")
    result = huiquan(database_url, home, "import", str(path))
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        data = conn.execute(
            select(tables.journal_entries.c.data).where(
                tables.journal_entries.c.kind == "disbursement"
            )
        ).scalars()
        payees = [json.loads(d).get("payee") for d in data]
    assert payees == [
        {"kind": "organisation", "name": "交纳村", "registration_number": ORG_CODE},
        None,
    ]


def test_an_award_row_beyond_what_the_fund_can_pay_is_refused_with_the_figures(
    database_url, engine, tmp_path: Path
):
    books = Books(engine)
    books.fund("SHIDU-CARE")
    books.donor(donor_id="D-1")
    who = books.beneficiary()
    path = tmp_path / "ops.csv"
    path.write_text(
        "op,date,donor_id,fund,amount,beneficiary_id,term\n"
        "donation,2025-01-05,D-1,SHIDU-CARE,4387.50,,\n"
        f"award,2025-01-06,,SHIDU-CARE,9999.99,{who},2025秋\n",
        encoding="utf-8",
    )
    result = huiquan(database_url, tmp_path / "home", "import", str(path))
    assert result.exit_code == 1
    assert (
        "line 3: award: amount: fund SHIDU-CARE can commit at most 4387.50 CNY to a new award "
        "(cash 4387.50 CNY + unconditional pledges receivable 0.00 CNY - unpaid awards 0.00 CNY)"
        "; this award is 9999.99 CNY"
    ) in result.stderr
    assert head_sequence(engine) == 0
