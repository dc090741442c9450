"""The JSON shapes of the API: marshmallow schemas for what comes in and what goes out.

Invariants owned here:
- Input schemas reject unknown fields (marshmallow's RAISE), load into exactly the keyword
  arguments of the ledger service they feed, and bound every string (length) and pass it
  through `ledger.text.text_problem` (no control characters, with tab and LF only in fields of
  several lines, `Memo`; no lone surrogates), so nothing reaches the books that the database or
  an export would choke on. Booleans are JSON `true` / `false` only (`StrictBoolean`).
- Amounts come in as JSON strings ("1200.50") next to a `currency`; a JSON number is refused with
  a clear message. `ledger.money.Money.parse` does the parsing, so the rules are the ledger's:
  no floats, no exponents, no more decimals than the currency has, greater than zero, below the
  ceiling. Dates are `YYYY-MM-DD` between 1900 and 2999.
- Amounts go out as decimal strings with their currency (`ledger.money.format_minor`); postings
  show `debit` and `credit` (one of them "0.00") in the posting's currency and in CNY.
- Output schemas describe exactly what the presenters below produce; the schemathesis test
  checks every response against them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from ledger import limits
from ledger.accounts import CODE_PATTERN as ACCOUNT_CODE_PATTERN
from ledger.accounts import AccountType
from ledger.entries import EntryKind, FunctionalClass, PostedEntry, Posting
from ledger.errors import LedgerError
from ledger.model import LANGUAGES, DonorKind
from ledger.money import EXPONENTS, FUNCTIONAL_CURRENCY, Money, format_minor, parse_minor
from ledger.text import text_problem
from usecases.delivery import EMAIL_MAX, is_email_address
from usecases.tokens import DEFAULT_LIFETIME_DAYS as DEFAULT_TOKEN_DAYS
from usecases.tokens import MAX_LIFETIME_DAYS as MAX_TOKEN_DAYS

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
AMOUNT_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"
RATE_PATTERN = r"^[0-9]{1,6}(\.[0-9]{1,10})?$"
ACCOUNT_PATTERN = ACCOUNT_CODE_PATTERN
CURRENCIES = tuple(EXPONENTS)
_AMOUNT = re.compile(AMOUNT_PATTERN)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- fields ------------------------------------------------------------------------------------
class Text(fields.String):
    """Text the books accept (`ledger.text.text_problem`): no control characters, no lone
    surrogates. `multiline=True` (memos, descriptions, purposes, reasons) allows tab and line
    feed; any other field refuses them too.
    """

    def __init__(self, *, multiline: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiline = multiline

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        problem = text_problem(text, multiline=self.multiline)
        if problem is not None:
            raise ValidationError(problem)
        return text


class Memo(Text):
    """Text of several lines (a memo, description, purpose or reason): tab and LF allowed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(multiline=True, **kwargs)


class StrictBoolean(fields.Boolean):
    """A JSON boolean, `true` or `false`: 0, 1, 0.0, "true" and the like are refused.

    (marshmallow's truthy/falsy sets match by equality, and `1 == True`, so restricting the sets
    is not enough.)
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(truthy={True}, falsy={False}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def not_blank(value: str) -> None:
    """Refuse strings that are empty once stripped."""
    if not value.strip():
        raise ValidationError("must not be blank")


class LedgerDate(fields.Date):
    """A calendar date written `YYYY-MM-DD`, between 1900-01-01 and 2999-12-31."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date:
        if not isinstance(value, str) or not _DATE.match(value):
            raise ValidationError("must be a date written YYYY-MM-DD")
        day = super()._deserialize(value, attr, data, **kwargs)
        if not 1900 <= day.year <= 2999:
            raise ValidationError("must be between 1900-01-01 and 2999-12-31")
        return day


class DecimalString(fields.String):
    """A positive decimal written as a JSON string ("1200.50"); JSON numbers are refused."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": AMOUNT_PATTERN, "example": "1200.50", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            try:
                parse_minor(value, FUNCTIONAL_CURRENCY)
            except LedgerError as err:
                raise ValidationError(err.message) from None
        text = super()._deserialize(value, attr, data, **kwargs)
        return self._check(text, data)

    def _check(self, text: str, data: Any) -> Any:
        if not _AMOUNT.match(text):
            try:
                parse_minor(text, FUNCTIONAL_CURRENCY)
            except LedgerError as err:
                raise ValidationError(err.message) from None
            raise ValidationError('write the amount as digits with a decimal point, e.g. "12.50"')
        return text


class Amount(DecimalString):
    """An amount of the currency named by a sibling field, parsed with `Money.parse`."""

    def __init__(self, currency_field: str = "currency", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.currency_field = currency_field

    def _check(self, text: str, data: Any) -> Any:
        currency = data.get(self.currency_field) if isinstance(data, Mapping) else None
        if isinstance(currency, str) and currency in EXPONENTS:
            try:
                money = Money.parse(text, currency)
            except LedgerError as err:
                raise ValidationError(err.message) from None
            super()._check(text, data)
            return money
        return super()._check(text, data)


class RateString(fields.String):
    """An exchange rate as a JSON string ("0.9215" CNY per unit); numbers are refused."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"example": "0.9215", **kwargs.pop("metadata", {})}
        super().__init__(
            validate=validate.Regexp(RATE_PATTERN, error="must be a positive decimal string"),
            metadata=metadata,
            **kwargs,
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValidationError('fx_rate must be a decimal string such as "0.9215"')
        text: str = super()._deserialize(value, attr, data, **kwargs)
        return text


def _bool(**kwargs: Any) -> fields.Boolean:
    """A strict JSON boolean: `true` or `false`, nothing truthy."""
    return StrictBoolean(**kwargs)


def _ref(max_length: int = limits.REF, **kwargs: Any) -> Text:
    return Text(validate=validate.Length(min=1, max=max_length), **kwargs)


def _currency(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.OneOf(CURRENCIES), **kwargs)


# -- common output shapes ----------------------------------------------------------------------
class MoneyOut(Schema):
    amount = fields.String(required=True, metadata={"example": "1200.50"})
    currency = fields.String(required=True, metadata={"example": "CNY"})


class MoneyIn(Schema):
    amount = Amount(required=True)
    currency = _currency(required=True)

    @post_load
    def _money(self, data: dict[str, Any], **_: Any) -> Money:
        money: Money = data["amount"]
        return money


class PostingOut(Schema):
    line = fields.Integer(required=True)
    account = fields.String(required=True)
    fund = fields.String(required=True)
    debit = fields.String(required=True, metadata={"description": "in `currency`"})
    credit = fields.String(required=True, metadata={"description": "in `currency`"})
    currency = fields.String(required=True)
    cny_debit = fields.String(required=True, metadata={"description": "CNY value of the debit"})
    cny_credit = fields.String(required=True, metadata={"description": "CNY value of the credit"})
    project = fields.String(required=True, allow_none=True)
    party = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "donor id or beneficiary pseudonym"},
    )
    functional_class = fields.String(required=True, allow_none=True)
    ref = fields.String(
        required=True, allow_none=True, metadata={"description": "pledge or award id"}
    )


