"""The PDF audit pack: statements, registers and charts in one A4 document.

Invariants owned here:
- One autoescaped Jinja2 template (`templates/audit_pack.html.j2`) with its stylesheet inlined;
  only our own stylesheet and our own SVG charts (`audits.charts`, escaped there) are marked
  safe. Every value from the books is escaped.
- The PDF renderer fetches nothing: the URL fetcher refuses every URL except ``data:``, and a
  refused fetch stops the render (`ResourceRefused`).
- The pack names the checkpoint it was made at (or says that none had been made yet), so its
  figures can be matched to the proven log.
- Nothing happens at import time; WeasyPrint is loaded on the first PDF.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from audits.charts import bar_chart, raised_vs_spent
from audits.statements import Fold, Statement

if TYPE_CHECKING:
    from weasyprint.urls import URLFetcher

__all__ = ["ResourceRefused", "chart_data", "html_to_pdf", "render_pack_html", "render_pack_pdf"]


class ResourceRefused(ValueError):
    """Raised when the PDF renderer is asked to fetch anything but a data: URI."""


def _templates() -> Path:
    return (Path(__file__).parent / "templates").resolve()


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(_templates()),
        autoescape=select_autoescape(default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


def _months(fold: Fold) -> list[str]:
    start, end = fold.params.date_from, fold.params.date_to
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def chart_data(fold: Fold) -> dict[str, Any]:
    """Per fund monthly raised/spent series, and spending per project and per county (fen)."""
    months = _months(fold)
    funds = sorted({fund for fund, _, _ in fold.monthly})
    series = {
        fund: {
            "raised": [fold.monthly.get((fund, m, "raised"), 0) for m in months],
            "spent": [fold.monthly.get((fund, m, "spent"), 0) for m in months],
        }
        for fund in funds
    }
    by_project: dict[str, int] = defaultdict(int)
    by_county: dict[str, int] = defaultdict(int)
    for (_fund, code), (amount, _count) in fold.projects.items():
        info = fold.ref.projects.get(code, {})
        by_project[f"{code} {info.get('name', '')}".strip()] += amount
        by_county[str(info.get("county", "")) or "—"] += amount
    return {
        "months": months,
        "series": series,
        "by_project": dict(by_project),
        "by_county": dict(by_county),
    }


def _charts(fold: Fold) -> list[Markup]:
    data = chart_data(fold)
    labels = [m[5:] for m in data["months"]]
    charts = [
        raised_vs_spent(f"{fund} 累计筹款与支出 raised vs spent", labels, s["raised"], s["spent"])
        for fund, s in data["series"].items()
    ]
    charts.append(bar_chart("按项目支出 Spending by project", data["by_project"]))
    charts.append(bar_chart("按县（市）支出 Spending by county", data["by_county"]))
    return charts


def render_pack_html(
    statements: Mapping[str, Statement],
    fold: Fold,
    *,
    organisation: str = "锦江·归来荟 Huiquan",
    checkpoint: Mapping[str, Any] | None = None,
    charts: bool = True,
) -> str:
    """The audit pack as one HTML page (the PDF's source)."""
    template = _environment().get_template("audit_pack.html.j2")
    css = Markup((_templates() / "audit_pack.css").read_text(encoding="utf-8"))  # noqa: S704 - our file
    params = fold.params
    return template.render(
        css=css,
        organisation=organisation,
        params=params.to_dict(),
        scope=params.fund or "全部基金 All funds (consolidated)",
        statements=[s.to_dict() for s in statements.values()],
        charts=_charts(fold) if charts else [],
        checkpoint=checkpoint,
    )


def make_fetcher() -> URLFetcher:
    """A WeasyPrint URL fetcher that serves data: URIs and refuses everything else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class DataOnlyFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
            if urlsplit(url).scheme.lower() == "data":
                return super().fetch(url, headers)
            raise ResourceRefused(f"the audit pack fetches no URLs: {url!r}")

    return DataOnlyFetcher(allowed_protocols=("data",), fail_on_errors=True)


def html_to_pdf(html: str) -> bytes:
    """Lay out pack HTML as PDF with the deny-by-default fetcher.

    Raises:
        ResourceRefused: when the HTML asks for any resource.
    """
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    document = HTML(string=html, base_url=str(_templates()), url_fetcher=make_fetcher())
    try:
        pdf: bytes = document.write_pdf()
    except FatalURLFetchingError as fatal:
        raise ResourceRefused(str(fatal.__cause__ or fatal)) from fatal
    return pdf


def render_pack_pdf(
    statements: Mapping[str, Statement],
    fold: Fold,
    *,
    checkpoint: Mapping[str, Any] | None = None,
    charts: bool = True,
) -> bytes:
    """The audit pack as PDF bytes."""
    return html_to_pdf(render_pack_html(statements, fold, checkpoint=checkpoint, charts=charts))
