"""The console's languages: zh-Hans by default, English on request; money and dates by Babel.

Invariants owned here:
- Every word the console shows goes through the catalogues in `console/translations/`
  (msgids in English; `zh_Hans` translates them, `en` keeps them).
- The language is the one the person chose (the `hq_lang` cookie, set by `/lang/<code>`), else
  zh-Hans: never guessed from elsewhere, so a page reads the same for everyone who chose alike.
- The compiled catalogues (`.mo`) are committed beside their sources and a test keeps them in
  step. After changing words: `pybabel extract -F console/babel.cfg -k _l --no-location
  --sort-output -o console/translations/messages.pot .`, then `pybabel update -i
  console/translations/messages.pot -d console/translations`, translate the new `zh_Hans`
  entries, and `pybabel compile -d console/translations`.
- Money is integer minor units until the last moment: `money(minor, currency)` formats it with
  Babel for the page's locale (exact: Decimal from the integer, never a float).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from babel.numbers import format_currency
from flask import Flask, request
from flask_babel import Babel, format_date, get_locale

from ledger.money import EXPONENTS

__all__ = ["COOKIE", "LANGUAGES", "day", "init_i18n", "language", "money"]

#: The console's languages: cookie value -> (Babel locale, name shown in the switcher).
LANGUAGES = {"zh-Hans": ("zh_Hans", "中文"), "en": ("en", "English")}
DEFAULT = "zh-Hans"
COOKIE = "hq_lang"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def language() -> str:
    """The page's language code (`zh-Hans` or `en`)."""
    chosen = request.cookies.get(COOKIE, "") if request else ""
    return chosen if chosen in LANGUAGES else DEFAULT


def _locale() -> str:
    return LANGUAGES[language()][0]


def money(minor: int, currency: str) -> str:
    """`minor` units of `currency` as the page's locale writes money (¥1,200.50)."""
    exponent = EXPONENTS.get(currency, 2)
    value = Decimal(minor).scaleb(-exponent)
    # decimal_quantization=False: never round a minor unit away, whatever CLDR's digits say.
    text = format_currency(value, currency, locale=get_locale(), decimal_quantization=False)
    return text.replace("\xa0", " ")


def day(value: dt.date | str | None) -> str:
    """A date as the page's locale writes it (2026年3月5日 / Mar 5, 2026)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return str(format_date(value, "medium"))


def init_i18n(app: Flask) -> None:
    """Flask-Babel on `app`, with the console's catalogues and filters."""
    Babel(
        app,
        locale_selector=_locale,
        default_locale="zh_Hans",
        default_translation_directories=str(TRANSLATIONS),
    )
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["day"] = day
    app.jinja_env.globals["console_language"] = language
    app.jinja_env.globals["console_languages"] = LANGUAGES
