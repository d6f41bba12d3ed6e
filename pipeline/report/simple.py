"""A first, plain impact report: themes per collection with quotes, as HTML and CSV.

Everything in it comes from :func:`pipeline.report.frame.frame`, so it shows pseudonymized text
only.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from pipeline.report.frame import frame
from pipeline.store import Store

TEMPLATES = Path(__file__).parent / "templates"
TEXTS = {
    "nl": {"title": "Gemeenschapskracht in verhalen", "generated": "Gemaakt op",
           "codebook": "codeboek", "source": "bron", "documents": "documenten",
           "segments": "bewonersfragmenten", "theme": "Thema", "share": "Fragmenten"},
    "en": {"title": "Community strength in stories", "generated": "Generated",
           "codebook": "codebook", "source": "source", "documents": "documents",
           "segments": "resident segments", "theme": "Theme", "share": "Segments"},
}


def highlight(text: str, spans: list[dict[str, Any]]) -> str:
    """Escape ``text`` and wrap each evidence span in ``<mark>``."""
    out, pos = [], 0
    for span in sorted(spans, key=lambda e: e["start"]):
        if span["start"] < pos:
            continue
        out.append(html.escape(text[pos:span["start"]]))
        out.append(f"<mark>{html.escape(text[span['start']:span['end']])}</mark>")
        pos = span["end"]
    out.append(html.escape(text[pos:]))
    return "".join(out)


def _collections(df: pd.DataFrame, all_segments: pd.DataFrame, labels: dict[str, str]) -> list[dict]:
    result = []
    groups = all_segments.fillna({"collection": "(zonder collectie)"}).groupby("collection")
    for name, seg_rows in groups:
        coded = df[df["collection"].fillna("(zonder collectie)") == name]
        n_segments = seg_rows["segment_id"].nunique()
        themes = []
        for code, rows in coded.groupby("code"):
            pol = rows["polarity"].value_counts()
            quotes = []
            for _, row in rows.sort_values("score", ascending=False).head(3).iterrows():
                when = row["date"].isoformat() if isinstance(row["date"], dt.date) else ""
                quotes.append({"html": highlight(row["text"], row["evidence_spans"]),
                               "source": f"{Path(str(row['source_path'])).name} {when}".strip()})
            themes.append({
                "code": code, "label": labels.get(code, code),
                "count": rows["segment_id"].nunique(),
                "share": rows["segment_id"].nunique() / max(n_segments, 1),
                "positive": int(pol.get("positive", 0)), "negative": int(pol.get("negative", 0)),
                "mixed": int(pol.get("mixed", 0)), "quotes": quotes,
            })
        themes.sort(key=lambda t: -t["count"])
        result.append({"name": name, "documents": seg_rows["document_id"].nunique(),
                       "segments": n_segments, "themes": themes})
    return result


def write_simple_report(
    store: Store, out_dir: Path, labels: dict[str, str], codebook_version: str, lang: str = "nl"
) -> dict[str, Path]:
    """Write ``report.html`` and ``segments.csv`` into ``out_dir``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    df = frame(store)
    all_segments = frame(store, include_uncoded=True)
    csv_path = out_dir / "segments.csv"
    df.drop(columns=["evidence_spans"]).to_csv(csv_path, index=False)
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())
    texts = TEXTS.get(lang, TEXTS["nl"])
    page = env.get_template("report.html.j2").render(
        lang=lang, t=texts, title=texts["title"],
        generated=dt.date.today().isoformat(), codebook_version=codebook_version,
        sources=", ".join(sorted(df["source"].dropna().unique())) or "-",
        collections=_collections(df, all_segments, labels),
    )
    html_path = out_dir / "report.html"
    html_path.write_text(page, encoding="utf-8")
    return {"html": html_path, "csv": csv_path}
