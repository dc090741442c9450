"""统一社会信用代码 (unified social credit codes), GB 32100-2015, and the GB 11714 organisation
code inside them.

Invariants owned here:
- A code is valid when it is 18 characters of the 31-character alphabet (no I, O, Z, S, V) and
  its last character is the GB 32100-2015 check character of the first 17. Receipts (an
  issuer's registration) and open data (the reporting organisation's identifier) ask this one
  rule.
"""

from __future__ import annotations

__all__ = ["ALPHABET", "check_character", "is_valid_credit_code", "org_code_check"]

#: The 31 characters of GB 32100-2015, in the order of their values 0..30.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a credit code.

    Raises:
        ValueError: when `first17` is not 17 characters of the code's alphabet.
    """
    if len(first17) != 17 or any(c not in ALPHABET for c in first17):
        raise ValueError("a credit code starts with 17 characters of 0-9 and A-Y (no I O Z S V)")
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """True for an 18-character 统一社会信用代码 whose check character is right."""
    if len(code) != 18 or any(c not in ALPHABET for c in code):
        return False
    return check_character(code[:17]) == code[17]


def org_code_check(first8: str) -> str:
    """The GB 11714 check character of an organisation code's first 8 characters (0-9, X)."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c, 36) * w for c, w in zip(first8, weights, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))
