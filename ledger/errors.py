"""The one error tree of the books.

Every failure the ledger reports is a `LedgerError` with a stable machine `code` (the API maps
codes to HTTP statuses in one place; the CLI prints the message on one line). The tree::

    LedgerError
    ├── InvalidAmount            an amount string or integer that is not money
    │   ├── FloatAmount          a float was given where a decimal string was required
    │   ├── NotANumber           NaN / Infinity / garbage text
    │   ├── ExponentNotation     "1e3" and friends
    │   ├── TooManyDecimals      more decimals than the currency has
    │   ├── NonPositiveAmount    zero or negative where only a positive amount means anything
    │   └── AmountTooLarge       above the documented ceiling (`ledger.money.MAX_MINOR`)
    ├── UnknownCurrency          not an ISO-4217 code we keep books in
    ├── CurrencyMismatch         arithmetic or a posting mixing two currencies
    ├── InvalidEntry             a journal entry that cannot be posted as it is
    │   └── UnbalancedEntry      does not sum to zero per fund and currency
    ├── InsufficientFunds        the fund's cash in that currency (or its restricted net
    │                            assets, or what an award may commit) would go below zero
    ├── OverBudget               a disbursement beyond its project's remaining budget
    ├── PurposeMismatch          a payment outside what the fund may pay for
    ├── Overpayment              a pledge payment or scholarship payout beyond what is owed
    │   └── BeyondReceived       an in-kind handover of more than the gift brought
    ├── UnknownAccount / UnknownFund / UnknownProject / UnknownDonor / UnknownBeneficiary
    ├── NotFound                 any other missing thing (entry, pledge, award)
    ├── AccountClosed            posting to a closed account
    ├── PeriodClosed             an entry dated inside a closed period
    ├── AlreadyReversed          a second reversal of the same entry
    ├── AlreadyExists            a fund/project/donor code that is taken
    ├── IdempotencyConflict      the same client key with different content
    ├── SelfApproval             a maker approving or rejecting their own request
    ├── NotAnApprover            approving without the approver role; withdrawing another's
    └── RequestClosed            deciding a request that is no longer pending
        └── RequestExpired       ... because it expired
"""

from __future__ import annotations

__all__ = [
    "AccountClosed",
    "AlreadyExists",
    "AlreadyReversed",
    "AmountTooLarge",
    "BeyondReceived",
    "CurrencyMismatch",
    "ExponentNotation",
    "FloatAmount",
    "IdempotencyConflict",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidEntry",
    "LedgerError",
    "NonPositiveAmount",
    "NotANumber",
    "NotAnApprover",
    "NotFound",
    "OverBudget",
    "Overpayment",
    "PeriodClosed",
    "PurposeMismatch",
    "RequestClosed",
    "RequestExpired",
    "SelfApproval",
    "TooManyDecimals",
    "UnbalancedEntry",
    "UnknownAccount",
    "UnknownBeneficiary",
    "UnknownCurrency",
    "UnknownDonor",
    "UnknownFund",
    "UnknownProject",
]


class LedgerError(Exception):
    """Raised for any failure of the books; `code` is stable and machine-readable."""

    code = "ledger_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidAmount(LedgerError):
    """Raised when an amount is not a valid money amount."""

    code = "invalid_amount"


class FloatAmount(InvalidAmount):
    """Raised when a binary float is given for money; amounts are decimal strings."""

    code = "float_amount"


class NotANumber(InvalidAmount):
    """Raised when an amount is NaN, Infinity or not a number at all."""

    code = "not_a_number"


class ExponentNotation(InvalidAmount):
    """Raised when an amount is written with an exponent ("1e3")."""

    code = "exponent_notation"


class TooManyDecimals(InvalidAmount):
    """Raised when an amount has more decimals than its currency allows."""

    code = "too_many_decimals"


class NonPositiveAmount(InvalidAmount):
    """Raised when zero or a negative amount is given where only a positive one makes sense."""

    code = "non_positive_amount"