class EntryOut(Schema):
    id = fields.String(required=True)
    sequence = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": [k.value for k in EntryKind]})
    occurred_on = fields.String(required=True, metadata={"format": "date"})
    recorded_at = fields.String(required=True, metadata={"format": "date-time"})
    period = fields.String(required=True)
    memo = fields.String(required=True)
    maker = fields.String(required=True)
    reverses = fields.String(required=True, allow_none=True)
    data = fields.Dict(required=True, metadata={"description": "the operation's own facts"})
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)
    postings = fields.List(fields.Nested(PostingOut), required=True)


class ReceiptOut(Schema):
    serial = fields.String(required=True)
    url = fields.String(required=True)
    pdf_url = fields.String(required=True)


def _page(item: type[Schema], name: str, paged: bool = True) -> type[Schema]:
    attrs: dict[str, Any] = {"items": fields.List(fields.Nested(item), required=True)}
    if paged:
        attrs["next_cursor"] = fields.String(
            required=True,
            allow_none=True,
            metadata={"description": "pass as `cursor` for the next page; null on the last"},
        )
    return Schema.from_dict(attrs, name=name)


class PageQuery(Schema):
    limit = fields.Integer(
        load_default=50, validate=validate.Range(min=1, max=200), metadata={"description": "1-200"}
    )
    cursor = Text(validate=validate.Length(max=200), metadata={"description": "opaque"})


# -- funds -------------------------------------------------------------------------------------
class FundIn(Schema):
    code = Text(required=True, validate=validate.Regexp(CODE_PATTERN))
    name = Text(required=True, validate=[validate.Length(min=1, max=limits.NAME), not_blank])
    restricted = _bool(required=True)
    purpose = Memo(load_default="", validate=validate.Length(max=limits.MEMO))


class FundOut(Schema):
    id = fields.String(required=True, metadata={"description": "the fund's code"})
    code = fields.String(required=True)
    name = fields.String(required=True)
    restricted = fields.Boolean(required=True)
    purpose = fields.String(required=True)
    is_open = fields.Boolean(required=True)


class FundBalancesOut(Schema):
    cash = fields.List(fields.Nested(MoneyOut), required=True)
    pledges_receivable = fields.Nested(MoneyOut, required=True)
    raised = fields.Nested(MoneyOut, required=True)
    disbursed = fields.Nested(MoneyOut, required=True)
    restricted_net_assets = fields.Nested(MoneyOut, required=True)
    available = fields.List(
        fields.Nested(MoneyOut),
        required=True,
        metadata={"description": "cash less pending approval requests that would pay it out"},
    )
    unrestricted_net_assets = fields.Nested(MoneyOut, required=True)


class FundDetailOut(FundOut):
    balances = fields.Nested(FundBalancesOut, required=True)


FundList = _page(FundOut, "FundList", paged=False)


# -- donors ------------------------------------------------------------------------------------
class DonorIn(Schema):
    name = Text(required=True, validate=[validate.Length(min=1, max=limits.NAME), not_blank])
    kind = fields.String(
        load_default="person", validate=validate.OneOf([k.value for k in DonorKind])
    )
    language = fields.String(load_default="zh-Hans", validate=validate.OneOf(LANGUAGES))
    anonymous = _bool(load_default=False)
    region = Text(load_default="", validate=validate.Length(max=limits.REGION))


