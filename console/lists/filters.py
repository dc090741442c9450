"""Reading a list page's query string: filters, order, page size and cursor.

A page declares its filters (`Spec`: name -> kind); what a person typed is kept as typed (to
show it back in the form) and parsed into the use case's keywords. A value that does not parse
is named in `errors`, and the page answers 400 with the form and no rows, never a guess.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l

from ledger.text import digits

__all__ = ["Filter", "Query", "parse"]


@dataclass(frozen=True)
class Filter:
    """One filter: the query-string name, the use case's keyword, its kind and its label."""

    name: str
    keyword: str
    label: Any
    kind: str = "text"  # text | date | choice
    choices: Sequence[tuple[str, Any]] = ()
    max_length: int = 60


@dataclass
class Query:
    """A list page's parsed query: the use case's keywords and what to show back."""

    keywords: dict[str, Any] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def link_args(self) -> dict[str, str]:
        """The filters as typed (non-empty), for the next page's and the sort links."""
        return {k: v for k, v in self.typed.items() if v and k != "cursor"}


BAD_DATE = _l("Write the date as YYYY-MM-DD.")
BAD_CHOICE = _l("Choose one of the listed values.")
TOO_LONG = _l("This is too long.")
BAD_LIMIT = _l("Show between 1 and 200 rows.")


def parse(filters: Sequence[Filter], *, orders: Sequence[str] = ()) -> Query:
    """The request's filters, `order` (when the page sorts), `limit` and `cursor`."""
    args: Mapping[str, str] = request.args
    query = Query()
    for f in filters:
        raw = args.get(f.name, "").strip()
        query.typed[f.name] = raw[:200]
        if not raw:
            continue
        if len(raw) > f.max_length:
            query.errors[f.name] = str(TOO_LONG)
        elif f.kind == "date":
            try:
                day = dt.date.fromisoformat(raw)
            except ValueError:
                query.errors[f.name] = str(BAD_DATE)
            else:
                query.keywords[f.keyword] = day
        elif f.kind == "choice" and raw not in {v for v, _ in f.choices}:
            query.errors[f.name] = str(BAD_CHOICE)
        else:
            query.keywords[f.keyword] = raw
    if orders:
        order = args.get("order", orders[0])
        query.typed["order"] = order[:20]
        if order not in orders:
            query.errors["order"] = str(BAD_CHOICE)
        else:
            query.keywords["order"] = order
    limit = args.get("limit", "50")
    query.typed["limit"] = limit[:5]
    if not digits(limit) or not 1 <= int(limit) <= 200:
        query.errors["limit"] = str(BAD_LIMIT)
    else:
        query.keywords["limit"] = int(limit)
    cursor = args.get("cursor", "")
    if cursor:
        query.keywords["cursor"] = cursor[:400]
    return query
