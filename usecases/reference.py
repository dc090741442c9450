"""Reference data: funds, donors, projects, beneficiaries, accounts and closed periods.

Invariants owned here:
- Each creation runs in one unit of work with its audit event, and is idempotent by key: the
  key is remembered with the created object's id in the same transaction
  (`ledger.idempotency.remember`), with an HMAC fingerprint of the request so no personal data
  is stored in clear. The same key with the same request answers the same object again; with
  another request it is `IdempotencyConflict`.
- The text of a fund, a project and an account is checked here, for every door (the API's
  schemas check it first, with the same limits from `ledger.limits`): names present, one line,
  no control characters (`ledger.text.text_problem`), within their length; a project names its
  county unless it is opened at a place. A refusal is `InvalidEntry` naming its field.
- Beneficiaries are known by pseudonym only (a keyed HMAC of the identity number, under the
  books' pseudonym secret); their personal data is sealed by `ledger.services`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select

from ledger import idempotency, limits, services
from ledger.accounts import CASH_PREFIX, CODE_PATTERN, Account, AccountType
from ledger.errors import AlreadyExists, InvalidEntry, NotFound
from ledger.model import Beneficiary, Donor, Fund, Project
from ledger.money import EXPONENTS
from ledger.storage.tables import closed_periods
from ledger.storage.unit_of_work import UnitOfWork
from ledger.text import text_problem
from usecases.books import Books
from usecases.checkpoints import checkpoint_at_close
from usecases.unit import Actor, AuditFacts, write

__all__ = [
    "add_account",
    "close_period",
    "closed_period",
    "open_fund",
    "open_project",
    "register_beneficiary",
    "register_donor",
    "set_account_open",
]


def _once(
    uow: UnitOfWork,
    books: Books,
    key: str | None,
    route: str,
    body: Mapping[str, Any],
    create: Callable[[], str],
) -> str:
    """The id the key's earlier request created, else `create()`'s, remembered with the key."""
    secret = books.pseudonym_secret()
    found = idempotency.remembered(uow, key, route, body, secret)
    if found is not None:
        return found
    made = create()
    idempotency.remember(uow, key, route, body, made, secret)
    return made


def _text(
    value: Any, field: str, most: int, *, multiline: bool = False, required: bool = True
) -> None:
    """Refuse `value` unless the books take it as `field`: text, no control characters (tab and
    line feed only when `multiline`), at most `most` characters, not blank when `required`."""
    if not isinstance(value, str):
        raise InvalidEntry(f"{field} must be text", field=field)
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise InvalidEntry(f"{field} {problem}", field=field)
    if len(value) > most or (required and not value.strip()):
        least = 1 if required else 0
        raise InvalidEntry(f"{field} must be {least}-{most} characters", field=field)


def _check_fund(details: Mapping[str, Any]) -> None:
    _text(details.get("name"), "name", limits.NAME)
    if not isinstance(details.get("restricted"), bool):
        raise InvalidEntry("restricted must be true or false", field="restricted")
    _text(details.get("purpose", ""), "purpose", limits.MEMO, multiline=True, required=False)


def _check_project(details: Mapping[str, Any], *, place: str | None = None) -> None:
    """A project's text; its county may be left to its place (`usecases.places`)."""
    _text(details.get("name"), "name", limits.NAME)
    county = details.get("county")
    if county is None or county == "":
        if not place:
            raise InvalidEntry("give the county, or the place", field="county")
    else:
        _text(county, "county", limits.COUNTY)
    _text(details.get("town", ""), "town", limits.COUNTY, required=False)


def _check_account(details: Mapping[str, Any]) -> None:
    code = details.get("code")
    if not isinstance(code, str) or not re.fullmatch(CODE_PATTERN, code):
        raise InvalidEntry("an account's code is 4 digits, perhaps with -XXX", field="code")
    _text(details.get("name_cn"), "name_cn", limits.ACCOUNT_NAME_CN)
    _text(details.get("name_us"), "name_us", limits.ACCOUNT_NAME_US)
    if details.get("type") not in {t.value for t in AccountType}:
        types = ", ".join(t.value for t in AccountType)
        raise InvalidEntry(f"type must be one of {types}", field="type")
    currency = details.get("currency")
    if currency is not None and currency not in EXPONENTS:
        raise InvalidEntry("currency must be one the books keep", field="currency")


def _found(record: Any, what: str, ident: str) -> Any:
    if record is None:
        raise NotFound(f"There is no {what} {ident!r}.")
    return record


def open_fund(
    books: Books, *, key: str | None = None, audit: AuditFacts | None = None, **details: Any
) -> Fund:
    """Open a fund (`details`: `services.open_fund`'s).

    Raises:
        AlreadyExists, InvalidEntry (code, name, restricted without a purpose, purpose),
        IdempotencyConflict.
    """
    _check_fund(details)

    def work(uow: UnitOfWork) -> Fund:
        code = _once(
            uow, books, key, "funds", details, lambda: services.open_fund(uow, **details).code
        )
        fund: Fund = _found(uow.repo.get_fund(code), "fund", code)
        return fund

    return write(books, work, audit=audit)


