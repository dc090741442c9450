"""The console's fast money formatting writes every amount exactly as Babel does."""

from __future__ import annotations

import random

from flask import Flask

from console.i18n import LANGUAGES, _babel_money, money
from ledger.money import EXPONENTS


def test_every_amount_in_every_currency_and_language_reads_as_babel_writes_it(app: Flask) -> None:
    rng = random.Random(16)
    amounts = [0, 1, -1, 99, -100, 10**17, -(10**17)] + [
        rng.randint(-(10**14), 10**14) for _ in range(200)
    ]
    for code, (locale, _) in LANGUAGES.items():
        with app.test_request_context("/", headers={"Cookie": f"hq_lang={code}"}):
            for currency in EXPONENTS:
                for minor in amounts:
                    assert money(minor, currency) == _babel_money(minor, currency, locale)
