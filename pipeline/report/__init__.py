"""Reports and exports built from the store (pseudonymized text only).

``write_reports`` is the one entry point ``kracht run`` / ``make demo`` use: it writes the HTML
impact report, the CSV and XLSX tables, the REFI-QDA project (.qdpx) and codebook (.qdc) into one
folder. The parts are usable alone: :func:`frame` for notebooks, :mod:`.html`, :mod:`.export` and
:mod:`.refi` for one format each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.report.frame import frame
from pipeline.store import Store

REPORT_FILES = {
    "html": "report.html",
    "csv": "segments.csv",
    "xlsx": "kracht.xlsx",
    "qdpx": "kracht.qdpx",
    "qdc": "codebook.qdc",
}


def write_reports(store: Store, settings: Any, codebook: Any, out_dir: Path) -> dict[str, Path]:
    """Write the impact report and tables into ``out_dir``; returns name → path.

    The figures are computed once and shared by the HTML and the XLSX, so both show the same
    numbers. The language of the HTML comes from ``settings.report_language`` (nl or en).
    """
    from pipeline.report.export import export_tables
    from pipeline.report.html import write_html
    from pipeline.report.refi import write_qdc, write_qdpx
    from pipeline.report.stats import build_report_data

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / filename for name, filename in REPORT_FILES.items()}
    data = build_report_data(store, codebook)
    lang = getattr(settings, "report_language", "nl") or "nl"
    write_html(store, codebook, paths["html"], lang=lang, data=data)
    export_tables(store, codebook, "csv", paths["csv"])
    export_tables(store, codebook, "xlsx", paths["xlsx"], data=data)
    write_qdpx(store, codebook, paths["qdpx"])
    write_qdc(codebook, paths["qdc"])
    return paths


__all__ = ["REPORT_FILES", "frame", "write_reports"]
