"""Fixtures of the evidence tests: the use cases' books on a fresh database, both stores, and the
HTTP API's fixtures (a client per role, books opened through the API)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger import services
from ledger.money import Money
from ledger.storage.evidence_store import DatabaseEvidenceStore, EvidenceStore, LocalEvidenceStore
from ledger.storage.unit_of_work import UnitOfWork
from tests.api.conftest import (  # noqa: F401 - fixtures shared with the API tests
    admin,
    anonymous,
    app,
    app_config,
    auditor,
    books,
    client,
    officer,
    tokens,
)
from usecases.books import Books, open_books

STORES = ("local", "database")


@pytest.fixture
def ledger_books(engine: Engine, tmp_path: Path) -> Iterator[Books]:
    """The use cases' books (no group commit) with fund F, project P and a donor."""
    with UnitOfWork(engine) as uow:
        services.open_fund(uow, code="F", name="Fund", restricted=True, purpose="relief")
        services.open_project(uow, code="P", name="炉霍医疗", fund="F", county="炉霍县")
        uow.commit()
    yield open_books(engine, tmp_path / "home", group_commit_max=1, pseudonym_secret=b"k" * 32)


@pytest.fixture
def donor(ledger_books: Books) -> str:
    with UnitOfWork(ledger_books.engine) as uow:
        donor = services.register_donor(uow, name="成都某医疗器械公司", kind="organisation")
        uow.commit()
    return donor.id


@pytest.fixture
def cash_gift(ledger_books: Books, donor: str) -> str:
    """A 1,000.00 CNY gift to fund F, received today: an entry to attach documents to."""
    with UnitOfWork(ledger_books.engine) as uow:
        entry = services.record_donation(
            uow,
            donor_id=donor,
            fund="F",
            amount=Money.parse("1000.00", "CNY"),
            received_on=dt.date.today(),
        )
        uow.commit()
    return entry.id


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, ledger_books: Books) -> EvidenceStore:
    """Each store in turn: the same tests pass on both."""
    if request.param == "local":
        return LocalEvidenceStore(ledger_books.home / "evidence")
    return DatabaseEvidenceStore(ledger_books.home / "scratch")
