"""Charts as inline SVG text, built by hand.

Hand-built SVG keeps the report one self-contained file that works offline, renders crisply at
any zoom, stays small, inherits the page's font and needs no plotting backend at report time.
Every function returns a complete ``<svg>`` string with a ``viewBox`` (so it scales with the
page), a ``role="img"`` and an ``aria-label`` for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

POLARITY_COLORS = {
    "positive": "#1b9e77",
    "mixed": "#e6ab02",
    "neutral": "#a6a6a6",
    "negative": "#d95f02",
}
GRID = "#e3e3e3"
INK = "#333333"
MUTED = "#777777"


def _svg(width: int, height: int, body: str, label: str, css_class: str = "chart") -> str:
    return (
        f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
        f'{height}" width="{width}" height="{height}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 12,
          color: str = INK, weight: str = "normal", extra: str = "") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{color}" font-weight="{weight}"{extra}>{escape(text)}</text>'
    )


def _truncate(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def nice_axis(value: float, max_ticks: int = 5) -> tuple[float, float]:
    """A round axis maximum and tick step for a share, so tick labels read 5%, 10%, 15%…"""
    value = max(value, 0.01)
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25):
        if value / step <= max_ticks:
            return min(math.ceil(value / step - 1e-9) * step, 1.0), step
    return 1.0, 0.25


def pct(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:.{digits}f}%"


def theme_bars(
    rows: Sequence[dict],
    label: str,
    docs_word: str,
    width: int = 960,
) -> str:
    """Horizontal bars: share of segments per theme, split by polarity; group rows as headers.

    ``rows`` items are ``{"group": str}`` headers or ``{"label", "share", "polarity": {...},
    "documents", "n_documents", "segments"}`` theme rows.
    """
    label_w, bar_x, text_w = 210, 220, 170
    bar_w = width - bar_x - text_w
    row_h, head_h, top = 24, 30, 24
    shares = [r["share"] for r in rows if "share" in r]
    axis_max, step = nice_axis(max(shares, default=0.0))
    height = top + sum(head_h if "group" in r else row_h for r in rows) + 8
    parts: list[str] = []
    ticks = round(axis_max / step)
    for i in range(ticks + 1):
        x = bar_x + bar_w * i / ticks
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 4}" '
                     f'stroke="{GRID}"/>')
        parts.append(_text(x, top - 10, pct(step * i), "middle", 11, MUTED))
    y = top
    for row in rows:
        if "group" in row:
            parts.append(_text(0, y + head_h - 10, row["group"], size=13, weight="bold"))
            y += head_h
            continue
        parts.append(_text(label_w - 4, y + 16, _truncate(row["label"], 30), "end", 12))
        total = sum(row["polarity"].values()) or 1
        x = bar_x
        full = bar_w * row["share"] / axis_max
        for pol, color in POLARITY_COLORS.items():
            w = full * row["polarity"].get(pol, 0) / total
            if w > 0:
                parts.append(f'<rect class="bar" x="{x:.1f}" y="{y + 4}" width="{w:.1f}" '
                             f'height="{row_h - 8}" fill="{color}"><title>'
                             f'{escape(row["label"])}: {row["polarity"].get(pol, 0)} {pol}'
                             f"</title></rect>")
                x += w
        parts.append(_text(bar_x + full + 6, y + 16,
                           f'{pct(row["share"])}  ·  {row["documents"]}/{row["n_documents"]} '
                           f"{docs_word}", size=11, color=MUTED))
        y += row_h
    return _svg(width, height, "".join(parts), label, "chart wide")


def polarity_bar(polarity: dict[str, int], label: str, width: int = 240, height: int = 14) -> str:
    """A small stacked bar of the polarity split of one theme (counts in the tooltips)."""
    total = sum(polarity.values())
    parts, x = [], 0.0
    if not total:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="{GRID}"/>')
    for pol, color in POLARITY_COLORS.items():
        n = polarity.get(pol, 0)
        if n:
            w = width * n / total
            parts.append(f'<rect class="bar" x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" '
                         f'fill="{color}"><title>{n} {pol}</title></rect>')
            x += w
    return _svg(width, height, "".join(parts), label, "chart polarity")


def trend_chart(
    periods: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    label: str,
    counts: Sequence[str] | None = None,
    width: int = 960,
    height: int = 230,
) -> str:
    """Lines of shares per period, one per theme (``(label, color, values)``); NaN = no data.

    ``counts`` are printed under the period labels (how many segments a share rests on).
    """
    left, right, top, bottom = 44, 12, 12, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, _, vals in series for v in vals if not math.isnan(v)]
    axis_max, step = nice_axis(max(values, default=0.0), max_ticks=4)
    n = len(periods)

    def px(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n if n else 0)

    def py(v: float) -> float:
        return top + plot_h * (1 - v / axis_max)

    parts: list[str] = []
    for i in range(round(axis_max / step) + 1):
        v = step * i
        parts.append(f'<line x1="{left}" y1="{py(v):.1f}" x2="{width - right}" y2="{py(v):.1f}" '
                     f'stroke="{GRID}"/>')
        parts.append(_text(left - 6, py(v) + 4, pct(v), "end", 11, MUTED))
    step = max(1, math.ceil(n / 12))
    for i, period in enumerate(periods):
        if i % step == 0:
            parts.append(_text(px(i), height - bottom + 18, period, "middle", 11, MUTED))
            if counts:
                parts.append(_text(px(i), height - bottom + 33, counts[i], "middle", 10, MUTED))
    for name, color, vals in series:
        points: list[list[tuple[float, float]]] = [[]]
        for i, v in enumerate(vals):
            if math.isnan(v):
                points.append([])
                continue
            points[-1].append((px(i), py(v)))
        for run in points:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                parts.append(f'<polyline class="line" points="{path}" fill="none" '
                             f'stroke="{color}" stroke-width="2.5"/>')
        for i, v in enumerate(vals):
            if not math.isnan(v):
                parts.append(f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3.5" fill="{color}">'
                             f"<title>{escape(name)} {escape(periods[i])}: {pct(v)}</title>"
                             f"</circle>")
    return _svg(width, height, "".join(parts), label, "chart wide")


def _mix(color_lo: tuple[int, int, int], color_hi: tuple[int, int, int], t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(color_lo, color_hi, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    values: Sequence[Sequence[float]],
    label: str,
    fmt: str = "count",
    highlight_col: int | None = None,
    cell: int = 38,
    col_sublabels: Sequence[str] | None = None,
    triangle: bool = False,
) -> str:
    """A grid of shaded cells with the value printed in each (``fmt``: count or share).

    Column labels are written at 45° when there are many columns (co-occurrence), or level with
    a second line (``col_sublabels``, e.g. the number of segments) when there are few
    (comparison); the margins grow with the labels so nothing is clipped. ``triangle`` is for
    a symmetric matrix: only the lower half is drawn and the diagonal (the totals) is grey, so
    the shading shows how often two different themes meet.
    """
    char_w = 6.4
    longest_row = max((len(_truncate(r, 28)) for r in row_labels), default=4)
    left = int(longest_row * 7 + 16)
    level = col_sublabels is not None
    if level:
        cell_w = int(min(max(max((len(_truncate(c, 18)) for c in col_labels), default=4)
                             * char_w + 14, 70), 130))
        top = 44
    else:
        cell_w = cell
        longest_col = max((len(_truncate(c, 22)) for c in col_labels), default=4)
        top = int(longest_col * char_w * 0.72 + 18)
    cell_h = cell if not level else 32
    right = 10 if level else int(cell * 1.5)
    width = left + cell_w * len(col_labels) + right
    height = top + cell_h * len(row_labels) + 6
    vmax = max((v for i, row in enumerate(values) for j, v in enumerate(row)
                if not (triangle and i == j)), default=0) or 1
    lo, hi = (247, 251, 255), (8, 81, 156)
    parts: list[str] = []
    for j, name in enumerate(col_labels):
        weight = "bold" if j == highlight_col else "normal"
        if level:
            x = left + cell_w * j + (cell_w - 2) / 2
            parts.append(_text(x, top - 24, _truncate(name, 18), "middle", 12, INK, weight))
            parts.append(_text(x, top - 9, col_sublabels[j], "middle", 10, MUTED))
        else:
            x = left + cell_w * j + cell_w / 2
            parts.append(_text(x, top - 8, _truncate(name, 22), "start", 11, INK, weight,
                               f' transform="rotate(-45 {x:.1f} {top - 8})"'))
    for i, name in enumerate(row_labels):
        y = top + cell_h * i
        parts.append(_text(left - 6, y + cell_h / 2 + 4, _truncate(name, 28), "end", 12))
        for j, v in enumerate(values[i]):
            if triangle and j > i:
                continue
            x = left + cell_w * j
            t = 0.0 if triangle and i == j else v / vmax
            fill = _mix(lo, hi, t) if v else "#fafafa"
            if triangle and i == j:
                fill = "#e9e9e9"
            text = (str(int(v)) if fmt == "count" else pct(v)) if v else ""
            parts.append(f'<rect class="cell" x="{x}" y="{y}" width="{cell_w - 2}" '
                         f'height="{cell_h - 2}" fill="{fill}"><title>{escape(row_labels[i])} × '
                         f"{escape(col_labels[j])}: {text or 0}</title></rect>")
            if text:
                parts.append(_text(x + (cell_w - 2) / 2, y + cell_h / 2 + 3, text, "middle",
                                   11 if level else 10, "#ffffff" if t > 0.55 else INK))
    if highlight_col is not None:
        x = left + cell_w * highlight_col
        parts.append(f'<rect x="{x - 1}" y="{top - 1}" width="{cell_w}" '
                     f'height="{cell_h * len(row_labels)}" fill="none" stroke="{INK}" '
                     f'stroke-width="1.5"/>')
    return _svg(width, height, "".join(parts), label)