class DonorOut(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    language = fields.String(required=True)
    anonymous = fields.Boolean(required=True)
    region = fields.String(required=True)


DonorPage = _page(DonorOut, "DonorPage")


# -- projects ----------------------------------------------------------------------------------
class ProjectIn(Schema):
    code = Text(required=True, validate=validate.Regexp(CODE_PATTERN))
    name = Text(required=True, validate=[validate.Length(min=1, max=limits.NAME), not_blank])
    fund = _ref(required=True)
    county = Text(
        validate=[validate.Length(min=1, max=limits.COUNTY), not_blank],
        metadata={"description": "required unless `place` is given (then the place's county)"},
    )
    town = Text(load_default="", validate=validate.Length(max=limits.COUNTY))
    budget = fields.Nested(MoneyIn, load_default=None, allow_none=True)
    place = fields.String(
        validate=validate.Regexp(r"^[0-9]{6}([0-9]{3}){0,2}$"),
        metadata={"description": "the village, town or county code (GET /api/v1/places)"},
    )

    @post_load
    def _county_or_place(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if not data.get("county") and not data.get("place"):
            raise ValidationError("give the county, or the place", field_name="county")
        return data


class ProjectOut(Schema):
    id = fields.String(required=True, metadata={"description": "the project's code"})
    code = fields.String(required=True)
    name = fields.String(required=True)
    fund = fields.String(required=True)
    county = fields.String(required=True)
    town = fields.String(required=True)
    budget = fields.Nested(MoneyOut, required=True)
    place = fields.String(
        allow_none=True, metadata={"description": "the place's code, if the project has one"}
    )


class ProjectQuery(Schema):
    fund = _ref()


ProjectList = _page(ProjectOut, "ProjectList", paged=False)


# -- beneficiaries -----------------------------------------------------------------------------
class PersonalDataIn(Schema):
    name = Text(required=True, validate=[validate.Length(min=1, max=limits.NAME), not_blank])
    id_number = Text(validate=validate.Length(max=40))
    birth_date = LedgerDate()
    school = Text(validate=validate.Length(max=200))
    guardian = Text(validate=validate.Length(max=200))
    phone = Text(validate=validate.Length(max=40))
    address = Memo(validate=validate.Length(max=500))

    @post_load
    def _as_text(self, data: dict[str, Any], **_: Any) -> dict[str, str]:
        return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in data.items()}


class BeneficiaryIn(Schema):
    cohort = Text(required=True, validate=[validate.Length(min=1, max=limits.COHORT), not_blank])
    county = Text(required=True, validate=[validate.Length(min=1, max=limits.COUNTY), not_blank])
    personal = fields.Nested(
        PersonalDataIn,
        required=True,
        metadata={"description": "sealed per person; never returned, not even to auditors"},
    )


class BeneficiaryOut(Schema):
    id = fields.String(required=True, metadata={"description": "pseudonym (keyed HMAC)"})
    cohort = fields.String(required=True)
    county = fields.String(required=True)


BeneficiaryPage = _page(BeneficiaryOut, "BeneficiaryPage")


# -- operations --------------------------------------------------------------------------------
class OperationIn(Schema):
    """A body whose amount and currency load as one `Money` (the `currency` key is dropped)."""

    @post_load
    def _money_carries_currency(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data.pop("currency", None)
        return data


class PledgeIn(OperationIn):
    donor_id = _ref(required=True)
    fund = _ref(required=True)
    amount = Amount(required=True)
    currency = _currency(required=True)
    pledged_on = LedgerDate(load_default=None, metadata={"description": "defaults to today (UTC)"})
    due_on = LedgerDate(load_default=None, allow_none=True)
    conditional = _bool(load_default=False)
    memo = Memo(load_default="", validate=validate.Length(max=limits.MEMO))


class PledgeOut(Schema):
    id = fields.String(required=True)
    donor_id = fields.String(required=True)
    fund = fields.String(required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    pledged_on = fields.String(required=True, metadata={"format": "date"})
    due_on = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    conditional = fields.Boolean(required=True)
    memo = fields.String(required=True)
    entry = fields.Nested(
        EntryOut,
        required=True,
        allow_none=True,
        metadata={"description": "null for a conditional pledge (a memo record only)"},
    )


class DonationIn(OperationIn):
    donor_id = _ref(required=True)
    fund = _ref(required=True)
    amount = Amount(required=True)
    currency = _currency(required=True)
    received_on = LedgerDate(required=True)
    method = fields.String(load_default="bank", validate=validate.OneOf(("cash", "bank", "online")))
    pledge_id = _ref(load_default=None, allow_none=True)
    fx_rate = RateString(
        load_default=None,
        allow_none=True,
        metadata={"description": "CNY per unit; required for a foreign currency"},
    )
    fx_source = Text(
        load_default=None, allow_none=True, validate=validate.Length(min=1, max=limits.FX_SOURCE)
    )
    fx_date = LedgerDate(load_default=None, allow_none=True)
    memo = Memo(load_default="", validate=validate.Length(max=limits.MEMO))
    campaign = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,59}$"),
        metadata={"description": "the slug of the campaign the gift is for (tagged in the books)"},
    )


class MatchOut(Schema):
    id = fields.String(required=True, metadata={"description": "the matcher's entry's id"})
    donor_id = fields.String(required=True)
    amount = fields.String(required=True, metadata={"description": "CNY"})
    receipt = fields.Nested(ReceiptOut, required=True, allow_none=True)


class DonationOut(Schema):
    id = fields.String(required=True, metadata={"description": "the entry's id"})
    donor_id = fields.String(required=True)
    fund = fields.String(required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    cny_amount = fields.String(required=True)
    received_on = fields.String(required=True, metadata={"format": "date"})
    method = fields.String(required=True)
    pledge_id = fields.String(required=True, allow_none=True)
    fx_rate = fields.String(required=True, allow_none=True)
    fx_source = fields.String(required=True, allow_none=True)
    fx_date = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    memo = fields.String(required=True)
    receipt = fields.Nested(
        ReceiptOut,
        required=True,
        allow_none=True,
        metadata={"description": "the acknowledgment receipt, once receipts are issued"},
    )
    entry = fields.Nested(EntryOut, required=True)
    campaign = fields.String(required=True, allow_none=True)
    matched = fields.Nested(
        MatchOut,
        required=True,
        allow_none=True,
        metadata={"description": "the matcher's gift this gift drew (its own entry and receipt)"},
    )


class InKindIn(OperationIn):
    donor_id = _ref(required=True)
    fund = _ref(required=True)
    description = Memo(required=True, validate=[validate.Length(min=1, max=limits.MEMO), not_blank])
    quantity = Text(
        required=True, validate=[validate.Length(min=1, max=limits.QUANTITY), not_blank]
    )
    fair_value = Amount(required=True)
    currency = fields.String(
        required=True,
        validate=validate.OneOf((FUNCTIONAL_CURRENCY,)),
        metadata={"description": "in-kind gifts are valued in CNY"},
    )
    valuation_basis = Memo(
        required=True, validate=[validate.Length(min=1, max=limits.VALUATION_BASIS), not_blank]
    )
    received_on = LedgerDate(required=True)
    asset = fields.String(
        load_default="inventory", validate=validate.OneOf(("inventory", "equipment"))
    )
    evidence = Memo(load_default="", validate=validate.Length(max=limits.EVIDENCE))
    pass_through_to = Text(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=limits.NAME),
        metadata={"description": "a recipient the donor named: agency assets, not income"},
    )
    memo = Memo(load_default="", validate=validate.Length(max=limits.MEMO))


class InKindOut(Schema):
    id = fields.String(required=True, metadata={"description": "the entry's id"})
    donor_id = fields.String(required=True)
    fund = fields.String(required=True)
    description = fields.String(required=True)
    quantity = fields.String(required=True)
    fair_value = fields.String(required=True)
    currency = fields.String(required=True)
    valuation_basis = fields.String(required=True)
    received_on = fields.String(required=True, metadata={"format": "date"})
    asset = fields.String(required=True)
    evidence = fields.String(required=True)
    pass_through_to = fields.String(required=True, allow_none=True)
    memo = fields.String(required=True)
    receipt = fields.Nested(ReceiptOut, required=True, allow_none=True)
    entry = fields.Nested(EntryOut, required=True)


class PayeeIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["organisation", "person"]))
    name = Text(
        validate=[validate.Length(min=1, max=200), not_blank],
        metadata={"description": "an organisation's name (never a person's)"},
    )
    registration_number = Text(
        validate=validate.Length(equal=18),
        metadata={"description": "an organisation's 统一社会信用代码 (GB 32100-2015)"},
    )
    pseudonym = _ref(metadata={"description": "a person paid: their beneficiary pseudonym"})

    @validates_schema
    def _one_kind(self, data: dict[str, Any], **_: Any) -> None:
        if data["kind"] == "organisation":
            missing = [f for f in ("name", "registration_number") if f not in data]
            extra = ["pseudonym"] if "pseudonym" in data else []
        else:
            missing = [] if "pseudonym" in data else ["pseudonym"]
            extra = [f for f in ("name", "registration_number") if f in data]
        errors = {f: ["required for this kind of payee"] for f in missing}
        errors.update({f: ["not for this kind of payee"] for f in extra})
        if errors:
            raise ValidationError(errors)


