"""The books' reference records: funds, donors, projects, beneficiaries, pledges, awards.

Invariants owned here:
- A fund is either restricted (with a purpose) or unrestricted; gifts to a restricted fund are
  restricted income (4101-R) and spending them releases the restriction (3102 → 3101).
- Beneficiaries appear in the books only by pseudonym (`B-` + keyed HMAC); their personal data
  lives in its own table, encrypted with a per-person key, never in the journal.
- Donors carry their preferred language and whether they wish to be anonymous in public.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "LANGUAGES",
    "Award",
    "Beneficiary",
    "Donor",
    "DonorKind",
    "Fund",
    "Pledge",
    "Project",
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
