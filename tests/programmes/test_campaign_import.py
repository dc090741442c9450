"""An imported gift may name a campaign: tagged in the books and matched like any other; a
file with a row naming a campaign that takes no such gift is refused whole."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger import services
from ledger.importer import ImportRejected, import_file
from ledger.money import Money
from ledger.storage.unit_of_work import UnitOfWork
from usecases import campaigns
from usecases.books import open_books
from usecases.unit import SYSTEM

TODAY = dt.datetime.now(dt.UTC).date()


def test_imported_gifts_are_tagged_and_matched_and_a_bad_campaign_rejects_the_file(
    engine: Engine, tmp_path: Path
) -> None:
    with UnitOfWork(engine) as uow:
        services.open_fund(uow, code="F", name="Luhuo", restricted=True, purpose="industry")
        firm = services.register_donor(uow, name="配捐企业", kind="organisation").id
        giver = services.register_donor(uow, name="居民").id
        pledge, _ = services.record_pledge(
            uow, donor_id=firm, fund="F", amount=Money(500_000, "CNY"), pledged_on=TODAY
        )
        uow.commit()
    books = open_books(engine, tmp_path / "home", group_commit_max=1, pseudonym_secret=b"k" * 32)
    campaigns.create_campaign(
        books,
        by=SYSTEM,
        slug="drive",
        fund="F",
        title_zh="众筹",
        goal=Money(10**7, "CNY"),
        starts_on=TODAY,
        ends_on=TODAY,
        status="open",
    )
    campaigns.set_matcher(
        books, "drive", pledge_id=pledge.id, ratio="1:1", cap=Money(150_000, "CNY"), by=SYSTEM
    )
    day = TODAY.isoformat()
    rows = [
        "op,date,donor_id,fund,amount,campaign",
        f"donation,{day},{giver},F,1000.00,drive",
        f"donation,{day},{giver},F,800.00,drive",
        f"donation,{day},{giver},F,300.00,",
    ]
    good = tmp_path / "gifts.csv"
    good.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = import_file(engine, good)
    assert result.entries == 5  # three gifts, two matches (1,000.00 and the cap's 500.00)
    with engine.connect() as conn:
        progress = campaigns.progress_of(conn, campaigns.load_campaign(conn, "drive"))  # type: ignore[arg-type]
    assert (progress.gifts_minor, progress.matched_minor) == (180_000, 150_000)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "op,date,donor_id,fund,amount,campaign\n"
        f"donation,{day},{giver},F,10.00,\n"
        f"donation,{day},{giver},F,10.00,no-such-drive\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRejected) as rejected:
        import_file(engine, bad)
    assert rejected.value.problems[0].line == 3 and "campaign" in str(rejected.value.problems[0])
    with engine.connect() as conn:
        after = campaigns.progress_of(conn, campaigns.load_campaign(conn, "drive"))  # type: ignore[arg-type]
    assert after == progress
