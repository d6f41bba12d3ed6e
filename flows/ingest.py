"""The ``ingest`` flow: one task per file, so one bad file is quarantined and the rest goes on.

Work per file is :meth:`pipeline.ingest.run.Ingestor.ingest_source`, the same code ``kracht
ingest`` runs. The store stays the source of truth: a file's task result is cached (keyed on the
file's sha256, its manifest metadata and the store) only once the store already holds its
documents, so a cache can never skip work the store does not have — a new or emptied store, or a
deleted document, means the file is read again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import TaskRunContext
from sqlalchemy import select

from flows.common import (
    Resources,
    SettingsSnapshot,
    flow_run_id,
    resources,
    short_error,
)
from flows.runners import per_document_flow, run_each
from pipeline.ingest.archive import ArchiveMember, expand_archive
from pipeline.ingest.manifest import ManifestIndex, is_metadata_file
from pipeline.ingest.readers import supported_extensions
from pipeline.ingest.run import Ingestor, IngestSummary, Source, discover
from pipeline.store import Document

FileResult = dict[str, Any]


ARCHIVE_MARK = "!"


def source_for(display: str) -> Source:
    """The :class:`Source` behind a name from :func:`discover`: a file, or ``a.zip!member``."""
    path = Path(display)
    if path.is_file() or ARCHIVE_MARK not in display:
        absolute = path.resolve()
        return Source(display, absolute, absolute.stat().st_size, absolute.read_bytes)
    archive = Path(display.split(ARCHIVE_MARK, 1)[0])
    for item in expand_archive(archive.resolve(), supported_extensions(), is_metadata_file):
        if isinstance(item, ArchiveMember) and item.display.endswith(display[len(str(archive)):]):
            return Source(display, item.path, item.size, item.load)
    raise FileNotFoundError(f"{display}: no such file or archive member")


def ingestor_for(res: Resources, epoch: str | None) -> Ingestor:
    """This process's ingestor, with manifests read afresh once per flow run (``epoch``)."""
    ingestor = res.ingestor
    if epoch and getattr(ingestor, "_kracht_epoch", None) != epoch:
        ingestor.manifests = ManifestIndex()
        ingestor._kracht_epoch = epoch
    return ingestor


def ingest_cache_key(_ctx: TaskRunContext, parameters: dict[str, Any]) -> str | None:
    """Cache only files whose documents the store already has (None = do not cache)."""
    if not parameters.get("cacheable", True):
        return None
    snap: SettingsSnapshot = parameters["snap"]
    res = resources(snap)
    try:
        source = source_for(parameters["path"])
        sha = hashlib.sha256(source.load()).hexdigest()
        with res.store.session() as s:
            ids = sorted(s.scalars(select(Document.id).where(Document.sha256 == sha)))
        if not ids:
            return None
        meta = ingestor_for(res, parameters.get("epoch")).manifests.lookup(source.path)
    except Exception:  # unreadable file or manifest: let the task run and quarantine it
        return None
    parts = [sha, res.store.url, ",".join(ids), repr(dataclasses.asdict(meta))]
    return "ingest-" + hashlib.sha256("\0".join(parts).encode()).hexdigest()


@task(name="discover", cache_policy=NO_CACHE)
def discover_files(paths: list[str], snap: SettingsSnapshot) -> tuple[list[str], FileResult]:
    """Expand folders; missing paths and unsupported files are quarantined here."""
    summary = IngestSummary()
    found = [source.display for source in discover(paths, summary, resources(snap).store)]
    return found, dataclasses.asdict(summary)


@task(
    name="ingest-file",
    task_run_name="ingest {path}",
    cache_key_fn=ingest_cache_key,
    cache_expiration=dt.timedelta(days=30),
)
def ingest_file(
    path: str, snap: SettingsSnapshot, epoch: str | None = None, cacheable: bool = True
) -> FileResult:
    """Ingest one file; never raises for a bad file (it is quarantined and counted instead).

    ``epoch`` (the flow run id) makes a long-lived worker re-read manifests once per flow run;
    ``cacheable`` False (the store was empty when the run began) skips the cache-key lookup.
    """
    res = resources(snap)
    ingestor = ingestor_for(res, epoch)
    summary = IngestSummary(files=1)
    try:
        source = source_for(path)
        ingestor.ingest_source(source, summary)
    except Exception as exc:  # a reader or pseudonymizer bug must not fail the whole flow
        reason = f"unexpected error: {short_error(exc)}"
        res.store.quarantine(path, reason, "unexpected", None)
        summary.quarantined.append((path, reason))
    return dataclasses.asdict(summary)


def merge(total: IngestSummary, part: FileResult) -> None:
    """Add one file's (or discovery's) counts to the run's summary."""
    for name in ("files", "documents_added", "documents_updated", "duplicates", "segments_added"):
        setattr(total, name, getattr(total, name) + int(part.get(name, 0)))
    total.quarantined.extend(tuple(q) for q in part.get("quarantined", []))
    total.no_consent.extend(part.get("no_consent", []))
    total.document_ids.extend(part.get("document_ids", []))


def ingest_files_each(
    files: list[str], snap: SettingsSnapshot, runner: str = "local", address: str | None = None
) -> list[FileResult]:
    """Ingest files (not folders), one task per file, on ``runner``; one result per file."""
    with resources(snap).store.session() as s:
        cacheable = s.scalar(select(Document.id).limit(1)) is not None
    return run_each(ingest_file, files, runner, address, snap=snap, epoch=flow_run_id(),
                    cacheable=cacheable)


def ingest_files(
    files: list[str], snap: SettingsSnapshot, runner: str = "local", address: str | None = None
) -> IngestSummary:
    """Like :func:`ingest_files_each`, with the results added up."""
    summary = IngestSummary()
    for part in ingest_files_each(files, snap, runner, address):
        merge(summary, part)
    return summary


@flow(name="ingest", log_prints=False)
def ingest_flow(
    paths: list[str],
    home: str | None = None,
    runner: str = "local",
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Read, pseudonymize and segment files and folders into the store."""
    params = {"paths": paths, "runner": runner}
    with per_document_flow("ingest", home, params, runner, dask_address) as ctx:
        found, discovered = discover_files([str(p) for p in paths], ctx.snap)
        summary = IngestSummary()
        merge(summary, discovered)
        merge(summary, dataclasses.asdict(ingest_files(found, ctx.snap, runner, ctx.address)))
        ctx.record.counts = summary.as_counts()
        if summary.failed:
            ctx.record.status = "completed_with_errors"
    return dataclasses.asdict(summary)
