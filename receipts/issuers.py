"""Issuers: the legal entities that hold funds and issue their receipts.

Invariants owned here:
- An issuer's 统一社会信用代码 has 18 characters from the GB 32100-2015 alphabet
  (digits and upper-case letters without I, O, Z, S, V) and its last character is the check
  character of the first 17 (`check_character`). Nothing else is accepted, so a typo never
  reaches a receipt.
- Issuers and fund assignments are append-only rows; registering the same issuer again, or
  assigning a fund to the issuer it has, changes nothing (so both are safe to replay).
- The issuer of a receipt is the one assigned to the gift's fund at or before the moment the
  receipt was issued (`issuer_at`), so assigning a fund again never changes a receipt already
  issued.
- Demo issuers carry made-up codes whose embedded organisation code (characters 9-17) fails its
  own GB 11714 check: a valid-format code that no real organisation can hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from ledger.credit_code import ALPHABET, check_character, is_valid_credit_code, org_code_check
from ledger.errors import AlreadyExists, InvalidEntry, NotFound
from ledger.storage.tables import fund_issuers, funds, issuers

__all__ = [
    "ALPHABET",
    "IssuerRecord",
    "add_issuer",
    "assign_issuer",
    "check_character",
    "is_valid_credit_code",
    "issuer_at",
    "issuer_named",
    "list_issuers",
    "org_code_check",
    "unassigned_funds",
]

_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,39}")


@dataclass(frozen=True, slots=True)
class IssuerRecord:
    """A registered issuer."""

    code: str
    name: str
    registration_no: str
    seal_text: str
    demo: bool


def _record(row: object) -> IssuerRecord:
    return IssuerRecord(row.code, row.name, row.registration_no, row.seal_text, bool(row.demo))  # type: ignore[attr-defined]


def add_issuer(
    conn: Connection,
    *,
    code: str,
    name: str,
    registration_no: str,
    seal_text: str | None,
    demo: bool,
    by: str,
    now: str,
) -> IssuerRecord:
    """Register an issuer.

    Raises:
        InvalidEntry: a malformed code, an empty name, or a credit code that fails its check.
        AlreadyExists: the code or the credit code is registered already.
    """
    registration_no = registration_no.strip().upper()
    if not _CODE.fullmatch(code):
        raise InvalidEntry("an issuer code is A-Z, 0-9 and -, at most 40", field="code")
    if not name.strip():
        raise InvalidEntry("an issuer needs its legal name", field="name")
    if not is_valid_credit_code(registration_no):
        raise InvalidEntry(
            "统一社会信用代码 must be 18 characters whose last is the GB 32100-2015 check "
            "character",
            field="registration_no",
        )
    record = IssuerRecord(code, name.strip(), registration_no, (seal_text or name).strip(), demo)
    taken = conn.execute(
        select(issuers).where(
            (issuers.c.code == code) | (issuers.c.registration_no == registration_no)
        )
    ).first()
    if taken is not None and _record(taken) == record:
        return record  # a replay: registered already, the same way
    if taken is not None:
        raise AlreadyExists(f"issuer {taken.code} has this code or credit code", field="code")
    conn.execute(
        insert(issuers).values(
            code=code,
            name=record.name,
            registration_no=registration_no,
            seal_text=record.seal_text,
            demo=demo,
            created_at=now,
            created_by=by,
        )
    )
    return record


def list_issuers(conn: Connection) -> list[tuple[IssuerRecord, list[str]]]:
    """Every issuer with the funds currently assigned to it, by code."""
    current = _current_assignments(conn, None)
    rows = conn.execute(select(issuers).order_by(issuers.c.code)).all()
    return [(_record(r), sorted(f for f, i in current.items() if i == r.code)) for r in rows]


def assign_issuer(conn: Connection, *, fund: str, issuer: str, by: str, now: str) -> IssuerRecord:
    """Assign `fund` to `issuer` from `now` on (receipts issued before keep their issuer).

    Raises:
        NotFound: no such fund or issuer.
    """
    if conn.scalar(select(funds.c.code).where(funds.c.code == fund)) is None:
        raise NotFound(f"There is no fund {fund!r}.")
    row = conn.execute(select(issuers).where(issuers.c.code == issuer)).first()
    if row is None:
        raise NotFound(f"There is no issuer {issuer!r}.")
    if _current_assignments(conn, None).get(fund) != issuer:  # assigning again changes nothing
        conn.execute(
            insert(fund_issuers).values(fund=fund, assigned_at=now, issuer=issuer, assigned_by=by)
        )
    return _record(row)


def _current_assignments(conn: Connection, at: str | None) -> dict[str, str]:
    query = select(fund_issuers.c.fund, fund_issuers.c.issuer).order_by(fund_issuers.c.assigned_at)
    if at is not None:
        query = query.where(fund_issuers.c.assigned_at <= at)
    return {r.fund: r.issuer for r in conn.execute(query)}


def issuer_named(conn: Connection, code: str) -> IssuerRecord | None:
    """The registered issuer with `code` (None if there is none)."""
    row = conn.execute(select(issuers).where(issuers.c.code == code)).first()
    return _record(row) if row is not None else None


def issuer_at(conn: Connection, fund: str, at: str) -> IssuerRecord | None:
    """The issuer assigned to `fund` at the moment `at` (None when none was assigned yet)."""
    code = conn.scalar(
        select(fund_issuers.c.issuer)
        .where(fund_issuers.c.fund == fund, fund_issuers.c.assigned_at <= at)
        .order_by(fund_issuers.c.assigned_at.desc())
        .limit(1)
    )
    if code is None:
        return None
    row = conn.execute(select(issuers).where(issuers.c.code == code)).first()
    return _record(row) if row is not None else None


def unassigned_funds(conn: Connection) -> list[str]:
    """The open funds that have no issuer: their receipts say the issuer is not configured."""
    assigned = set(_current_assignments(conn, None))
    codes = conn.scalars(select(funds.c.code).where(funds.c.is_open).order_by(funds.c.code))
    return [c for c in codes if c not in assigned]
