"""Fixtures for the statement tests: the worked-example books (a cohort of 4, quick to build)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.audits.worked import Worked, build_worked_books


@pytest.fixture
def worked(engine: Engine) -> Worked:
    return build_worked_books(engine, students=4)