class PayeeOut(Schema):
    kind = fields.String(required=True)
    name = fields.String()
    registration_number = fields.String()
    pseudonym = fields.String()


class DisbursementIn(OperationIn):
    fund = _ref(required=True)
    project = _ref(required=True)
    amount = Amount(required=True)
    currency = _currency(required=True)
    paid_on = LedgerDate(required=True)
    memo = Memo(load_default="", validate=validate.Length(max=limits.MEMO))
    functional_class = fields.String(
        load_default="program", validate=validate.OneOf([c.value for c in FunctionalClass])
    )
    payee = fields.Nested(
        PayeeIn,
        load_default=None,
        metadata={"description": "who was paid: an organisation, or a person by pseudonym"},
    )
    bank_reference = Text(load_default="", validate=validate.Length(max=100))
    over_budget_reason = Memo(
        load_default="",
        validate=validate.Length(max=2000),
        metadata={
            "description": "ask for a payment beyond the project's remaining budget: it "
            "becomes an approval request (202) that an approver must approve"
        },
    )


class DisbursementOut(Schema):
    id = fields.String(required=True, metadata={"description": "the entry's id"})
    fund = fields.String(required=True)
    project = fields.String(required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    paid_on = fields.String(required=True, metadata={"format": "date"})
    memo = fields.String(required=True)
    functional_class = fields.String(required=True)
    payee = fields.Nested(PayeeOut, allow_none=True)
    bank_reference = fields.String()
    entry = fields.Nested(EntryOut, required=True)


class AwardIn(OperationIn):
    fund = _ref(required=True)
    beneficiary_id = _ref(required=True)
    amount = Amount(required=True)
    currency = fields.String(
        required=True,
        validate=validate.OneOf((FUNCTIONAL_CURRENCY,)),
        metadata={"description": "awards are made in CNY"},
    )
    term = Text(required=True, validate=[validate.Length(min=1, max=limits.TERM), not_blank])
    awarded_on = LedgerDate(load_default=None, metadata={"description": "defaults to today"})
    project = Text(load_default="", validate=validate.Length(max=limits.REF))


class AwardOut(Schema):
    id = fields.String(required=True)
    fund = fields.String(required=True)
    beneficiary_id = fields.String(required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    term = fields.String(required=True)
    awarded_on = fields.String(required=True, metadata={"format": "date"})
    project = fields.String(required=True, allow_none=True)
    entry = fields.Nested(EntryOut, required=True)


class PayoutIn(Schema):
    award_id = _ref(required=True)
    amount = DecimalString(required=True)
    currency = _currency(
        load_default=None, metadata={"description": "defaults to the award's; must match it"}
    )
    paid_on = LedgerDate(required=True)


class PayoutOut(Schema):
    id = fields.String(required=True, metadata={"description": "the entry's id"})
    award_id = fields.String(required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    paid_on = fields.String(required=True, metadata={"format": "date"})
    entry = fields.Nested(EntryOut, required=True)


class ReversalIn(Schema):
    reason = Memo(required=True, validate=[validate.Length(min=1, max=limits.REASON), not_blank])
    on = LedgerDate(
        load_default=None,
        metadata={"description": "defaults to the original's date, or today if that is closed"},
    )


class ReversalOut(Schema):
    id = fields.String(required=True, metadata={"description": "the reversal entry's id"})
    reverses = fields.String(required=True)
    reason = fields.String(required=True)
    entry = fields.Nested(EntryOut, required=True)


# -- reading the books -------------------------------------------------------------------------
class EntryQuery(PageQuery):
    fund = _ref()
    project = _ref()
    donor = _ref(metadata={"description": "entries with a posting for this donor"})
    beneficiary = _ref(metadata={"description": "entries with a posting for this pseudonym"})
    kind = fields.String(validate=validate.OneOf([k.value for k in EntryKind]))
    date_from = LedgerDate(data_key="from", metadata={"description": "occurred on or after"})
    date_to = LedgerDate(data_key="to", metadata={"description": "occurred on or before"})


EntryPage = _page(EntryOut, "EntryPage")


class TrialBalanceQuery(Schema):
    as_of = LedgerDate(metadata={"description": "entries dated up to this day; default: all"})
    fund = _ref()


class TrialBalanceRowOut(Schema):
    account = fields.String(required=True)
    name = fields.String(required=True)
    name_us = fields.String(required=True)
    debit = fields.String(required=True)
    credit = fields.String(required=True)


class TrialBalanceOut(Schema):
    as_of = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    fund = fields.String(required=True, allow_none=True)
    currency = fields.String(required=True)
    rows = fields.List(fields.Nested(TrialBalanceRowOut), required=True)
    total_debit = fields.String(required=True)
    total_credit = fields.String(required=True)


class AccountIn(Schema):
    code = fields.String(required=True, validate=validate.Regexp(ACCOUNT_PATTERN))
    name_cn = Text(
        required=True, validate=[validate.Length(min=1, max=limits.ACCOUNT_NAME_CN), not_blank]
    )
    name_us = Text(
        required=True, validate=[validate.Length(min=1, max=limits.ACCOUNT_NAME_US), not_blank]
    )
    type = fields.String(required=True, validate=validate.OneOf([t.value for t in AccountType]))
    currency = _currency(load_default=None, allow_none=True)


class AccountOut(Schema):
    code = fields.String(required=True)
    name_cn = fields.String(required=True)
    name_us = fields.String(required=True)
    type = fields.String(required=True)
    normal_side = fields.String(required=True)
    currency = fields.String(required=True, allow_none=True)
    is_open = fields.Boolean(required=True)


AccountList = _page(AccountOut, "AccountList", paged=False)


class PeriodOut(Schema):
    period = fields.String(required=True, metadata={"example": "2025-12"})
    closed_at = fields.String(required=True, metadata={"format": "date-time"})
    closed_by = fields.String(required=True)


PeriodList = _page(PeriodOut, "PeriodList", paged=False)


# -- tokens, health, problems ------------------------------------------------------------------
class TokenIn(Schema):
    name = Text(required=True, validate=[validate.Length(min=1, max=limits.TOKEN_NAME), not_blank])
    role = fields.String(
        required=True,
        validate=validate.OneOf(("admin", "officer", "auditor", "approver", "moderator")),
    )
    user = Text(
        load_default=None,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "the login of the user it acts for (default: a user of its name)"},
    )
    expires_in_days = fields.Integer(
        strict=True,
        load_default=DEFAULT_TOKEN_DAYS,
        validate=validate.Range(min=1, max=MAX_TOKEN_DAYS),
        metadata={"description": f"1-{MAX_TOKEN_DAYS} days; {DEFAULT_TOKEN_DAYS} if not given"},
    )


class TokenOut(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)
    user_id = fields.String(required=True, allow_none=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    revoked_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    expires_at = fields.String(
        required=True,
        allow_none=True,
        metadata={"format": "date-time", "description": "refused from then on"},
    )


class TokenCreatedOut(TokenOut):
    token = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "the secret, shown once; null when a request is replayed"},
    )


TokenList = _page(TokenOut, "TokenList", paged=False)


class HealthOut(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok"]})
    database = fields.String(required=True, metadata={"enum": ["ok"]})
    engine = fields.String(required=True, metadata={"enum": ["sqlite", "postgresql"]})
    version = fields.String(required=True)


class ProblemOut(Schema):
    """RFC 9457 problem details (media type application/problem+json)."""

    type = fields.String(required=True, metadata={"format": "uri"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    code = fields.String(required=True)
    instance = fields.String(required=True)
    request_id = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "field -> messages, for field problems"},
    )
    reason = fields.String(metadata={"description": "the ledger's finer code, when it has one"})


class ProblemTypeOut(Schema):
    code = fields.String(required=True)
    status = fields.Integer(required=True)
    title = fields.String(required=True)
    when = fields.String(required=True)
    type = fields.String(required=True, metadata={"format": "uri"})


ProblemCatalogue = _page(ProblemTypeOut, "ProblemCatalogue", paged=False)


# -- presenters: domain objects -> the dicts the output schemas describe ----------------------
def money(minor: int, currency: str) -> dict[str, str]:
    """`{"amount": "12.50", "currency": "CNY"}`."""
    return {"amount": format_minor(minor, currency), "currency": currency}


def present_posting(p: Posting, line: int) -> dict[str, Any]:
    return {
        "line": line,
        "account": p.account,
        "fund": p.fund,
        "debit": format_minor(p.debit, p.currency),
        "credit": format_minor(p.credit, p.currency),
        "currency": p.currency,
        "cny_debit": format_minor(max(p.functional, 0), FUNCTIONAL_CURRENCY),
        "cny_credit": format_minor(max(-p.functional, 0), FUNCTIONAL_CURRENCY),
        "project": p.project or None,
        "party": p.party or None,
        "functional_class": p.functional_class or None,
        "ref": p.ref or None,
    }


def present_entry(e: PostedEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "sequence": e.sequence,
        "kind": e.kind.value,
        "occurred_on": e.occurred_on.isoformat(),
        "recorded_at": e.recorded_at,
        "period": e.period,
        "memo": e.memo,
        "maker": e.maker,
        "reverses": e.reverses,
        "data": dict(e.data),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
        "postings": [present_posting(p, n) for n, p in enumerate(e.postings, 1)],
    }


def iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


# -- users ------------------------------------------------------------------------------------
USER_ROLES = ("admin", "approver", "auditor", "moderator", "officer")


class UserRolesIn(Schema):
    roles = fields.List(
        fields.String(validate=validate.OneOf(USER_ROLES)),
        required=True,
        validate=validate.Length(min=1, max=len(USER_ROLES)),
        metadata={"description": "the user's roles from now on (replacing the old ones)"},
    )


class UserIn(Schema):
    login = Text(required=True, validate=[validate.Length(min=1, max=limits.LOGIN), not_blank])
    display_name = Text(
        required=True, validate=[validate.Length(min=1, max=limits.DISPLAY_NAME), not_blank]
    )
    roles = fields.List(
        fields.String(validate=validate.OneOf(USER_ROLES)),
        required=True,
        validate=validate.Length(min=1, max=4),
    )
    password = fields.String(
        load_default=None,
        validate=validate.Length(min=10, max=limits.PASSWORD_MAX),
        load_only=True,
        metadata={"description": "the web console's password (stored only as an argon2id hash)"},
    )


class UserOut(Schema):
    id = fields.String(required=True)
    login = fields.String(required=True)
    display_name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    status = fields.String(required=True, metadata={"enum": ["active", "disabled"]})


UserList = _page(UserOut, "UserList", paged=False)


# -- maker-checker ----------------------------------------------------------------------------
class ApprovalRequestOut(Schema):
    id = fields.String(required=True)
    operation = fields.String(
        required=True, metadata={"enum": ["disbursement", "award", "transfer", "reversal"]}
    )
    fund = fields.String(required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    maker = fields.String(required=True, metadata={"description": "the maker's display name"})
    requested_at = fields.String(required=True, metadata={"format": "date-time"})
    expires_at = fields.String(required=True, metadata={"format": "date-time"})
    status = fields.String(
        required=True, metadata={"enum": ["pending", "posted", "rejected", "withdrawn", "expired"]}
    )
    approvals_needed = fields.Integer(required=True)
    checkers = fields.List(fields.String(), required=True)
    entry_id = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)
    details = fields.Dict(required=True, metadata={"description": "what will be posted"})
    evidence = fields.List(
        fields.Dict(),
        metadata={"description": "the request's documents (on `GET /approval-requests/{id}`)"},
    )


class PendingApprovalOut(Schema):
    status = fields.String(required=True, metadata={"enum": ["pending_approval"]})
    request = fields.Nested(ApprovalRequestOut, required=True)


ApprovalRequestList = _page(ApprovalRequestOut, "ApprovalRequestList", paged=False)


class ApprovalQuery(Schema):
    status = fields.String(
        validate=validate.OneOf(["pending", "posted", "rejected", "withdrawn", "expired"])
    )
    fund = Text(validate=validate.Length(max=limits.REF))


class RejectIn(Schema):
    reason = Text(
        required=True, validate=[validate.Length(min=1, max=limits.REJECT_REASON), not_blank]
    )


class PolicyIn(Schema):
    thresholds = fields.Dict(
        keys=fields.String(
            validate=validate.OneOf(["disbursement", "award", "transfer", "reversal"])
        ),
        values=fields.Integer(allow_none=True, validate=validate.Range(min=0)),
        metadata={
            "description": "per operation, the amount (in its currency's units) from "
            "which it needs approval; 0 always, null never"
        },
    )
    reversal_of_disbursement = StrictBoolean()
    approvers = fields.Integer(strict=True, validate=validate.OneOf([1, 2]))
    expires_after_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=366))


