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
  Babel for the page's locale (exact: Decimal from the integer, never a float). A list of
  fifty rows formats a hundred amounts, so Babel's pattern is applied once per locale and
  currency (to probe values) and the amounts are laid into it with Python's grouping; a
  locale or currency whose pattern the probes do not reproduce is formatted by Babel itself.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.numbers import format_currency
from flask import Flask, g, has_request_context, request
from flask_babel import Babel, format_date, get_locale, get_translations

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


def _babel_money(minor: int, currency: str, locale: str) -> str:
    exponent = EXPONENTS.get(currency, 2)
    value = Decimal(minor).scaleb(-exponent)
    # decimal_quantization=False: never round a minor unit away, whatever CLDR's digits say.
    text = format_currency(value, currency, locale=locale, decimal_quantization=False)
    return text.replace("\xa0", " ")


@functools.lru_cache(maxsize=512)
def _money_shape(currency: str, locale: str) -> Callable[[int], str] | None:
    """A fast formatter equal to Babel's for this locale and currency, or None."""
    exponent = EXPONENTS.get(currency, 2)
    probe = Decimal(123456789).scaleb(-exponent)
    shown = _babel_money(123456789, currency, locale)
    digits = f"{probe:,f}"
    if shown.count(digits) != 1:
        return None
    plus, minus = shown.split(digits), _babel_money(-123456789, currency, locale).split(digits)
    if len(minus) != 2:
        return None

    def fast(minor: int) -> str:
        before, after = minus if minor < 0 else plus
        return f"{before}{Decimal(abs(minor)).scaleb(-exponent):,f}{after}"

    probes = (0, 1, -1, 5, 100, -100_050, 10**15 + 7, -(10**12))
    if all(fast(m) == _babel_money(m, currency, locale) for m in probes):
        return fast
    return None


def money(minor: int, currency: str) -> str:
    """`minor` units of `currency` as the page's locale writes money (¥1,200.50)."""
    locale = str(get_locale())
    fast = _money_shape(currency, locale)
    return fast(minor) if fast is not None else _babel_money(minor, currency, locale)


@functools.lru_cache(maxsize=4096)
def _day(value: dt.date, locale: str) -> str:
    return str(format_date(value, "medium"))


def day(value: dt.date | str | None) -> str:
    """A date as the page's locale writes it (2026年3月5日 / Mar 5, 2026)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    return _day(value, str(get_locale()))


def _translations() -> Any:
    """The request's catalogue, looked up once per request (a page asks for it per word)."""
    found = g.get("console_translations") if has_request_context() else None
    if found is None:
        found = get_translations()
        if has_request_context():
            g.console_translations = found
    return found


def init_i18n(app: Flask) -> None:
    """Flask-Babel on `app`, with the console's catalogues and filters."""
    Babel(
        app,
        locale_selector=_locale,
        default_locale="zh_Hans",
        default_translation_directories=str(TRANSLATIONS),
    )
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["day"] = day
    app.jinja_env.globals["console_language"] = language
    app.jinja_env.globals["console_languages"] = LANGUAGES
