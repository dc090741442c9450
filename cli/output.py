"""How the commands print: decimal amounts, tables, progress bars, dates and their options.

Amounts are decimal strings made from integer minor units, never floats. Rich is imported only
when a table or a progress bar is actually drawn.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import click

__all__ = [
    "as_of_option",
    "money",
    "parse_date",
    "progress_bar",
    "progress_flag",
    "side",
    "table",
    "want_progress",
]

F = TypeVar("F", bound=Callable[..., Any])


def parse_date(value: str | None) -> dt.date | None:
    """A YYYY-MM-DD option value as a date (None stays None).

    Raises:
        click.BadParameter: when it is not a date.
    """
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from exc


def as_of_option(f: F) -> F:
    return click.option(
        "--as-of",
        metavar="DATE",
        default=None,
        help="Balances as of the end of this day (YYYY-MM-DD), from the journal; "
        "default: current balances.",
    )(f)


def money(minor: int, currency: str = "CNY") -> str:
    from ledger.money import format_minor

    return format_minor(minor, currency)


def side(minor: int, currency: str) -> str:
    """An amount with Dr (positive) or Cr (negative) after it; zero has neither."""
    if minor == 0:
        return money(0, currency)
    return f"{money(abs(minor), currency)} {'Dr' if minor > 0 else 'Cr'}"


def table(
    title: str | None,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[int] = (),
) -> None:
    from rich.console import Console
    from rich.table import Table

    drawn = Table(title=title, show_lines=False)
    for n, name in enumerate(header):
        drawn.add_column(name, justify="right" if n in right else "left", no_wrap=n in right)
    for row in rows:
        drawn.add_row(*row)
    Console(width=max(120, _terminal_width())).print(drawn)


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 120


@contextmanager
def progress_bar(label: str, *, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr (only when stderr is a terminal or when forced)."""
    if not enabled:
        yield lambda total, advance: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    task = bar.add_task(label, total=None)

    def update(total: int, advance: int) -> None:
        bar.update(task, total=total, advance=advance)

    with bar:
        yield update


def progress_flag(f: F) -> F:
    return click.option(
        "--progress/--no-progress",
        default=None,
        help="Show a progress bar on stderr [default: when stderr is a terminal].",
    )(f)


def want_progress(flag: bool | None) -> bool:
    return sys.stderr.isatty() if flag is None else flag
