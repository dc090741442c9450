"""The honorary village chief's annual summary of their village: an A4 PDF like the receipts.

Rendered from plain facts (`usecases.chiefs.chief_summary`) with the receipts' PDF/A-3b path and
deny-by-default fetcher (`receipts.render.html_to_pdf`): system fonts only, nothing fetched.
Amounts carry thousands separators; no beneficiary is named (the facts hold none).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ledger.money import format_minor
from receipts.render import html_to_pdf, templates_dir

__all__ = ["render_chief_summary_html", "render_chief_summary_pdf", "yuan"]

TEMPLATE = "chief_summary.html.j2"


def yuan(minor: int) -> str:
    """CNY minor units with thousands separators: 1234567 -> "12,345.67"."""
    whole, _, cents = format_minor(abs(minor), "CNY").partition(".")
    return ("-" if minor < 0 else "") + f"{int(whole):,}" + (f".{cents}" if cents else "")


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=select_autoescape(default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_chief_summary_html(facts: Mapping[str, Any]) -> str:
    """The summary as a complete HTML document."""
    return _environment().get_template(TEMPLATE).render(**facts, yuan=yuan)


def render_chief_summary_pdf(facts: Mapping[str, Any]) -> bytes:
    """The summary as an A4 PDF/A-3b."""
    return html_to_pdf(render_chief_summary_html(facts))
