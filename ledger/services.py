"""The use cases of the books: every operation is one atomic journal entry, and returns it.

Invariants owned here:
- Every service runs inside a writing `UnitOfWork` (the caller commits) and posts at most one
  entry. The entry shapes are those of the domain notes (section 2):

  ========================  =========================  ==========================
  operation                 debit                      credit
  ========================  =========================  ==========================
  unconditional pledge      1122 (ref=pledge)          4101-R / 4101-U
  cash / bank donation      1002-<cur>                 4101-R / 4101-U
  pledge payment            1002-<cur>                 1122 (ref=pledge)
  in-kind donation          1201 / 1501 (or 1701)      4101-R / 4101-U (or 2601)
  disbursement              5101 (project)             1002-<cur>
  scholarship award         5101 (beneficiary)         2209 (ref=award)
  scholarship payout        2209 (ref=award)           1002-<cur>
  bank fee                  5301                       1002-<cur>
  transfer between funds    1901 / 1002 (to fund)      1002 / 1901 (from fund)
  reversal                  the original's credits     the original's debits
  ========================  =========================  ==========================

  Spending from a restricted fund (disbursement, award) also releases the restriction for the
  amount: Dr 3102 / Cr 3101 in the same entry.
- After any entry: no fund's cash in any currency is below zero (`InsufficientFunds`), no pledge
  is paid beyond its amount and no award beyond its unpaid balance (`Overpayment`). The checks
  run after the chain-head lock, so they are race-free.
- Entries dated in a closed period are refused (`PeriodClosed`); a reversal of an entry whose
  period is closed is dated today, in the open period.
- Idempotency: a client key with the same content returns the original result and posts nothing;
  the same key with other content raises `IdempotencyConflict`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import uuid
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from ledger import idempotency
from ledger.accounts import CASH_PREFIX, Account, cash_account
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
    InsufficientFunds,
    InvalidEntry,
    NotFound,
    Overpayment,
    PeriodClosed,
    UnknownAccount,
    UnknownBeneficiary,
    UnknownDonor,
    UnknownFund,
    UnknownProject,
)
from ledger.idempotency import Replay
from ledger.model import LANGUAGES, Award, Beneficiary, Donor, DonorKind, Fund, Pledge, Project
from ledger.money import FUNCTIONAL_CURRENCY, Money, convert, format_minor, parse_rate
from ledger.storage.unit_of_work import UnitOfWork

__all__ = [
    "award_scholarship",
    "close_account",
    "close_period",
    "open_account",
    "open_fund",
    "open_project",
    "pay_scholarship",
    "post_general_entry",
    "read_personal_data",
    "record_disbursement",
    "record_donation",
    "record_fee",
    "record_in_kind_donation",
    "record_pledge",
    "register_beneficiary",
    "register_donor",
    "reverse",
    "transfer_between_funds",
]

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
PLEDGES, GRANTS_PAYABLE, RELEASE_FROM, RELEASE_TO = "1122", "2209", "3102", "3101"


# -- idempotency ------------------------------------------------------------------------------
def _idempotent(
    uow: UnitOfWork, key: str | None, operation: str, payload: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, Replay | None]:
    return idempotency.lookup(uow, key, operation, payload)


def _replayed_entry(uow: UnitOfWork, replay: Replay) -> PostedEntry:
    entry = uow.entry(replay.entry_id) if replay.entry_id else None
    if entry is None:
        raise NotFound("the entry recorded for this idempotency key is missing")
    return entry


# -- lookups and guards -----------------------------------------------------------------------
def _fund(uow: UnitOfWork, code: str) -> Fund:
    fund: Fund | None = uow.cached("fund", code, uow.repo.get_fund)
    if fund is None:
        raise UnknownFund(f"no fund {code!r}", field="fund")
    if not fund.is_open:
        raise InvalidEntry(f"fund {code!r} is closed", field="fund")
    return fund


def _donor(uow: UnitOfWork, donor_id: str) -> Donor:
    donor: Donor | None = uow.cached("donor", donor_id, uow.repo.get_donor)
    if donor is None:
        raise UnknownDonor(f"no donor {donor_id!r}", field="donor_id")
    return donor


def _project(uow: UnitOfWork, code: str) -> Project:
    project: Project | None = uow.cached("project", code, uow.repo.get_project)
    if project is None:
        raise UnknownProject(f"no project {code!r}", field="project")
    return project


def _check_date(uow: UnitOfWork, on: dt.date, field: str = "date") -> None:
    if on > uow.today() + dt.timedelta(days=1):
        raise InvalidEntry(f"{on.isoformat()} is in the future", field=field)
    closed = uow.closed_periods()
    if on.isoformat()[:7] in closed or on.isoformat()[:4] in closed:
        raise PeriodClosed(f"the period of {on.isoformat()} is closed", field=field)


def _check_accounts(uow: UnitOfWork, postings: Sequence[Posting]) -> None:
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


def _check_effects(uow: UnitOfWork, postings: Sequence[Posting]) -> None:
    """Refuse an entry that would overdraw cash or overpay a pledge or award."""
    totals: dict[tuple[str, str, str, str, str], int] = {}
    for p in postings:
        key = (p.account, p.fund, p.currency, p.project, p.ref)
        totals[key] = totals.get(key, 0) + p.amount
    for key, change in totals.items():
        account, fund, currency, _project_code, ref = key
        cash, pledge = account.startswith(CASH_PREFIX), account == PLEDGES and bool(ref)
        award = account == GRANTS_PAYABLE and bool(ref)
        if not (((cash or pledge) and change < 0) or (award and change > 0)):
            continue  # this posting cannot break a limit: no need to read the balance
        after = uow.balance(key)[0] + change
        if cash and after < 0:
            have = format_minor(after - change, currency)
            raise InsufficientFunds(
                f"fund {fund} holds {have} {currency} in cash; this would take it below zero",
                field="amount",
            )
        if pledge and after < 0:
            raise Overpayment(f"pledge {ref} would be paid beyond its amount", field="amount")
        if award and after > 0:
            raise Overpayment(
                f"award {ref} would be paid beyond its unpaid balance", field="amount"
            )


def _post(
    uow: UnitOfWork,
    entry: JournalEntry,
    record: dict[str, Any] | None,
    object_id: str | None = None,
) -> PostedEntry:
    _check_date(uow, entry.occurred_on)
    _check_accounts(uow, entry.postings)
    _check_effects(uow, entry.postings)
    idem = None if record is None else {**record, "object_id": object_id}
    return uow.post(entry, idempotency=idem)


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def _income_account(fund: Fund) -> str:
    return "4101-R" if fund.restricted else "4101-U"


def _functional(money: Money, rate: Fraction | None) -> int:
    if money.currency == FUNCTIONAL_CURRENCY:
        return money.minor
    if rate is None:
        raise InvalidEntry(
            f"a {money.currency} amount needs fx_rate (CNY per {money.currency}) and fx_source",
            field="fx_rate",
        )
    return convert(money.minor, money.currency, rate)


def _cash_out(uow: UnitOfWork, fund: str, money: Money) -> int:
    """CNY value of foreign cash leaving a fund, at the fund's average carrying rate."""
    if money.currency == FUNCTIONAL_CURRENCY:
        return money.minor
    amount, functional = uow.balance((cash_account(money.currency), fund, money.currency, "", ""))
    if amount <= 0:
        return 0
    value = Fraction(money.minor * functional, amount)
    return int(value + Fraction(1, 2))


