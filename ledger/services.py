"""The use cases of the books: every operation is one atomic journal entry, and returns it.

Invariants owned here:
- Every service runs inside a writing unit of work (the caller commits) and posts at most one
  entry; it sees the unit of work through its port (`ledger.model.UnitOfWorkPort`, implemented
  by `ledger.storage.unit_of_work.UnitOfWork`), so nothing here touches the database library.
  The entry shapes are those of the domain notes (section 2):

  ========================  =========================  ==========================
  operation                 debit                      credit
  ========================  =========================  ==========================
  unconditional pledge      1122 (ref=pledge)          4101-R / 4101-U
  cash / bank donation      1002-<cur>                 4101-R / 4101-U
  pledge payment            1002-<cur>                 1122 (ref=pledge)
  in-kind donation          1201 / 1501 (or 1701)      4101-R / 4101-U (or 2601)
  in-kind handover          5101 (project)             1201 / 1501 (ref=gift)
  (goods passed through)    2601                       1701 (ref=gift)
  disbursement              5101 (project)             1002-<cur>
  scholarship award         5101 (beneficiary)         2209 (ref=award)
  scholarship payout        2209 (ref=award)           1002-<cur>
  bank fee                  5301                       1002-<cur>
  depreciation (a month)    5101 (5201 if management)  1502 (ref=the gift's entry)
  transfer between funds    1901 / 1002 (to fund)      1002 / 1901 (from fund)
  reversal                  the original's credits     the original's debits
  ========================  =========================  ==========================

  Spending from a restricted fund (disbursement, award, depreciation) also releases the
  restriction for the amount: Dr 3102 / Cr 3101 in the same entry.
- After any entry: no fund's cash in any currency is below zero (`InsufficientFunds`), no pledge
  is paid beyond its amount and no award beyond its unpaid balance (`Overpayment`). The checks
  run after the chain-head lock, so they are race-free.
- No fund's restricted net assets (-(3102 + 4101-R) per currency) go below zero: spending
  releases the restriction only for what restricted money the fund still holds (the rest is
  the fund's unrestricted money, e.g. a board's transfer in), and any other entry that would
  take them below zero (a reversal of a restricted gift already spent, a general entry) is
  refused (`InsufficientFunds`).
- Internal controls (内部控制): an award commits no more than the fund can pay: its CNY cash
  plus unconditional pledges receivable less unpaid awards (`InsufficientFunds`, with the
  figures); a disbursement stays within its project's remaining budget (all program expense
  posted to the project counts) unless it was approved as an over-budget request
  (`over_budget_reason`, passed only by the approval of such a request; `OverBudget`); and a
  fund pays only for its stated purposes (`ledger.purposes`; `PurposeMismatch`).
- A disbursement may name its payee (an organisation with its 统一社会信用代码, or a person by
  pseudonym, never by name) and the bank reference; both go into the entry's data, under the
  hash chain.
- Entries dated in a closed period are refused (`PeriodClosed`); a reversal of an entry whose
  period is closed is dated today, in the open period.
- Idempotency, written once (`_idempotent`, over `ledger.idempotency.lookup`): a client key with
  the same content returns the original result and posts nothing; the same key with other
  content raises `IdempotencyConflict`. An operation is then: check the inputs, build the entry
  (`donation_entry`, `_pledge_entry`, ...: pure, nothing read from the books), post it (`_post`,
  which runs the guards every entry passes).
- An in-kind handover passes on goods at carrying value, never more quantity (when the gift's
  quantity starts with a number) or value than the gift brought (`BeyondReceived`); the last
  handover of the whole quantity takes the whole remaining value.
- Account codes are named (`ledger.accounts`); none is written here as a literal.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import inspect
import json
import os
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, ParamSpec, TypeVar

from ledger import idempotency
from ledger.accounts import (
    ACCUMULATED_DEPRECIATION,
    AGENCY_ASSETS,
    AGENCY_LIABILITIES,
    CASH_PREFIX,
    CONTRIBUTIONS_RESTRICTED,
    CONTRIBUTIONS_UNRESTRICTED,
    FIXED_ASSETS,
    FUNDRAISING_EXPENSES,
    GRANTS_PAYABLE,
    INTERFUND,
    INVENTORY,
    MANAGEMENT_EXPENSES,
    NET_ASSETS_RESTRICTED,
    NET_ASSETS_UNRESTRICTED,
    PLEDGES_RECEIVABLE,
    PROGRAM_EXPENSES,
    Account,
    cash_account,
)
from ledger.credit_code import is_valid_credit_code
from ledger.depreciation import CarryingValue, Schedule, month_end, schedule, useful_life_of
from ledger.entries import (
    EntryKind,
    FunctionalClass,
    JournalEntry,
    PostedEntry,
    Posting,
    reversal_postings,
)
from ledger.errors import (
    AccountClosed,
    AlreadyExists,
    AlreadyReversed,
    BeyondReceived,
    InsufficientFunds,
    InvalidEntry,
    NotFound,
    OverBudget,
    Overpayment,
    PeriodClosed,
    UnknownAccount,
    UnknownBeneficiary,
    UnknownDonor,
    UnknownFund,
    UnknownProject,
)
from ledger.idempotency import Replay
from ledger.model import (
    LANGUAGES,
    Award,
    Beneficiary,
    Donor,
    DonorKind,
    Fund,
    Pledge,
    Project,
    UnitOfWorkPort,
)
from ledger.money import FUNCTIONAL_CURRENCY, Money, convert, format_minor, parse_rate
from ledger.purposes import ANYTHING, Purposes, parse_purposes, purposes_json
from ledger.purposes import check as check_purpose

__all__ = [
    "award_capacity",
    "award_scholarship",
    "carrying_value",
    "check_payee",
    "close_account",
    "close_period",
    "depreciable_gift",
    "donation_entry",
    "fund_purposes",
    "gift_quantity",
    "hand_over_in_kind",
    "open_account",
    "open_fund",
    "open_project",
    "pay_scholarship",
    "post_general_entry",
    "read_personal_data",
    "record_depreciation",
    "record_disbursement",
    "record_donation",
    "record_fee",
    "record_in_kind_donation",
    "record_pledge",
    "register_beneficiary",
    "register_donor",
    "reverse",
    "set_fund_purposes",
    "set_project_budget",
    "transfer_between_funds",
]

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
P = ParamSpec("P")
R = TypeVar("R")


# -- idempotency: the prologue of every operation, written once -------------------------------
def _replayed_entry(uow: UnitOfWorkPort, replay: Replay) -> PostedEntry:
    entry = uow.entry(replay.entry_id) if replay.entry_id else None
    if entry is None:
        raise NotFound("the entry recorded for this idempotency key is missing")
    return entry


def _replayed_pledge(uow: UnitOfWorkPort, replay: Replay) -> tuple[Pledge, PostedEntry | None]:
    pledge = uow.repo.get_pledge(replay.object_id or "")
    if pledge is None:
        raise NotFound("the pledge recorded for this idempotency key is missing")
    return pledge, uow.entry(replay.entry_id) if replay.entry_id else None


def _replayed_award(uow: UnitOfWorkPort, replay: Replay) -> tuple[Award, PostedEntry]:
    award = uow.repo.get_award(replay.object_id or "")
    if award is None:
        raise NotFound("the award recorded for this idempotency key is missing")
    return award, _replayed_entry(uow, replay)


def _ids_of(result: Any) -> tuple[str | None, str | None]:
    """(entry id, object id) of what an operation returned, for its idempotency record."""
    if isinstance(result, PostedEntry):
        return result.id, None
    made, entry = result  # (pledge or award, its entry or None)
    return (entry.id if entry is not None else None), made.id


#: Arguments added after keys were first stored: left empty, they are not part of the payload.
_ADDED_LATER = ("payee", "bank_reference", "over_budget_reason")


def _idempotent(
    operation: str, replay: Callable[[UnitOfWorkPort, Replay], Any] = _replayed_entry
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Make `uow, *, ..., key=None` operation idempotent (`ledger.idempotency`).

    With a client key, the operation's keyword arguments (defaults included; not `maker` nor
    `key`) are its payload: a key seen with the same payload returns `replay(uow, record)` and
    runs nothing; a new key runs the operation and stores the key, with the entry (and pledge
    or award) it made, in the same unit of work. Without a key the operation just runs.

    Raises (from the wrapped operation):
        IdempotencyConflict: when the key was used for another operation or other content.
    """

    def decorate(operation_fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(operation_fn)

        @functools.wraps(operation_fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            key = kwargs.get("key")
            if key is None:
                return operation_fn(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            uow: UnitOfWorkPort = bound.arguments.pop("uow")
            del bound.arguments["maker"], bound.arguments["key"]
            if bound.arguments.get("tags", 0) is None:  # untagged: fingerprinted as before tags
                del bound.arguments["tags"]
            for name in _ADDED_LATER:
                if name in bound.arguments and not bound.arguments[name]:
                    del bound.arguments[name]  # so keys stored before it existed still replay
            record, replayed = idempotency.lookup(uow, str(key), operation, bound.arguments)
            if replayed is not None:
                result: R = replay(uow, replayed)
                return result
            result = operation_fn(*args, **kwargs)
            entry_id, object_id = _ids_of(result)
            uow.remember_key({**(record or {}), "entry_id": entry_id, "object_id": object_id})
            return result

        return run

    return decorate


# -- lookups and guards -----------------------------------------------------------------------
def _fund(uow: UnitOfWorkPort, code: str) -> Fund:
    fund: Fund | None = uow.cached("fund", code, uow.repo.get_fund)
    if fund is None:
        raise UnknownFund(f"no fund {code!r}", field="fund")
    if not fund.is_open:
        raise InvalidEntry(f"fund {code!r} is closed", field="fund")
    return fund


def _donor(uow: UnitOfWorkPort, donor_id: str) -> Donor:
    donor: Donor | None = uow.cached("donor", donor_id, uow.repo.get_donor)
    if donor is None:
        raise UnknownDonor(f"no donor {donor_id!r}", field="donor_id")
    return donor


def _project(uow: UnitOfWorkPort, code: str) -> Project:
    project: Project | None = uow.cached("project", code, uow.repo.get_project)
    if project is None:
        raise UnknownProject(f"no project {code!r}", field="project")
    return project


def _check_date(uow: UnitOfWorkPort, on: dt.date, field: str = "date") -> None:
    if on > uow.today() + dt.timedelta(days=1):
        raise InvalidEntry(f"{on.isoformat()} is in the future", field=field)
    closed = uow.closed_periods()
    if on.isoformat()[:7] in closed or on.isoformat()[:4] in closed:
        raise PeriodClosed(f"the period of {on.isoformat()} is closed", field=field)


def _check_accounts(uow: UnitOfWorkPort, postings: Sequence[Posting]) -> None:
    for code in {p.account for p in postings}:
        account: Account | None = uow.cached("account", code, uow.repo.get_account)
        if account is None:
            raise UnknownAccount(f"no account {code!r}", field="account")
        if not account.is_open:
            raise AccountClosed(f"account {code} is closed", field="account")
        if account.currency and any(
            p.currency != account.currency for p in postings if p.account == code
        ):
            raise InvalidEntry(f"account {code} holds {account.currency} only", field="currency")


def _check_effects(uow: UnitOfWorkPort, postings: Sequence[Posting]) -> None:
    """Refuse an entry that would overdraw cash or overpay a pledge or award."""
    totals: dict[tuple[str, str, str, str, str], int] = {}
    for p in postings:
        key = (p.account, p.fund, p.currency, p.project, p.ref)
        totals[key] = totals.get(key, 0) + p.amount
    for key, change in totals.items():
        account, fund, currency, _project_code, ref = key
        cash = account.startswith(CASH_PREFIX)
        pledge = account == PLEDGES_RECEIVABLE and bool(ref)
        award = account == GRANTS_PAYABLE and bool(ref)
        if not (((cash or pledge) and change < 0) or (award and change > 0)):
            continue  # this posting cannot break a limit: no need to read the balance
        after = uow.balance(key)[0] + change
        if cash and after < 0:
            have = format_minor(after - change, currency)
            raise InsufficientFunds(
                f"fund {fund} holds {have} {currency} in cash; this would take it below zero",
                field="amount",
                currency=currency,
                figures={"cash": after - change},
            )
        if pledge and after < 0:
            raise Overpayment(f"pledge {ref} would be paid beyond its amount", field="amount")
        if award and after > 0:
            raise Overpayment(
                f"award {ref} would be paid beyond its unpaid balance", field="amount"
            )


_RESTRICTED = (NET_ASSETS_RESTRICTED, CONTRIBUTIONS_RESTRICTED)


def _restricted_left(uow: UnitOfWorkPort, fund: str, currency: str) -> int:
    """A fund's restricted net assets in `currency` (minor units; credit-normal, so negated)."""
    return -sum(uow.balance((a, fund, currency, "", ""))[0] for a in _RESTRICTED)


def _check_restricted(uow: UnitOfWorkPort, postings: Sequence[Posting]) -> None:
    """Refuse an entry that would take a fund's restricted net assets below zero."""
    change: dict[tuple[str, str], int] = {}
    for p in postings:
        if p.account in _RESTRICTED:
            change[(p.fund, p.currency)] = change.get((p.fund, p.currency), 0) + p.amount
    for (fund, currency), debit in change.items():
        if debit <= 0:
            continue  # more restricted money, or none spent: cannot go below zero
        left = _restricted_left(uow, fund, currency)
        if left - debit < 0:
            raise InsufficientFunds(
                f"fund {fund} holds {format_minor(left, currency)} {currency} of restricted net "
                f"assets; this would take them to {format_minor(left - debit, currency)}",
                field="amount",
                currency=currency,
                figures={"restricted": left, "after": left - debit},
            )


def _post(uow: UnitOfWorkPort, entry: JournalEntry) -> PostedEntry:
    """Post an entry once the guards every entry passes allow it."""
    _check_date(uow, entry.occurred_on)
    _check_accounts(uow, entry.postings)
    _check_effects(uow, entry.postings)
    _check_restricted(uow, entry.postings)
    return uow.post(entry)


def _purposes(uow: UnitOfWorkPort, fund: str) -> Purposes:
    def load(code: str) -> Purposes:
        text = uow.repo.fund_purposes(code)
        return ANYTHING if text is None else parse_purposes(json.loads(text))

    purposes: Purposes = uow.cached("purposes", fund, load)
    return purposes


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def _income_account(fund: Fund) -> str:
    return CONTRIBUTIONS_RESTRICTED if fund.restricted else CONTRIBUTIONS_UNRESTRICTED


def _functional(money: Money, rate: Fraction | None) -> int:
    if money.currency == FUNCTIONAL_CURRENCY:
        return money.minor
    if rate is None:
        raise InvalidEntry(
            f"a {money.currency} amount needs fx_rate (CNY per {money.currency}) and fx_source",
            field="fx_rate",
        )
    return convert(money.minor, money.currency, rate)


def _cash_out(uow: UnitOfWorkPort, fund: str, money: Money) -> int:
    """CNY value of foreign cash leaving a fund, at the fund's average carrying rate."""
    if money.currency == FUNCTIONAL_CURRENCY:
        return money.minor
    amount, functional = uow.balance((cash_account(money.currency), fund, money.currency, "", ""))
    if amount <= 0:
        return 0
    value = Fraction(money.minor * functional, amount)
    return int(value + Fraction(1, 2))


def _release(uow: UnitOfWorkPort, fund: Fund, money: Money, functional: int) -> tuple[Posting, ...]:
    """Dr 3102 / Cr 3101 for what of `money` the fund's restricted net assets still cover."""
    if not fund.restricted:
        return ()
    left = max(0, _restricted_left(uow, fund.code, money.currency))
    minor = min(money.minor, left)
    if minor <= 0:
        return ()
    if minor < money.minor:  # part of it is unrestricted money (a transfer in): value pro rata
        functional = int(Fraction(functional * minor, money.minor) + Fraction(1, 2))
    return (
        Posting(NET_ASSETS_RESTRICTED, fund.code, minor, money.currency, functional),
        Posting(NET_ASSETS_UNRESTRICTED, fund.code, -minor, money.currency, -functional),
    )


# -- reference data ---------------------------------------------------------------------------
def _check_code(code: str, field: str) -> None:
    if not _CODE.match(code):
        raise InvalidEntry(
            f"{field} must be 1-40 letters, digits, '.', '_' or '-', starting with a letter or "
            "digit",
            field=field,
        )


def open_fund(
    uow: UnitOfWorkPort, *, code: str, name: str, restricted: bool, purpose: str = ""
) -> Fund:
    """Open a fund: a self-balancing set of books.

    Raises:
        AlreadyExists: when the code is taken; InvalidEntry: restricted without a purpose.
    """
    _check_code(code, "code")
    if restricted and not purpose.strip():
        raise InvalidEntry("a restricted fund needs its purpose", field="purpose")
    if uow.repo.get_fund(code) is not None:
        raise AlreadyExists(f"fund {code!r} already exists", field="code")
    fund = Fund(code, name.strip(), restricted, purpose.strip())
    uow.repo.add_fund(fund, uow.now())
    return fund


def register_donor(
    uow: UnitOfWorkPort,
    *,
    name: str,
    kind: str = "person",
    language: str = "zh-Hans",
    anonymous: bool = False,
    region: str = "",
    donor_id: str | None = None,
) -> Donor:
    """Register a donor (person or organisation) with language and anonymity wishes.

    Raises:
        InvalidEntry: for an unknown kind or language, or an empty name.
    """
    if kind not in {k.value for k in DonorKind}:
        raise InvalidEntry(f"kind must be person or organisation, not {kind!r}", field="kind")
    if language not in LANGUAGES:
        raise InvalidEntry(f"language must be one of {', '.join(LANGUAGES)}", field="language")
    if not name.strip():
        raise InvalidEntry("a donor needs a name", field="name")
    donor = Donor(
        donor_id or _new_id("D"), DonorKind(kind), name.strip(), language, anonymous, region
    )
    if uow.repo.get_donor(donor.id) is not None:
        raise AlreadyExists(f"donor {donor.id!r} already exists", field="id")
    uow.repo.add_donor(donor, uow.now())
    return donor


def open_project(
    uow: UnitOfWorkPort,
    *,
    code: str,
    name: str,
    fund: str,
    county: str,
    town: str = "",
    budget: Money | None = None,
) -> Project:
    """Open a project (a dimension of postings) under a fund.

    Raises:
        AlreadyExists, UnknownFund, InvalidEntry.
    """
    _check_code(code, "code")
    _fund(uow, fund)
    if uow.repo.get_project(code) is not None:
        raise AlreadyExists(f"project {code!r} already exists", field="code")
    budget = budget or Money(0, FUNCTIONAL_CURRENCY)
    project = Project(
        code, name.strip(), fund, county.strip(), town.strip(), budget.minor, budget.currency
    )
    uow.repo.add_project(project, uow.now())
    return project


def set_fund_purposes(
    uow: UnitOfWorkPort, *, fund: str, purposes: Mapping[str, Any], by: str
) -> Purposes:
    """State what a fund may pay for (`ledger.purposes`), as its next version.

    Raises:
        UnknownFund; InvalidEntry: bad purposes (every problem named).
    """
    if uow.repo.get_fund(fund) is None:
        raise UnknownFund(f"no fund {fund!r}", field="fund")
    parsed = parse_purposes(purposes)
    text = json.dumps(purposes_json(parsed), ensure_ascii=False, sort_keys=True)
    uow.repo.add_fund_purposes(fund, text, uow.now(), by)
    uow.forget("purposes", fund)
    return parsed


def fund_purposes(uow: UnitOfWorkPort, fund: str) -> Purposes:
    """What a fund may pay for (`ANYTHING` until it states its purposes). Raises: UnknownFund."""
    if uow.repo.get_fund(fund) is None:
        raise UnknownFund(f"no fund {fund!r}", field="fund")
    return _purposes(uow, fund)


def set_project_budget(
    uow: UnitOfWorkPort, *, project: str, budget: Money, reason: str, by: str
) -> tuple[Project, Project]:
    """Change a project's budget (an admin raises it), with a reason: (before, after).

    Raises:
        UnknownProject; InvalidEntry: no reason, not CNY, or below what the project has spent.
    """
    before = uow.repo.get_project(project)
    if before is None:
        raise UnknownProject(f"no project {project!r}", field="project")
    if not reason.strip() or len(reason) > 2000:
        raise InvalidEntry("a budget change needs a reason (1-2000 characters)", field="reason")
    if budget.currency != FUNCTIONAL_CURRENCY:
        raise InvalidEntry("budgets are kept in CNY", field="currency")
    spent = uow.total(PROGRAM_EXPENSES, before.fund, project=project)[1]
    if budget.minor < spent:
        raise InvalidEntry(
            f"project {project} has spent {format_minor(spent, budget.currency)} CNY already; "
            "the budget cannot be below that",
            field="budget",
        )
    uow.repo.add_project_budget(
        {
            "project": project,
            "budget_minor": budget.minor,
            "currency": budget.currency,
            "reason": reason.strip(),
            "set_at": uow.now(),
            "set_by": by,
        }
    )
    uow.forget("project", project)
    return before, dataclasses.replace(before, budget_minor=budget.minor, currency=budget.currency)


def _pseudonym(secret: bytes, identity: str) -> str:
    return "B-" + hmac.new(secret, identity.encode(), hashlib.sha256).hexdigest()[:16]


def register_beneficiary(
    uow: UnitOfWorkPort, *, cohort: str, county: str, personal: Mapping[str, str], secret: bytes
) -> Beneficiary:
    """Register a beneficiary: the books get a keyed-HMAC pseudonym, cohort and county only.

    Personal data is sealed with AES-GCM under a key of this person's own, stored beside the
    ciphertext so that destroying it erases the person without touching the journal.

    Raises:
        AlreadyExists: when the same identity number was registered before.
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    identity = personal.get("id_number") or uuid.uuid4().hex
    pseudonym = _pseudonym(secret, identity)
    if uow.repo.get_beneficiary(pseudonym) is not None:
        raise AlreadyExists("this beneficiary is already registered", field="id_number")
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key).encrypt(nonce, json.dumps(dict(personal)).encode(), None)
    beneficiary = Beneficiary(pseudonym, cohort.strip(), county.strip())
    uow.repo.add_beneficiary(beneficiary, key, sealed, uow.now())
    return beneficiary


def read_personal_data(uow: UnitOfWorkPort, pseudonym: str) -> dict[str, str] | None:
    """Decrypt a beneficiary's personal data; None once it has been erased.

    Raises:
        UnknownBeneficiary: for an unknown pseudonym.
    """
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    record = uow.repo.personal_record(pseudonym)
    if record is None:
        raise UnknownBeneficiary(f"no beneficiary {pseudonym!r}", field="beneficiary_id")
    key, sealed = record
    if key is None:
        return None
    plain = AESGCM(key).decrypt(sealed[:12], sealed[12:], None)
    data: dict[str, str] = json.loads(plain)
    return data


def open_account(uow: UnitOfWorkPort, code: str) -> None:
    """Re-open a closed account. Raises: UnknownAccount."""
    if uow.repo.get_account(code) is None:
        raise UnknownAccount(f"no account {code!r}", field="account")
    uow.repo.set_account_open(code, True, uow.now())
    uow.forget("account", code)


def close_account(uow: UnitOfWorkPort, code: str) -> None:
    """Close an account to new postings (it stays in history). Raises: UnknownAccount."""
    if uow.repo.get_account(code) is None:
        raise UnknownAccount(f"no account {code!r}", field="account")
    uow.repo.set_account_open(code, False, uow.now())
    uow.forget("account", code)


def close_period(uow: UnitOfWorkPort, period: str, *, by: str = "system") -> str:
    """Close a month (`YYYY-MM`) or a year (`YYYY`): no entry may be dated inside it again.

    Raises:
        InvalidEntry: malformed or not yet ended; AlreadyExists: already closed.
    """
    if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period):
        year, month = int(period[:4]), int(period[5:])
        end = (
            dt.date(year, 12, 31)
            if month == 12
            else dt.date(year, month + 1, 1) - dt.timedelta(days=1)
        )
    elif re.fullmatch(r"\d{4}", period):
        end = dt.date(int(period), 12, 31)
    else:
        raise InvalidEntry("a period is YYYY-MM or YYYY", field="period")
    if end >= uow.today():
        raise InvalidEntry(f"period {period} has not ended yet", field="period")
    if period in uow.closed_periods():
        raise AlreadyExists(f"period {period} is already closed", field="period")
    uow.repo.close_period(period, uow.now(), by)
    uow.closed_periods().add(period)
    return period


# -- entry builders: the shapes of the domain notes, nothing read from the books ----------------
def donation_entry(
    *,
    donor_id: str,
    fund: Fund,
    amount: Money,
    cny: int,
    received_on: dt.date,
    method: str,
    memo: str,
    maker: str,
    fx: Mapping[str, str] | None = None,
    pledge_id: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> JournalEntry:
    """A gift of cash: Dr 1002-<cur> / Cr 4101-R|U, or Cr 1122 when it pays `pledge_id`.

    `cny` is the gift's CNY value; `fx` the rate, its source and date of a foreign gift;
    `tags` what the gift answers (`campaign`, and `matches`: the gift a matcher's gift
    matches), kept in the entry's hashed data. The importer's bulk path builds its entries
    here too.
    """
    if pledge_id is None:
        credit, ref, kind = _income_account(fund), "", EntryKind.DONATION
    else:
        credit, ref, kind = PLEDGES_RECEIVABLE, pledge_id, EntryKind.PLEDGE_PAYMENT
    data: dict[str, Any] = {"donor_id": donor_id, "method": method, **(fx or {}), "cny_minor": cny}
    if pledge_id is not None:
        data["pledge_id"] = pledge_id
    data.update(tags or {})
    m, c = amount.minor, amount.currency
    postings = (
        Posting(cash_account(c), fund.code, m, c, cny),
        Posting(credit, fund.code, -m, c, -cny, party=donor_id, ref=ref),
    )
    return JournalEntry(kind, received_on, postings, memo=memo, maker=maker, data=data)


def _pledge_entry(
    pledge_id: str, donor_id: str, fund: Fund, amount: Money, on: dt.date, memo: str, maker: str
) -> JournalEntry:
    """An unconditional pledge: Dr 1122 (ref = the pledge) / Cr 4101-R|U."""
    m, c = amount.minor, amount.currency
    postings = (
        Posting(PLEDGES_RECEIVABLE, fund.code, m, c, m, party=donor_id, ref=pledge_id),
        Posting(_income_account(fund), fund.code, -m, c, -m, party=donor_id),
    )
    data = {"pledge_id": pledge_id, "donor_id": donor_id}
    return JournalEntry(EntryKind.PLEDGE, on, postings, memo=memo, maker=maker, data=data)


def _spending(
    expense: str, fund: str, amount: Money, cny: int, **dimensions: str
) -> tuple[Posting, Posting]:
    """Dr `expense` (with its project, party or class) / Cr 1002-<cur>: cash leaving a fund."""
    m, c = amount.minor, amount.currency
    return (
        Posting(expense, fund, m, c, cny, **dimensions),
        Posting(cash_account(c), fund, -m, c, -cny),
    )


# -- the operations ---------------------------------------------------------------------------
@_idempotent("pledge", replay=_replayed_pledge)
def record_pledge(
    uow: UnitOfWorkPort,
    *,
    donor_id: str,
    fund: str,
    amount: Money,
    pledged_on: dt.date,
    due_on: dt.date | None = None,
    conditional: bool = False,
    memo: str = "",
    maker: str = "system",
    key: str | None = None,
) -> tuple[Pledge, PostedEntry | None]:
    """Record a pledge: unconditional ones are receivable income, conditional ones a memo only.

    Raises:
        UnknownDonor, UnknownFund, InvalidEntry (not CNY), PeriodClosed, IdempotencyConflict.
    """
    donor, the_fund = _donor(uow, donor_id), _fund(uow, fund)
    if amount.currency != FUNCTIONAL_CURRENCY:
        raise InvalidEntry(
            "pledges are recorded in CNY; record a foreign gift when it arrives", field="currency"
        )
    pledge_id, entry = _new_id("P"), None
    if not conditional:
        built = _pledge_entry(pledge_id, donor.id, the_fund, amount, pledged_on, memo, maker)
        entry = _post(uow, built)
    elif key is not None:  # a keyed memo pledge is dated like an entry
        _check_date(uow, pledged_on)
    pledge = Pledge(
        pledge_id,
        donor.id,
        fund,
        amount.minor,
        amount.currency,
        due_on,
        conditional,
        entry.id if entry else None,
    )
    uow.repo.add_pledge(pledge, uow.now())
    return pledge, entry


@_idempotent("donation")
def record_donation(
    uow: UnitOfWorkPort,
    *,
    donor_id: str,
    fund: str,
    amount: Money,
    received_on: dt.date,
    method: str = "bank",
    pledge_id: str | None = None,
    fx_rate: str | None = None,
    fx_source: str | None = None,
    fx_date: dt.date | None = None,
    memo: str = "",
    maker: str = "system",
    key: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> PostedEntry:
    """Record a cash or bank gift (gross), optionally paying a pledge, in any currency.

    Foreign gifts keep the original amount, the rate (CNY per unit), its source and date.
    `tags` (a campaign's slug, the gift a matching gift matches) go into the entry's data.

    Raises:
        UnknownDonor, UnknownFund, NotFound (pledge), Overpayment, InvalidEntry, PeriodClosed,
        IdempotencyConflict.
    """
    if method not in {"cash", "bank", "online"}:
        raise InvalidEntry("method must be cash, bank or online", field="method")
    donor, the_fund = _donor(uow, donor_id), _fund(uow, fund)
    fx = _fx_of(amount, fx_rate, fx_source, fx_date or received_on)
    cny = _functional(amount, parse_rate(fx_rate) if fx and fx_rate else None)
    if pledge_id is not None:
        _check_pledge_payment(uow, pledge_id, donor_id, fund, amount)
    entry = donation_entry(
        donor_id=donor.id,
        fund=the_fund,
        amount=amount,
        cny=cny,
        received_on=received_on,
        method=method,
        memo=memo,
        maker=maker,
        fx=fx,
        pledge_id=pledge_id,
        tags=tags,
    )
    return _post(uow, entry)


def _fx_of(amount: Money, rate: str | None, source: str | None, on: dt.date) -> dict[str, str]:
    """The rate, source and date a foreign gift keeps (nothing for a CNY gift)."""
    if amount.currency == FUNCTIONAL_CURRENCY:
        return {}
    if not rate or not source:
        raise InvalidEntry(f"a {amount.currency} gift needs fx_rate and fx_source", field="fx_rate")
    parse_rate(rate)
    return {"fx_rate": rate, "fx_source": source, "fx_date": on.isoformat()}


def _check_pledge_payment(
    uow: UnitOfWorkPort, pledge_id: str, donor_id: str, fund: str, amount: Money
) -> None:
    pledge = uow.repo.get_pledge(pledge_id)
    if pledge is None or pledge.conditional:
        raise NotFound(f"no unconditional pledge {pledge_id!r}", field="pledge_id")
    if pledge.fund != fund or pledge.currency != amount.currency or pledge.donor_id != donor_id:
        raise InvalidEntry(
            "the payment's donor, fund and currency must match the pledge", field="pledge_id"
        )


_IN_KIND_ASSETS = {"inventory": INVENTORY, "equipment": FIXED_ASSETS}


@_idempotent("in_kind")
def record_in_kind_donation(
    uow: UnitOfWorkPort,
    *,
    donor_id: str,
    fund: str,
    description: str,
    quantity: str,
    fair_value: Money,
    valuation_basis: str,
    received_on: dt.date,
    asset: str = "inventory",
    evidence: str = "",
    pass_through_to: str | None = None,
    memo: str = "",
    maker: str = "system",
    key: str | None = None,
) -> PostedEntry:
    """Record goods received at fair value, with the valuation basis and its evidence.

    Goods passed on to a recipient the donor named are agency assets (Dr 1701 / Cr 2601), not
    income.

    Raises:
        UnknownDonor, UnknownFund, InvalidEntry, PeriodClosed, IdempotencyConflict.
    """
    donor, the_fund = _donor(uow, donor_id), _fund(uow, fund)
    _check_in_kind(fair_value, description, valuation_basis, asset)
    debit, credit = _IN_KIND_ASSETS[asset], _income_account(the_fund)
    if pass_through_to:
        debit, credit = AGENCY_ASSETS, AGENCY_LIABILITIES
    details = {
        "description": description,
        "quantity": quantity,
        "valuation_basis": valuation_basis,
        "evidence": evidence,
    }
    entry = _in_kind_entry(
        debit,
        credit,
        fund,
        fair_value,
        donor.id,
        details,
        pass_through_to,
        received_on,
        memo,
        maker,
    )
    return _post(uow, entry)


def _check_in_kind(fair_value: Money, description: str, basis: str, asset: str) -> None:
    if fair_value.currency != FUNCTIONAL_CURRENCY:
        raise InvalidEntry("in-kind gifts are valued in CNY", field="currency")
    if not description.strip() or not basis.strip():
        raise InvalidEntry(
            "an in-kind gift needs a description and a valuation basis", field="valuation_basis"
        )
    if asset not in _IN_KIND_ASSETS:
        raise InvalidEntry("asset must be inventory or equipment", field="asset")


def _in_kind_entry(
    debit: str,
    credit: str,
    fund: str,
    fair_value: Money,
    donor_id: str,
    details: Mapping[str, str],
    pass_through_to: str | None,
    on: dt.date,
    memo: str,
    maker: str,
) -> JournalEntry:
    """Goods at fair value (CNY): Dr `debit` / Cr `credit`, with the gift's details as data."""
    v = fair_value.minor
    data = {
        "donor_id": donor_id,
        **details,
        "cny_minor": v,
        **({"pass_through_to": pass_through_to} if pass_through_to else {}),
    }
    postings = (
        Posting(debit, fund, v, FUNCTIONAL_CURRENCY, v),
        Posting(credit, fund, -v, FUNCTIONAL_CURRENCY, -v, party=donor_id),
    )
    return JournalEntry(EntryKind.IN_KIND, on, postings, memo=memo, maker=maker, data=data)


_QUANTITY = re.compile(r"^\s*(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)\s*(.*)$")


def gift_quantity(text: str) -> tuple[Decimal, str] | None:
    """The number and unit a gift's quantity starts with ("12 台" -> (12, "台"); "2,400册" ->
    (2400, "册")), or None."""
    match = _QUANTITY.match(text or "")
    if match is None:
        return None
    return Decimal(match.group(1).replace(",", "")), match.group(2).strip()


@_idempotent("in_kind_handover")
def hand_over_in_kind(
    uow: UnitOfWorkPort,
    *,
    gift_entry_id: str,
    quantity: str,
    recipient: str,
    handed_over_on: dt.date,
    project: str = "",
    value: Money | None = None,
    evidence: Sequence[str] = (),
    memo: str = "",
    maker: str = "system",
    key: str | None = None,
) -> PostedEntry:
    """Pass (part of) goods received in kind on to a project or recipient, at carrying value.

    Dr 5101 (project, program) / Cr 1201 or 1501 (ref = the gift), releasing a restricted
    fund's restriction; goods the donor passed through: Dr 2601 / Cr 1701. Without `value`, a
    part is valued pro rata (half up). The recipient is an organisation or a pseudonym.

    A fixed asset (1501) leaves at its carrying value (`carrying_value`): Dr 5101 at carrying
    value and Dr 1502 (ref = the gift) at the part's accumulated depreciation, Cr 1501 at the
    part's cost, so nothing of it stays on the balance sheet; a part is its quantity's share of
    what is left (or `value`'s share of the carrying value left). It is handed over no earlier
    than the last day of the last month depreciated, and is not depreciated after.

    Raises:
        NotFound: no such in-kind gift. BeyondReceived: more than the gift brought.
        UnknownProject, InvalidEntry, PeriodClosed, IdempotencyConflict.
    """
    gift = uow.entry(gift_entry_id)
    if gift is None or gift.kind != EntryKind.IN_KIND:
        raise NotFound(f"no in-kind gift {gift_entry_id!r}")
    if gift_entry_id in uow.reversed_ids or uow.repo.reversal_of(gift_entry_id):
        raise InvalidEntry(f"in-kind gift {gift_entry_id} was reversed", field="gift")
    if not recipient.strip() or len(recipient) > 200:
        raise InvalidEntry("recipient must be 1-200 characters", field="recipient")
    asset = next(p for p in gift.postings if p.amount > 0)
    if asset.account == FIXED_ASSETS:
        shares = _fixed_asset_shares(uow, gift, _quantity(quantity), value, handed_over_on)
    else:
        minor = _handover_value(uow, gift, asset.amount, _quantity(quantity), value)
        shares = (minor, minor, 0)
    minor = shares[0]
    data = {
        "operation": "in_kind_handover",
        "gift_entry_id": gift_entry_id,
        "description": str(gift.data.get("description", "")),
        "quantity": quantity,
        "unit": (gift_quantity(str(gift.data.get("quantity", ""))) or (0, ""))[1],
        "recipient": recipient.strip(),
        "evidence": list(evidence),
        "cny_minor": minor,
    }
    if asset.account == FIXED_ASSETS:
        data["cost_minor"], data["accumulated_depreciation_minor"] = shares[1], shares[2]
    postings = _handover_postings(uow, asset, gift_entry_id, project, shares)
    entry = JournalEntry(
        EntryKind.GENERAL, handed_over_on, postings, memo=memo, maker=maker, data=data
    )
    posted = _post(uow, entry)
    row = {"entry_id": posted.id, "gift_entry_id": gift_entry_id, "quantity": quantity}
    uow.repo.add_handover(
        {
            **row,
            "value_minor": minor,
            "recipient": recipient.strip(),
            "project": project,
            "handed_over_on": handed_over_on.isoformat(),
            "created_at": uow.now(),
        }
    )
    return posted


def _quantity(text: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal(0)
    if not number.is_finite() or number <= 0 or len(text) > 40:
        raise InvalidEntry("quantity must be a positive decimal number", field="quantity")
    return number


def _handover_value(
    uow: UnitOfWorkPort, gift: PostedEntry, gift_value: int, quantity: Decimal, value: Money | None
) -> int:
    """The handover's value in CNY minor units, refused beyond what the gift brought."""
    done = uow.repo.handovers_of(gift.id)
    done_quantity = sum((Decimal(q) for q, _ in done), Decimal(0))
    remaining = gift_value - sum(v for _, v in done)
    received = gift_quantity(str(gift.data.get("quantity", "")))
    if received is not None and done_quantity + quantity > received[0]:
        raise BeyondReceived(
            f"gift {gift.id} brought {received[0]}; {done_quantity} handed over already, "
            f"{quantity} more would be beyond what was received",
            field="quantity",
        )
    if value is not None:
        if value.currency != FUNCTIONAL_CURRENCY:
            raise InvalidEntry("a handover is valued in CNY", field="value")
        minor = value.minor
    elif received is not None and done_quantity + quantity == received[0]:
        minor = remaining
    elif received is not None:
        minor = int(
            Fraction(gift_value) * Fraction(quantity) / Fraction(received[0]) + Fraction(1, 2)
        )
    else:
        raise InvalidEntry("give the value: the gift's quantity is not a number", field="value")
    if minor <= 0 or minor > remaining:
        raise BeyondReceived(
            f"gift {gift.id} has {format_minor(remaining, FUNCTIONAL_CURRENCY)} CNY of value "
            "left to hand over",
            field="value",
        )
    return minor


def _fixed_asset_shares(
    uow: UnitOfWorkPort,
    gift: PostedEntry,
    quantity: Decimal,
    value: Money | None,
    handed_over_on: dt.date,
) -> tuple[int, int, int]:
    """(carrying value, cost, accumulated depreciation) of the part of a fixed asset handed
    over, in fen: the quantity's (or the value's) share of what is left of each, the last
    handover taking all that is left. Carrying value = cost - accumulated depreciation.

    Raises:
        BeyondReceived: more quantity or value than is left. InvalidEntry: a value in another
        currency; a day before the end of a month already depreciated.
    """
    left = carrying_value(uow, gift.id)
    cost_left, depreciated = left.cost - left.handed_over, left.accumulated
    if left.handed_over == 0 and depreciated > 0:
        _gift, plan = depreciable_gift(uow, gift.id)
        last = max(m for m in plan.months if plan.accumulated_through(m) <= depreciated)
        if handed_over_on < month_end(last):
            raise InvalidEntry(
                f"the asset is depreciated through {last}: hand it over on "
                f"{month_end(last).isoformat()} or later",
                field="handed_over_on",
            )
    done = sum((Decimal(q) for q, _ in uow.repo.handovers_of(gift.id)), Decimal(0))
    received = gift_quantity(str(gift.data.get("quantity", "")))
    if received is not None and done + quantity > received[0]:
        raise BeyondReceived(
            f"gift {gift.id} brought {received[0]}; {done} handed over already, "
            f"{quantity} more would be beyond what was received",
            field="quantity",
        )
    if value is not None:
        if value.currency != FUNCTIONAL_CURRENCY:
            raise InvalidEntry("a handover is valued in CNY", field="value")
        if value.minor <= 0 or value.minor > left.carrying:
            raise BeyondReceived(
                f"gift {gift.id} has {format_minor(left.carrying, FUNCTIONAL_CURRENCY)} CNY of "
                "carrying value left to hand over",
                field="value",
            )
        share = Fraction(value.minor, left.carrying)
    elif received is not None:
        share = Fraction(quantity) / Fraction(received[0] - done)
    else:
        share = Fraction(1)  # a quantity without a number: the asset leaves whole
    if cost_left <= 0:
        raise BeyondReceived(f"gift {gift.id} was handed over already", field="quantity")
    if share == 1:
        return cost_left - depreciated, cost_left, depreciated
    part_depreciated = int(depreciated * share + Fraction(1, 2))
    part_cost = (
        value.minor + part_depreciated
        if value is not None
        else int(cost_left * share + Fraction(1, 2))
    )
    return part_cost - part_depreciated, part_cost, part_depreciated


def _handover_postings(
    uow: UnitOfWorkPort,
    asset: Posting,
    gift_entry_id: str,
    project: str,
    shares: tuple[int, int, int],
) -> tuple[Posting, ...]:
    """Dr 5101 (carrying value) + Dr 1502 (its depreciation) / Cr 1201 or 1501 (cost); or the
    agency accounts' pair. A fully depreciated asset has no expense line."""
    fund, cny = asset.fund, FUNCTIONAL_CURRENCY
    minor, cost, depreciated = shares
    if asset.account == AGENCY_ASSETS:
        return (
            Posting(AGENCY_LIABILITIES, fund, minor, cny, minor),
            Posting(AGENCY_ASSETS, fund, -minor, cny, -minor, ref=gift_entry_id),
        )
    the_project = _project(uow, project) if project else None
    if the_project is None or the_project.fund != fund:
        raise UnknownProject(f"no project {project!r} of fund {fund}", field="project")
    check_purpose(_purposes(uow, fund), fund, "in_kind_handovers")
    expense = (
        Posting(
            PROGRAM_EXPENSES,
            fund,
            minor,
            cny,
            minor,
            project=project,
            functional_class=FunctionalClass.PROGRAM.value,
        ),
        *_release(uow, _fund(uow, fund), Money(minor, cny), minor),
    )
    cleared = (
        (Posting(ACCUMULATED_DEPRECIATION, fund, depreciated, cny, depreciated, ref=gift_entry_id),)
        if depreciated
        else ()
    )
    return (
        *(expense if minor else ()),
        *cleared,
        Posting(asset.account, fund, -cost, cny, -cost, ref=gift_entry_id),
    )


@_idempotent("disbursement")
def record_disbursement(
    uow: UnitOfWorkPort,
    *,
    fund: str,
    project: str,
    amount: Money,
    paid_on: dt.date,
    memo: str = "",
    functional_class: str = FunctionalClass.PROGRAM.value,
    payee: Mapping[str, str] | None = None,
    bank_reference: str = "",
    over_budget_reason: str = "",
    maker: str = "system",
    key: str | None = None,
) -> PostedEntry:
    """Pay money from a fund to one of its projects; releases the restriction for the amount.

    `payee` names who was paid (`check_payee`); `over_budget_reason` is given only by the
    approval of an over-budget request, which lets the payment exceed the project's budget.

    Raises:
        InsufficientFunds: when the fund's cash in that currency would go below zero;
        OverBudget: beyond the project's remaining budget; PurposeMismatch: not a project the
        fund may pay for; UnknownFund, UnknownProject, InvalidEntry, PeriodClosed,
        IdempotencyConflict.
    """
    the_fund, the_project = _fund(uow, fund), _project(uow, project)
    if the_project.fund != fund:
        raise InvalidEntry(
            f"project {project} belongs to fund {the_project.fund}, not {fund}", field="project"
        )
    if functional_class not in {c.value for c in FunctionalClass}:
        raise InvalidEntry(
            "functional_class must be program, management or fundraising", field="functional_class"
        )
    check_purpose(_purposes(uow, fund), fund, "projects", the_project.county)
    paid_to = check_payee(uow, payee, bank_reference)
    cny = _cash_out(uow, fund, amount)
    budget = _check_budget(uow, the_project, amount, cny, over_budget_reason)
    postings = (
        *_spending(
            PROGRAM_EXPENSES, fund, amount, cny, project=project, functional_class=functional_class
        ),
        *_release(uow, the_fund, amount, cny),
    )
    data: dict[str, Any] = {
        "project": project,
        "county": the_project.county,
        "cny_minor": cny,
        **paid_to,
        **budget,
    }
    entry = JournalEntry(
        EntryKind.DISBURSEMENT, paid_on, postings, memo=memo, maker=maker, data=data
    )
    return _post(uow, entry)


def check_payee(
    uow: UnitOfWorkPort, payee: Mapping[str, str] | None, bank_reference: str = ""
) -> dict[str, Any]:
    """The payee and bank reference as an entry's data keeps them (nothing when none given).

    An organisation is named with its 统一社会信用代码 (`registration_number`, GB 32100-2015);
    a person only by their pseudonym (a registered beneficiary), never by name.

    Raises:
        InvalidEntry: a malformed payee or bank reference; UnknownBeneficiary: no such person.
    """
    data: dict[str, Any] = {}
    if len(bank_reference) > 100 or bank_reference != bank_reference.strip():
        raise InvalidEntry("bank_reference is 1-100 characters", field="bank_reference")
    if bank_reference:
        data["bank_reference"] = bank_reference
    if not payee:
        return data
    kind = payee.get("kind")
    if kind == "organisation":
        name, number = str(payee.get("name", "")).strip(), str(payee.get("registration_number", ""))
        if not 0 < len(name) <= 200:
            raise InvalidEntry("an organisation payee needs its name", field="payee.name")
        if not is_valid_credit_code(number):
            raise InvalidEntry(
                "registration_number must be an 18-character 统一社会信用代码 with a valid check "
                "character",
                field="payee.registration_number",
            )
        data["payee"] = {"kind": kind, "name": name, "registration_number": number}
    elif kind == "person":
        pseudonym = str(payee.get("pseudonym", ""))
        if set(payee) - {"kind", "pseudonym"}:
            raise InvalidEntry(
                "a person is paid by pseudonym only (no name or other personal data)",
                field="payee",
            )
        if uow.repo.get_beneficiary(pseudonym) is None:
            raise UnknownBeneficiary(f"no beneficiary {pseudonym!r}", field="payee.pseudonym")
        data["payee"] = {"kind": kind, "pseudonym": pseudonym}
    else:
        raise InvalidEntry("payee kind must be organisation or person", field="payee.kind")
    return data


def _check_budget(
    uow: UnitOfWorkPort, project: Project, amount: Money, cny: int, over_budget_reason: str
) -> dict[str, Any]:
    """Refuse a payment beyond the project's remaining budget (CNY value; no budget, no limit);
    an approved over-budget payment is let through and says so in its data.

    Raises:
        OverBudget: naming the budget, what is left and the payment.
    """
    if project.budget_minor <= 0:
        return {}
    spent = uow.total(PROGRAM_EXPENSES, project.fund, project=project.code)[1]
    left = project.budget_minor - spent
    if cny <= left:
        return {}
    figures = {"budget_minor": project.budget_minor, "remaining_minor": left}
    if over_budget_reason.strip():
        return {"over_budget": {**figures, "reason": over_budget_reason.strip()}}
    c = project.currency
    raise OverBudget(
        f"project {project.code} has {format_minor(left, c)} {c} of its "
        f"{format_minor(project.budget_minor, c)} {c} budget left; this disbursement is "
        f"{format_minor(cny, c)} {c} (request it as an over-budget payment, with a reason)",
        field="amount",
    )


def award_capacity(uow: UnitOfWorkPort, fund: str) -> tuple[int, int, int]:
    """(CNY cash, unconditional pledges receivable, unpaid awards) of a fund, in fen."""
    cash = uow.total(cash_account(FUNCTIONAL_CURRENCY), fund, FUNCTIONAL_CURRENCY)[0]
    pledged = uow.total(PLEDGES_RECEIVABLE, fund, FUNCTIONAL_CURRENCY)[0]
    unpaid = -uow.total(GRANTS_PAYABLE, fund, FUNCTIONAL_CURRENCY)[0]
    return cash, pledged, unpaid


def _check_commitment(uow: UnitOfWorkPort, fund: str, amount: Money) -> None:
    """Refuse an award beyond what the fund can pay (see the module docstring).

    Raises:
        InsufficientFunds: with the figures.
    """
    cash, pledged, unpaid = award_capacity(uow, fund)
    can = cash + pledged - unpaid
    if amount.minor <= can:
        return
    c = amount.currency

    def f(minor: int) -> str:
        return f"{format_minor(minor, c)} {c}"

    raise InsufficientFunds(
        f"fund {fund} can commit at most {f(max(can, 0))} to a new award (cash {f(cash)} + "
        f"unconditional pledges receivable {f(pledged)} - unpaid awards {f(unpaid)}); this "
        f"award is {f(amount.minor)}",
        field="amount",
        currency=c,
        figures={
            "can": max(can, 0),
            "cash": cash,
            "pledged": pledged,
            "unpaid": unpaid,
            "amount": amount.minor,
        },
    )


@_idempotent("award", replay=_replayed_award)
def award_scholarship(
    uow: UnitOfWorkPort,
    *,
    fund: str,
    beneficiary_id: str,
    amount: Money,
    term: str,
    awarded_on: dt.date,
    project: str = "",
    maker: str = "system",
    key: str | None = None,
) -> tuple[Award, PostedEntry]:
    """Award a scholarship: an unconditional award is an expense and a liability (5101/2209).

    Raises:
        InsufficientFunds: beyond the fund's cash + pledges receivable - unpaid awards;
        PurposeMismatch: the fund does not pay scholarships; UnknownFund, UnknownBeneficiary,
        UnknownProject, InvalidEntry (no term), PeriodClosed,
        IdempotencyConflict.
    """
    the_fund = _fund(uow, fund)
    if uow.repo.get_beneficiary(beneficiary_id) is None:
        raise UnknownBeneficiary(f"no beneficiary {beneficiary_id!r}", field="beneficiary_id")
    if project:
        _project(uow, project)
    if not term.strip():
        raise InvalidEntry("an award names its term, e.g. 2026秋", field="term")
    check_purpose(_purposes(uow, fund), fund, "scholarships")
    _check_commitment(uow, fund, amount)
    award_id, cny = _new_id("A"), _functional(amount, None)
    m, c, who = amount.minor, amount.currency, beneficiary_id
    postings = (
        Posting(
            PROGRAM_EXPENSES,
            fund,
            m,
            c,
            cny,
            project=project,
            party=who,
            functional_class=FunctionalClass.PROGRAM.value,
        ),
        Posting(GRANTS_PAYABLE, fund, -m, c, -cny, party=who, ref=award_id),
        *_release(uow, the_fund, amount, cny),
    )
    data = {"award_id": award_id, "term": term, "beneficiary_id": who}
    entry = _post(uow, JournalEntry(EntryKind.AWARD, awarded_on, postings, maker=maker, data=data))
    award = Award(award_id, fund, who, m, c, term.strip(), entry.id)
    uow.repo.add_award(award, uow.now())
    return award, entry


@_idempotent("payout")
def pay_scholarship(
    uow: UnitOfWorkPort,
    *,
    award_id: str,
    amount: Money,
    paid_on: dt.date,
    maker: str = "system",
    key: str | None = None,
) -> PostedEntry:
    """Pay (part of) an award: never beyond its unpaid balance, never beyond the fund's cash.

    Raises:
        NotFound, Overpayment, InsufficientFunds, InvalidEntry (currency), PeriodClosed,
        IdempotencyConflict.
    """
    award = uow.repo.get_award(award_id)
    if award is None:
        raise NotFound(f"no award {award_id!r}", field="award_id")
    if amount.currency != award.currency:
        raise InvalidEntry(f"award {award_id} is in {award.currency}", field="currency")
    cny = _cash_out(uow, award.fund, amount)
    postings = _spending(
        GRANTS_PAYABLE, award.fund, amount, cny, party=award.beneficiary_id, ref=award_id
    )
    data = {"award_id": award_id, "term": award.term, "beneficiary_id": award.beneficiary_id}
    return _post(uow, JournalEntry(EntryKind.PAYOUT, paid_on, postings, maker=maker, data=data))


@_idempotent("fee")
def record_fee(
    uow: UnitOfWorkPort,
    *,
    fund: str,
    amount: Money,
    paid_on: dt.date,
    memo: str = "",
    maker: str = "system",
    key: str | None = None,
) -> PostedEntry:
    """Record a bank or platform fee as its own entry (Dr 5301 / Cr 1002).

    Raises:
        InsufficientFunds, UnknownFund, PeriodClosed, IdempotencyConflict.
    """
    _fund(uow, fund)
    cny = _cash_out(uow, fund, amount)
    postings = _spending(
        FUNDRAISING_EXPENSES,
        fund,
        amount,
        cny,
        functional_class=FunctionalClass.FUNDRAISING.value,
    )
    return _post(uow, JournalEntry(EntryKind.FEE, paid_on, postings, memo=memo, maker=maker))


@_idempotent("transfer")
def transfer_between_funds(
    uow: UnitOfWorkPort,
    *,
    from_fund: str,
    to_fund: str,
    amount: Money,
    on: dt.date,
    reason: str,
    maker: str = "system",
    key: str | None = None,
) -> PostedEntry:
    """Move cash between funds through the interfund account 1901, with a reason.

    Raises:
        InsufficientFunds, UnknownFund, InvalidEntry, PeriodClosed, IdempotencyConflict.
    """
    _fund(uow, from_fund)
    _fund(uow, to_fund)
    if from_fund == to_fund:
        raise InvalidEntry("a transfer needs two different funds", field="to_fund")
    if not reason.strip():
        raise InvalidEntry("a transfer between funds needs a reason", field="reason")
    cny = _cash_out(uow, from_fund, amount)
    cash, m, c = cash_account(amount.currency), amount.minor, amount.currency
    postings = (
        Posting(INTERFUND, from_fund, m, c, cny, ref=to_fund),
        Posting(cash, from_fund, -m, c, -cny),
        Posting(cash, to_fund, m, c, cny),
        Posting(INTERFUND, to_fund, -m, c, -cny, ref=from_fund),
    )
    data = {"from_fund": from_fund, "to_fund": to_fund, "reason": reason}
    entry = JournalEntry(EntryKind.TRANSFER, on, postings, memo=reason, maker=maker, data=data)
    return _post(uow, entry)


@_idempotent("reversal")
def reverse(
    uow: UnitOfWorkPort,
    *,
    entry_id: str,
    reason: str,
    on: dt.date | None = None,
    maker: str = "system",
    key: str | None = None,
) -> PostedEntry:
    """Reverse an entry: the only correction. Once per entry; a reversal is not reversed.

    A reversal of an entry in a closed period is dated today (in the open period).

    Raises:
        NotFound, AlreadyReversed, InsufficientFunds (its cash was spent meanwhile),
        Overpayment, InvalidEntry (no reason), PeriodClosed, IdempotencyConflict.
    """
    if not reason.strip():
        raise InvalidEntry("a reversal needs a reason", field="reason")
    original = _reversible(uow, entry_id)
    data = {
        "reason": reason,
        "reverses_sequence": original.sequence,
        "reverses_kind": original.kind.value,
    }
    entry = JournalEntry(
        EntryKind.REVERSAL,
        on or _reversal_day(uow, original),
        reversal_postings(original.postings),
        memo=reason,
        maker=maker,
        reverses=entry_id,
        data=data,
    )
    return _post(uow, entry)


def _reversible(uow: UnitOfWorkPort, entry_id: str) -> PostedEntry:
    original = uow.entry(entry_id)
    if original is None:
        raise NotFound(f"no entry {entry_id!r}", field="entry_id")
    if original.kind is EntryKind.REVERSAL:
        raise AlreadyReversed("a reversal cannot itself be reversed; post the right entry")
    if entry_id in uow.reversed_ids or uow.repo.reversal_of(entry_id) is not None:
        raise AlreadyReversed(f"entry {entry_id} was already reversed")
    return original


def _reversal_day(uow: UnitOfWorkPort, original: PostedEntry) -> dt.date:
    """Today if the original's period is closed, else the later of its date and today."""
    closed = uow.closed_periods()
    occurred = original.occurred_on.isoformat()
    in_closed = occurred[:7] in closed or occurred[:4] in closed
    return uow.today() if in_closed else max(original.occurred_on, uow.today())


@_idempotent("general")
def post_general_entry(
    uow: UnitOfWorkPort,
    *,
    postings: Sequence[Posting],
    occurred_on: dt.date,
    memo: str,
    maker: str = "system",
    key: str | None = None,
) -> PostedEntry:
    """Post an officer's balanced general journal entry (all the usual guards apply).

    Raises:
        UnbalancedEntry, InvalidEntry, UnknownAccount, UnknownFund, AccountClosed,
        InsufficientFunds, PeriodClosed, IdempotencyConflict.
    """
    if not memo.strip():
        raise InvalidEntry("a general entry needs a memo explaining it", field="memo")
    for fund in {p.fund for p in postings}:
        _fund(uow, fund)
    entry = JournalEntry(EntryKind.GENERAL, occurred_on, tuple(postings), memo=memo, maker=maker)
    return _post(uow, entry)


# -- depreciation ------------------------------------------------------------------------------
def depreciable_gift(uow: UnitOfWorkPort, gift_entry_id: str) -> tuple[PostedEntry, Schedule]:
    """An in-kind gift of a fixed asset (1501), not reversed, and its straight-line schedule.

    Raises:
        NotFound: when there is no such entry;
        InvalidEntry: when it is not a gift of a fixed asset, was reversed, or its useful life
            is malformed.
    """
    gift = uow.entry(gift_entry_id)
    if gift is None:
        raise NotFound(f"no entry {gift_entry_id!r}", field="gift_entry_id")
    cost = sum(p.amount for p in gift.postings if p.account == FIXED_ASSETS)
    if gift.kind is not EntryKind.IN_KIND or cost <= 0:
        raise InvalidEntry(
            f"entry {gift_entry_id} is not a fixed asset received in kind", field="gift_entry_id"
        )
    if gift_entry_id in uow.reversed_ids or uow.repo.reversal_of(gift_entry_id) is not None:
        raise InvalidEntry(f"the gift {gift_entry_id} was reversed", field="gift_entry_id")
    try:
        return gift, schedule(cost, gift.occurred_on, useful_life_of(gift.data))
    except ValueError as bad:
        raise InvalidEntry(str(bad), field="useful_life_months") from None


def carrying_value(uow: UnitOfWorkPort, gift_entry_id: str) -> CarryingValue:
    """A fixed asset's cost less its accumulated depreciation less what was handed over (fen).

    A handover of the asset (Cr 1501 with ``ref`` = the gift's entry id) passes it on at
    `CarryingValue.carrying`, never at cost once depreciation has begun.

    Raises:
        NotFound, InvalidEntry (not a fixed asset received in kind, or reversed).
    """
    gift, plan = depreciable_gift(uow, gift_entry_id)
    fund = next(p.fund for p in gift.postings if p.account == FIXED_ASSETS)

    def by_ref(account: str) -> int:
        return uow.balance((account, fund, FUNCTIONAL_CURRENCY, "", gift_entry_id))[0]

    return CarryingValue(
        gift_entry_id, fund, plan.cost, -by_ref(ACCUMULATED_DEPRECIATION), -by_ref(FIXED_ASSETS)
    )


@_idempotent("depreciation")
def record_depreciation(
    uow: UnitOfWorkPort,
    *,
    gift_entry_id: str,
    month: str,
    maker: str = "system",
    key: str | None = None,
) -> PostedEntry:
    """Post one month's straight-line depreciation of a fixed asset received in kind.

    Dr 5101 (5201 when the gift's data says ``functional_class: management``) / Cr 1502 with
    ``ref`` = the gift's entry id, dated the month's last day; a restricted fund also releases
    the restriction for the charge. Months are posted in order and each at most once.

    Raises:
        NotFound, InvalidEntry (not due, out of order, handed over, reversed), AlreadyExists
        (this month is already posted), PeriodClosed, IdempotencyConflict.
    """
    gift, plan = depreciable_gift(uow, gift_entry_id)
    fund = next(p.fund for p in gift.postings if p.account == FIXED_ASSETS)
    charge = plan.charge_for(month) if re.match(r"^\d{4}-\d{2}$", month) else 0
    if charge == 0:
        raise InvalidEntry(f"no depreciation of {gift_entry_id} is due for {month}", field="month")
    _check_depreciation_order(uow, gift_entry_id, fund, plan, month)
    the_fund, money = _fund(uow, fund), Money(charge, FUNCTIONAL_CURRENCY)
    management = gift.data.get("functional_class") == FunctionalClass.MANAGEMENT.value
    expense = MANAGEMENT_EXPENSES if management else PROGRAM_EXPENSES
    klass = FunctionalClass.MANAGEMENT if management else FunctionalClass.PROGRAM
    postings = (
        Posting(expense, fund, charge, FUNCTIONAL_CURRENCY, charge, functional_class=klass.value),
        Posting(
            ACCUMULATED_DEPRECIATION, fund, -charge, FUNCTIONAL_CURRENCY, -charge, ref=gift_entry_id
        ),
        *_release(uow, the_fund, money, charge),
    )
    data = {
        "gift_entry_id": gift_entry_id,
        "month": month,
        "cny_minor": charge,
        "useful_life_months": len(plan.charges),
    }
    memo = f"累计折旧 depreciation {month}: {gift.data.get('description', '')}".strip()
    entry = JournalEntry(
        EntryKind.DEPRECIATION, month_end(month), postings, memo=memo, maker=maker, data=data
    )
    return _post(uow, entry)


def _check_depreciation_order(
    uow: UnitOfWorkPort, gift_entry_id: str, fund: str, plan: Schedule, month: str
) -> None:
    """Refuse a month already posted, one whose predecessors are not, a handed-over asset."""
    by_ref = (FIXED_ASSETS, fund, FUNCTIONAL_CURRENCY, "", gift_entry_id)
    if uow.balance(by_ref)[0] < 0:
        raise InvalidEntry(f"the asset {gift_entry_id} was handed over", field="gift_entry_id")
    accumulated = -uow.balance(
        (ACCUMULATED_DEPRECIATION, fund, FUNCTIONAL_CURRENCY, "", gift_entry_id)
    )[0]
    if accumulated >= plan.accumulated_through(month):
        raise AlreadyExists(f"{month}'s depreciation of {gift_entry_id} is already posted")
    if accumulated < plan.accumulated_through(month) - plan.charge_for(month):
        raise InvalidEntry(f"earlier months of {gift_entry_id} are not posted yet", field="month")
