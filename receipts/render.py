"""Render a receipt view as an HTML page or an A4 PDF, from one autoescaped template.

Invariants owned here:
- One template (`templates/receipt.html.j2`) and one stylesheet (`templates/receipt.css`) make
  both outputs; the PDF is the page without its language switcher and download link.
- Every value from the view is autoescaped; only our own stylesheet and segno's QR code SVG
  are marked safe. The page has no scripts and no style="" attributes, so a
  Content-Security-Policy that allows the one inline <style> by its sha256 hash is enough
  (`content_security_policy()`); the page also carries it in a <meta> element.
- Links we are handed (verification, PDF download, other languages) must be http(s) or
  relative; anything else (javascript:, data:, ...) is refused.
- The PDF renderer fetches nothing but `data:` URIs and files inside the templates folder
  (`TemplateOnlyFetcher`); any other fetch stops the render with `ResourceRefused`.
- The same view renders to the same bytes, HTML and PDF alike: no clocks, no random ids; the
  PDF's creation and modification dates are the receipt's issue date.
- Nothing happens at import time: the template environment, stylesheet and WeasyPrint are
  loaded on first use.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import threading
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from babel.dates import format_date, format_interval
from babel.numbers import format_currency, get_currency_name
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ledger.money import EXPONENTS, FUNCTIONAL_CURRENCY, format_minor
from ledger.text import digits
from receipts.i18n import BABEL_LOCALES, LANGUAGE_NAMES, messages, place_name
from receipts.model import (
    LANGUAGES,
    AcknowledgmentView,
    AllocationLine,
    Language,
    ReceiptView,
)
from receipts.numerals import to_chinese_capital

if TYPE_CHECKING:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

__all__ = [
    "PDF_VARIANT",
    "TEMPLATE_NAME",
    "EmbeddedFile",
    "ResourceRefused",
    "content_security_policy",
    "html_to_pdf",
    "make_fetcher",
    "render_acknowledgment_html",
    "render_acknowledgment_pdf",
    "render_html",
    "render_pdf",
    "style_hash",
    "templates_dir",
]

TEMPLATE_NAME = "receipt.html.j2"
ACKNOWLEDGMENT_TEMPLATE = "acknowledgment.html.j2"
STYLESHEET_NAME = "receipt.css"


class ResourceRefused(ValueError):
    """Raised when the PDF renderer is asked for anything but a data: URI or a template file."""


def templates_dir() -> Path:
    """The folder holding the receipt template and stylesheet (resolved, symlinks followed)."""
    return (Path(__file__).parent / "templates").resolve()


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=select_autoescape(
            enabled_extensions=("html", "htm", "xml", "j2", "css", "txt"),
            default_for_string=True,
            default=True,
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


@cache
def _stylesheet() -> str:
    return (templates_dir() / STYLESHEET_NAME).read_text(encoding="utf-8")


@cache
def style_hash() -> str:
    """The CSP source for the page's one inline stylesheet, e.g. "'sha256-...'"."""
    digest = hashlib.sha256(_stylesheet().encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy() -> str:
    """The Content-Security-Policy header value for receipt pages.

    The page has no scripts, images or fonts to load; its only inline style is allowed by hash.
    `frame-ancestors` only works as a header, so the <meta> copy in the page leaves it out.
    """
    return _policy() + "; frame-ancestors 'none'"


def _policy() -> str:
    return f"default-src 'none'; style-src {style_hash()}; base-uri 'none'; form-action 'none'"


def _language(view: ReceiptView, language: str | None) -> Language:
    chosen = view.language if language is None else language
    if chosen not in LANGUAGES:
        raise ValueError(f"receipts are written in {', '.join(LANGUAGES)}, not {chosen!r}")
    return chosen


def _href(url: str, what: str, *, absolute: bool = False) -> str:
    """Return `url` if it is safe in an href: http(s), or (unless `absolute`) a relative URL.

    Raises:
        ValueError: for javascript:, data:, protocol-relative and any other scheme, and for a
            relative URL where an absolute one is needed (a QR code must work off the page).
    """
    # Browsers drop control characters and read a backslash as "/", so a control character
    # before "javascript:" or a backslash after the first "/" would pass as a relative link.
    if any(ord(char) < 0x21 or ord(char) == 0x7F for char in url):
        raise ValueError(f"{what} must not contain spaces or control characters, got {url!r}")
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    if not absolute and not parts.scheme and not url.replace("\\", "/").startswith("//"):
        return url
    kind = "an absolute http(s)" if absolute else "an http(s) or relative"
    raise ValueError(f"{what} must be {kind} URL, got {url!r}")


def _money(minor: int, currency: str, locale: str) -> str:
    amount = Decimal(format_minor(minor, currency))
    # Our exponent table is the truth; never let CLDR's digits round an amount away.
    return format_currency(amount, currency, locale=locale, decimal_quantization=False)


def _date(value: date, locale: str) -> str:
    return format_date(value, format="long", locale=locale)


@dataclass(frozen=True, slots=True)
class _Cell:
    label: str
    value: str
    css: str = ""
    note: str | None = None


@dataclass(frozen=True, slots=True)
class _LanguageLink:
    lang: str
    name: str
    url: str
    current: bool


def _facts(view: ReceiptView, t: Mapping[str, str], locale: str) -> list[list[_Cell]]:
    anonymous = view.displayed_donor_is_anonymous
    donor = _Cell(
        t["donor"],
        t["anonymous_donor"] if anonymous else view.donor_name,
        css="donor",
        note=t["anonymous_private_note"] if view.donor_is_anonymous and not anonymous else None,
    )
    currency_name = get_currency_name(view.currency, locale=locale)
    rows: list[list[_Cell]] = [
        [donor],
        [
            _Cell(t["received_on"], _date(view.received_on, locale)),
            _Cell(t["issued_on"], _date(view.issued_on, locale)),
        ],
        [
            _Cell(t["kind"], t[f"kind_{view.kind}"]),
            _Cell(t["currency"], f"{view.currency} · {currency_name}"),
        ],
    ]
    if view.currency != FUNCTIONAL_CURRENCY:
        # The amount panel already shows both amounts; the facts add how one became the other.
        rate = t["fx_rate_value"].format(currency=view.currency, rate=view.fx_rate or "—")
        rows.append(
            [
                _Cell(t["fx_rate"], rate, css="mono"),
                _Cell(t["fx_date"], _date(view.fx_date, locale) if view.fx_date else "—"),
            ]
        )
        rows.append([_Cell(t["fx_source"], view.fx_source or "—")])
    rows.append([_Cell(t["fund"], view.fund_name)])
    rows.append([_Cell(t["purpose"], view.fund_purpose)])
    if view.kind == "in_kind" or view.in_kind_description:
        rows.append([_Cell(t["in_kind_description"], view.in_kind_description or "—")])
        if view.in_kind_quantity:
            rows.append([_Cell(t["in_kind_quantity"], view.in_kind_quantity)])
        rows.append([_Cell(t["valuation_basis"], view.valuation_basis or "—")])
    goods = (
        t["goods_or_services_none"]
        if view.goods_or_services is None
        else t["goods_or_services_some"].format(text=view.goods_or_services)
    )
    rows.append([_Cell(t["goods_or_services"], goods)])
    if view.fiscal_receipt_code or view.fiscal_receipt_number:
        rows.append(
            [
                _Cell(t["fiscal_code"], view.fiscal_receipt_code or "—", css="mono"),
                _Cell(t["fiscal_number"], view.fiscal_receipt_number or "—", css="mono"),
            ]
        )
    else:
        rows.append([_Cell(t["fiscal_receipt"], t["fiscal_pending"])])
    return rows


def _term(term: str, t: Mapping[str, str]) -> str:
    """ "2024秋" -> "2024 秋" / "Autumn 2024"; a bare year is a school year."""
    year, season = term[:4], term[4:]
    key = {"春": "term_spring", "秋": "term_autumn"}.get(season, "term_year")
    return t[key].format(year=year) if digits(year) else term


def _where_line(line: AllocationLine, t: Mapping[str, str], lang: Language, locale: str) -> Any:
    place = place_name(line.county, line.town, lang)
    if line.kind == "scholarship":
        what = t["where_scholarship"].format(
            place=place or "—", term=_term(line.project_or_purpose, t), count=line.count
        )
    elif line.kind == "fee":
        what = t["where_fee"]
    elif line.kind == "transfer":
        what = t["where_transfer"].format(fund=line.project_or_purpose)
    else:
        what = " · ".join(p for p in (line.project_or_purpose, place) if p)
    when = _span(line.date, line.last_date or line.date, locale)
    return {"date": when, "what": what, "amount": _money(line.amount_minor, line.currency, locale)}


#: At most this many lines of "where my gift went" (and of covered gifts) on the PDF, per
#: attempt at one page; the rest fold into one line. The first attempt uses the usual rhythm,
#: the later ones the tighter `squeeze` style too.
SQUEEZE_LINES = (10, 6, 3)


def _where_lines(
    view: ReceiptView, t: Mapping[str, str], lang: Language, locale: str, *, limit: int | None
) -> list[Any]:
    lines = list(view.where_it_went)
    if limit is None or len(lines) <= limit:
        return [_where_line(line, t, lang, locale) for line in lines]
    shown, rest = lines[: limit - 1], lines[limit - 1 :]
    out = [_where_line(line, t, lang, locale) for line in shown]
    by_currency: dict[str, int] = {}
    for line in rest:
        by_currency[line.currency] = by_currency.get(line.currency, 0) + line.amount_minor
    amount = "、".join(_money(v, c, locale) for c, v in by_currency.items())
    when = _span(
        min(line.date for line in rest), max(line.last_date or line.date for line in rest), locale
    )
    what = t["where_more"].format(count=len(rest))
    return [*out, {"date": when, "what": what, "amount": amount}]


def _span(first: date, last: date, locale: str) -> str:
    if first == last:
        return _date(first, locale)
    return format_interval(first, last, "yMMMd", locale=locale)


def _covered(
    view: ReceiptView, t: Mapping[str, str], locale: str, *, limit: int | None
) -> list[dict[str, str]]:
    gifts = list(view.covered_gifts)
    rows = [
        {
            "serial": gift.serial,
            "received_on": _date(gift.received_on, locale),
            "amount": _money(gift.amount_minor, gift.currency, locale),
        }
        for gift in gifts
    ]
    if limit is None or len(gifts) <= limit:
        return rows
    rest = gifts[limit - 1 :]
    by_currency: dict[str, int] = {}
    for gift in rest:
        by_currency[gift.currency] = by_currency.get(gift.currency, 0) + gift.amount_minor
    folded = {
        "serial": t["covered_more"].format(count=len(rest)),
        "received_on": _span(rest[0].received_on, rest[-1].received_on, locale),
        "amount": "、".join(_money(v, c, locale) for c, v in by_currency.items()),
    }
    return [*rows[: limit - 1], folded]


def _checkpoint_summary(text: str) -> dict[str, str]:
    """The checkpoint's origin, size and root (hex) from its signed note."""
    lines = text.splitlines()
    root = lines[2] if len(lines) > 2 else ""
    try:
        root = base64.b64decode(root, validate=True).hex()
    except ValueError:
        pass
    return {
        "origin": lines[0] if lines else "",
        "size": lines[1] if len(lines) > 1 else "",
        "root": root,
    }


def _language_links(current: Language, links: Mapping[str, str] | None) -> list[_LanguageLink]:
    if not links:
        return []
    unknown = set(links) - set(LANGUAGES)
    if unknown:
        raise ValueError(f"language_links has unknown languages: {sorted(unknown)}")
    return [
        _LanguageLink(
            lang, LANGUAGE_NAMES[lang], _href(links[lang], "language link"), lang == current
        )
        for lang in LANGUAGES
        if lang in links
    ]


def _qr_svg(url: str) -> Markup:
    import segno  # loaded on first render, not at import time

    code = segno.make(url, error="m")
    # segno writes only paths and numbers; the URL itself is encoded as modules, never as text.
    return Markup(code.svg_inline(scale=1, border=2, omitsize=True))  # noqa: S704


def _context(
    view: ReceiptView,
    lang: Language,
    *,
    pdf_url: str | None,
    language_links: Mapping[str, str] | None,
    for_print: bool,
    squeeze: int = 0,
) -> dict[str, Any]:
    t = messages(lang)
    locale = BABEL_LOCALES[lang]
    annual = view.kind == "annual"
    limit = SQUEEZE_LINES[squeeze] if for_print else None
    verify_url = _href(view.verify_url, "verify_url", absolute=True)
    amount_label = t["amount_annual"] if annual else t["amount"]
    if view.kind == "in_kind":
        amount_label = t["amount_in_kind"]
    return {
        "t": t,
        "lang": lang,
        "view": view,
        "for_print": for_print,
        # printed, the stylesheet is the pre-parsed one of `_print_resources`
        "css": "" if for_print else Markup(_stylesheet()),  # noqa: S704 - our own file
        "csp": _policy(),
        "created": view.issued_on.isoformat(),
        "title": t["title_annual"] if annual else t["title"],
        "subtitle": t["subtitle_annual"] if annual else t["subtitle"],
        # A Chinese page carries no English: only the English page has a (Chinese) subtitle.
        "subtitle_lang": "zh-Hans",
        "capitals_label_lang": "zh-Hans" if lang == "en" else lang,
        "lead": t["lead_annual"] if annual else t["lead"],
        "void_mark": t["void"],
        "void_reason": t["void_reason"].format(reason=view.void_reason)
        if view.void_reason
        else None,
        "replaced_by": t["replaced_by"].format(serial=view.replaced_by_serial)
        if view.replaced_by_serial
        else None,
        "replaces": t["replaces"].format(serial=view.replaces_serial)
        if view.replaces_serial
        else None,
        "amount_label": amount_label,
        "amount_figures": _money(view.amount_minor, view.currency, locale),
        "is_foreign": view.currency != FUNCTIONAL_CURRENCY,
        "cny_figures": _money(view.cny_minor, FUNCTIONAL_CURRENCY, locale),
        "capitals": to_chinese_capital(
            view.cny_minor, EXPONENTS[FUNCTIONAL_CURRENCY], traditional=lang == "zh-Hant"
        ),
        "capitals_lang": "zh-Hant" if lang == "zh-Hant" else "zh-Hans",
        "checkpoint": _checkpoint_summary(view.checkpoint_text),
        "facts": _facts(view, t, locale),
        "disclaimer": t["in_kind_disclaimer"] if view.kind == "in_kind" else None,
        "covered": _covered(view, t, locale, limit=limit),
        "where": _where_lines(view, t, lang, locale, limit=limit),
        "squeeze": squeeze,
        "verify_url": verify_url,
        "qr_svg": _qr_svg(verify_url),
        "pdf_url": None if for_print or pdf_url is None else _href(pdf_url, "pdf_url"),
        "language_links": [] if for_print else _language_links(lang, language_links),
    }


def _render(
    view: ReceiptView,
    language: str | None,
    *,
    pdf_url: str | None = None,
    language_links: Mapping[str, str] | None = None,
    for_print: bool,
    squeeze: int = 0,
) -> str:
    lang = _language(view, language)
    context = _context(
        view,
        lang,
        pdf_url=pdf_url,
        language_links=language_links,
        for_print=for_print,
        squeeze=squeeze,
    )
    return _environment().get_template(TEMPLATE_NAME).render(context)


def _acknowledgment_context(
    view: AcknowledgmentView, *, pdf_url: str | None, for_print: bool
) -> dict[str, Any]:
    lang = view.language
    t = messages(lang)
    locale = BABEL_LOCALES[lang]
    rows = [
        [_Cell(t["donor"], view.donor_name, css="donor")],
        [
            _Cell(t["pledged_on"], _date(view.pledged_on, locale)),
            _Cell(t["issued_on"], _date(view.issued_on, locale)),
        ],
        [
            _Cell(t["due_on"], _date(view.due_on, locale) if view.due_on else t["due_open"]),
            _Cell(
                t["currency"],
                f"{view.currency} · {get_currency_name(view.currency, locale=locale)}",
            ),
        ],
        [_Cell(t["fund"], view.fund_name)],
        [_Cell(t["purpose"], view.fund_purpose or "—")],
        [
            _Cell(
                t["ack_conditional"],
                t["ack_conditional_yes"] if view.conditional else t["ack_conditional_no"],
            )
        ],
    ]
    return {
        "t": t,
        "lang": lang,
        "view": view,
        "for_print": for_print,
        # printed, the stylesheet is the pre-parsed one of `_print_resources`
        "css": "" if for_print else Markup(_stylesheet()),  # noqa: S704 - our own file
        "csp": _policy(),
        "created": view.issued_on.isoformat(),
        "amount_figures": _money(view.amount_minor, view.currency, locale),
        "capitals": to_chinese_capital(
            view.amount_minor, EXPONENTS[view.currency], traditional=lang == "zh-Hant"
        )
        if view.currency == FUNCTIONAL_CURRENCY
        else "—",
        "capitals_lang": "zh-Hant" if lang == "zh-Hant" else "zh-Hans",
        "facts": rows,
        "pdf_url": None if for_print or pdf_url is None else _href(pdf_url, "pdf_url"),
    }


def render_acknowledgment_html(view: AcknowledgmentView, *, pdf_url: str | None = None) -> str:
    """A pledge acknowledgment as a complete HTML page (same stylesheet and CSP as receipts)."""
    context = _acknowledgment_context(view, pdf_url=pdf_url, for_print=False)
    return _environment().get_template(ACKNOWLEDGMENT_TEMPLATE).render(context)


def render_acknowledgment_pdf(view: AcknowledgmentView) -> bytes:
    """A pledge acknowledgment as a one-page A4 PDF/A-3b."""
    context = _acknowledgment_context(view, pdf_url=None, for_print=True)
    html = _environment().get_template(ACKNOWLEDGMENT_TEMPLATE).render(context)
    return _write(*_layout(html, receipt_css=True), None)


def render_html(
    view: ReceiptView,
    *,
    language: str | None = None,
    pdf_url: str | None = None,
    language_links: Mapping[str, str] | None = None,
) -> str:
    """The receipt as a complete HTML page, with a language switcher and PDF link if given.

    `language` overrides `view.language`. `language_links` maps language codes to the URLs of
    the same receipt in those languages.

    Raises:
        ValueError: for an unknown language, or a link that is not http(s) or relative.
    """
    return _render(view, language, pdf_url=pdf_url, language_links=language_links, for_print=False)


def render_pdf(
    view: ReceiptView,
    *,
    language: str | None = None,
    attachment: EmbeddedFile | None = None,
) -> bytes:
    """The receipt as a one-page A4 PDF/A-3b; the same view always gives the same bytes.

    A receipt too long for one page is laid out again, tighter, with fewer lines of "where my
    gift went" and of covered gifts (the rest folded into one line each; the web page and the
    embedded proof keep every line): `SQUEEZE_LINES` per attempt.

    `attachment` (the proof document) is embedded as an associated file of the document
    (/AF, AFRelationship /Data), as PDF/A-3 requires of embedded files.

    Raises:
        ValueError: for an unknown language or an unsafe verify_url.
        ResourceRefused: if the page asks for a resource outside the templates folder.
    """
    for squeeze in range(len(SQUEEZE_LINES)):
        document, fetcher = _layout(
            _render(view, language, for_print=True, squeeze=squeeze), receipt_css=True
        )
        if len(document.pages) == 1:
            break
    return _write(document, fetcher, attachment)


@cache
def _fetcher_class() -> type[URLFetcher]:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class TemplateOnlyFetcher(URLFetcher):  # type: ignore[misc]
        """Serves data: URIs and files under `root`; refuses, and remembers, everything else."""

        def __init__(self, root: Path) -> None:
            super().__init__(allowed_protocols=("data", "file"), fail_on_errors=True)
            self.root = root.resolve()
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
            try:
                scheme = urlsplit(url).scheme.lower()
                if scheme == "data":
                    return super().fetch(url, headers)
                if scheme == "file":
                    return _file_response(url, self.root, URLFetcherResponse)
                raise ResourceRefused(f"receipts fetch no {scheme or 'relative'} URLs: {url!r}")
            except ResourceRefused:
                self.refused.append(url)
                raise

    return TemplateOnlyFetcher


def make_fetcher(root: Path | None = None) -> URLFetcher:
    """A WeasyPrint URL fetcher that serves `data:` URIs and files under `root`, nothing else.

    `root` defaults to the templates folder. A refusal raises `ResourceRefused`, stops the
    render where WeasyPrint lets it, and is kept in the fetcher's `refused` list where
    WeasyPrint swallows it (images inside inline SVG), so `html_to_pdf` can still fail.
    """
    return _fetcher_class()(root or templates_dir())


def _file_response(url: str, root: Path, response: type[URLFetcherResponse]) -> Any:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ResourceRefused(f"file URL on another host refused: {url!r}")
    path = Path(url2pathname(unquote(parts.path))).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise ResourceRefused(f"file outside the receipt templates refused: {url!r}")
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return response(url, body=path.read_bytes(), headers={"Content-Type": content_type})


@dataclass(frozen=True, slots=True)
class EmbeddedFile:
    """A file to embed in the PDF as an associated file (PDF/A-3 /AF)."""

    name: str
    body: bytes
    description: str
    relationship: str = "Data"


#: The PDF variant of receipts: PDF/A-3b (archival, with associated files allowed).
PDF_VARIANT = "pdf/a-3b"


def html_to_pdf(html: str, *, attachment: EmbeddedFile | None = None) -> bytes:
    """Lay out receipt HTML as a PDF/A-3b document with the deny-by-default fetcher.

    Raises:
        ResourceRefused: when the HTML or its CSS asks for any other resource.
    """
    return _write(*_layout(html), attachment)


_PRINT = threading.local()


def _print_resources() -> tuple[Any, Any]:
    """This thread's WeasyPrint font configuration and the receipt stylesheet parsed once
    against it: a warm render neither re-reads the fonts' configuration nor re-parses the CSS
    (Pango's font maps are not shared across threads, hence one pair per thread)."""
    found: tuple[Any, Any] | None = getattr(_PRINT, "resources", None)
    if found is None:
        from weasyprint import CSS
        from weasyprint.text.fonts import FontConfiguration

        fonts = FontConfiguration()
        css = CSS(
            string=_stylesheet(),
            base_url=str(templates_dir()),
            url_fetcher=make_fetcher(),
            font_config=fonts,
        )
        found = _PRINT.resources = (fonts, css)
    return found


def _layout(html: str, *, receipt_css: bool = False) -> tuple[Any, Any]:
    """The laid-out document and its fetcher (WeasyPrint is loaded on first use).

    With `receipt_css` the receipt stylesheet is applied, pre-parsed, from `_print_resources`
    (the printed receipt and acknowledgment carry no <style> of their own)."""
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    fetcher = make_fetcher()
    fonts, css = _print_resources()
    try:
        with warnings.catch_warnings():
            # WeasyPrint opens its sRGB output-intent profile without closing it (PDF/A only);
            # the file is dropped, and warned about, inside these calls.
            warnings.filterwarnings("ignore", "unclosed file", ResourceWarning)
            document = HTML(string=html, base_url=str(templates_dir()), url_fetcher=fetcher).render(
                font_config=fonts,
                stylesheets=[css] if receipt_css else None,
                pdf_variant=PDF_VARIANT,
                uncompressed_pdf=False,
            )
    except FatalURLFetchingError as fatal:
        raise ResourceRefused(str(fatal.__cause__ or fatal)) from fatal
    if fetcher.refused:
        raise ResourceRefused(f"refused to fetch {', '.join(map(repr, fetcher.refused))}")
    return document, fetcher


def _write(document: Any, fetcher: Any, attachment: EmbeddedFile | None) -> bytes:
    from weasyprint import Attachment
    from weasyprint.urls import FatalURLFetchingError

    attachments = []
    if attachment is not None:
        attachments.append(
            Attachment(
                string=attachment.body,
                name=attachment.name,
                description=attachment.description,
                relationship=attachment.relationship,
                url_fetcher=fetcher,
            )
        )
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "unclosed file", ResourceWarning)
            pdf: bytes = document.write_pdf(
                pdf_variant=PDF_VARIANT, attachments=attachments, uncompressed_pdf=False
            )
    except FatalURLFetchingError as fatal:
        raise ResourceRefused(str(fatal.__cause__ or fatal)) from fatal
    if fetcher.refused:
        raise ResourceRefused(f"refused to fetch {', '.join(map(repr, fetcher.refused))}")
    return pdf
