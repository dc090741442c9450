"""Text the books accept, and text as exports show it.

Invariants owned here:
- No text enters the books with a control character: C0 (U+0000-U+001F), DEL (U+007F) and C1
  (U+0080-U+009F) are refused, except tab and line feed in a field that allows several lines
  (memos, descriptions, reasons). Lone surrogates (U+D800-U+DFFF), which no UTF-8 encoder takes,
  are refused too. `text_problem` is the one rule; every entrance (API schemas, CLI options,
  import files) asks it, so one append-only row can never break an export for good.
- Text already in the books is still shown safely: `visible` turns any control character or lone
  surrogate into a visible escape (`\\u001b`), so an export never fails on a row written before
  this rule (or by hand).
"""

from __future__ import annotations

import re

__all__ = ["digits", "text_problem", "visible"]

_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_MULTI_LINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def digits(value: str) -> bool:
    """Whether `value` is one or more of the ASCII digits 0-9: the numbers people type. (`str.
    isdigit` also takes "²" and other digits that `int` refuses.)"""
    return value.isascii() and value.isdigit()


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` may not enter the books, or None when it may.

    `multiline` allows tab and line feed (a memo); otherwise they are refused too (a name).
    """
    found = (_MULTI_LINE if multiline else _SINGLE_LINE).search(value)
    if found is None:
        return None
    char = found.group()
    where = found.start() + 1
    if 0xD800 <= ord(char) <= 0xDFFF:
        return f"must be valid Unicode text (a lone surrogate at character {where})"
    return f"must not contain control characters (U+{ord(char):04X} at character {where})"


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def visible(value: str, *, multiline: bool = True) -> str:
    """`value` with every control character (bar tab and line feed) and lone surrogate escaped."""
    pattern = _MULTI_LINE if multiline else _SINGLE_LINE
    return pattern.sub(_escape, value) if pattern.search(value) else value