class PurposesIn(Schema):
    projects = StrictBoolean(load_default=False)
    counties = fields.List(
        Text(validate=[validate.Length(min=1, max=60), not_blank]),
        load_default=list,
        metadata={"description": "only projects in these counties (empty: any)"},
    )
    scholarships = StrictBoolean(load_default=False)
    in_kind_handovers = StrictBoolean(load_default=False)


class PurposesOut(Schema):
    fund = fields.String(required=True)
    stated = fields.Boolean(
        required=True, metadata={"description": "false: never stated, pays for anything"}
    )
    projects = fields.Boolean(required=True)
    counties = fields.List(fields.String(), required=True)
    scholarships = fields.Boolean(required=True)
    in_kind_handovers = fields.Boolean(required=True)


class BudgetIn(Schema):
    budget = fields.Nested(MoneyIn, required=True)
    reason = Memo(required=True, validate=[validate.Length(min=1, max=2000), not_blank])


class BudgetOut(Schema):
    project = fields.String(required=True)
    old_budget = fields.Nested(MoneyOut, required=True)
    budget = fields.Nested(MoneyOut, required=True)
    reason = fields.String(required=True)


class PolicyOut(Schema):
    fund = fields.String(required=True)
    thresholds = fields.Dict(required=True)
    reversal_of_disbursement = fields.Boolean(required=True)
    approvers = fields.Integer(required=True)
    expires_after_days = fields.Integer(required=True)