def register_donor(
    books: Books, *, key: str | None = None, audit: AuditFacts | None = None, **details: Any
) -> Donor:
    """Register a donor (`details`: `services.register_donor`'s)."""

    def work(uow: UnitOfWork) -> Donor:
        made = _once(
            uow, books, key, "donors", details, lambda: services.register_donor(uow, **details).id
        )
        donor: Donor = _found(uow.repo.get_donor(made), "donor", made)
        return donor

    return write(books, work, audit=audit)


def open_project(
    books: Books, *, key: str | None = None, audit: AuditFacts | None = None, **details: Any
) -> Project:
    """Open a project under a fund (`details`: `services.open_project`'s).

    Raises:
        AlreadyExists, UnknownFund, InvalidEntry (code, name, county, town),
        IdempotencyConflict.
    """
    _check_project(details)
    budget = details.get("budget")
    body = {**details, "budget": None if budget is None else [budget.minor, budget.currency]}

    def work(uow: UnitOfWork) -> Project:
        code = _once(
            uow, books, key, "projects", body, lambda: services.open_project(uow, **details).code
        )
        project: Project = _found(uow.repo.get_project(code), "project", code)
        return project

    return write(books, work, audit=audit)


def register_beneficiary(
    books: Books, *, key: str | None = None, audit: AuditFacts | None = None, **details: Any
) -> Beneficiary:
    """Register a beneficiary; the answer is the pseudonym, cohort and county.

    Raises:
        AlreadyExists, InvalidEntry (its field `personal.id_number` for a bad identity
        number), IdempotencyConflict.
    """

    def work(uow: UnitOfWork) -> Beneficiary:
        secret = books.pseudonym_secret()
        pseudonym = _once(
            uow,
            books,
            key,
            "beneficiaries",
            details,
            lambda: services.register_beneficiary(uow, **details, secret=secret).id,
        )
        found = uow.repo.get_beneficiary(pseudonym)
        return found or Beneficiary(pseudonym, details["cohort"], details["county"])

    return write(books, work, audit=audit, aliases={"id_number": "personal.id_number"})


def _new_account(uow: UnitOfWork, details: Mapping[str, Any]) -> str:
    account = Account(
        details["code"],
        details["name_cn"],
        details["name_us"],
        AccountType(details["type"]),
        details["currency"],
    )
    if account.is_cash and account.code != f"{CASH_PREFIX}{account.currency}":
        raise InvalidEntry("a cash account 1002-XXX holds currency XXX", field="currency")
    if uow.repo.get_account(account.code) is not None:
        raise AlreadyExists(f"account {account.code} already exists", field="code")
    uow.repo.add_account(account, uow.now())
    return account.code


def add_account(
    books: Books, *, key: str | None = None, audit: AuditFacts | None = None, **details: Any
) -> Account:
    """Add an account to the chart (code, name_cn, name_us, type, currency).

    Raises:
        AlreadyExists, InvalidEntry (code, names, type, currency; a cash account 1002-XXX
        holds currency XXX only), IdempotencyConflict.
    """
    _check_account(details)

    def work(uow: UnitOfWork) -> Account:
        code = _once(uow, books, key, "accounts", details, lambda: _new_account(uow, details))
        account: Account = _found(uow.repo.get_account(code), "account", code)
        return account

    return write(books, work, audit=audit)


def set_account_open(
    books: Books, code: str, is_open: bool, *, audit: AuditFacts | None = None
) -> Account:
    """Open or close an account to new postings (harmless when it already is).

    Raises:
        NotFound: when there is no such account.
    """

    def work(uow: UnitOfWork) -> Account:
        _found(uow.repo.get_account(code), "account", code)
        (services.open_account if is_open else services.close_account)(uow, code)
        account: Account = _found(uow.repo.get_account(code), "account", code)
        return account

    return write(books, work, audit=audit)


def closed_period(uow: UnitOfWork, period: str) -> dict[str, Any]:
    """A closed period's row: period, closed_at, closed_by."""
    row = uow.repo.conn.execute(
        select(closed_periods).where(closed_periods.c.period == period)
    ).one()
    return {"period": row.period, "closed_at": row.closed_at, "closed_by": row.closed_by}


def close_period(
    books: Books,
    period: str,
    *,
    by: Actor,
    key: str | None = None,
    audit: AuditFacts | None = None,
) -> dict[str, Any]:
    """Close a month (`YYYY-MM`) or a year (`YYYY`) that has ended; its closing record. A
    checkpoint is signed at once, so the closed period's entries are provable from then on.

    Raises:
        AlreadyExists, InvalidEntry, IdempotencyConflict.
    """

    def work(uow: UnitOfWork) -> dict[str, Any]:
        body = {"period": period}
        _once(
            uow, books, key, "periods", body, lambda: services.close_period(uow, period, by=by.name)
        )
        return closed_period(uow, period)

    record = write(books, work, audit=audit)
    checkpoint_at_close(books.engine, books.home)  # the closed period's journal, signed at once
    return record
