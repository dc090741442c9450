"""Fixtures of the programmes' tests: the books' use-case handle on fresh books, with a fund,
a project in it and two donors, all made through the use cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ledger.money import Money
from usecases import places, reference
from usecases.books import Books, open_books
from usecases.unit import SYSTEM, Actor

TODAY = dt.datetime.now(dt.UTC).date()
OFFICER = Actor("王经办", ("officer",))
MODERATOR = Actor("陈审核", ("officer", "moderator"))


@dataclass
class World:
    books: Books
    fund: str
    project: str
    donor: str
    firm: str


@pytest.fixture
def books(engine: Engine, tmp_path: Path) -> Iterator[Books]:
    opened = open_books(engine, tmp_path / "home", pseudonym_secret=b"k" * 32)
    yield opened


@pytest.fixture
def world(books: Books) -> World:
    reference.open_fund(books, code="HQ", name="云上荟泉", restricted=True, purpose="社区出题")
    reference.open_project(
        books,
        code="HQ-ELDER",
        name="长者助餐",
        fund="HQ",
        county="锦江区",
        budget=Money.parse("20000.00", "CNY"),
    )
    places.add_place(books, code="510104", kind="county", name="锦江区", by=SYSTEM)
    donor = reference.register_donor(books, name="刘女士", kind="person")
    firm = reference.register_donor(books, name="成都某公司", kind="organisation")
    return World(books, "HQ", "HQ-ELDER", donor.id, firm.id)


def by_system() -> Actor:
    return SYSTEM