# -- lists (filters, newest first, cursor paging; figures from the postings) -------------------
_FROM = {"data_key": "from", "metadata": {"description": "on or after (YYYY-MM-DD)"}}
_TO = {"data_key": "to", "metadata": {"description": "on or before (YYYY-MM-DD)"}}


def _order() -> fields.String:
    return fields.String(
        load_default="newest",
        validate=validate.OneOf(("newest", "oldest")),
        metadata={"description": "by date: newest (default) or oldest first"},
    )


_REVERSED_BY = {
    "required": True,
    "allow_none": True,
    "metadata": {"description": "the id of the entry that reversed this one, if any"},
}


class DonorSearchQuery(PageQuery):
    q = Text(
        required=True,
        validate=[validate.Length(min=1, max=100), not_blank],
        metadata={"description": "a fragment of the name, any case"},
    )


class DonationQuery(PageQuery):
    fund = _ref()
    donor_id = _ref()
    date_from = LedgerDate(**_FROM)
    date_to = LedgerDate(**_TO)
    currency = _currency()
    method = fields.String(validate=validate.OneOf(("cash", "bank", "online")))
    order = _order()


class DonationItemOut(Schema):
    id = fields.String(required=True, metadata={"description": "the entry's id"})
    sequence = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"enum": ["donation", "pledge_payment"]})
    donor_id = fields.String(required=True)
    fund = fields.String(required=True)
    amount = fields.String(required=True, metadata={"example": "1200.50"})
    currency = fields.String(required=True)
    cny_amount = fields.String(required=True)
    received_on = fields.String(required=True, metadata={"format": "date"})
    method = fields.String(required=True)
    pledge_id = fields.String(required=True, allow_none=True)
    memo = fields.String(required=True)
    reversed_by = fields.String(**_REVERSED_BY)