class AmountTooLarge(InvalidAmount):
    """Raised when an amount is above the ledger's documented ceiling."""

    code = "amount_too_large"


class UnknownCurrency(LedgerError):
    """Raised when a currency is not an ISO-4217 code the books are kept in."""

    code = "unknown_currency"


class CurrencyMismatch(LedgerError):
    """Raised when two currencies are mixed in one sum or comparison."""

    code = "currency_mismatch"


class InvalidEntry(LedgerError):
    """Raised when a journal entry or a command cannot be posted as it is."""

    code = "invalid_entry"


class UnbalancedEntry(InvalidEntry):
    """Raised when an entry does not sum to zero per fund and per currency."""

    code = "unbalanced_entry"


class InsufficientFunds(LedgerError):
    """Raised when a payment would take a fund's cash in a currency below zero.

    `figures` carries the amounts the message states (minor units of `currency`), so that an
    entrance can say them in the reader's language: `cash` (cash held); `restricted` and
    `after` (restricted net assets before and after); or, for an award, `can`, `cash`,
    `pledged`, `unpaid` and `amount`.
    """

    code = "insufficient_funds"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        currency: str = "",
        figures: dict[str, int] | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.currency = currency
        self.figures: dict[str, int] = dict(figures or {})


class OverBudget(LedgerError):
    """Raised when a disbursement would take its project beyond its remaining budget (unless
    an approver approves it as an over-budget request)."""

    code = "over_budget"


class PurposeMismatch(LedgerError):
    """Raised when a fund would pay for something outside its stated purposes."""

    code = "purpose_mismatch"


class Overpayment(LedgerError):
    """Raised when a payment exceeds what is still owed on a pledge or an award."""

    code = "overpayment"


class BeyondReceived(Overpayment):
    """Raised when a handover would pass on more goods, or more value, than the gift brought."""

    code = "beyond_received"


class NotFound(LedgerError):
    """Raised when an entry, pledge, award or other record does not exist."""

    code = "not_found"


class UnknownAccount(NotFound):
    """Raised when an account code is not in the chart of accounts."""

    code = "unknown_account"


class UnknownFund(NotFound):
    """Raised when a fund code does not exist."""

    code = "unknown_fund"


class UnknownProject(NotFound):
    """Raised when a project code does not exist."""

    code = "unknown_project"


class UnknownDonor(NotFound):
    """Raised when a donor id does not exist."""

    code = "unknown_donor"


class UnknownBeneficiary(NotFound):
    """Raised when a beneficiary pseudonym does not exist."""

    code = "unknown_beneficiary"


class AccountClosed(LedgerError):
    """Raised when posting to an account that has been closed."""

    code = "account_closed"


class PeriodClosed(LedgerError):
    """Raised when an entry is dated inside a closed period."""

    code = "period_closed"


class AlreadyReversed(LedgerError):
    """Raised when an entry that was already reversed (or is itself a reversal) is reversed."""

    code = "already_reversed"


class AlreadyExists(LedgerError):
    """Raised when creating a fund, project, donor or account whose code is taken."""

    code = "already_exists"


class IdempotencyConflict(LedgerError):
    """Raised when an idempotency key is reused with different content."""

    code = "idempotency_conflict"


class SelfApproval(LedgerError):
    """Raised when the maker of a request (with any of their tokens) approves or rejects it."""

    code = "self_approval"


class NotAnApprover(LedgerError):
    """Raised when someone without the approver role decides a request, or someone other than
    its maker withdraws it."""

    code = "not_an_approver"


class RequestClosed(LedgerError):
    """Raised when a request that is no longer pending (posted, rejected, withdrawn, or
    already decided by this approver) is decided again."""

    code = "request_closed"


class RequestExpired(RequestClosed):
    """Raised when an expired request is approved (or rejected, or withdrawn)."""

    code = "request_expired"
