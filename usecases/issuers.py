"""Issuers as use cases: register one, assign a fund to it, list them, find unassigned funds.

Each runs in one unit of work (`usecases.unit.write`); the rules (GB 32100-2015 check
character, append-only history, the issuer in force when a receipt was issued) are
`receipts.issuers`'.
"""

from __future__ import annotations

from sqlalchemy import Engine

from receipts import issuers as rules
from receipts.issuers import IssuerRecord
from usecases.books import Books
from usecases.unit import Actor, AuditFacts, write

__all__ = ["add_issuer", "assign_issuer", "list_issuers", "unassigned_funds"]


def add_issuer(
    books: Books,
    *,
    code: str,
    name: str,
    registration_no: str,
    seal_text: str | None = None,
    demo: bool = False,
    by: Actor,
    audit: AuditFacts | None = None,
) -> IssuerRecord:
    """Register an issuer. Raises: InvalidEntry (bad credit code), AlreadyExists."""
    return write(
        books,
        lambda uow: rules.add_issuer(
            uow.connection,
            code=code,
            name=name,
            registration_no=registration_no,
            seal_text=seal_text,
            demo=demo,
            by=by.name,
            now=uow.now(),
        ),
        audit=audit,
    )


def assign_issuer(
    books: Books, fund: str, issuer: str, *, by: Actor, audit: AuditFacts | None = None
) -> IssuerRecord:
    """Assign a fund to an issuer from now on. Raises: NotFound (fund or issuer)."""
    return write(
        books,
        lambda uow: rules.assign_issuer(
            uow.connection, fund=fund, issuer=issuer, by=by.name, now=uow.now()
        ),
        audit=audit,
    )


def list_issuers(engine: Engine) -> list[tuple[IssuerRecord, list[str]]]:
    """Every issuer with the funds assigned to it now."""
    with engine.connect() as conn:
        return rules.list_issuers(conn)


def unassigned_funds(engine: Engine) -> list[str]:
    """Open funds with no issuer: their receipts say the issuer is not configured."""
    with engine.connect() as conn:
        return rules.unassigned_funds(conn)
