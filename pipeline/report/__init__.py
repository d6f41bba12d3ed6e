"""Reports and exports built from the store (pseudonymized text only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.report.frame import frame
from pipeline.store import Store


def write_reports(store: Store, settings: Any, codebook: Any, out_dir: Path) -> dict[str, Path]:
    """Write the impact report and tables into ``out_dir``; returns name → path."""
    from pipeline.report.simple import write_simple_report

    labels = {code.id: code.label for code in codebook.codes}
    return write_simple_report(
        store, out_dir, labels, codebook.version, lang=settings.report_language
    )


__all__ = ["frame", "write_reports"]
