"""The stages as plain functions over (settings, store): what the CLI, the API and flows share.

Each function records a run in the store (parameters, counts, timings, status), so an evaluator
can see afterwards what was done, with which NLP pipeline and which tagger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.coding import CodingSummary, code_segments
from pipeline.config import Settings
from pipeline.ingest.run import Ingestor, IngestSummary, Source
from pipeline.store import Store

log = logging.getLogger(__name__)


@dataclass
class MainResult:
    ingest: IngestSummary
    coding: CodingSummary
    reports: dict[str, Path] = field(default_factory=dict)
    run_id: int | None = None


class RunRecorder:
    """Context manager that writes one ``run`` row, with status failed when the block raises."""

    def __init__(self, store: Store, kind: str, parameters: dict[str, Any]) -> None:
        self.store = store
        self.kind = kind
        self.parameters = parameters
        self.counts: dict[str, Any] = {}
        self.timings: dict[str, float] = {}
        self.nlp: str | None = None
        self.status = "completed"
        self.run_id = 0
        self._t0 = 0.0

    def __enter__(self) -> RunRecorder:
        self.run_id = self.store.start_run(self.kind, self.parameters)
        self._t0 = time.perf_counter()
        return self

    def time(self, name: str, started: float) -> None:
        self.timings[name] = round(time.perf_counter() - started, 3)

    def __exit__(self, exc_type, exc, tb) -> None:
        self.timings["total"] = round(time.perf_counter() - self._t0, 3)
        status = "failed" if exc is not None else self.status
        self.store.finish_run(
            self.run_id, status, self.counts, self.timings,
            error=f"{exc_type.__name__}: {exc}" if exc is not None else None, nlp=self.nlp,
        )


def ingest(
    paths: Iterable[Path | str],
    settings: Settings,
    store: Store,
    on_file: Callable[[Source], None] | None = None,
) -> IngestSummary:
    paths = list(paths)
    with RunRecorder(store, "ingest", {"paths": [str(p) for p in paths]}) as rec:
        started = time.perf_counter()
        summary = Ingestor(settings, store).ingest(paths, on_file=on_file)
        rec.time("ingest", started)
        rec.counts = summary.as_counts()
        if summary.failed:
            rec.status = "completed_with_errors"
    return summary


def load_tagger(settings: Settings):
    from pipeline.tagger import Tagger

    return Tagger.from_settings(settings)


def code(
    settings: Settings,
    store: Store,
    collection: str | None = None,
    document_ids: list[str] | None = None,
    tagger=None,
    retag: bool = False,
) -> CodingSummary:
    with RunRecorder(store, "tag", {"collection": collection, "retag": retag}) as rec:
        started = time.perf_counter()
        tagger = tagger or load_tagger(settings)
        rec.time("load", started)
        rec.nlp = tagger.nlp_name
        codebook = tagger.codebook
        store.record_codebook(codebook.name, codebook.version, codebook.hash, codebook.yaml_text)
        started = time.perf_counter()
        summary = code_segments(
            store, tagger, codebook.hash, collection, document_ids, rec.run_id,
            batch_size=settings.batch_size, retag=retag,
        )
        rec.time("tag", started)
        rec.counts = {**summary.as_counts(), "source": tagger.source}
    return summary


def report(settings: Settings, store: Store, out_dir: Path | None = None) -> dict[str, Path]:
    from pipeline.codebook import load_codebook
    from pipeline.report import write_reports

    out_dir = out_dir or settings.output_dir
    with RunRecorder(store, "report", {"out": str(out_dir)}) as rec:
        codebook = load_codebook(settings.codebook)
        paths = write_reports(store, settings, codebook, out_dir)
        rec.counts = {name: str(path) for name, path in paths.items()}
    return paths


def main(
    paths: Iterable[Path | str], settings: Settings, store: Store,
    on_file: Callable[[Source], None] | None = None,
) -> MainResult:
    """Ingest → code → report: the job ``kracht run`` performs on a folder of stories."""
    summary = ingest(paths, settings, store, on_file=on_file)
    coding = code(settings, store)
    reports = report(settings, store)
    return MainResult(summary, coding, reports)
