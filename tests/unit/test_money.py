from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import (
    AmountTooLarge,
    CurrencyMismatch,
    ExponentNotation,
    FloatAmount,
    NonPositiveAmount,
    NotANumber,
    TooManyDecimals,
    UnknownCurrency,
)
from ledger.money import MAX_MINOR, Money, allocate, convert, format_minor, parse_rate


def test_parsing_a_decimal_string_gives_exact_minor_units():
    assert Money.parse("1200.50", "CNY") == Money(120050, "CNY")
    assert Money.parse("12", "CNY") == Money(1200, "CNY")
    assert Money.parse("0.5", "HKD") == Money(50, "HKD")
    assert Money.parse("1500", "JPY") == Money(1500, "JPY")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (12.5, FloatAmount),
        (12, FloatAmount),
        (True, FloatAmount),
        ("NaN", NotANumber),
        ("Infinity", NotANumber),
        ("-inf", NotANumber),
        ("abc", NotANumber),
        ("1,000", NotANumber),
        ("", NotANumber),
        ("1e3", ExponentNotation),
        ("1.5E2", ExponentNotation),
        ("1.005", TooManyDecimals),
        ("0", NonPositiveAmount),
        ("0.00", NonPositiveAmount),
        ("-5", NonPositiveAmount),
        ("10000000000000", AmountTooLarge),
        ("99999999999999999999999", AmountTooLarge),
    ],
)
def test_parsing_rejects_what_is_not_money_each_with_its_own_error(raw, error):
    with pytest.raises(error):
        Money.parse(raw, "CNY")


def test_yen_has_no_decimals():
    with pytest.raises(TooManyDecimals):
        Money.parse("10.5", "JPY")


def test_unknown_currency_is_refused():
    with pytest.raises(UnknownCurrency):
        Money.parse("1", "XYZ")
    with pytest.raises(UnknownCurrency):
        Money(1, "cny")


def test_the_ceiling_itself_is_accepted_and_one_more_is_not():
    top = format_minor(MAX_MINOR, "CNY")
    assert Money.parse(top, "CNY").minor == MAX_MINOR
    with pytest.raises(AmountTooLarge):
        Money(MAX_MINOR + 1, "CNY")


def test_mixing_currencies_raises():
    with pytest.raises(CurrencyMismatch):
        _ = Money(1, "CNY") + Money(1, "HKD")
    with pytest.raises(CurrencyMismatch):
        _ = Money(1, "CNY") < Money(1, "USD")


def test_money_is_never_a_float():
    with pytest.raises(FloatAmount):
        Money(1.0, "CNY")  # type: ignore[arg-type]


@given(st.integers(min_value=-MAX_MINOR, max_value=MAX_MINOR))
def test_formatting_and_parsing_round_trip(minor):
    text = format_minor(minor, "CNY")
    assert Money.parse(text, "CNY", positive=False).minor == minor


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(any),
)
def test_allocation_parts_always_sum_to_the_total(total, ratios):
    parts = allocate(total, ratios)
    assert sum(parts) == total
    assert len(parts) == len(ratios)
    weight = sum(ratios)
    for part, ratio in zip(parts, ratios, strict=True):
        assert abs(part - total * ratio / weight) < 1


def test_allocation_of_a_cent_over_three_goes_to_the_first():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]


def test_conversion_rounds_half_up_to_the_fen():
    rate = parse_rate("0.9215")
    assert convert(10000, "HKD", rate) == 9215
    assert convert(1, "HKD", parse_rate("0.5")) == 1  # 0.5 fen rounds up
    assert convert(100, "JPY", parse_rate("0.0482")) == 482


@pytest.mark.parametrize("bad", [0.92, "0", "-1", "abc", "1e2", ""])
def test_rates_are_positive_decimal_strings(bad):
    with pytest.raises((FloatAmount, NonPositiveAmount, NotANumber, Exception)):
        parse_rate(bad)
