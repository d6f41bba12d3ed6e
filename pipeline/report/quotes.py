"""Quotes for the report: which segments to show per theme, trimmed, with evidence highlighted.

A funder reads two to four quotes per theme, so they should be the clearest ones (human-confirmed
first, then the machine's most certain), come from different documents, and show the other side
too when residents also spoke negatively. Text is the pseudonymized segment text; the source is
named by a short document reference and date, never by file name (file names may carry names).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any

import pandas as pd

EXCERPT_CHARS = 360
CONTEXT_BEFORE = 120


@dataclass
class Quote:
    html: str
    text: str
    document: str
    document_id: str
    segment_id: str
    date: dt.date | None
    collection: str | None
    neighbourhood: str | None
    polarity: str
    origin: str
    score: float


def document_ref(document_id: str) -> str:
    """A short, stable reference a reader can quote back (``doc 3f2a9c1d``)."""
    return f"doc {document_id[:8]}"


def highlight(text: str, spans: list[dict[str, Any]]) -> str:
    """Escape ``text`` and wrap each evidence span in ``<mark>`` (overlapping spans merged)."""
    out, pos = [], 0
    for span in sorted(spans, key=lambda e: (e["start"], e["end"])):
        start, end = max(span["start"], pos), min(span["end"], len(text))
        if end <= start:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        pos = end
    out.append(html.escape(text[pos:]))
    return "".join(out)


def excerpt(
    text: str, spans: list[dict[str, Any]], limit: int = EXCERPT_CHARS
) -> tuple[str, list[dict[str, Any]]]:
    """Cut long segments around the first evidence span at word boundaries; shift the spans."""
    if len(text) <= limit:
        return text, spans
    first = min((s["start"] for s in spans), default=0)
    lo = max(0, first - CONTEXT_BEFORE)
    if lo:
        space = text.rfind(" ", 0, lo + 1)
        lo = space + 1 if space > 0 else lo
    hi = min(len(text), lo + limit)
    if hi < len(text):
        space = text.rfind(" ", lo, hi)
        hi = space if space > lo else hi
    prefix, suffix = ("… " if lo else ""), (" …" if hi < len(text) else "")
    shift = len(prefix) - lo
    moved = [
        {**s, "start": max(s["start"], lo) + shift, "end": min(s["end"], hi) + shift}
        for s in spans if s["end"] > lo and s["start"] < hi
    ]
    return prefix + text[lo:hi] + suffix, moved


def pick_quotes(rows: pd.DataFrame, n: int = 3) -> list[Quote]:
    """Up to ``n`` quotes: the best one, then the best of another polarity, then other documents."""
    if rows.empty or n <= 0:
        return []
    ranked = rows.assign(
        _human=(rows["origin"] == "human").astype(int),
        _len_ok=rows["text"].str.len().between(40, 600).astype(int),
    ).sort_values(["_human", "_len_ok", "score", "segment_id"],
                  ascending=[False, False, False, True])
    chosen: list[pd.Series] = []
    docs: set[str] = set()
    polarities: set[str] = set()

    def take(row: pd.Series) -> None:
        chosen.append(row)
        docs.add(row["document_id"])
        polarities.add(row["polarity"])

    records = [row for _, row in ranked.drop_duplicates("segment_id").iterrows()]
    take(records[0])
    for row in records[1:]:
        if len(chosen) >= n:
            break
        if row["polarity"] not in polarities and row["document_id"] not in docs:
            take(row)
            break
    for row in records[1:]:
        if len(chosen) >= n:
            break
        if row["document_id"] not in docs:
            take(row)
    for row in records[1:]:
        if len(chosen) >= min(n, 2):
            break
        if all(row["segment_id"] != c["segment_id"] for c in chosen):
            take(row)
    return [_quote(row) for row in chosen]


def _quote(row: pd.Series) -> Quote:
    spans = list(row["evidence_spans"] or [])
    text, spans = excerpt(str(row["text"]), spans)
    date = row["date"] if isinstance(row["date"], dt.date) else None
    return Quote(
        html=highlight(text, spans), text=text, document=document_ref(str(row["document_id"])),
        document_id=str(row["document_id"]), segment_id=str(row["segment_id"]), date=date,
        collection=row["collection"] if isinstance(row["collection"], str) else None,
        neighbourhood=row["neighbourhood"] if isinstance(row["neighbourhood"], str) else None,
        polarity=str(row["polarity"]), origin=str(row["origin"]), score=float(row["score"]),
    )
