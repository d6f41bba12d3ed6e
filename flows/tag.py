"""The ``tag`` flow: code the resident segments the current tagger has not coded yet.

Documents are split into chunks, one task per chunk, each running
:func:`pipeline.coding.code_segments` (the code behind ``kracht code``). Whether a segment is
done is read from the store (``tagged_segment``), not from a Prefect cache, so a killed run or a
re-run codes exactly the segments that are left and nothing twice.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import select

from flows.common import (
    SettingsSnapshot,
    resources,
)
from flows.runners import per_document_flow, run_each
from pipeline.coding import code_segments
from pipeline.store import Document, Segment

DEFAULT_CHUNK = 25


@task(name="documents-to-tag", cache_policy=NO_CACHE)
def documents_with_resident_segments(
    snap: SettingsSnapshot, collection: str | None, document_ids: list[str] | None
) -> list[str]:
    """Documents that have resident segments (whether coded yet is decided per chunk)."""
    store = resources(snap).store
    with store.session() as s:
        query = (
            select(Segment.document_id)
            .join(Document, Document.id == Segment.document_id)
            .where(Segment.role == "resident")
            .distinct()
            .order_by(Segment.document_id)
        )
        if collection:
            query = query.where(Document.collection == collection)
        if document_ids is not None:
            query = query.where(Segment.document_id.in_(document_ids))
        return list(s.scalars(query))


@task(name="tag-documents", cache_policy=NO_CACHE)
def tag_documents(
    document_ids: list[str], snap: SettingsSnapshot, run_id: int | None, retag: bool = False
) -> dict[str, Any]:
    """Code the pending resident segments of a few documents; one transaction per batch."""
    res = resources(snap)
    started = time.perf_counter()
    tagger = res.tagger
    loaded = time.perf_counter()
    summary = code_segments(
        res.store, tagger, tagger.codebook.hash, None, document_ids, run_id,
        batch_size=res.settings.batch_size, retag=retag,
    )
    return {
        **summary.as_counts(),
        "source": tagger.source,
        "nlp": tagger.nlp_name,
        "load_s": loaded - started,
        "tag_s": time.perf_counter() - loaded,
    }


def chunks(items: list[str], size: int) -> list[list[str]]:
    size = max(1, size)
    return [items[i:i + size] for i in range(0, len(items), size)]


@flow(name="tag", log_prints=False)
def tag_flow(
    home: str | None = None,
    collection: str | None = None,
    document_ids: list[str] | None = None,
    retag: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
    runner: str = "local",
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Code pending resident segments (all, one collection, or given documents)."""
    params = {"collection": collection, "document_ids": document_ids, "retag": retag}
    with per_document_flow("tag", home, params, runner, dask_address) as ctx:
        rec, snap = ctx.record, ctx.snap
        docs = documents_with_resident_segments(snap, collection, document_ids)
        parts = run_each(tag_documents, chunks(docs, chunk_size), runner, ctx.address, snap=snap,
                         run_id=rec.run_id, retag=retag)
        counts: dict[str, Any] = {"documents": len(docs), "segments_coded": 0, "tags_written": 0}
        for part in parts:
            counts["segments_coded"] += part["segments_coded"]
            counts["tags_written"] += part["tags_written"]
            counts["source"] = part["source"]
            rec.nlp = part["nlp"]
            rec.timings["load"] = round(max(rec.timings.get("load", 0.0), part["load_s"]), 3)
            rec.timings["tag"] = round(rec.timings.get("tag", 0.0) + part["tag_s"], 3)
        rec.counts = counts
    return counts
