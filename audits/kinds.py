"""The statement kinds, in their order: the one list (importing it costs nothing, so the command
line's `--help` can offer them without loading the statements)."""

from __future__ import annotations

__all__ = ["KINDS"]

KINDS = (
    "trial-balance",
    "financial-position",
    "activities",
    "cash-flows",
    "pledges",
    "disbursements",
    "scholarships",
)
