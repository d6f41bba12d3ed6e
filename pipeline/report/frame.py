"""Coded segments as a pandas DataFrame: one row per segment × code.

The same table feeds the HTML report, the CSV/XLSX export, the REFI-QDA export and notebooks, so
the numbers a funder reads and the numbers a researcher recomputes are the same. ``view="final"``
takes human tags where a segment was reviewed and the machine's tags elsewhere; ``view="all"``
keeps every source side by side.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import pandas as pd
from sqlalchemy import Select, select

from pipeline.store import Annotation, Document, Segment, Store, Tag

COLUMNS = [
    "document_id", "source_path", "collection", "neighbourhood", "date", "segment_id",
    "ordinal", "speaker", "role", "text", "code", "polarity", "score", "source", "origin",
    "evidence", "evidence_spans",
    # added after the first release; appended so positional users of the table keep working
    "record", "segment_start", "segment_end", "codebook_hash", "run_id", "reviewed",
]


def _filtered(
    query: Select[Any],
    collection: str | None,
    neighbourhood: str | None,
    start: dt.date | None,
    end: dt.date | None,
) -> Select[Any]:
    """Apply the selection every report and export shares (resident segments only)."""
    query = query.where(Segment.role == "resident")
    if collection:
        query = query.where(Document.collection == collection)
    if neighbourhood:
        query = query.where(Document.neighbourhood == neighbourhood)
    if start:
        query = query.where(Document.date >= start)
    if end:
        query = query.where(Document.date <= end)
    return query


def frame(
    store: Store,
    collection: str | None = None,
    neighbourhood: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    view: Literal["final", "all"] = "final",
    include_uncoded: bool = False,
) -> pd.DataFrame:
    """Tags joined with their segment and document metadata (pseudonymized text only).

    ``reviewed`` is True for segments a human looked at (a human tag or a non-cancelled review
    annotation); in the final view such a segment shows only what the humans kept, so a code the
    reviewer removed does not come back from the machine.
    """
    with store.session() as s:
        seg_query = _filtered(
            select(Segment, Document).join(Document, Document.id == Segment.document_id),
            collection, neighbourhood, start, end,
        )
        segments = {seg.id: (seg, doc) for seg, doc in s.execute(seg_query)}
        tags_by_segment: dict[str, list[Tag]] = {}
        reviewed: set[str] = set()
        if segments:
            tag_query = _filtered(
                select(Tag)
                .join(Segment, Segment.id == Tag.segment_id)
                .join(Document, Document.id == Segment.document_id),
                collection, neighbourhood, start, end,
            )
            for tag in s.scalars(tag_query):
                tags_by_segment.setdefault(tag.segment_id, []).append(tag)
                if tag.source.startswith("human:"):
                    reviewed.add(tag.segment_id)
            ann_query = select(Annotation.segment_id).where(
                Annotation.cancelled.is_(False), Annotation.segment_id.is_not(None)
            )
            reviewed.update(sid for sid in s.scalars(ann_query) if sid in segments)

    rows = []
    for seg_id, (seg, doc) in segments.items():
        tags = tags_by_segment.get(seg_id, [])
        if view == "final":
            tags = final_tags(tags, reviewed=seg_id in reviewed)
        base = {
            "document_id": doc.id,
            "source_path": doc.source_path,
            "collection": doc.collection,
            "neighbourhood": doc.neighbourhood,
            "date": doc.date,
            "segment_id": seg.id,
            "ordinal": seg.ordinal,
            "speaker": seg.speaker,
            "role": seg.role,
            "text": seg.text,
            "record": doc.record,
            "segment_start": seg.start,
            "segment_end": seg.end,
            "reviewed": seg_id in reviewed,
        }
        if not tags and include_uncoded:
            rows.append({**base, "code": None, "polarity": None, "score": None, "source": None,
                         "origin": None, "evidence": None, "evidence_spans": [],
                         "codebook_hash": None, "run_id": None})
        for tag in tags:
            rows.append(
                {
                    **base,
                    "code": tag.code,
                    "polarity": tag.polarity,
                    "score": tag.score,
                    "source": tag.source,
                    "origin": "human" if tag.source.startswith("human:") else "machine",
                    "evidence": " … ".join(e.get("text", "") for e in tag.evidence or []),
                    "evidence_spans": tag.evidence or [],
                    "codebook_hash": tag.codebook_hash,
                    "run_id": tag.run_id,
                }
            )
    df = pd.DataFrame(rows, columns=COLUMNS)
    df = df.astype({"segment_start": "Int64", "segment_end": "Int64", "ordinal": "Int64",
                    "run_id": "Int64", "score": "float64"})
    return df.sort_values(
        ["document_id", "ordinal", "code", "source"], na_position="first"
    ).reset_index(drop=True)


def final_tags(tags: list[Tag], reviewed: bool = False) -> list[Tag]:
    """Human tags win over machine tags; among machine sources the newest run wins.

    Where several annotators coded a segment, a code is kept when at least half of them gave it,
    with the polarity most of them chose. A ``reviewed`` segment without human tags keeps no
    codes: the reviewer saw the machine's codes and dropped them all.
    """
    human = [t for t in tags if t.source.startswith("human:")]
    if human:
        annotators = {t.source for t in human}
        by_code: dict[str, list[Tag]] = {}
        for t in human:
            by_code.setdefault(t.code, []).append(t)
        kept = []
        for _code, group in sorted(by_code.items()):
            if len(group) * 2 >= len(annotators):
                polarities = [t.polarity for t in group]
                best = max(set(polarities), key=lambda p: (polarities.count(p), p))
                kept.append(next(t for t in group if t.polarity == best))
        return kept
    if not tags or reviewed:
        return []
    return machine_tags(tags)


def machine_tags(tags: list[Tag]) -> list[Tag]:
    """The newest machine source's tags on one segment (what the machine says now)."""
    machine = [t for t in tags if not t.source.startswith("human:")]
    if not machine:
        return []
    latest = max(machine, key=lambda t: (t.created_at, t.id or 0))
    return [t for t in machine if t.source == latest.source]
