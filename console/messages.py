"""The console's words for the ledger's refusals, by stable error code (in the user's language).

The ledger's own messages are English and for developers; a person at the console reads these.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from console.i18n import money
from ledger.errors import InsufficientFunds, LedgerError

__all__ = ["message_for"]

BY_CODE = {
    "invalid_amount": _l("Enter an amount such as 1200.50."),
    "float_amount": _l("Enter an amount such as 1200.50."),
    "not_a_number": _l("Enter an amount such as 1200.50."),
    "exponent_notation": _l("Write the amount in plain digits, such as 1200.50."),
    "too_many_decimals": _l("This currency does not have that many decimal places."),
    "non_positive_amount": _l("The amount must be more than zero."),
    "amount_too_large": _l("The amount is too large."),
    "unknown_currency": _l("Choose a currency from the list."),
    "currency_mismatch": _l("The currency does not match."),
    "invalid_entry": _l("This cannot be recorded as it is."),
    "unbalanced_entry": _l("This cannot be recorded as it is."),
    "insufficient_funds": _l("The fund does not have enough cash in this currency."),
    "overpayment": _l("This is more than is still owed."),
    "unknown_account": _l("There is no such account."),
    "unknown_fund": _l("There is no such fund."),
    "unknown_project": _l("There is no such project in this fund."),
    "unknown_donor": _l("There is no such donor."),
    "unknown_beneficiary": _l("There is no such beneficiary."),
    "not_found": _l("Nothing was found with this reference."),
    "account_closed": _l("The account is closed."),
    "period_closed": _l("That date falls in a closed period."),
    "already_reversed": _l("This entry has already been reversed."),
    "already_exists": _l("This already exists."),
    "self_approval": _l("The maker of a request may not decide it."),
    "not_an_approver": _l("Only an approver may decide, and only the maker may withdraw."),
    "request_closed": _l("This request has already been decided."),
    "request_expired": _l("This request has expired."),
    "unsupported_file": _l("This file is not a PDF, JPEG, PNG or WebP document we can keep."),
    "file_too_large": _l("The file is larger than 20 MiB."),
    "statement_rejected": _l("The statement file could not be read."),
    "import_rejected": _l("The file was not imported: nothing was posted."),
    "over_budget": _l(
        "This is more than the project's remaining budget; to pay it anyway, give the reason"
        " below: an approver must then approve it."
    ),
    "purpose_mismatch": _l("The fund may not pay for this: it is outside the fund's purposes."),
    "photo_refused": _l("Choose a PNG, JPEG or WebP image of at most 5 MiB."),
    "too_many_photos": _l("Choose at most 9 photos."),
    "idempotency_conflict": _l(
        "This form was already sent with other values; open a new form to record another."
    ),
}


def _figures(err: LedgerError) -> str | None:
    """A refusal for want of money, with the figures the ledger gave, in the person's words."""
    if not isinstance(err, InsufficientFunds) or not err.figures or not err.currency:
        return None
    shown = {name: money(minor, err.currency) for name, minor in err.figures.items()}
    if {"can", "cash", "pledged", "unpaid", "amount"} <= shown.keys():
        return str(
            _l(
                "The fund can commit at most %(can)s to a new award: cash %(cash)s, plus"
                " unconditional pledges receivable %(pledged)s, less unpaid awards %(unpaid)s."
                " This award is %(amount)s.",
                **shown,
            )
        )
    if {"restricted", "after"} <= shown.keys():
        return str(
            _l(
                "The fund does not have enough restricted money in this currency: it holds"
                " %(restricted)s, and this would take it to %(after)s.",
                **shown,
            )
        )
    if "cash" in shown:
        return str(
            _l(
                "The fund does not have enough cash in this currency: it holds %(cash)s, and"
                " this would take it below zero.",
                **shown,
            )
        )
    return None


def message_for(err: LedgerError) -> str:
    """The person's words for `err` (the ledger's own message as a last resort); a refusal
    for want of money states the figures."""
    figures = _figures(err)
    if figures is not None:
        return figures
    text = BY_CODE.get(err.code)
    if text is None:
        for cls in type(err).__mro__:
            text = BY_CODE.get(getattr(cls, "code", ""))
            if text is not None:
                break
    return str(text) if text is not None else err.message
