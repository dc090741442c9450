"""Chinese capital numerals (大写) on receipts, checked against worked examples and a parser.

The parser below is written from the reading rules, not from the writer, so the round trip
checks the writer against an independent reading of its output.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from receipts.numerals import MAX_MINOR_FOR_CAPITALS, to_chinese_capital

WORKED_EXAMPLES: list[tuple[int, str]] = [
    # (minor units of CNY, capitals)
    (0, "零元整"),
    (1, "壹分"),
    (5, "伍分"),
    (10, "壹角"),
    (50, "伍角"),
    (55, "伍角伍分"),
    (100, "壹元整"),
    (1_000, "壹拾元整"),
    (1_100, "壹拾壹元整"),
    (10_005, "壹佰元零伍分"),
    (10_050, "壹佰元伍角"),
    (101_010, "壹仟零壹拾元壹角"),
    (140_950, "壹仟肆佰零玖元伍角"),  # PBoC example ¥1409.50
    (600_714, "陆仟零柒元壹角肆分"),  # PBoC example ¥6007.14
    (168_032, "壹仟陆佰捌拾元叁角贰分"),  # ¥1680.32; the rules allow 元零叁角, we omit 零
    (1_640_902, "壹万陆仟肆佰零玖元零贰分"),  # PBoC example ¥16409.02
    (32_504, "叁佰贰拾伍元零肆分"),  # PBoC example ¥325.04
    (10_700_053, "壹拾万柒仟元伍角叁分"),  # PBoC example ¥107000.53, first form
    (1_200_000, "壹万贰仟元整"),
    (1_000_000, "壹万元整"),
    (1_001_000, "壹万零壹拾元整"),
    (10_010_000, "壹拾万零壹佰元整"),
    (1_000_000_100, "壹仟万零壹元整"),
    (1_200_000_000, "壹仟贰佰万元整"),
    (10_000_000_000, "壹亿元整"),
    (10_001_000_000, "壹亿零壹万元整"),
    (10_000_000_100, "壹亿零壹元整"),
    (10_000_700_000, "壹亿零柒仟元整"),
    (10_100_000_000, "壹亿零壹佰万元整"),
    (101_000_000_000, "壹拾亿壹仟万元整"),
    (1_010_000_000_000, "壹佰零壹亿元整"),
    (45_000_000, "肆拾伍万元整"),  # the only-child families' service project
    (38_000_000, "叁拾捌万元整"),  # scholarships a year
    (1_200_000_000 + 5, "壹仟贰佰万元零伍分"),
    (100_000_000_000_000, "壹万亿元整"),
    (100_000_001_000_000, "壹万亿零壹万元整"),
    (100_010_000_000_000, "壹万零壹亿元整"),
    (
        MAX_MINOR_FOR_CAPITALS,
        "玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分",
    ),
]


@pytest.mark.parametrize(("minor", "capitals"), WORKED_EXAMPLES)
def test_worked_examples_are_written_as_on_a_cheque(minor: int, capitals: str) -> None:
    assert to_chinese_capital(minor) == capitals


def test_whole_yuan_currencies_have_no_jiao_or_fen() -> None:
    assert to_chinese_capital(1200, exponent=0) == "壹仟贰佰元整"
    assert to_chinese_capital(0, exponent=0) == "零元整"


def test_one_decimal_currencies_stop_at_jiao() -> None:
    assert to_chinese_capital(12005, exponent=1) == "壹仟贰佰元伍角"


@pytest.mark.parametrize("minor", [-1, -1_200_000, MAX_MINOR_FOR_CAPITALS + 1])
def test_negative_or_too_large_amounts_are_refused(minor: int) -> None:
    with pytest.raises(ValueError):
        to_chinese_capital(minor)


@pytest.mark.parametrize("exponent", [-1, 3, 4])
def test_unsupported_exponents_are_refused(exponent: int) -> None:
    with pytest.raises(ValueError):
        to_chinese_capital(100, exponent=exponent)


@pytest.mark.parametrize("minor", [1.5, "100", True, None])
def test_only_integers_of_minor_units_are_accepted(minor: object) -> None:
    with pytest.raises(TypeError):
        to_chinese_capital(minor)  # type: ignore[arg-type]


# --- an independent reader of 大写 -----------------------------------------------------------

_DIGIT_VALUES = {ch: i for i, ch in enumerate("零壹贰叁肆伍陆柒捌玖")}
_SMALL_UNITS = {"拾": 10, "佰": 100, "仟": 1000}


def _read_below_wan(text: str) -> int:
    """Read a number below 10000 written with 拾佰仟 and 零 (零 only marks skipped places)."""
    total = 0
    digit: int | None = None
    for ch in text:
        if ch == "零":
            if digit is not None:
                raise ValueError(f"digit without a unit before 零 in {text!r}")
            continue
        if ch in _DIGIT_VALUES:
            if digit is not None:
                raise ValueError(f"two digits in a row in {text!r}")
            digit = _DIGIT_VALUES[ch]
        elif ch in _SMALL_UNITS:
            if digit is None:
                raise ValueError(f"unit without a digit in {text!r}")
            total += digit * _SMALL_UNITS[ch]
            digit = None
        else:
            raise ValueError(f"unexpected {ch!r} in {text!r}")
    return total + (digit or 0)


def _read_whole(text: str) -> int:
    """Read a whole number: split on the largest unit present (亿, then 万) and recurse."""
    for unit, size in (("亿", 10**8), ("万", 10**4)):
        if unit in text:
            high, low = text.split(unit, 1)
            if unit == "亿" and "亿" in low:
                raise ValueError(f"亿 twice in {text!r}")
            return _read_whole(high) * size + _read_whole(low)
    return _read_below_wan(text)


def read_capitals(text: str, exponent: int = 2) -> int:
    """Turn 大写 money back into integer minor units."""
    if text == "零元整":
        return 0
    body = text.removesuffix("整")
    whole_text, sep, fraction_text = body.partition("元")
    if not sep:
        whole_text, fraction_text = "", body
    yuan = _read_whole(whole_text) if whole_text else 0
    jiao = fen = 0
    match = re.fullmatch(
        r"零?(?:(?P<jiao>[壹贰叁肆伍陆柒捌玖])角)?(?:(?P<fen>[壹贰叁肆伍陆柒捌玖])分)?",
        fraction_text,
    )
    if match is None:
        raise ValueError(f"cannot read the fraction {fraction_text!r}")
    if match["jiao"]:
        jiao = _DIGIT_VALUES[match["jiao"]]
    if match["fen"]:
        fen = _DIGIT_VALUES[match["fen"]]
    return yuan * 10**exponent + (jiao * 10 + fen if exponent == 2 else jiao)


def test_the_reader_reads_the_worked_examples() -> None:
    for minor, capitals in WORKED_EXAMPLES:
        assert read_capitals(capitals) == minor, capitals


# --- properties over the whole range ---------------------------------------------------------

amounts = st.integers(min_value=0, max_value=MAX_MINOR_FOR_CAPITALS)
# Amounts full of zeros are where 零 goes wrong; draw them often.
zero_heavy = st.lists(st.sampled_from("0000000123456789"), min_size=1, max_size=15).map(
    lambda digits: int("".join(digits))
)

UNITS = "拾佰仟万亿元角分整"


@given(st.one_of(amounts, zero_heavy))
@example(0)
@example(MAX_MINOR_FOR_CAPITALS)
@example(10_001_000_000)
@example(100_000_001_000_000)
def test_capitals_read_back_to_the_same_amount(minor: int) -> None:
    assert read_capitals(to_chinese_capital(minor)) == minor


@given(st.one_of(amounts, zero_heavy))
def test_capitals_never_have_two_zeros_in_a_row(minor: int) -> None:
    assert "零零" not in to_chinese_capital(minor)


@given(st.one_of(amounts, zero_heavy))
def test_zheng_ends_the_text_exactly_when_there_are_no_jiao_and_no_fen(minor: int) -> None:
    """整 is the last character iff the amount is whole yuan (minor % 100 == 0); it never
    appears anywhere else, and a text ends in 元整, 角 or 分."""
    text = to_chinese_capital(minor)
    assert text.endswith("整") == (minor % 100 == 0)
    assert text.count("整") == (1 if minor % 100 == 0 else 0)
    assert text.endswith(("元整", "角", "分"))


@given(st.one_of(amounts, zero_heavy))
def test_zero_is_never_first_last_or_before_a_unit(minor: int) -> None:
    text = to_chinese_capital(minor)
    if minor == 0:
        assert text == "零元整"
        return
    assert not text.startswith("零")
    assert not text.endswith("零")
    assert not any(f"零{unit}" in text for unit in UNITS)


@given(st.one_of(amounts, zero_heavy))
def test_yuan_is_written_iff_there_is_at_least_one_yuan(minor: int) -> None:
    text = to_chinese_capital(minor)
    assert ("元" in text) == (minor >= 100 or minor == 0)


@given(st.one_of(amounts, zero_heavy))
def test_only_capital_numerals_and_units_are_used(minor: int) -> None:
    assert set(to_chinese_capital(minor)) <= set("零壹贰叁肆伍陆柒捌玖" + UNITS)
