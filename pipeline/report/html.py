"""The HTML impact report: one self-contained file a funder can open offline and mail on.

Figures come from :mod:`pipeline.report.stats`, charts from :mod:`pipeline.report.charts` (inline
SVG), words from :mod:`pipeline.report.i18n`; this module only arranges them for the template.
Nothing is loaded from the network: the stylesheet is inlined and there is no script.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from pipeline.report import charts
from pipeline.report.i18n import period_label, texts
from pipeline.report.stats import POLARITIES, ReportData, build_report_data
from pipeline.store import Store

TEMPLATES = Path(__file__).parent / "templates"
# A quarter with fewer resident segments than this is left out of the trend lines: one or two
# stories would swing its share between 0% and 50% and a funder would read that as change.
MIN_PERIOD_SEGMENTS = 10


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("kracht")
    except Exception:  # not installed as a package (running from a checkout)
        return ""


def _selection(data: ReportData, t: dict[str, str], lang: str) -> list[tuple[str, str]]:
    def fmt(d: dt.date | None) -> str:
        return d.strftime("%d-%m-%Y") if lang == "nl" and d else (d.isoformat() if d else "…")

    period = t["whole_period"]
    if data.start or data.end:
        period = f"{fmt(data.start)} – {fmt(data.end)}"
    elif data.first_date:
        period = f"{t['whole_period']} ({fmt(data.first_date)} – {fmt(data.last_date)})"
    return [
        (t["collection"], data.collection or t["all_collections"]),
        (t["neighbourhood"], data.neighbourhood or t["all_neighbourhoods"]),
        (t["period"], period),
    ]


def _overview_rows(data: ReportData) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for group in data.groups:
        rows.append({"group": group.label})
        for theme in group.themes:
            rows.append({
                "label": theme.label, "share": theme.segment_share, "polarity": theme.polarity,
                "documents": theme.documents, "n_documents": data.documents,
            })
    return rows


def _trend(data: ReportData, t: dict[str, str], lang: str) -> dict[str, Any] | None:
    """One line chart per group (themes of a group share a chart, so it stays readable)."""
    usable = [p for p, n in data.period_segments.items() if n >= MIN_PERIOD_SEGMENTS]
    if len(usable) < 2:
        return None
    unit = t["year"] if data.periods and "-K" not in data.periods[0] else t["quarter"]
    labels = [period_label(p, lang) for p in data.periods]
    counts = [t["trend_counts"].format(n=data.period_segments[p]) for p in data.periods]
    groups = []
    for group in data.groups:
        series = [(th.label, th.color,
                   [th.by_period.get(p, math.nan) if p in usable else math.nan
                    for p in data.periods])
                  for th in group.themes if th.segments]
        if not series:
            continue
        svg = charts.trend_chart(labels, series, t["chart_trend"].format(group=group.label),
                                 counts=counts)
        groups.append({"id": group.id, "label": group.label, "svg": Markup(svg),
                       "legend": [(name, color) for name, color, _ in series]})
    skipped = len(data.periods) - len(usable)
    note = (t["trend_skipped"].format(n=skipped, unit=unit, min=MIN_PERIOD_SEGMENTS)
            if skipped else "")
    return {"unit": unit, "groups": {g["id"]: g for g in groups}, "skipped": note}


def _highlights(data: ReportData, t: dict[str, str]) -> list[str]:
    """Three themes residents speak of most, and the theme most often spoken of negatively."""
    found = sorted((th for th in data.themes if th.segments),
                   key=lambda th: (-th.segment_share, th.label))
    lines = [t["highlight_top"].format(label=th.label, share=charts.pct(th.segment_share),
                                       d=th.documents, n=data.documents) for th in found[:3]]
    worrying = [th for th in found
                if th.polarity.get("negative", 0) >= 2
                and th.polarity["negative"] >= 0.4 * sum(th.polarity.values())]
    if worrying:
        th = max(worrying, key=lambda th: (th.polarity["negative"] / sum(th.polarity.values()),
                                           th.polarity["negative"]))
        lines.append(t["highlight_negative"].format(
            label=th.label, neg=th.polarity["negative"], total=sum(th.polarity.values())))
    return lines


def render_html(data: ReportData, lang: str = "nl") -> str:
    """The report page for ``data`` as a string (see module docstring)."""
    t = texts(lang)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    env.filters["pct"] = charts.pct
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    theme_labels = {th.code: th.label for th in data.themes}

    overview = Markup(charts.theme_bars(_overview_rows(data), t["chart_overview"],
                                        t["docs_word"])) if data.segments else None
    comparison = None
    if len(data.comparison) > 1:
        codes = [th.code for th in data.themes]
        selected = next((i for i, c in enumerate(data.comparison) if c.selected), None)
        comparison = Markup(charts.heatmap(
            [theme_labels[c] for c in codes],
            [c.name for c in data.comparison],
            [[c.shares.get(code, 0.0) for c in data.comparison] for code in codes],
            t["chart_comparison"], fmt="share", highlight_col=selected,
            col_sublabels=[f"{c.segments} {t['segments']}" for c in data.comparison],
        ))
    cooccurrence = None
    if len(data.cooccurrence_codes) >= 2:
        names = [theme_labels.get(c, c) for c in data.cooccurrence_codes]
        cooccurrence = Markup(charts.heatmap(names, names, data.cooccurrence,
                                             t["chart_cooccurrence"], triangle=True))
    polarity_svgs = {
        th.code: Markup(charts.polarity_bar(th.polarity,
                                            t["chart_polarity"].format(theme=th.label)))
        for th in data.themes if th.segments
    }
    prov = data.provenance
    agreement = [
        {**row, "label": theme_labels.get(row["code"], row["code"])}
        for row in prov.agreement
        if row["between_humans"] is not None or row["machine_human"] is not None
    ]
    template = env.get_template("report.html.j2")
    return template.render(
        lang=lang, t=t, css=Markup(css), data=data,
        generated=dt.date.today().strftime("%d-%m-%Y" if lang == "nl" else "%Y-%m-%d"),
        selection=_selection(data, t, lang),
        coded_share=data.coded_segments / data.segments if data.segments else None,
        reviewed_share=prov.human_final_tags / prov.final_tags if prov.final_tags else None,
        overview=overview, comparison=comparison, cooccurrence=cooccurrence,
        trend=_trend(data, t, lang), polarity_svgs=polarity_svgs,
        polarities=[(p, charts.POLARITY_COLORS[p], t[f"{p}_long"]) for p in POLARITIES],
        agreement=agreement, version=_version(), highlights=_highlights(data, t),
        show_between=any(row["between_humans"] is not None for row in agreement),
    )


def write_html(
    store: Store,
    codebook: Any,
    path: Path,
    collection: str | None = None,
    neighbourhood: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    lang: str = "nl",
    data: ReportData | None = None,
) -> Path:
    """Compute the figures for the selection and write the report to ``path``."""
    data = data or build_report_data(store, codebook, collection, neighbourhood, start, end)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data, lang), encoding="utf-8")
    return path
