"""Matching bank lines to the books' cash postings, and the reconciliation's figures.

Invariants owned here:
- One to one: a bank line matches at most one posting and a posting at most one line.
- Two passes, the stronger first: (1) the same signed amount and a reference that names the
  posting (its entry id, or its memo when the memo is not empty); (2) the same signed amount
  and a date within `window_days`, the nearest date first, then the earliest posting. Lines are
  taken in their statement order, so the result is deterministic.
- Cost: one dictionary per pass, keyed by amount; 10,000 lines against 100,000 postings take
  well under a second (bench/bench_evidence.py).
- The report's difference is the bank's closing balance less the books' balance at the
  statement's last day: zero means reconciled.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["BookPosting", "Line", "Match", "match_lines"]


@dataclass(frozen=True, slots=True)
class Line:
    """A bank line to match: its number, date, signed amount and reference."""

    line: int
    booked_on: dt.date
    amount: int
    reference: str = ""


@dataclass(frozen=True, slots=True)
class BookPosting:
    """A cash posting: (sequence, line) identify it; entry id and memo are what a bank quotes."""

    sequence: int
    line: int
    entry_id: str
    occurred_on: dt.date
    amount: int
    memo: str = ""

    @property
    def key(self) -> tuple[int, int]:
        return self.sequence, self.line


@dataclass(frozen=True, slots=True)
class Match:
    line: int
    posting: BookPosting
    how: str  # "reference" or "date"


def _tokens(reference: str) -> set[str]:
    text = reference.strip()
    return {text, *text.replace(",", " ").replace(";", " ").split()} - {""}


def match_lines(
    lines: Sequence[Line], postings: Iterable[BookPosting], *, window_days: int = 3
) -> list[Match]:
    """Match lines to postings one to one (see the module docstring)."""
    by_reference: dict[tuple[int, str], list[BookPosting]] = defaultdict(list)
    by_amount: dict[int, list[tuple[int, int, BookPosting]]] = defaultdict(list)
    for p in postings:
        by_reference[(p.amount, p.entry_id)].append(p)
        if p.memo.strip():
            by_reference[(p.amount, p.memo.strip())].append(p)
        by_amount[p.amount].append((p.occurred_on.toordinal(), p.sequence, p))
    for candidates in by_amount.values():
        candidates.sort(key=lambda c: (c[0], c[1]))
    taken: set[tuple[int, int]] = set()
    matches: dict[int, Match] = {}
    for line in lines:
        for token in sorted(_tokens(line.reference)):
            found = next(
                (p for p in by_reference.get((line.amount, token), ()) if p.key not in taken),
                None,
            )
            if found is not None:
                taken.add(found.key)
                matches[line.line] = Match(line.line, found, "reference")
                break
    for line in lines:
        if line.line in matches:
            continue
        found = _nearest(
            by_amount.get(line.amount, []), line.booked_on.toordinal(), window_days, taken
        )
        if found is not None:
            taken.add(found.key)
            matches[line.line] = Match(line.line, found, "date")
    return [matches[n] for n in sorted(matches)]


def _nearest(
    candidates: list[tuple[int, int, BookPosting]],
    day: int,
    window: int,
    taken: set[tuple[int, int]],
) -> BookPosting | None:
    start = bisect.bisect_left(candidates, (day - window, -1))
    best: tuple[int, int, BookPosting] | None = None
    for i in range(start, len(candidates)):
        ordinal, sequence, posting = candidates[i]
        if ordinal > day + window:
            break
        if posting.key in taken:
            continue
        if best is None or abs(ordinal - day) < abs(best[0] - day):
            best = (ordinal, sequence, posting)
    return None if best is None else best[2]
