"""Small inline SVG charts for the audit pack and the transparency page, drawn by hand.

Invariants owned here:
- Output is a self-contained ``<svg>`` element: no scripts, no external references, no style
  attributes (presentation attributes only, so a strict CSP without 'unsafe-inline' holds).
- Every label is XML-escaped here; the returned `Markup` is safe to insert unescaped.
- Money values are integer fen; axis labels are rendered in yuan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

__all__ = ["bar_chart", "raised_vs_spent"]

_FONT = "Noto Sans CJK SC, Noto Sans, sans-serif"
_RAISED, _SPENT = "#2b6cb0", "#c05621"


def _yuan(fen: int) -> str:
    value = fen / 100
    if abs(value) >= 10_000:
        return f"{value / 10_000:,.1f}万"
    return f"{value:,.0f}"


def raised_vs_spent(
    title: str, months: Sequence[str], raised: Sequence[int], spent: Sequence[int]
) -> Markup:
    """Cumulative money raised and spent per month, as two lines."""
    width, height, left, bottom, top = 520, 170, 56, 28, 26
    plot_w, plot_h = width - left - 12, height - top - bottom
    cum_r, cum_s, r_total, s_total = [], [], 0, 0
    for r, s in zip(raised, spent, strict=True):
        r_total, s_total = r_total + r, s_total + s
        cum_r.append(r_total)
        cum_s.append(s_total)
    peak = max([1, *cum_r, *cum_s])
    n = max(1, len(months) - 1)

    def point(i: int, v: int) -> str:
        x = left + plot_w * i / n
        y = top + plot_h * (1 - max(v, 0) / peak)
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_FONT}" font-size="10" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{escape(_yuan(peak))}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for i, month in enumerate(months):
        if len(months) <= 12 or i % 3 == 0:
            x = left + plot_w * i / n
            parts.append(
                f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle">{escape(month)}</text>'
            )
    for values, colour, dash, label in (
        (cum_r, _RAISED, "", "筹款 raised"),
        (cum_s, _SPENT, ' stroke-dasharray="5,3"', "支出 spent"),
    ):
        if len(values) == 1:
            values = [values[0], values[0]]
        points = " ".join(point(i * n // max(1, len(values) - 1), v) for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'
        )
        parts.append(
            f'<text x="{left + plot_w - 150 + (75 if colour == _SPENT else 0)}" y="14" '
            f'fill="{colour}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label above went through escape()


def bar_chart(
    title: str,
    items: Sequence[tuple[str, int]] | Mapping[str, int],
    *,
    labels_above: bool = False,
) -> Markup:
    """Horizontal bars, largest first (values in fen). `labels_above` puts each whole label on
    its own line above its bar (nothing cut off, for narrow screens)."""
    pairs = sorted(items.items() if isinstance(items, Mapping) else items, key=lambda p: -p[1])
    if labels_above:
        return _bars_labelled_above(title, pairs)
    width, row_h, left, top = 520, 20, 150, 24
    height = top + row_h * max(1, len(pairs)) + 8
    peak = max([1, *(v for _, v in pairs)])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_FONT}" font-size="10" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
    ]
    if not pairs:
        parts.append(f'<text x="0" y="{top + 12}">—</text>')
    for i, (label, value) in enumerate(pairs):
        y = top + i * row_h
        bar = max(0.0, (width - left - 80) * value / peak)
        short = label if len(label) <= 14 else label[:13] + "…"
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(short)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{bar:.1f}" height="{row_h - 6}" '
            f'fill="{_RAISED}"/>'
            f'<text x="{left + bar + 4:.1f}" y="{y + 13}">{escape(_yuan(value))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label above went through escape()


def _label_lines(label: str, room: int = 28) -> list[str]:
    """A label cut into lines of at most `room` columns (a CJK character counts two)."""
    lines, line, used = [], "", 0
    for char in label:
        width = 2 if ord(char) > 0x2E7F else 1
        if used + width > room and line:
            lines.append(line)
            line, used = "", 0
        line, used = line + char, used + width
    return [*lines, line] if line else lines or [""]


def _bars_labelled_above(title: str, pairs: Sequence[tuple[str, int]]) -> Markup:
    """Each label in full on its own lines, its bar and value below: at 360 px wide (the width
    the page scales it to on a phone) the font stays readable and no label is truncated."""
    width, line_h, bar_h, top, size = 360, 15, 24, 24, 12
    labelled = [(_label_lines(label, 52), value) for label, value in pairs]
    height = top + sum(len(lines) * line_h + bar_h for lines, _ in labelled) + 4
    peak = max([1, *(v for _, v in pairs)])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_FONT}" font-size="{size}" role="img" '
        f'aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="15" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    if not pairs:
        parts.append(f'<text x="0" y="{top + 14}">—</text>')
    y = top
    for lines, value in labelled:
        for line in lines:
            parts.append(f'<text x="0" y="{y + 12}">{escape(line)}</text>')
            y += line_h
        bar = max(0.0, (width - 90) * value / peak)
        parts.append(
            f'<rect x="0" y="{y + 2}" width="{bar:.1f}" height="14" fill="{_RAISED}"/>'
            f'<text x="{bar + 4:.1f}" y="{y + 14}">{escape(_yuan(value))}</text>'
        )
        y += bar_h
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every label above went through escape()
