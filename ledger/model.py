"""The books' reference records: funds, donors, projects, beneficiaries, pledges, awards.

Invariants owned here:
- A fund is either restricted (with a purpose) or unrestricted; gifts to a restricted fund are
  restricted income (4101-R) and spending them releases the restriction (3102 → 3101).
- Beneficiaries appear in the books only by pseudonym (`B-` + keyed HMAC); their personal data
  lives in its own table, encrypted with a per-person key, never in the journal.
- Donors carry their preferred language and whether they wish to be anonymous in public.
- The ports (`UnitOfWorkPort`, `RepositoryPort`): what the ledger's operations need of a unit
  of work and its repository, as protocols, so that they never import the storage that
  implements them (`ledger.storage.unit_of_work.UnitOfWork`, `...repository.SqlRepository`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from ledger.accounts import Account
from ledger.entries import JournalEntry, PostedEntry

__all__ = [
    "LANGUAGES",
    "Award",
    "Beneficiary",
    "Donor",
    "DonorKind",
    "Fund",
    "Pledge",
    "Project",
    "RepositoryPort",
    "UnitOfWorkPort",
]

LANGUAGES = ("zh-Hans", "zh-Hant", "en")


class DonorKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


@dataclass(frozen=True, slots=True)
class Fund:
    code: str
    name: str
    restricted: bool
    purpose: str = ""
    is_open: bool = True


@dataclass(frozen=True, slots=True)
class Donor:
    id: str
    kind: DonorKind
    name: str
    language: str = "zh-Hans"
    anonymous: bool = False
    region: str = ""


@dataclass(frozen=True, slots=True)
class Project:
    code: str
    name: str
    fund: str
    county: str
    town: str = ""
    budget_minor: int = 0
    currency: str = "CNY"


@dataclass(frozen=True, slots=True)
class Beneficiary:
    """A beneficiary as the books see them: a pseudonym, a cohort and a county, nothing else."""

    id: str
    cohort: str
    county: str


@dataclass(frozen=True, slots=True)
class Pledge:
    id: str
    donor_id: str
    fund: str
    amount_minor: int
    currency: str
    due_on: dt.date | None
    conditional: bool
    entry_id: str | None
    paid_minor: int = 0

    @property
    def outstanding_minor(self) -> int:
        return self.amount_minor - self.paid_minor


@dataclass(frozen=True, slots=True)
class Award:
    id: str
    fund: str
    beneficiary_id: str
    amount_minor: int
    currency: str
    term: str
    entry_id: str
    paid_minor: int = 0

    @property
    def unpaid_minor(self) -> int:
        return self.amount_minor - self.paid_minor


# -- the ports --------------------------------------------------------------------------------
class RepositoryPort(Protocol):
    """The reads and writes of reference records the ledger's operations make."""

    def get_account(self, code: str) -> Account | None: ...
    def set_account_open(self, code: str, is_open: bool, at: str) -> None: ...
    def get_fund(self, code: str) -> Fund | None: ...
    def add_fund(self, fund: Fund, at: str) -> None: ...
    def get_donor(self, donor_id: str) -> Donor | None: ...
    def add_donor(self, donor: Donor, at: str) -> None: ...
    def get_project(self, code: str) -> Project | None: ...
    def add_project(self, p: Project, at: str) -> None: ...
    def get_beneficiary(self, pseudonym: str) -> Beneficiary | None: ...
    def add_beneficiary(self, b: Beneficiary, key: bytes, ciphertext: bytes, at: str) -> None: ...
    def personal_record(self, pseudonym: str) -> tuple[bytes | None, bytes] | None: ...
    def get_pledge(self, pledge_id: str) -> Pledge | None: ...
    def add_pledge(self, p: Pledge, at: str) -> None: ...
    def get_award(self, award_id: str) -> Award | None: ...
    def add_award(self, a: Award, at: str) -> None: ...
    def close_period(self, period: str, at: str, by: str) -> None: ...
    def reversal_of(self, entry_id: str) -> str | None: ...
    def handovers_of(self, gift_entry_id: str) -> list[tuple[str, int]]: ...
    def add_handover(self, row: Mapping[str, Any]) -> None: ...
    def fund_purposes(self, code: str) -> str | None: ...
    def add_fund_purposes(self, fund: str, purposes: str, at: str, by: str) -> int: ...
    def add_project_budget(self, row: Mapping[str, Any]) -> int: ...


class UnitOfWorkPort(Protocol):
    """What the ledger's operations use of a writing unit of work (see `UnitOfWork`)."""

    @property
    def repo(self) -> RepositoryPort: ...
    @property
    def reversed_ids(self) -> set[str]: ...
    def now(self) -> str: ...
    def today(self) -> dt.date: ...
    def balance(self, key: tuple[str, str, str, str, str]) -> tuple[int, int]: ...
    def total(
        self, account: str, fund: str, currency: str | None = None, project: str | None = None
    ) -> tuple[int, int]: ...
    def cached(self, kind: str, key: str, load: Callable[[str], Any]) -> Any: ...
    def forget(self, kind: str, key: str) -> None: ...
    def closed_periods(self) -> set[str]: ...
    def entry(self, entry_id: str) -> PostedEntry | None: ...
    def post(self, entry: JournalEntry) -> PostedEntry: ...
    def idempotency_record(self, key: str) -> dict[str, Any] | None: ...
    def remember_key(self, row: dict[str, Any]) -> None: ...