DonationPage = _page(DonationItemOut, "DonationPage")


class InKindQuery(PageQuery):
    fund = _ref()
    donor_id = _ref()
    date_from = LedgerDate(**_FROM)
    date_to = LedgerDate(**_TO)
    order = _order()


class InKindItemOut(Schema):
    id = fields.String(required=True, metadata={"description": "the entry's id"})
    sequence = fields.Integer(required=True)
    donor_id = fields.String(required=True)
    fund = fields.String(required=True)
    description = fields.String(required=True)
    quantity = fields.String(required=True)
    fair_value = fields.String(required=True)
    currency = fields.String(required=True)
    asset = fields.String(
        required=True, metadata={"enum": ["inventory", "equipment", "pass_through"]}
    )
    valuation_basis = fields.String(required=True)
    received_on = fields.String(required=True, metadata={"format": "date"})
    pass_through_to = fields.String(required=True, allow_none=True)
    reversed_by = fields.String(**_REVERSED_BY)


InKindPage = _page(InKindItemOut, "InKindPage")


class PledgeQuery(PageQuery):
    fund = _ref()
    donor_id = _ref()


class PledgeItemOut(Schema):
    id = fields.String(required=True)
    donor_id = fields.String(required=True)
    fund = fields.String(required=True)
    amount = fields.String(required=True)
    paid = fields.String(required=True, metadata={"description": "payments less reversals"})
    outstanding = fields.String(
        required=True, metadata={"description": "the balance of pledges receivable (1122)"}
    )
    currency = fields.String(required=True)
    pledged_on = fields.String(required=True, metadata={"format": "date"})
    due_on = fields.String(required=True, allow_none=True, metadata={"format": "date"})
    conditional = fields.Boolean(required=True)
    entry_id = fields.String(required=True, allow_none=True)
    reversed_by = fields.String(**_REVERSED_BY)


PledgePage = _page(PledgeItemOut, "PledgePage")


class DisbursementQuery(PageQuery):
    fund = _ref()
    project = _ref()
    date_from = LedgerDate(**_FROM)
    date_to = LedgerDate(**_TO)
    order = _order()


class DisbursementItemOut(Schema):
    id = fields.String(required=True, metadata={"description": "the entry's id"})
    sequence = fields.Integer(required=True)
    fund = fields.String(required=True)
    project = fields.String(required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    cny_amount = fields.String(required=True)
    paid_on = fields.String(required=True, metadata={"format": "date"})
    functional_class = fields.String(required=True)
    memo = fields.String(required=True)
    payee = fields.String(
        required=True,
        metadata={"description": "an organisation and its code, or a pseudonym; '' if none"},
    )
    bank_reference = fields.String(required=True)
    reversed_by = fields.String(**_REVERSED_BY)
    acknowledged_on = fields.String(
        required=True,
        allow_none=True,
        metadata={"format": "date", "description": "when the recipient signed for it, if yet"},
    )
    documents = fields.Integer(
        required=True, metadata={"description": "documents standing on the entry (evidence)"}
    )


DisbursementPage = _page(DisbursementItemOut, "DisbursementPage")


class AwardQuery(PageQuery):
    fund = _ref()
    cohort = Text(validate=validate.Length(min=1, max=60))
    date_from = LedgerDate(**_FROM)
    date_to = LedgerDate(**_TO)
    order = _order()


class AwardItemOut(Schema):
    id = fields.String(required=True)
    entry_id = fields.String(required=True)
    sequence = fields.Integer(required=True)
    fund = fields.String(required=True)
    beneficiary_id = fields.String(required=True, metadata={"description": "pseudonym"})
    cohort = fields.String(required=True)
    county = fields.String(required=True)
    term = fields.String(required=True)
    project = fields.String(required=True, allow_none=True)
    amount = fields.String(required=True)
    paid = fields.String(required=True)
    unpaid = fields.String(required=True, metadata={"description": "the balance of 2209"})
    currency = fields.String(required=True)
    awarded_on = fields.String(required=True, metadata={"format": "date"})
    reversed_by = fields.String(**_REVERSED_BY)


AwardPage = _page(AwardItemOut, "AwardPage")


class PayoutQuery(AwardQuery):
    award_id = _ref()


class PayoutItemOut(Schema):
    id = fields.String(required=True, metadata={"description": "the entry's id"})
    sequence = fields.Integer(required=True)
    award_id = fields.String(required=True)
    fund = fields.String(required=True)
    beneficiary_id = fields.String(required=True, metadata={"description": "pseudonym"})
    cohort = fields.String(required=True)
    term = fields.String(required=True)
    amount = fields.String(required=True)
    currency = fields.String(required=True)
    paid_on = fields.String(required=True, metadata={"format": "date"})
    reversed_by = fields.String(**_REVERSED_BY)
    acknowledged_on = fields.String(
        required=True,
        allow_none=True,
        metadata={"format": "date", "description": "when the recipient signed for it, if yet"},
    )
    documents = fields.Integer(
        required=True, metadata={"description": "documents standing on the entry (evidence)"}
    )


PayoutPage = _page(PayoutItemOut, "PayoutPage")


class ReceiptQuery(PageQuery):
    serial = Text(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "serials starting with this, e.g. HQ-2026-"},
    )
    donor_id = _ref()
    date_from = LedgerDate(data_key="from", metadata={"description": "issued on or after"})
    date_to = LedgerDate(data_key="to", metadata={"description": "issued on or before"})
    status = fields.String(validate=validate.OneOf(("live", "void")))
    order = _order()


