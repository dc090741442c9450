"""A small form layer: typed fields, required checks, errors beside each field, typed input kept.

The rules of the books are not here: a form checks only what the browser sends (present, a
date, one of the offered choices, not absurdly long), then calls the same use case as the API,
and maps the ledger's refusal (`LedgerError.field`, `code`) onto the field it names, in the
user's language (`console.messages`). Amounts are parsed by `ledger.money.Money.parse`, the
books' one door for money.

Invariants owned here:
- A form that fails shows every field's error beside it and keeps what was typed; nothing is
  recorded (the use case runs only on complete input, and a refusal changes nothing).
- Every rendered form carries a fresh idempotency key (hidden field `_key`); sending the same
  form twice records once (`Form.key(scope)` is the use case's idempotency key).
- Text reaches a use case only as the books take it (`ledger.text.text_problem`, the API's
  rule too): a textarea's line breaks, which browsers send as CR LF, become LF; any other
  control character is refused beside its field.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from console.messages import message_for
from ledger.errors import LedgerError
from ledger.money import EXPONENTS, Money
from ledger.text import text_problem

__all__ = ["FILE_KINDS", "Choice", "Field", "Form", "currencies"]

Choice = tuple[str, str]
_KEY = re.compile(r"^[A-Za-z0-9-]{8,64}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
REQUIRED = _l("This field is required.")


def today() -> str:
    """Today's date (UTC) as a date field holds it: a date field's usual default."""
    return dt.datetime.now(dt.UTC).date().isoformat()


def currencies() -> list[Choice]:
    """The currencies the books keep, CNY first."""
    return [(c, c) for c in sorted(EXPONENTS, key=lambda c: (c != "CNY", c))]


@dataclass(frozen=True)
class Field:
    """One input: `kind` is text, textarea, amount, date, choice, checkbox, number, hidden, or
    photo / photos (a file input for one image or several; the form is sent as multipart and
    the form's call reads the files from the request, never from `values`).

    `choices` is a list of (value, label) or a function giving one at render time. An
    `amount` field is parsed in the currency named by the field `currency_field`.
    """

    name: str
    label: Any
    kind: str = "text"
    required: bool = False
    max_length: int = 200
    choices: Sequence[Choice] | Callable[[], Sequence[Choice]] = ()
    help: Any = None
    default: str | Callable[[], str] = ""
    currency_field: str = "currency"
    autocomplete: str = "off"

    def options(self) -> Sequence[Choice]:
        return self.choices() if callable(self.choices) else self.choices

    def initial(self) -> str:
        return self.default() if callable(self.default) else self.default


@dataclass
class Form:
    """A form's fields, what was typed, its errors, and its idempotency key."""

    fields: Sequence[Field]
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)
    idempotency: str = ""
    #: The ledger's name for a field -> this form's (when they differ).
    aliases: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def blank(cls, fields: Sequence[Field], **initial: str | None) -> Form:
        """A new form (a fresh idempotency key), with defaults and `initial` values."""
        values = {f.name: f.initial() for f in fields}
        values.update({k: v for k, v in initial.items() if v is not None})
        return cls(fields, values, idempotency=str(uuid.uuid4()))

    @classmethod
    def posted(cls, fields: Sequence[Field], data: Mapping[str, str]) -> Form:
        """The form as sent: values kept as typed (checkboxes as "on" or "")."""
        values = {f.name: _typed(f, data.get(f.name, "")) for f in fields}
        key = str(data.get("_key", ""))
        return cls(fields, values, idempotency=key if _KEY.match(key) else str(uuid.uuid4()))

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def key(self, scope: str) -> str:
        """The use case's idempotency key for this rendering of the form."""
        return f"console-{scope}:{self.idempotency}"

    def add_error(self, name: str | None, message: Any) -> None:
        name = self.aliases.get(name or "", name)
        if name and any(f.name == name for f in self.fields):
            self.errors.setdefault(name, []).append(str(message))
        else:
            self.form_errors.append(str(message))

    def refused(self, err: LedgerError, words: Mapping[tuple[str, str], Any] | None = None) -> None:
        """Show the ledger's refusal beside the field it names (else above the form): in the
        page's own `words` for its (field, code) where it has them, else `message_for`'s."""
        message = (words or {}).get((err.field or "", err.code))
        self.add_error(err.field, message if message is not None else message_for(err))

    @property
    def ok(self) -> bool:
        return not self.errors and not self.form_errors

    def load(self) -> dict[str, Any] | None:
        """Typed values (dates, Money, booleans), or None with every field's error set."""
        loaded: dict[str, Any] = {}
        for f in self.fields:
            value = self._one(f, self.values.get(f.name, ""))
            if value is not _MISSING:
                loaded[f.name] = value
        for f in self.fields:  # amounts last: they need their currency
            if f.kind == "amount" and f.name not in self.errors and self.values.get(f.name):
                loaded[f.name] = self._money(f, loaded.get(f.currency_field))
        return loaded if self.ok else None

    def _one(self, f: Field, raw: str) -> Any:
        if f.kind in FILE_KINDS:
            return _MISSING
        if f.kind == "checkbox":
            return raw in ("on", "true", "1", "y", "yes")
        if not raw:
            if f.required:
                self.add_error(f.name, REQUIRED)
            return "" if f.kind in ("text", "textarea") else None
        if f.kind in ("text", "textarea") and text_problem(raw, multiline=f.kind == "textarea"):
            self.add_error(f.name, _l("Remove the control characters from this text."))
            return _MISSING
        if len(raw) > f.max_length or "\x00" in raw:
            self.add_error(f.name, _l("This is too long."))
            return _MISSING
        if f.kind == "date":
            return self._date(f, raw)
        if f.kind == "choice" and raw not in {value for value, _ in f.options()}:
            self.add_error(f.name, _l("Choose one of the options."))
            return _MISSING
        if f.kind == "amount":
            return _MISSING
        return raw

    def _date(self, f: Field, raw: str) -> Any:
        try:
            if not _DATE.match(raw):
                raise ValueError(raw)
            day = dt.date.fromisoformat(raw)
        except ValueError:
            self.add_error(f.name, _l("Enter a date as YYYY-MM-DD."))
            return _MISSING
        if not 1900 <= day.year <= 2999:
            self.add_error(f.name, _l("Enter a date between 1900 and 2999."))
            return _MISSING
        return day

    def _money(self, f: Field, currency: Any) -> Any:
        if not isinstance(currency, str):
            return None
        try:
            return Money.parse(self.values[f.name], currency)
        except LedgerError as err:
            self.add_error(f.name, message_for(err))
            return None


def _typed(f: Field, raw: object) -> str:
    """A field's value as sent, stripped; a textarea's CR LF (and lone CR) as LF."""
    text = str(raw).strip()
    if f.kind == "textarea" and "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


_MISSING: Any = object()
#: Field kinds that are file inputs (sent as multipart/form-data).
FILE_KINDS = ("photo", "photos")


def choices_of(items: Iterable[Any], value: str, label: Callable[[Any], str]) -> list[Choice]:
    """(value, label) pairs of `items` for a choice field."""
    return [(getattr(i, value), label(i)) for i in items]
