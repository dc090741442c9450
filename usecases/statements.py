"""Statements and open data as documents: who prepared them, the PDF pack, IATI and 360Giving.

Invariants owned here:
- The statutory forms' 编制单位 is the fund's issuer (`receipts.issuers`) for a fund's
  statements, else the organisation configured for the books (`RECEIPT_ISSUER_NAME`), else the
  platform's default name; a demo issuer is marked as one. The open data's organisation
  identifier is ``CN-USCC-<code>`` from the configured registration number when it is a valid
  统一社会信用代码, else a placeholder that says it is one (`audits.opendata.org_identifier`).
  Nothing here invents a registration number.
- Every door (API, CLI, bundle) asks here, so the pack, the XML and the CSV name the same
  organisation the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from audits.opendata import PLACEHOLDER_ORG_REF, grants_csv, iati_xml, org_identifier
from audits.report import render_pack_pdf
from audits.statements import Fold, Statement
from receipts.issuers import issuer_at
from usecases.books import Books

__all__ = ["Preparer", "grants", "iati", "preparer", "statement_pdf"]


@dataclass(frozen=True, slots=True)
class Preparer:
    """The organisation that prepares the statements and publishes the open data."""

    name: str
    org_ref: str

    @property
    def identified(self) -> bool:
        return self.org_ref != PLACEHOLDER_ORG_REF


_NOW_AND_EVER = "9999-12-31T23:59:59"  # the latest assignment, whenever it was made


def preparer(books: Books, fund: str | None = None) -> Preparer:
    """The 编制单位 and its IATI organisation identifier: the fund's issuer when it has one,
    else the books' configured issuer (a placeholder identifier unless its code is valid)."""
    if fund:
        with books.engine.connect() as conn:
            held = issuer_at(conn, fund, _NOW_AND_EVER)
        if held is not None:
            name = f"{held.name}（演示 demo）" if held.demo else held.name
            return Preparer(name, org_identifier(held.registration_no))
    fallback = books.receipts.fallback_issuer()
    return Preparer(fallback.name, org_identifier(fallback.registration_no))


def iati(books: Books, *, as_of: dt.date | None = None) -> bytes:
    """IATI 2.03 activities, one per project, as UTF-8 XML."""
    who = preparer(books)
    with books.engine.connect() as conn:
        return iati_xml(conn, org_ref=who.org_ref, org_name=who.name, as_of=as_of)


def grants(books: Books, *, as_of: dt.date | None = None) -> str:
    """The 360Giving grants CSV: project grants and scholarship cohorts (no one named)."""
    who = preparer(books)
    with books.engine.connect() as conn:
        return grants_csv(conn, org_name=who.name, org_ref=who.org_ref, as_of=as_of)


def statement_pdf(
    books: Books,
    statements: Mapping[str, Statement],
    fold: Fold,
    *,
    checkpoint: Mapping[str, Any] | None = None,
    charts: bool = True,
) -> bytes:
    """The statements as the PDF audit pack, prepared by the fund's (or the books') issuer."""
    return render_pack_pdf(
        statements,
        fold,
        checkpoint=checkpoint,
        charts=charts,
        organisation=preparer(books, fold.params.fund).name,
    )