class ReceiptItemOut(Schema):
    serial = fields.String(required=True)
    kind = fields.String(required=True)
    donor_id = fields.String(required=True)
    entry_id = fields.String(required=True, allow_none=True)
    issued_at = fields.String(required=True, metadata={"format": "date-time"})
    status = fields.String(required=True, metadata={"enum": ["live", "void"]})
    replaces_serial = fields.String(required=True, allow_none=True)
    replaced_by = fields.String(required=True, allow_none=True)
    void_reason = fields.String(required=True, allow_none=True)
    amount = fields.Nested(
        MoneyOut,
        required=True,
        allow_none=True,
        metadata={"description": "the gift's amount (null for an annual receipt)"},
    )


ReceiptPage = _page(ReceiptItemOut, "ReceiptPage")


# -- delivery: donors' addresses, webhook subscriptions, the outbox ------------------------------
_EVENT_TYPES = ("receipt.issued", "gift.spent", "need.answered")
_DELIVERY_STATUSES = ("pending", "sending", "sent", "bounced", "dead")


def _email_or_empty(value: str) -> None:
    # The rule is the use case's (`usecases.delivery.is_email_address`); checked here too so
    # a bad address is a 422 naming the field, as the rest of the body's faults are.
    if value and not is_email_address(value):
        raise ValidationError("not an email address")


class DonorEmailIn(Schema):
    email = Text(
        required=True,
        validate=[validate.Length(max=EMAIL_MAX), _email_or_empty],
        metadata={"description": 'the donor\'s address for receipts; "" withdraws it'},
    )


class DonorEmailOut(Schema):
    donor_id = fields.String(required=True)
    email = fields.String(required=True)


class WebhookIn(Schema):
    url = Text(
        required=True,
        validate=[
            validate.Length(max=2000),
            validate.URL(schemes={"http", "https"}, require_tld=False, error="not an http(s) URL"),
        ],
    )
    events = fields.List(
        fields.String(validate=validate.OneOf(_EVENT_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(_EVENT_TYPES)),
        metadata={"description": "event types: " + ", ".join(_EVENT_TYPES)},
    )
    description = Text(load_default="", validate=validate.Length(max=200))


class WebhookOut(Schema):
    id = fields.String(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    description = fields.String(required=True)
    active = fields.Boolean(required=True)
    created_at = fields.String(required=True)
    created_by = fields.String(required=True)
    disabled_at = fields.String(required=True, allow_none=True)


class WebhookCreatedOut(WebhookOut):
    secret = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "the whsec_ signing secret, shown this once (null on a replay)"},
    )


WebhookList = _page(WebhookOut, "WebhookList", paged=False)


class DeliveryQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(_DELIVERY_STATUSES))
    channel = fields.String(validate=validate.OneOf(("email", "webhook")))
    event_type = fields.String(validate=validate.OneOf(_EVENT_TYPES))


class DeliveryAttemptOut(Schema):
    number = fields.Integer(required=True)
    at = fields.String(required=True)
    outcome = fields.String(required=True)
    detail = fields.String(required=True)
    by = fields.String(required=True)


class DeliveryOut(Schema):
    id = fields.String(required=True, metadata={"description": "the webhook-id / Message-ID"})
    channel = fields.String(required=True)
    event_type = fields.String(required=True)
    event_id = fields.String(required=True)
    subscription_id = fields.String(required=True, allow_none=True)
    recipient = fields.String(
        required=True,
        metadata={"description": "the address or URL; empty once the donor's were erased"},
    )
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    failures = fields.Integer(required=True)
    next_attempt_at = fields.String(required=True)
    last_error = fields.String(required=True)
    created_at = fields.String(required=True)


class DeliveryDetailOut(DeliveryOut):
    payload = fields.Dict(required=True)
    history = fields.List(fields.Nested(DeliveryAttemptOut), required=True)


class DeliveryPage(Schema):
    items = fields.List(fields.Nested(DeliveryOut), required=True)
    next_cursor = fields.String(required=True, allow_none=True)
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "messages per status"},
    )
