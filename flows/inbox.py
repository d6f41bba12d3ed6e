"""The ``inbox`` flow: files dropped into a folder are ingested once, moved, and tagged.

After its task, each file moves to ``processed/`` (its documents are in the store),
``quarantine/`` (nothing could be ingested; the reason is in the store's quarantine table) or
``skipped/`` (the manifest says no consent). Manifests stay in the inbox for later files. A file
is only picked up once it has not changed for ``min_age_seconds``, so a file still being copied
is left for the next run. A run killed between ingest and move is harmless: the next run finds
the file's documents by content hash and just moves it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.ingest import ingest_files_each
from flows.runners import per_document_flow
from flows.tag import tag_flow
from pipeline.config import Settings
from pipeline.ingest.manifest import is_metadata_file

OUTCOMES = ("processed", "quarantine", "skipped")


def inbox_folder(settings: Any, inbox: str | None) -> Path:
    folder = Path(inbox) if inbox else settings.inbox
    if folder is None:
        raise ValueError("no inbox folder: pass inbox= or set KRACHT_INBOX / inbox in kracht.toml")
    folder = Path(folder).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@task(name="list-inbox", cache_policy=NO_CACHE)
def new_files(folder: str, min_age_seconds: float) -> list[str]:
    """Files waiting in the inbox (not in an outcome folder, not hidden, not a manifest)."""
    root = Path(folder)
    now = time.time()
    found = []
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if not path.is_file() or parts[0] in OUTCOMES or any(p.startswith(".") for p in parts):
            continue
        if is_metadata_file(path) or now - path.stat().st_mtime < min_age_seconds:
            continue
        found.append(str(path))
    return found


def outcome(result: dict[str, Any]) -> str:
    if result.get("document_ids"):
        return "processed"
    if result.get("no_consent"):
        return "skipped"
    return "quarantine"


def move(path: Path, root: Path, where: str) -> Path:
    """Move ``path`` under ``root/where`` keeping its sub-folder; never overwrite a file."""
    target = root / where / path.relative_to(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    stem, suffix, n = target.stem, target.suffix, 1
    while target.exists():
        target = target.with_name(f"{stem}-{n}{suffix}")
        n += 1
    return path.replace(target)


@task(name="move-files", cache_policy=NO_CACHE)
def move_files(folder: str, files: list[str], results: list[dict[str, Any]]) -> dict[str, int]:
    root = Path(folder)
    moved = dict.fromkeys(OUTCOMES, 0)
    for path, result in zip(files, results, strict=True):
        where = outcome(result)
        move(Path(path), root, where)
        moved[where] += 1
    return moved


@flow(name="inbox", log_prints=False)
def inbox_flow(
    inbox: str | None = None,
    home: str | None = None,
    min_age_seconds: float = 2.0,
    tag: bool = True,
    runner: str = "local",
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Ingest new files from the inbox folder, move them by outcome, tag their documents."""
    def params(settings: Settings) -> dict[str, Any]:
        folder = inbox_folder(settings, inbox)
        return {"inbox": str(folder), "min_age_seconds": min_age_seconds, "runner": runner}

    with per_document_flow("inbox", home, params, runner, dask_address) as ctx:
        rec, snap, addr, settings = ctx.record, ctx.snap, ctx.address, ctx.settings
        folder = inbox_folder(settings, inbox)
        files = new_files(str(folder), min_age_seconds)
        results = ingest_files_each(files, snap, runner, addr)
        moved = move_files(str(folder), files, results)
        document_ids = [d for r in results for d in r.get("document_ids", [])]
        counts: dict[str, Any] = {
            "files": len(files),
            **moved,
            "documents_added": sum(r.get("documents_added", 0) for r in results),
            "segments_added": sum(r.get("segments_added", 0) for r in results),
        }
        if tag and document_ids:
            tagged = tag_flow(home=str(settings.home), document_ids=document_ids,
                              runner=runner, dask_address=addr)
            counts["segments_coded"] = tagged["segments_coded"]
            counts["tags_written"] = tagged["tags_written"]
        rec.counts = counts
        if moved["quarantine"]:
            rec.status = "completed_with_errors"
    return counts
