"""The demo is data: the shipped files are what the generator writes, loaded by the importer."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.demo import SHIPPED_SEED, read_demo_data
from cli.demo_plan import demo_data
from tests.integration.test_cli_support import head_sequence, huiquan


def test_the_shipped_files_are_what_the_generator_writes_for_their_seed():
    reference, rows = read_demo_data()
    planned_reference, planned_rows = demo_data(SHIPPED_SEED)
    assert reference == planned_reference
    assert [row for _line, row in rows] == planned_rows
    assert [line for line, _row in rows] == list(range(1, len(rows) + 1))


def test_the_operations_name_beneficiaries_by_reference_and_hold_no_personal_data():
    reference, rows = read_demo_data()
    refs = {b["ref"] for b in reference["beneficiaries"]}
    personal = {v for b in reference["beneficiaries"] for v in b["personal"].values()}
    awards = [row for _line, row in rows if row["op"] == "award"]
    assert awards and {row["beneficiary_id"][1:] for row in awards} <= refs
    assert all(row["beneficiary_id"].startswith("@") for row in awards)
    assert not any(str(value) in personal for _line, row in rows for value in row.values())
    assert len({b["personal"]["id_number"] for b in reference["beneficiaries"]}) == len(refs)


def test_another_seed_is_generated_not_read():
    reference, rows = read_demo_data(7)
    assert reference["seed"] == 7
    assert [row for _line, row in rows] == demo_data(7)[1]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_the_default_demo_posts_every_row_of_the_shipped_file(database_url, home, engine):
    _reference, rows = read_demo_data()
    off_the_books = sum(1 for _line, row in rows if row.get("conditional") == "true")
    result = huiquan(database_url, home, "demo")
    assert result.exit_code == 0, result.output
    assert f"seed {SHIPPED_SEED}" in result.stdout
    depreciation = int(result.stdout.split("depreciation: ")[1].split(" month")[0])
    assert depreciation > 0  # the surgical equipment, month by month through 2026-10
    handovers = int(result.stdout.split(" handovers of goods")[0].rsplit(" ", 1)[1])
    fee_from_statement = 1  # the demo bank statement's one line the books lacked
    assert handovers == 4
    programmes = int(result.stdout.split("programmes: ")[1].split(" entries")[0])
    assert programmes > 0  # the campaigns' gifts, the matcher's pledge and gifts, a payment
    requests = result.stdout.split("approval requests: ")[1]
    approved = int(requests.split(" approved")[0])
    assert requests.startswith("1 approved and posted, 1 rejected, 3 pending")
    # the needs board's demo (cli/demo_community.py) posts its pledges, payments and goods too
    community = int(result.stdout.split("community: ")[1].split(" entries")[0])
    assert head_sequence(engine) == (
        len(rows)
        - off_the_books
        + depreciation
        + handovers
        + fee_from_statement
        + programmes
        + approved
        + community
    )
