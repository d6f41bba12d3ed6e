"""The coding stage: run the tagger over resident segments in the store and keep its tags.

Only resident segments are ever sent to the tagger. A segment counts as coded by a source once
that source has looked at it (``tagged_segment``), even when it found nothing, so a re-run or a
killed run picks up exactly the segments that are left.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import and_, select

from pipeline.schema import TagInput, TagOutput
from pipeline.store import Document, Segment, Store, TaggedSegment


class SegmentTagger(Protocol):
    source: str
    nlp_name: str

    def tag(
        self, items, batch_size: int | None = None, n_process: int = 1
    ) -> Iterator[TagOutput]: ...


@dataclass
class CodingSummary:
    segments_coded: int = 0
    tags_written: int = 0

    def as_counts(self) -> dict[str, int]:
        return {"segments_coded": self.segments_coded, "tags_written": self.tags_written}


def pending_segments(
    store: Store,
    source: str,
    collection: str | None = None,
    document_ids: list[str] | None = None,
    retag: bool = False,
) -> list[tuple[str, str]]:
    """(segment id, text) of resident segments that ``source`` has not coded yet."""
    with store.session() as s:
        query = (
            select(Segment.id, Segment.text)
            .join(Document, Document.id == Segment.document_id)
            .where(Segment.role == "resident")
            .order_by(Segment.document_id, Segment.ordinal)
        )
        if not retag:
            query = query.outerjoin(
                TaggedSegment,
                and_(TaggedSegment.segment_id == Segment.id, TaggedSegment.source == source),
            ).where(TaggedSegment.segment_id.is_(None))
        if collection:
            query = query.where(Document.collection == collection)
        if document_ids is not None:
            query = query.where(Segment.document_id.in_(document_ids))
        return [(row[0], row[1]) for row in s.execute(query)]


def code_segments(
    store: Store,
    tagger: SegmentTagger,
    codebook_hash: str | None,
    collection: str | None = None,
    document_ids: list[str] | None = None,
    run_id: int | None = None,
    batch_size: int = 256,
    retag: bool = False,
) -> CodingSummary:
    """Tag pending resident segments; each batch of results is written in one transaction."""
    summary = CodingSummary()
    pending = pending_segments(store, tagger.source, collection, document_ids, retag)
    for start in range(0, len(pending), batch_size):
        chunk = pending[start:start + batch_size]
        items = [TagInput(id=sid, text=text, speaker="resident") for sid, text in chunk]
        outputs = list(tagger.tag(items, batch_size=batch_size))
        with store.session() as s:
            for out in outputs:
                themes = [t.model_dump() for t in out.themes]
                Store.replace_tags(s, out.id, tagger.source, themes, codebook_hash, run_id)
                summary.tags_written += len(themes)
        summary.segments_coded += len(outputs)
    return summary
