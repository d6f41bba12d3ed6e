"""Tables for researchers: CSV, JSON lines and an XLSX workbook with one sheet per view.

Every format is the same :func:`pipeline.report.frame.frame` table (one row per resident
segment × code, with document metadata, polarity, score, source and evidence), so a figure in the
HTML report can be recomputed from any of them. The XLSX adds the report's own summaries (themes,
trend, co-occurrence, quotes) computed by :mod:`pipeline.report.stats`, plus an ``about`` sheet
that says what the numbers rest on.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from pipeline.report.frame import frame
from pipeline.report.stats import POLARITIES, ReportData, build_report_data
from pipeline.store import Store

TableFormat = Literal["csv", "xlsx", "jsonl"]
SHEETS = ("segments", "themes", "trend", "cooccurrence", "quotes", "about")

# The order researchers want to read: who/where/when, then the segment, then the coding.
EXPORT_COLUMNS = [
    "document_id", "source_path", "record", "collection", "neighbourhood", "date",
    "segment_id", "ordinal", "segment_start", "segment_end", "speaker", "role", "text",
    "code", "label", "group", "polarity", "score", "source", "origin", "reviewed",
    "evidence", "evidence_spans", "codebook_hash", "run_id",
]


def export_frame(df: pd.DataFrame, codebook: Any | None = None) -> pd.DataFrame:
    """The frame with code labels and groups added and columns in reading order."""
    labels = {c.id: c.label for c in codebook.codes} if codebook else {}
    groups = {c.id: c.group for c in codebook.codes} if codebook else {}
    out = df.assign(label=df["code"].map(labels), group=df["code"].map(groups))
    return out[EXPORT_COLUMNS]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def write_csv(df: pd.DataFrame, path: Path) -> Path:
    """UTF-8 with a byte-order mark so Excel shows ë and é; evidence spans as JSON text."""
    out = df.assign(evidence_spans=df["evidence_spans"].map(
        lambda spans: json.dumps(list(spans or []), ensure_ascii=False)))
    out.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def write_jsonl(df: pd.DataFrame, path: Path) -> Path:
    """One JSON object per row; evidence spans stay a list of ``{start, end, text}``."""
    with path.open("w", encoding="utf-8") as fh:
        for record in df.to_dict(orient="records"):
            clean = {k: _jsonable(v) if k != "evidence_spans" else list(v or [])
                     for k, v in record.items()}
            fh.write(json.dumps(clean, ensure_ascii=False) + "\n")
    return path


def _clean_cell(value: Any) -> Any:
    """openpyxl refuses control characters; a transcript may still hold one (form feeds)."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def summary_tables(data: ReportData) -> dict[str, pd.DataFrame]:
    """The report's figures as tables (themes, trend, co-occurrence, quotes, about)."""
    themes = pd.DataFrame([
        {
            "group": th.group, "code": th.code, "label": th.label,
            "segments": th.segments, "segment_share": th.segment_share,
            "documents": th.documents, "document_share": th.document_share,
            **{p: th.polarity.get(p, 0) for p in POLARITIES},
            "human_reviewed_segments": th.human, "machine_only": th.machine_only,
        }
        for th in data.themes
    ])
    trend = pd.DataFrame(
        [{"period": p, "resident_segments": data.period_segments[p],
          **{th.code: th.by_period.get(p) for th in data.themes}} for p in data.periods],
        columns=["period", "resident_segments", *[th.code for th in data.themes]],
    )
    cooc = pd.DataFrame(data.cooccurrence, index=data.cooccurrence_codes,
                        columns=data.cooccurrence_codes).reset_index(names="code")
    quotes = pd.DataFrame([
        {"code": th.code, "label": th.label, "document_id": q.document_id,
         "segment_id": q.segment_id, "date": q.date, "collection": q.collection,
         "neighbourhood": q.neighbourhood, "polarity": q.polarity, "origin": q.origin,
         "score": q.score, "text": q.text}
        for th in data.themes for q in th.quotes
    ], columns=["code", "label", "document_id", "segment_id", "date", "collection",
                "neighbourhood", "polarity", "origin", "score", "text"])
    prov = data.provenance
    about_rows = [
        ("collection", data.collection or "(all)"),
        ("neighbourhood", data.neighbourhood or "(all)"),
        ("from", data.start.isoformat() if data.start else ""),
        ("to", data.end.isoformat() if data.end else ""),
        ("documents", data.documents),
        ("resident_segments", data.segments),
        ("coded_segments", data.coded_segments),
        ("codebook", f"{prov.codebook_name} {prov.codebook_version} ({prov.codebook_hash})"),
        ("tag_sources", "; ".join(f"{s}: {n}" for s, n in prov.tag_sources)),
        ("nlp", "; ".join(prov.nlp)),
        ("reviewed_segments", prov.reviewed_segments),
        ("final_tags", prov.final_tags),
        ("human_final_tags", prov.human_final_tags),
        ("share_rule", "share = segments with the code / resident segments in the selection"),
        ("generated", dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()),
    ]
    about = pd.DataFrame(about_rows, columns=["key", "value"]).astype({"value": str})
    return {"themes": themes, "trend": trend, "cooccurrence": cooc, "quotes": quotes,
            "about": about}


def _share_columns(sheet: str, table: pd.DataFrame) -> set[str]:
    """Columns holding a share (0–1), shown as percentages in Excel but kept as numbers."""
    if sheet == "trend":
        return {c for c in table.columns if c not in ("period", "resident_segments")}
    return {c for c in table.columns if str(c).endswith("_share")}


def write_xlsx(df: pd.DataFrame, data: ReportData, path: Path) -> Path:
    """One sheet per view: segments (the full table) and the report's summaries."""
    tables = {"segments": df.assign(evidence_spans=df["evidence_spans"].map(
        lambda spans: json.dumps(list(spans or []), ensure_ascii=False))),
        **summary_tables(data)}
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name in SHEETS:
            table = tables[name].map(_clean_cell)
            table.to_excel(writer, sheet_name=name, index=False)
            sheet = writer.sheets[name]
            sheet.freeze_panes = "A2"
            if len(table.columns):
                sheet.auto_filter.ref = sheet.dimensions
            shares = _share_columns(name, table)
            for i, column in enumerate(table.columns, start=1):
                width = max([len(str(column))] + [len(str(v)) for v in table[column].head(200)])
                letter = get_column_letter(i)
                sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
                if column in shares:
                    for cell in sheet[letter][1:]:
                        cell.number_format = "0.0%"
    return path


def export_tables(
    store: Store,
    codebook: Any,
    fmt: TableFormat,
    path: Path,
    collection: str | None = None,
    neighbourhood: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    view: Literal["final", "all"] = "final",
    data: ReportData | None = None,
) -> Path:
    """Write the segment × code table for the selection as ``fmt`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df = export_frame(frame(store, collection, neighbourhood, start, end, view=view), codebook)
    if fmt == "csv":
        return write_csv(df, path)
    if fmt == "jsonl":
        return write_jsonl(df, path)
    if fmt == "xlsx":
        data = data or build_report_data(store, codebook, collection, neighbourhood, start, end)
        return write_xlsx(df, data, path)
    raise ValueError(f"unknown table format {fmt!r} (csv, xlsx, jsonl)")