def _release(fund: Fund, money: Money, functional: int) -> tuple[Posting, ...]:
    if not fund.restricted:
        return ()
    return (
        Posting(RELEASE_FROM, fund.code, money.minor, money.currency, functional),
        Posting(RELEASE_TO, fund.code, -money.minor, money.currency, -functional),
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
    uow: UnitOfWork, *, code: str, name: str, restricted: bool, purpose: str = ""
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
    uow: UnitOfWork,
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
    uow: UnitOfWork,
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


def _pseudonym(secret: bytes, identity: str) -> str:
    return "B-" + hmac.new(secret, identity.encode(), hashlib.sha256).hexdigest()[:16]


def register_beneficiary(
    uow: UnitOfWork, *, cohort: str, county: str, personal: Mapping[str, str], secret: bytes
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


def read_personal_data(uow: UnitOfWork, pseudonym: str) -> dict[str, str] | None:
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


def open_account(uow: UnitOfWork, code: str) -> None:
    """Re-open a closed account. Raises: UnknownAccount."""
    if uow.repo.get_account(code) is None:
        raise UnknownAccount(f"no account {code!r}", field="account")
    uow.repo.set_account_open(code, True, uow.now())
    uow.forget("account", code)


def close_account(uow: UnitOfWork, code: str) -> None:
    """Close an account to new postings (it stays in history). Raises: UnknownAccount."""
    if uow.repo.get_account(code) is None:
        raise UnknownAccount(f"no account {code!r}", field="account")
    uow.repo.set_account_open(code, False, uow.now())
    uow.forget("account", code)


def close_period(uow: UnitOfWork, period: str, *, by: str = "system") -> str:
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


# -- the operations ---------------------------------------------------------------------------
def record_pledge(
    uow: UnitOfWork,
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
        UnknownDonor, UnknownFund, PeriodClosed, IdempotencyConflict.
    """
    payload = {
        "donor_id": donor_id,
        "fund": fund,
        "amount": amount,
        "pledged_on": pledged_on,
        "due_on": due_on,
        "conditional": conditional,
        "memo": memo,
    }
    record, replay = _idempotent(uow, key, "pledge", payload)
    if replay is not None:
        pledge = uow.repo.get_pledge(replay.object_id or "")
        if pledge is None:
            raise NotFound("the pledge recorded for this idempotency key is missing")
        return pledge, uow.entry(replay.entry_id) if replay.entry_id else None
    donor, the_fund = _donor(uow, donor_id), _fund(uow, fund)
    if amount.currency != FUNCTIONAL_CURRENCY:
        raise InvalidEntry(
            "pledges are recorded in CNY; record a foreign gift when it arrives", field="currency"
        )
    pledge_id = _new_id("P")
    entry = None
    if not conditional:
        income = _income_account(the_fund)
        entry = _post(
            uow,
            JournalEntry(
                EntryKind.PLEDGE,
                pledged_on,
                (
                    Posting(
                        PLEDGES,
                        fund,
                        amount.minor,
                        amount.currency,
                        amount.minor,
                        party=donor.id,
                        ref=pledge_id,
                    ),
                    Posting(
                        income, fund, -amount.minor, amount.currency, -amount.minor, party=donor.id
                    ),
                ),
                memo=memo,
                maker=maker,
                data={"pledge_id": pledge_id, "donor_id": donor.id},
            ),
            record,
            pledge_id,
        )
    elif record is not None:
        _check_date(uow, pledged_on)
        uow.remember_key({**record, "entry_id": None, "object_id": pledge_id})
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


def record_donation(
    uow: UnitOfWork,
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
) -> PostedEntry:
    """Record a cash or bank gift (gross), optionally paying a pledge, in any currency.

    Foreign gifts keep the original amount, the rate (CNY per unit), its source and date.

    Raises:
        UnknownDonor, UnknownFund, NotFound (pledge), Overpayment, InvalidEntry, PeriodClosed,
        IdempotencyConflict.
    """
    payload = {
        "donor_id": donor_id,
        "fund": fund,
        "amount": amount,
        "received_on": received_on,
        "method": method,
        "pledge_id": pledge_id,
        "fx_rate": fx_rate,
        "fx_source": fx_source,
        "fx_date": fx_date,
        "memo": memo,
    }
    record, replay = _idempotent(uow, key, "donation", payload)
    if replay is not None:
        return _replayed_entry(uow, replay)
    if method not in {"cash", "bank", "online"}:
        raise InvalidEntry("method must be cash, bank or online", field="method")
    donor, the_fund = _donor(uow, donor_id), _fund(uow, fund)
    data: dict[str, Any] = {"donor_id": donor.id, "method": method}
    rate = None
    if amount.currency != FUNCTIONAL_CURRENCY:
        if not fx_rate or not fx_source:
            raise InvalidEntry(
                f"a {amount.currency} gift needs fx_rate and fx_source", field="fx_rate"
            )
        rate = parse_rate(fx_rate)
        data.update(
            fx_rate=fx_rate, fx_source=fx_source, fx_date=(fx_date or received_on).isoformat()
        )
    cny = _functional(amount, rate)
    data["cny_minor"] = cny
    credit_account, ref = _income_account(the_fund), ""
    kind = EntryKind.DONATION
    if pledge_id is not None:
        pledge = uow.repo.get_pledge(pledge_id)
        if pledge is None or pledge.conditional:
            raise NotFound(f"no unconditional pledge {pledge_id!r}", field="pledge_id")
        if pledge.fund != fund or pledge.currency != amount.currency or pledge.donor_id != donor_id:
            raise InvalidEntry(
                "the payment's donor, fund and currency must match the pledge", field="pledge_id"
            )
        credit_account, ref, kind = PLEDGES, pledge_id, EntryKind.PLEDGE_PAYMENT
        data["pledge_id"] = pledge_id
    postings = (
        Posting(cash_account(amount.currency), fund, amount.minor, amount.currency, cny),
        Posting(
            credit_account, fund, -amount.minor, amount.currency, -cny, party=donor.id, ref=ref
        ),
    )
    entry = JournalEntry(kind, received_on, postings, memo=memo, maker=maker, data=data)
    return _post(uow, entry, record)


def record_in_kind_donation(
    uow: UnitOfWork,
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
    payload = {
        "donor_id": donor_id,
        "fund": fund,
        "description": description,
        "quantity": quantity,
        "fair_value": fair_value,
        "valuation_basis": valuation_basis,
        "received_on": received_on,
        "asset": asset,
        "evidence": evidence,
        "pass_through_to": pass_through_to,
        "memo": memo,
    }
    record, replay = _idempotent(uow, key, "in_kind", payload)
    if replay is not None:
        return _replayed_entry(uow, replay)
    donor, the_fund = _donor(uow, donor_id), _fund(uow, fund)
    if fair_value.currency != FUNCTIONAL_CURRENCY:
        raise InvalidEntry("in-kind gifts are valued in CNY", field="currency")
    if not description.strip() or not valuation_basis.strip():
        raise InvalidEntry(
            "an in-kind gift needs a description and a valuation basis", field="valuation_basis"
        )
    if asset not in {"inventory", "equipment"}:
        raise InvalidEntry("asset must be inventory or equipment", field="asset")
    debit = {"inventory": "1201", "equipment": "1501"}[asset]
    credit = _income_account(the_fund)
    if pass_through_to:
        debit, credit = "1701", "2601"
    v = fair_value.minor
    data = {
        "donor_id": donor.id,
        "description": description,
        "quantity": quantity,
        "valuation_basis": valuation_basis,
        "evidence": evidence,
        "cny_minor": v,
        **({"pass_through_to": pass_through_to} if pass_through_to else {}),
    }
    entry = JournalEntry(
        EntryKind.IN_KIND,
        received_on,
        (Posting(debit, fund, v, "CNY", v), Posting(credit, fund, -v, "CNY", -v, party=donor.id)),
        memo=memo,
        maker=maker,
        data=data,
    )
    return _post(uow, entry, record)


def record_disbursement(
    uow: UnitOfWork,
    *,
    fund: str,
    project: str,
    amount: Money,
    paid_on: dt.date,
    memo: str = "",
    functional_class: str = FunctionalClass.PROGRAM.value,
    maker: str = "system",
    key: str | None = None,
) -> PostedEntry:
    """Pay money from a fund to one of its projects; releases the restriction for the amount.

    Raises:
        InsufficientFunds: when the fund's cash in that currency would go below zero;
        UnknownFund, UnknownProject, InvalidEntry, PeriodClosed, IdempotencyConflict.
    """
    payload = {
        "fund": fund,
        "project": project,
        "amount": amount,
        "paid_on": paid_on,
        "memo": memo,
        "functional_class": functional_class,
    }
    record, replay = _idempotent(uow, key, "disbursement", payload)
    if replay is not None:
        return _replayed_entry(uow, replay)
    the_fund, the_project = _fund(uow, fund), _project(uow, project)
    if the_project.fund != fund:
        raise InvalidEntry(
            f"project {project} belongs to fund {the_project.fund}, not {fund}", field="project"
        )
    if functional_class not in {c.value for c in FunctionalClass}:
        raise InvalidEntry(
            "functional_class must be program, management or fundraising", field="functional_class"
        )
    cny = _cash_out(uow, fund, amount)
    postings = (
        Posting(
            "5101",
            fund,
            amount.minor,
            amount.currency,
            cny,
            project=project,
            functional_class=functional_class,
        ),
        Posting(cash_account(amount.currency), fund, -amount.minor, amount.currency, -cny),
        *_release(the_fund, amount, cny),
    )
    data = {"project": project, "county": the_project.county, "cny_minor": cny}
    entry = JournalEntry(
        EntryKind.DISBURSEMENT, paid_on, postings, memo=memo, maker=maker, data=data
    )
    return _post(uow, entry, record)


def award_scholarship(
    uow: UnitOfWork,
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
        UnknownFund, UnknownBeneficiary, PeriodClosed, IdempotencyConflict.
    """
    payload = {
        "fund": fund,
        "beneficiary_id": beneficiary_id,
        "amount": amount,
        "term": term,
        "awarded_on": awarded_on,
        "project": project,
    }
    record, replay = _idempotent(uow, key, "award", payload)
    if replay is not None:
        award = uow.repo.get_award(replay.object_id or "")
        if award is None:
            raise NotFound("the award recorded for this idempotency key is missing")
        return award, _replayed_entry(uow, replay)
    the_fund = _fund(uow, fund)
    if uow.repo.get_beneficiary(beneficiary_id) is None:
        raise UnknownBeneficiary(f"no beneficiary {beneficiary_id!r}", field="beneficiary_id")
    if project:
        _project(uow, project)
    if not term.strip():
        raise InvalidEntry("an award names its term, e.g. 2026秋", field="term")
    award_id = _new_id("A")
    cny = _functional(amount, None)
    postings = (
        Posting(
            "5101",
            fund,
            amount.minor,
            amount.currency,
            cny,
            project=project,
            party=beneficiary_id,
            functional_class=FunctionalClass.PROGRAM.value,
        ),
        Posting(
            GRANTS_PAYABLE,
            fund,
            -amount.minor,
            amount.currency,
            -cny,
            party=beneficiary_id,
            ref=award_id,
        ),
        *_release(the_fund, amount, cny),
    )
    entry = _post(
        uow,
        JournalEntry(
            EntryKind.AWARD,
            awarded_on,
            postings,
            maker=maker,
            data={"award_id": award_id, "term": term, "beneficiary_id": beneficiary_id},
        ),
        record,
        award_id,
    )
    award = Award(
        award_id, fund, beneficiary_id, amount.minor, amount.currency, term.strip(), entry.id
    )
    uow.repo.add_award(award, uow.now())
    return award, entry


def pay_scholarship(
    uow: UnitOfWork,
    *,
    award_id: str,
    amount: Money,
    paid_on: dt.date,
    maker: str = "system",
    key: str | None = None,
) -> PostedEntry:
    """Pay (part of) an award: never beyond its unpaid balance, never beyond the fund's cash.

    Raises:
        NotFound, Overpayment, InsufficientFunds, PeriodClosed, IdempotencyConflict.
    """
    payload = {"award_id": award_id, "amount": amount, "paid_on": paid_on}
    record, replay = _idempotent(uow, key, "payout", payload)
    if replay is not None:
        return _replayed_entry(uow, replay)
    award = uow.repo.get_award(award_id)
    if award is None:
        raise NotFound(f"no award {award_id!r}", field="award_id")
    if amount.currency != award.currency:
        raise InvalidEntry(f"award {award_id} is in {award.currency}", field="currency")
    cny = _cash_out(uow, award.fund, amount)
    postings = (
        Posting(
            GRANTS_PAYABLE,
            award.fund,
            amount.minor,
            amount.currency,
            cny,
            party=award.beneficiary_id,
            ref=award_id,
        ),
        Posting(cash_account(amount.currency), award.fund, -amount.minor, amount.currency, -cny),
    )
    entry = JournalEntry(
        EntryKind.PAYOUT,
        paid_on,
        postings,
        maker=maker,
        data={"award_id": award_id, "term": award.term, "beneficiary_id": award.beneficiary_id},
    )
    return _post(uow, entry, record)


def record_fee(
    uow: UnitOfWork,
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
    payload = {"fund": fund, "amount": amount, "paid_on": paid_on, "memo": memo}
    record, replay = _idempotent(uow, key, "fee", payload)
    if replay is not None:
        return _replayed_entry(uow, replay)
    _fund(uow, fund)
    cny = _cash_out(uow, fund, amount)
    postings = (
        Posting(
            "5301",
            fund,
            amount.minor,
            amount.currency,
            cny,
            functional_class=FunctionalClass.FUNDRAISING.value,
        ),
        Posting(cash_account(amount.currency), fund, -amount.minor, amount.currency, -cny),
    )
    return _post(
        uow, JournalEntry(EntryKind.FEE, paid_on, postings, memo=memo, maker=maker), record
    )


def transfer_between_funds(
    uow: UnitOfWork,
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
    payload = {
        "from_fund": from_fund,
        "to_fund": to_fund,
        "amount": amount,
        "on": on,
        "reason": reason,
    }
    record, replay = _idempotent(uow, key, "transfer", payload)
    if replay is not None:
        return _replayed_entry(uow, replay)
    _fund(uow, from_fund)
    _fund(uow, to_fund)
    if from_fund == to_fund:
        raise InvalidEntry("a transfer needs two different funds", field="to_fund")
    if not reason.strip():
        raise InvalidEntry("a transfer between funds needs a reason", field="reason")
    cny = _cash_out(uow, from_fund, amount)
    cash = cash_account(amount.currency)
    m, c = amount.minor, amount.currency
    postings = (
        Posting("1901", from_fund, m, c, cny, ref=to_fund),
        Posting(cash, from_fund, -m, c, -cny),
        Posting(cash, to_fund, m, c, cny),
        Posting("1901", to_fund, -m, c, -cny, ref=from_fund),
    )
    entry = JournalEntry(
        EntryKind.TRANSFER,
        on,
        postings,
        memo=reason,
        maker=maker,
        data={"from_fund": from_fund, "to_fund": to_fund, "reason": reason},
    )
    return _post(uow, entry, record)


def reverse(
    uow: UnitOfWork,
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
        Overpayment, PeriodClosed, IdempotencyConflict.
    """
    payload = {"entry_id": entry_id, "reason": reason, "on": on}
    record, replay = _idempotent(uow, key, "reversal", payload)
    if replay is not None:
        return _replayed_entry(uow, replay)
    if not reason.strip():
        raise InvalidEntry("a reversal needs a reason", field="reason")
    original = uow.entry(entry_id)
    if original is None:
        raise NotFound(f"no entry {entry_id!r}", field="entry_id")
    if original.kind is EntryKind.REVERSAL:
        raise AlreadyReversed("a reversal cannot itself be reversed; post the right entry")
    if entry_id in uow.reversed_ids or uow.repo.reversal_of(entry_id) is not None:
        raise AlreadyReversed(f"entry {entry_id} was already reversed")
    if on is None:
        closed = uow.closed_periods()
        occurred = original.occurred_on.isoformat()
        in_closed = occurred[:7] in closed or occurred[:4] in closed
        on = uow.today() if in_closed else max(original.occurred_on, uow.today())
    entry = JournalEntry(
        EntryKind.REVERSAL,
        on,
        reversal_postings(original.postings),
        memo=reason,
        maker=maker,
        reverses=entry_id,
        data={
            "reason": reason,
            "reverses_sequence": original.sequence,
            "reverses_kind": original.kind.value,
        },
    )
    return _post(uow, entry, record)


def post_general_entry(
    uow: UnitOfWork,
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
    payload = {"postings": list(postings), "occurred_on": occurred_on, "memo": memo}
    record, replay = _idempotent(uow, key, "general", payload)
    if replay is not None:
        return _replayed_entry(uow, replay)
    if not memo.strip():
        raise InvalidEntry("a general entry needs a memo explaining it", field="memo")
    for fund in {p.fund for p in postings}:
        _fund(uow, fund)
    entry = JournalEntry(EntryKind.GENERAL, occurred_on, tuple(postings), memo=memo, maker=maker)
    return _post(uow, entry, record)
