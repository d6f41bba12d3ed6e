"""kracht's public Python API: a thin facade over ``pipeline``, ``annotation`` and ``flows``.

    import kracht
    summary = kracht.ingest(["data/sample"])
    themes = kracht.tag_texts(["Door de moestuin ken ik eindelijk mijn buren."])
    df = kracht.frame(collection="Moestuin De Groene Hoek")

Each call builds its settings from the environment / ``kracht.toml`` unless you pass them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.config import Settings, get_settings
from pipeline.schema import EvidenceSpan, TagInput, TagOutput, Theme

if TYPE_CHECKING:
    import pandas as pd

    from pipeline.ingest.run import IngestSummary

__version__ = "0.1.0"


def _store(settings: Settings):
    from pipeline.store import Store

    return Store.from_settings(settings)


def ingest(paths: Iterable[str | Path], settings: Settings | None = None) -> IngestSummary:
    """Ingest files or folders into the store (pseudonymized, segmented)."""
    from pipeline import jobs

    settings = settings or get_settings()
    return jobs.ingest(list(paths), settings, _store(settings))


def tag_texts(texts: Sequence[str], settings: Settings | None = None) -> list[list[Theme]]:
    """Code texts as resident speech; one list of themes per text, in order."""
    from pipeline.tagger import Tagger

    return Tagger.from_settings(settings or get_settings()).tag_texts(texts)


def frame(settings: Settings | None = None, **filters: Any) -> pd.DataFrame:
    """One row per segment × code (see :func:`pipeline.report.frame.frame`)."""
    from pipeline.report.frame import frame as _frame

    return _frame(_store(settings or get_settings()), **filters)


def run(paths: Iterable[str | Path], settings: Settings | None = None) -> Any:
    """Ingest, code and report, as ``kracht run`` does."""
    from pipeline import jobs

    settings = settings or get_settings()
    return jobs.main(list(paths), settings, _store(settings))


__all__ = [
    "EvidenceSpan", "Settings", "TagInput", "TagOutput", "Theme", "frame", "get_settings",
    "ingest", "run", "tag_texts",
]
