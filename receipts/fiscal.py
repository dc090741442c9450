"""The fiscal platform's 公益事业捐赠票据 of a receipt, recorded after the fact.

Invariants owned here:
- A fiscal reference (票据代码 and 票据号码, as the finance bureau's e-receipt platform printed
  them) is an appended row, never an edit of the receipt: at most one per receipt (recording
  the same one again answers it, a different one is refused), only for a
  live gift receipt (not a void one, not an annual one). We never invent these numbers; a wrong
  one is corrected by voiding the receipt and recording the reference on its replacement.
- Both parts are 1-60 characters of digits, letters and "-".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from ledger.errors import AlreadyExists, InvalidEntry, NotFound
from ledger.storage.tables import fiscal_references
from receipts.issuing import get_receipt

__all__ = ["FiscalReference", "fiscal_reference_of", "record_fiscal_reference"]

_PART = re.compile(r"[0-9A-Za-z-]{1,60}")


@dataclass(frozen=True, slots=True)
class FiscalReference:
    serial: str
    code: str
    number: str
    recorded_at: str
    recorded_by: str


def fiscal_reference_of(conn: Connection, serial: str) -> FiscalReference | None:
    """The fiscal reference recorded for receipt `serial`, if any."""
    row = conn.execute(
        select(fiscal_references).where(fiscal_references.c.serial == serial)
    ).first()
    if row is None:
        return None
    return FiscalReference(row.serial, row.code, row.number, row.recorded_at, row.recorded_by)


def record_fiscal_reference(
    conn: Connection, serial: str, *, code: str, number: str, by: str, now: str
) -> FiscalReference:
    """Append the fiscal platform's 票据代码 / 票据号码 to receipt `serial`.

    Raises:
        NotFound: no such receipt.
        InvalidEntry: a malformed code or number, a void receipt, or an annual receipt.
        AlreadyExists: the receipt has its fiscal reference already.
    """
    code, number = code.strip(), number.strip()
    for name, value in (("code", code), ("number", number)):
        if not _PART.fullmatch(value):
            raise InvalidEntry(f"{name}: 1-60 digits, letters or '-'", field=name)
    record = get_receipt(conn, serial)
    if record is None:
        raise NotFound(f"There is no receipt {serial!r}.")
    if record.is_void:
        raise InvalidEntry("a void receipt takes no fiscal reference: use its replacement")
    if record.kind == "annual":
        raise InvalidEntry("fiscal references belong to the receipts of single gifts")
    known = fiscal_reference_of(conn, serial)
    if known is not None and (known.code, known.number) == (code, number):
        return known  # a replay: the reference is recorded already
    if record.fiscal_code or known is not None:
        raise AlreadyExists(f"receipt {serial} has its fiscal reference already", field="serial")
    conn.execute(
        insert(fiscal_references).values(
            serial=serial, code=code, number=number, recorded_at=now, recorded_by=by
        )
    )
    return FiscalReference(serial, code, number, now, by)
