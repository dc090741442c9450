"""Chinese financial capital numerals (大写) for amounts of money on receipts.

The rules follow the People's Bank of China's 《正确填写票据和结算凭证的基本规定》:

- Digits are 零壹贰叁肆伍陆柒捌玖; units 拾佰仟 inside a group of four digits, 万 and 亿
  between groups (万亿 for ten thousand 亿); money units 元, 角, 分.
- "整" follows an amount that stops at 元 (no 角 and no 分). After 角 the rules allow but do not
  require 整; we never write it there, and never after 分.
- A run of zeros between two non-zero digits is written as one 零 (¥6007.14 → 陆仟零柒元壹角肆分).
  A whole group of zeros between two non-zero groups is also one 零 (100010000 元 → 壹亿零壹万元).
- Where the rules make 零 optional (万位 or 元位 zero but the next digit, 仟 or 角, not zero) we
  leave it out: ¥107000.53 → 壹拾万柒仟元伍角叁分, ¥1010.10 → 壹仟零壹拾元壹角.
- 角 zero and 分 not zero always writes 零 after 元: ¥100.05 → 壹佰元零伍分.
- 拾 at the head of an amount keeps its digit (¥10 → 壹拾元整), as cheques require.
- Below one yuan there is no 元: ¥0.50 → 伍角. Zero is 零元整.

Traditional characters (`traditional=True`, for the zh-Hant receipt) write the same amount with
the traditional forms of the capitals: 貳 for 贰, 參 for 叁, 陸 for 陆, 萬 for 万, 億 for 亿 (the
other capitals are the same in both scripts). The unit stays 元 (not 圓): 元 is the unit of
人民幣 in Traditional text too, as in 新臺幣壹萬元整; 圓 is the Hong Kong dollar's cheque usage.

Invariants owned here: never two 零 in a row, never 零 before a unit or at either end (except
the single amount 零元整), and the text reads back to exactly the integer it came from.
"""

from __future__ import annotations

__all__ = ["MAX_MINOR_FOR_CAPITALS", "to_chinese_capital"]

#: The largest amount, in minor units, that `to_chinese_capital` writes out.
MAX_MINOR_FOR_CAPITALS = 10**15 - 1

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_IN_GROUP_UNITS = ("", "拾", "佰", "仟")
_FRACTION_UNITS = ("角", "分")
_TRADITIONAL = str.maketrans({"贰": "貳", "叁": "參", "陆": "陸", "万": "萬", "亿": "億"})


def _group(value: int) -> str:
    """Write 1..9999 with 拾佰仟, one 零 for each run of inner zeros, none at the end."""
    digits = f"{value:04d}"
    out: list[str] = []
    pending_zero = False
    for position, char in enumerate(digits):
        digit = int(char)
        if digit == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[digit] + _IN_GROUP_UNITS[3 - position])
    return "".join(out)


def _whole(value: int) -> str:
    """Write a positive whole number of yuan: 亿 over 万 over groups of four digits.

    Above 亿 the count of 亿 is itself written with 万 (玖万玖仟亿, not 玖万亿玖仟亿). The lower
    part gets one 零 when its top digit is zero, which covers a whole zero group in between.
    """
    for size, unit in ((10**8, "亿"), (10**4, "万")):
        if value >= size:
            high, low = divmod(value, size)
            text = _whole(high) + unit
            if low:
                text += ("零" if low < size // 10 else "") + _whole(low)
            return text
    return _group(value)


def to_chinese_capital(minor: int, exponent: int = 2, *, traditional: bool = False) -> str:
    """Write an amount of minor units in Chinese capital numerals, e.g. 1200000 → 壹万贰仟元整.

    `exponent` is the number of minor-unit digits: 2 for 角 and 分 (CNY), 1 for 角 only, 0 for
    whole yuan. `traditional` writes the traditional forms (貳參陸萬億) for a zh-Hant receipt.

    Raises:
        TypeError: when `minor` is not an int (bool included).
        ValueError: for a negative amount, one above `MAX_MINOR_FOR_CAPITALS`, or an exponent
            other than 0, 1 or 2.
    """
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise TypeError(f"amount must be an int of minor units, not {type(minor).__name__}")
    if exponent not in (0, 1, 2):
        raise ValueError(f"exponent must be 0, 1 or 2, got {exponent!r}")
    if minor < 0:
        raise ValueError("a receipt amount in capitals cannot be negative")
    if minor > MAX_MINOR_FOR_CAPITALS:
        raise ValueError(f"amount {minor} is above {MAX_MINOR_FOR_CAPITALS} minor units")
    text = _capitals(minor, exponent)
    return text.translate(_TRADITIONAL) if traditional else text


def _capitals(minor: int, exponent: int) -> str:
    yuan, fraction = divmod(minor, 10**exponent)
    if minor == 0:
        return "零元整"
    fraction_digits = [int(d) for d in f"{fraction:0{exponent}d}"] if exponent else []
    head = _whole(yuan) + "元" if yuan else ""
    if not any(fraction_digits):
        return head + "整"
    tail: list[str] = []
    for index, digit in enumerate(fraction_digits):
        if digit:
            tail.append(_DIGITS[digit] + _FRACTION_UNITS[index])
        elif head and index == 0:
            # 角 is zero and 分 is not: the rules require 零 after 元.
            tail.append("零")
    return head + "".join(tail)
