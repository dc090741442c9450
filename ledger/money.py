"""Money: integer minor units plus an ISO-4217 code, never a float.

Invariants owned here:
- `Money.minor` is an `int`; `Money.currency` is a code in `EXPONENTS`.
- Money of two currencies never adds, subtracts or compares: `CurrencyMismatch`.
- `Money.parse` is the one door from text to money. It accepts plain decimal strings only
  ("1200", "1200.5", "1200.50"); it rejects floats, NaN/Infinity, exponents, more decimals
  than the currency has, and magnitudes above `MAX_MINOR`, each with its own error, and never
  rounds.
- `MAX_MINOR` (10**15 - 1 minor units, i.e. just under 10 trillion yuan) keeps every amount and
  any realistic sum exactly representable in JSON numbers (< 2**53) and in BIGINT columns.
- `allocate` splits by largest remainder; its parts always sum to the total.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ledger.errors import (
    AmountTooLarge,
    CurrencyMismatch,
    ExponentNotation,
    FloatAmount,
    InvalidAmount,
    NonPositiveAmount,
    NotANumber,
    TooManyDecimals,
    UnknownCurrency,
)

__all__ = [
    "EXPONENTS",
    "FUNCTIONAL_CURRENCY",
    "MAX_MINOR",
    "Money",
    "allocate",
    "check_currency",
    "convert",
    "format_minor",
    "parse_minor",
    "parse_rate",
]

FUNCTIONAL_CURRENCY = "CNY"

#: Minor-unit exponents of the currencies the platform receives (ISO 4217).
EXPONENTS: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "MOP": 2,
    "TWD": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "AUD": 2,
    "SGD": 2,
    "JPY": 0,
    "KRW": 0,
}

MAX_MINOR = 10**15 - 1

_DECIMAL = re.compile(r"^(-)?(\d+)(?:\.(\d+))?$")


def check_currency(currency: object) -> str:
    """Return the currency code if the books are kept in it.

    Raises:
        UnknownCurrency: for anything that is not a supported ISO-4217 code.
    """
    if not isinstance(currency, str) or currency not in EXPONENTS:
        raise UnknownCurrency(f"unknown currency {currency!r}", field="currency")
    return currency


def parse_minor(text: object, currency: str, *, positive: bool = True) -> int:
    """Parse a decimal string into integer minor units of `currency`, exactly.

    Raises:
        FloatAmount, NotANumber, ExponentNotation, TooManyDecimals, NonPositiveAmount,
        AmountTooLarge, InvalidAmount, UnknownCurrency.
    """
    exponent = EXPONENTS[check_currency(currency)]
    if isinstance(text, bool) or isinstance(text, float):
        raise FloatAmount(
            f'amount must be a decimal string such as "12.50", not a number ({text!r})',
            field="amount",
        )
    if isinstance(text, int):
        raise FloatAmount(
            f'amount must be a decimal string such as "{text}", not a JSON number',
            field="amount",
        )
    if not isinstance(text, str):
        raise InvalidAmount("amount must be a decimal string", field="amount")
    raw = text.strip()
    lowered = raw.lower().lstrip("+-")
    if lowered in {"nan", "inf", "infinity", "snan"}:
        raise NotANumber(f"amount {text!r} is not a number", field="amount")
    if "e" in lowered and re.fullmatch(r"[\d.]+e[+-]?\d+", lowered):
        raise ExponentNotation(
            f"amount {text!r} uses an exponent; write it out in full", field="amount"
        )
    match = _DECIMAL.match(raw)
    if match is None:
        raise NotANumber(f"amount {text!r} is not a decimal number", field="amount")
    sign, whole, frac = match.group(1), match.group(2), match.group(3) or ""
    if len(frac) > exponent:
        raise TooManyDecimals(
            f"{currency} has {exponent} decimal places; {text!r} has {len(frac)}", field="amount"
        )
    if len(whole) > 20:
        raise AmountTooLarge(f"amount {text!r} is above the ceiling", field="amount")
    minor: int = int(whole) * 10**exponent + (int(frac.ljust(exponent, "0")) if exponent else 0)
    if sign:
        minor = -minor
    if positive and minor <= 0:
        raise NonPositiveAmount(f"amount must be greater than zero, got {text!r}", field="amount")
    if abs(minor) > MAX_MINOR:
        raise AmountTooLarge(
            f"amount {text!r} is above the ceiling of {format_minor(MAX_MINOR, currency)}",
            field="amount",
        )
    return minor


def format_minor(minor: int, currency: str) -> str:
    """Render minor units as a plain decimal string with the currency's decimals ("-12.50")."""
    exponent = EXPONENTS[check_currency(currency)]
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor))
    if exponent == 0:
        return sign + digits
    digits = digits.rjust(exponent + 1, "0")
    return f"{sign}{digits[:-exponent]}.{digits[-exponent:]}"


