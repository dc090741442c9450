"""The PDF audit pack: statements, registers and charts in one A4 document.

The statutory statements (会民非01/02/03) come first in their forms' layout: the title, 编制单位
(the issuer, else the platform), the period, 单位：元, 行次, figures with thousands separators,
the signature line (单位负责人, 会计机构负责人, 制表人) and the notes; 01 sets assets beside
liabilities and net assets, as the form does. Registers follow, then the charts. A table wider
than a portrait page is laid out on a landscape page, so no column is clipped.

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
from audits.statements import Fold, Params, Statement, row_kinds

if TYPE_CHECKING:
    from weasyprint.urls import URLFetcher

__all__ = [
    "ResourceRefused",
    "chart_data",
    "html_to_pdf",
    "period_text",
    "render_pack_html",
    "render_pack_pdf",
    "statement_view",
    "thousands",
]


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


def thousands(fen: int) -> str:
    """Fen as yuan with thousands separators: 216600000 → "2,166,000.00"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def period_text(kind: str, params: Params) -> str:
    """How a form names its period: a day for 01, a month or a year for 02 and 03."""
    if kind == "financial-position":
        day = params.as_of
        return f"{day.year}年{day.month}月{day.day}日"
    start, end = params.date_from, params.date_to
    if params.is_month:
        return f"{end.year}年{end.month}月"
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return f"{end.year}年度"
    return f"{start.isoformat()} 至 {end.isoformat()}"


Cell = tuple[str, str]  # (text, css class)


def _cell(row: Mapping[str, Any], key: str, money: bool) -> Cell:
    value = row.get(key, "")
    if money and isinstance(value, int):
        return thousands(value), "money"
    return ("" if value is None else str(value)), "count" if isinstance(value, int) else "text"


def _form_rows(statement: Statement, keys: list[str]) -> list[tuple[str, list[Cell]]]:
    """Rows of a form; each cell's class carries its row's kind, so two half-rows side by side
    keep their own weight."""
    kinds = row_kinds(statement.kind)
    out = []
    for row in statement.rows:
        kind = kinds.get(str(row["line"]), "line")
        cells: list[Cell] = [(str(row["label_cn"]), "item"), (str(row["row_no"]), "no")]
        cells += [_cell(row, k, True) if k in row else ("", "money") for k in keys]
        out.append((kind, [(text, f"{cls} {kind}") for text, cls in cells]))
    return out


def _position_view(statement: Statement) -> dict[str, Any]:
    """会民非01 as the form sets it: assets on the left, liabilities and net assets on the right."""
    rows = _form_rows(statement, ["opening", "closing"])
    split = next(i for i, r in enumerate(statement.rows) if r["line"] == "total_assets") + 1
    left, right = rows[:split], rows[split:]
    blank: tuple[str, list[Cell]] = (
        "line",
        [("", "item"), ("", "no"), ("", "money"), ("", "money")],
    )
    body = []
    for n in range(max(len(left), len(right))):
        a = left[n] if n < len(left) else blank
        b = right[n] if n < len(right) else blank
        body.append(("pair", [*a[1], *b[1]]))
    opening = statement.columns[-2].label_cn
    head = [
        [(t, "", 1, 1) for t in ("资产", "行次", opening, "期末数")]
        + [(t, "", 1, 1) for t in ("负债和净资产", "行次", opening, "期末数")]
    ]
    return {"head": head, "body": body, "split": True}


def _statutory_view(statement: Statement) -> dict[str, Any]:
    if statement.kind == "financial-position":
        return _position_view(statement)
    money = [c for c in statement.columns if c.type == "money"]
    keys = [c.key for c in money]
    if statement.kind == "activities":
        groups = [money[0].label_cn.split("·")[0], money[3].label_cn.split("·")[0]]
        head = [
            [("项目", "", 1, 2), ("行次", "", 1, 2), *[(g, "", 3, 1) for g in groups]],
            [(c.label_cn.split("·")[1], "", 1, 1) for c in money],
        ]
    else:
        head = [[("项目", "", 1, 1), ("行次", "", 1, 1), *[(c.label_cn, "", 1, 1) for c in money]]]
    return {"head": head, "body": _form_rows(statement, keys), "split": False}


def _register_view(statement: Statement) -> dict[str, Any]:
    shown = [c for c in statement.columns if c.key != "line"]
    head = [[(f"{c.label_cn}\n{c.label_en}", c.type, 1, 1) for c in shown]]
    body = []
    for row in statement.rows:
        total = (
            str(row.get("account", "x")) == ""
            or row.get("group") in ("total", "county", "town", "village", "project")
            or str(row.get("status", "")).startswith("total")
            or row.get("term") == "合计 Total"
        )
        cells = [
            (text, f"{cls} col-{c.key}")
            for c in shown
            for text, cls in (_cell(row, c.key, c.type == "money"),)
        ]
        body.append(("total" if total else "line", cells))
    return {"head": head, "body": body, "split": False}


def statement_view(statement: Statement, organisation: str) -> dict[str, Any]:
    """What the template prints for one statement: headings, rows of (text, class), notes."""
    statutory = statement.kind in ("financial-position", "activities", "cash-flows")
    table = _statutory_view(statement) if statutory else _register_view(statement)
    columns = sum(span for span_text in table["head"][:1] for _t, _c, span, _r in span_text)
    return {
        "kind": statement.kind,
        "code": statement.code,
        "title_cn": statement.title_cn,
        "title_en": statement.title_en,
        "statutory": statutory,
        "wide": columns > 6,
        "organisation": organisation,
        "period": period_text(statement.kind, statement.params),
        "checks": list(statement.checks),
        "notes": list(statement.notes),
        **table,
    }


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
        statements=[statement_view(s, organisation) for s in _ordered(statements)],
        charts=_charts(fold) if charts else [],
        checkpoint=checkpoint,
    )


_ORDER = ("financial-position", "activities", "cash-flows")


def _ordered(statements: Mapping[str, Statement]) -> list[Statement]:
    """The statutory statements first (01, 02, 03), then the others in their given order."""
    first = [statements[k] for k in _ORDER if k in statements]
    return first + [s for k, s in statements.items() if k not in _ORDER]


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
    organisation: str = "锦江·归来荟 Huiquan",
) -> bytes:
    """The audit pack as PDF bytes; `organisation` is the forms' 编制单位."""
    html = render_pack_html(
        statements, fold, organisation=organisation, checkpoint=checkpoint, charts=charts
    )
    return html_to_pdf(html)
