"""The canary on the programmes' public pages: a child's name, ID number and school (planted
through `register_beneficiary`), their pseudonyms, and anonymous donors' names appear on no
campaign page, place page, transparency roll-up or chief's summary."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

from sqlalchemy import Engine

from api.app import create_app
from ledger.money import Money
from tests.audits.conftest import worked  # noqa: F401 - the worked-example books
from tests.audits.worked import CANARY_STRINGS, Worked
from usecases import campaigns, chiefs, gifts, places
from usecases.books import open_books
from usecases.unit import SYSTEM

PLACES = Path(__file__).parents[2] / "cli" / "demo_data" / "places.json"


def test_no_child_nor_anonymous_donor_reaches_a_programme_page(
    engine: Engine,
    worked: Worked,  # noqa: F811 - the fixture imported above
    database_url: str,
    tmp_path: Path,
) -> None:
    books = open_books(engine, tmp_path / "home", group_commit_max=1, pseudonym_secret=b"k" * 32)
    data = json.loads(PLACES.read_text(encoding="utf-8"))
    places.ensure_places(books, data["places"], by=SYSTEM, projects_at={"SCHOLAR": "513327100201"})
    for slug, project in (("girls-school", "SCHOLAR"), ("clinic", "CLINIC")):
        fund = "JINLU" if project == "SCHOLAR" else "LUHUO"
        campaigns.create_campaign(
            books,
            by=SYSTEM,
            slug=slug,
            fund=fund,
            project=project,
            title_zh="众筹",
            goal=Money(10**7, "CNY"),
            starts_on="2026-01-01",
            ends_on="2026-12-31",
            status="open",
        )
        gifts.record_donation(
            books,
            by=SYSTEM,
            donor_id=worked.anon,
            fund=fund,
            amount=Money(5000, "CNY"),
            received_on=dt.date(2026, 7, 1),
            campaign=slug,
        )
    chief = chiefs.appoint_chief(
        books,
        village="513327100201",
        donor_id=worked.firm,
        starts_on="2026-01-01",
        ends_on="2026-12-31",
        citation_zh="捐建卫生室。",
        by=SYSTEM,
    )
    with engine.connect() as conn:
        anonymous_names = [
            r[0] for r in conn.exec_driver_sql("SELECT name FROM donors WHERE anonymous")
        ]
    forbidden = [*CANARY_STRINGS, *worked.students, *anonymous_names]
    app = create_app({"DATABASE_URL": database_url, "HUIQUAN_HOME": str(tmp_path), "TESTING": True})
    client = app.test_client()
    shown = []
    for path in (
        "/c/",
        "/c/girls-school",
        "/c/clinic",
        "/v/513327100201",
        "/v/513327100",
        "/v/513327",
        "/transparency",
        "/transparency.csv",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        shown.append(text)
        for secret in forbidden:
            assert secret not in text, f"{secret!r} leaked into {path}"
    assert "锦江某公司" in shown[3]  # the chief, as they chose to be shown
    pdf = chiefs.chief_summary_pdf(books, chief.id, 2026)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        assert "交纳村" in text
        for secret in forbidden:
            assert secret not in text, f"{secret!r} leaked into the chief's summary"
    app.extensions["huiquan"].engine.dispose()