def parse_rate(text: object) -> Fraction:
    """Parse an exchange rate (CNY per one unit of foreign currency) from a decimal string.

    Raises:
        FloatAmount: for a float; InvalidAmount: for anything not a positive decimal string.
    """
    if isinstance(text, float | int) and not isinstance(text, bool):
        raise FloatAmount('fx_rate must be a decimal string such as "0.9215"', field="fx_rate")
    if not isinstance(text, str) or not re.fullmatch(r"\d{1,6}(\.\d{1,10})?", text.strip()):
        raise InvalidAmount(f"fx_rate {text!r} is not a positive decimal", field="fx_rate")
    rate = Fraction(text.strip())
    if rate <= 0:
        raise NonPositiveAmount("fx_rate must be greater than zero", field="fx_rate")
    return rate


def convert(minor: int, currency: str, rate: Fraction, to: str = FUNCTIONAL_CURRENCY) -> int:
    """Convert minor units at `rate` (units of `to` per unit of `currency`), half-up to the cent."""
    exact = Fraction(minor) * rate * Fraction(10 ** EXPONENTS[to], 10 ** EXPONENTS[currency])
    sign = -1 if exact < 0 else 1
    value = abs(exact)
    whole = int(value)
    if value - whole >= Fraction(1, 2):
        whole += 1
    return sign * whole


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount of one currency, in integer minor units."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise FloatAmount("Money.minor must be an int of minor units", field="amount")
        check_currency(self.currency)
        if abs(self.minor) > MAX_MINOR:
            raise AmountTooLarge("amount is above the ceiling", field="amount")

    @classmethod
    def parse(cls, text: object, currency: str, *, positive: bool = True) -> Money:
        """Parse a decimal string such as "12.50" into money.

        Raises:
            InvalidAmount (and its subclasses), UnknownCurrency.
        """
        return cls(parse_minor(text, currency, positive=positive), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    @property
    def exponent(self) -> int:
        return EXPONENTS[self.currency]

    def to_decimal_string(self) -> str:
        """The amount as a plain decimal string, e.g. "1200.50"."""
        return format_minor(self.minor, self.currency)

    def __str__(self) -> str:
        return f"{self.to_decimal_string()} {self.currency}"


def allocate(total: int, ratios: Sequence[int]) -> list[int]:
    """Split `total` minor units in proportion to `ratios` by largest remainder.

    The parts always sum to `total`; ties go to the earlier ratio.

    Raises:
        ValueError: when ratios are empty, negative or all zero.
    """
    if not ratios or any(r < 0 for r in ratios) or sum(ratios) == 0:
        raise ValueError("ratios must be non-negative and not all zero")
    weight = sum(ratios)
    exact = [Fraction(total * r, weight) for r in ratios]
    parts = [int(x) if x >= 0 else -int(-x) for x in exact]
    remainder = total - sum(parts)
    step = 1 if remainder > 0 else -1
    order = sorted(range(len(ratios)), key=lambda i: (-(abs(exact[i] - parts[i])), i))
    for i in order[: abs(remainder)]:
        parts[i] += step
    if sum(parts) != total:
        raise AssertionError("allocation lost a minor unit")  # pragma: no cover
    return parts
