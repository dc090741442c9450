"""`huiquan chief appoint|list|summary`: the use cases from the command line, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from ledger import services
from ledger.storage.unit_of_work import UnitOfWork
from tests.integration.test_cli_support import huiquan, one_error_line
from usecases import places
from usecases.books import open_books
from usecases.unit import SYSTEM

PLACES = Path(__file__).parents[2] / "cli" / "demo_data" / "places.json"


def test_a_chief_is_appointed_listed_and_summarised_from_the_command_line(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with UnitOfWork(engine) as uow:
        donor = services.register_donor(uow, name="成都合江医药连锁有限公司", kind="organisation")
        uow.commit()
    books = open_books(engine, home, group_commit_max=1, pseudonym_secret=b"k" * 32)
    places.ensure_places(books, json.loads(PLACES.read_text())["places"], by=SYSTEM)
    appointed = huiquan(
        database_url,
        home,
        "chief",
        "appoint",
        "--village",
        "513327100201",
        "--donor",
        donor.id,
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--citation",
        "捐建卫生室。",
    )
    assert appointed.exit_code == 0, appointed.output
    assert "成都合江医药连锁有限公司 of 513327100201" in appointed.stdout
    listed = huiquan(database_url, home, "chief", "list")
    chief_id = listed.stdout.split()[0]
    out = tmp_path / "summary.pdf"
    written = huiquan(database_url, home, "chief", "summary", chief_id, "2026", "-o", str(out))
    assert written.exit_code == 0, written.output
    assert out.read_bytes().startswith(b"%PDF-")
    town = huiquan(
        database_url,
        home,
        "chief",
        "appoint",
        "--village",
        "513327100",
        "--donor",
        donor.id,
        "--from",
        "2026-01-01",
        "--to",
        "2026-12-31",
        "--citation",
        "x",
    )
    assert "There is no village '513327100'" in one_error_line(town)
