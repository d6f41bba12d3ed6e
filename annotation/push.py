"""Push resident segments to Label Studio as review tasks, with the machine's tags as predictions.

Rules this module keeps:

- one task per resident segment, found again by ``data.segment_id`` (and the ``ReviewTask`` row),
  so a re-push updates predictions and never adds a second task;
- only pseudonymized text leaves the store (``Segment.text`` and neighbouring segments of the same
  document; never ``RawText``), and documents not marked pseudonymized are held back while
  pseudonymization is switched on;
- resumable: tasks go in batches and each batch is recorded as soon as Label Studio confirms it.
  Before importing, and whenever a batch fails in a way that may have half-succeeded, the project
  is reconciled with the tasks already in it, so a re-run after a crash finishes the work with
  every segment exactly once;
- fast: tasks are imported in bulk without predictions, then the predictions in bulk for the same
  batch (measured faster on Label Studio 1.23 than predictions inline, which it validates one by
  one).
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from annotation import labeling_config as lc
from annotation.client import LabelStudioClient, LabelStudioUnavailable, connect
from pipeline.store import Document, ReviewTask, Segment, Store, Tag, TaggedSegment

log = logging.getLogger(__name__)

Order = Literal["document", "uncertainty"]
CONTEXT_TURNS_BEFORE = 2
CONTEXT_TURNS_AFTER = 1
CONTEXT_MAX_CHARS = 700
RECONCILE_TRIES = 3


class PushError(RuntimeError):
    """Push stopped; the message says how far it got and that a re-run continues."""


@dataclass
class PushResult:
    project_id: int
    selected: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    held_back: int = 0
    recovered: int = 0
    seconds: float = 0.0
    duplicates_in_project: int = 0
    sources: dict[str, int] = field(default_factory=dict)

    @property
    def tasks_per_second(self) -> float:
        done = self.created + self.updated + self.unchanged
        return done / self.seconds if self.seconds else 0.0


@dataclass(slots=True)
class SegRow:
    """The columns of a segment that push needs (plain rows load far faster than ORM objects)."""

    id: str
    document_id: str
    ordinal: int
    turn: int
    speaker: str
    role: str
    start: int
    end: int
    text: str


@dataclass(slots=True)
class TagRow:
    code: str
    score: float
    polarity: str
    evidence: list[Any]


_SEG_COLUMNS = (
    Segment.id,
    Segment.document_id,
    Segment.ordinal,
    Segment.turn,
    Segment.speaker,
    Segment.role,
    Segment.start,
    Segment.end,
    Segment.text,
)


@dataclass
class _Item:
    """One segment on its way to Label Studio."""

    segment: SegRow
    document_id: str
    source: str | None
    tags: list[TagRow]

    @property
    def uncertainty_key(self) -> float:
        if not self.tags:
            return float("inf")
        return min(abs(t.score - 0.5) for t in self.tags)


# --- project --------------------------------------------------------------------------------
def load_codes(settings: Any) -> tuple[list[Any], str | None, str | None]:
    """The codebook's codes, hash and version (the codebook module owns validation)."""
    from pipeline.codebook import load_codebook

    codebook = load_codebook(settings.codebook)
    return list(codebook.codes), codebook.hash, codebook.version


def ensure_project(
    client: LabelStudioClient, title: str, config: str, description: str = ""
) -> dict[str, Any]:
    """Find the project by title (create it if missing) and bring its config up to date."""
    project = client.find_project(title)
    if project is None:
        try:
            return client.create_project(title, config, description)
        except LabelStudioUnavailable:
            # the create may have gone through before the connection broke: look again
            project = client.find_project(title)
            if project is None:
                raise
    if not lc.same_config(project.get("label_config"), config):
        log.info("updating the labeling config of project %s to the codebook", project["id"])
        project = client.update_project(project["id"], label_config=config, description=description)
    return project


# --- selection ------------------------------------------------------------------------------
def _machine_tags(
    s: Session, segment_ids: Sequence[str]
) -> dict[str, tuple[str | None, list[TagRow]]]:
    """Per segment, the latest machine (non-human) source and its tags."""
    latest: dict[str, tuple[Any, str]] = {}
    for chunk in _chunks(list(segment_ids), 900):
        for sid, source, at in s.execute(
            select(TaggedSegment.segment_id, TaggedSegment.source, TaggedSegment.at).where(
                TaggedSegment.segment_id.in_(chunk), ~TaggedSegment.source.startswith("human:")
            )
        ):
            if sid not in latest or at >= latest[sid][0]:
                latest[sid] = (at, source)
        for sid, source, at in s.execute(
            select(Tag.segment_id, Tag.source, func.max(Tag.created_at))
            .where(Tag.segment_id.in_(chunk), ~Tag.source.startswith("human:"))
            .group_by(Tag.segment_id, Tag.source)
        ):
            if sid not in latest:
                latest[sid] = (at, source)
    tags: dict[str, list[TagRow]] = defaultdict(list)
    wanted = {(sid, source) for sid, (_, source) in latest.items()}
    columns = (Tag.segment_id, Tag.source, Tag.code, Tag.score, Tag.polarity, Tag.evidence)
    for chunk in _chunks(list(latest), 900):
        for sid, source, code, score, polarity, evidence in s.execute(
            select(*columns).where(Tag.segment_id.in_(chunk))
        ):
            if (sid, source) in wanted:
                tags[sid].append(TagRow(code, score, polarity, evidence or []))
    return {sid: (source, tags.get(sid, [])) for sid, (_, source) in latest.items()}


def select_items(
    s: Session,
    *,
    collection: str | None,
    limit: int | None,
    order: Order,
    require_pseudonymized: bool,
) -> tuple[list[_Item], int]:
    """Resident segments to push, in review order; also how many were held back (not private)."""
    query = (
        select(*_SEG_COLUMNS, Document.pseudonymized)
        .join(Document, Document.id == Segment.document_id)
        .where(Segment.role == "resident")
        .order_by(Segment.document_id, Segment.ordinal)
    )
    if collection is not None:
        query = query.where(Document.collection == collection)
    held_back = 0
    segments: list[SegRow] = []
    for *columns, pseudonymized in s.execute(query):
        if require_pseudonymized and not pseudonymized:
            held_back += 1
            continue
        segments.append(SegRow(*columns))
    machine = _machine_tags(s, [seg.id for seg in segments])
    items = [_Item(seg, seg.document_id, *machine.get(seg.id, (None, []))) for seg in segments]
    if order == "uncertainty":
        items.sort(key=lambda it: it.uncertainty_key)  # stable: document order breaks ties
    elif order != "document":
        raise ValueError(f"unknown order {order!r}: use 'document' or 'uncertainty'")
    if limit is not None:
        items = items[: max(0, limit)]
    return items, held_back


# --- task payloads --------------------------------------------------------------------------
def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CONTEXT_MAX_CHARS else text[: CONTEXT_MAX_CHARS - 1] + "…"


def _speaker(segment: SegRow) -> str:
    return f"{segment.speaker} ({segment.role})"


def _turn_line(turn: list[SegRow]) -> dict[str, str]:
    return {"speaker": _speaker(turn[0]), "text": _clip(" ".join(x.text for x in turn))}


def build_contexts(
    s: Session, items: Sequence[_Item]
) -> dict[str, tuple[list[dict[str, str]], list[dict[str, str]]]]:
    """The turns before and after each segment (same document), speaker and role shown."""
    wanted = {it.segment.id for it in items}
    by_doc: dict[str, list[SegRow]] = defaultdict(list)
    doc_ids = sorted({it.document_id for it in items})
    for chunk in _chunks(doc_ids, 900):
        for row in s.execute(
            select(*_SEG_COLUMNS)
            .where(Segment.document_id.in_(chunk))
            .order_by(Segment.document_id, Segment.ordinal)
        ):
            by_doc[row[1]].append(SegRow(*row))
    out: dict[str, tuple[list[dict[str, str]], list[dict[str, str]]]] = {}
    for segs in by_doc.values():
        out.update(_document_contexts(segs, wanted))
    return out


def _document_contexts(
    segs: list[SegRow], wanted: set[str]
) -> dict[str, tuple[list[dict[str, str]], list[dict[str, str]]]]:
    """Context lines for the wanted segments of one document (segments in reading order)."""
    turns: list[list[SegRow]] = []
    for seg in segs:
        if turns and turns[-1][0].turn == seg.turn:
            turns[-1].append(seg)
        else:
            turns.append([seg])
    cache: dict[int, dict[str, str]] = {}

    def line(k: int) -> dict[str, str]:
        if k not in cache:
            cache[k] = _turn_line(turns[k])
        return cache[k]

    out = {}
    for i, turn in enumerate(turns):
        for pos, seg in enumerate(turn):
            if seg.id not in wanted:
                continue
            before = [line(k) for k in range(max(0, i - CONTEXT_TURNS_BEFORE), i)]
            if pos > 0:
                before.append(_turn_line(turn[:pos]))
            after = [_turn_line(turn[pos + 1 :])] if pos < len(turn) - 1 else []
            after += [line(k) for k in range(i + 1, min(len(turns), i + 1 + CONTEXT_TURNS_AFTER))]
            out[seg.id] = (
                before or [{"speaker": "—", "text": "(begin van het gesprek)"}],
                after or [{"speaker": "—", "text": "(einde van het gesprek)"}],
            )
    return out


def task_data(item: _Item, context: tuple[list[dict], list[dict]]) -> dict[str, Any]:
    seg = item.segment
    return {
        "segment_id": seg.id,
        "document_id": item.document_id,
        "text": seg.text,
        "header": f"{seg.speaker} ({seg.role}), segment {seg.ordinal}",
        lc.CONTEXT_BEFORE: context[0],
        lc.CONTEXT_AFTER: context[1],
    }


def to_utf16(text: str, index: int) -> int:
    """Label Studio counts offsets in UTF-16 code units (JavaScript); Python in code points."""
    if text.isascii():
        return index
    return index + sum(1 for ch in text[:index] if ord(ch) > 0xFFFF)


def evidence_spans(segment: SegRow, tag: TagRow) -> list[tuple[int, int, str]]:
    """The tag's evidence as offsets into the segment text, each checked against that text."""
    spans = []
    for ev in tag.evidence or []:
        try:
            start, end, text = int(ev["start"]), int(ev["end"]), ev.get("text")
        except (KeyError, TypeError, ValueError):
            continue
        for s0, e0 in ((start, end), (start - segment.start, end - segment.start)):
            if 0 <= s0 < e0 <= len(segment.text) and (text is None or segment.text[s0:e0] == text):
                spans.append((s0, e0, segment.text[s0:e0]))
                break
        else:
            log.debug("evidence span %s-%s does not match segment %s", start, end, segment.id)
    return spans


def prediction_result(item: _Item) -> list[dict[str, Any]]:
    """The machine's tags as Label Studio result items for the generated config."""
    tags = sorted(item.tags, key=lambda t: t.code)
    if not tags:
        return []
    result: list[dict[str, Any]] = [
        {
            "from_name": lc.CODES,
            "to_name": lc.TEXT,
            "type": "choices",
            "value": {"choices": [t.code for t in tags]},
        }
    ]
    for tag in tags:
        result.append(
            {
                "from_name": lc.polarity_name(tag.code),
                "to_name": lc.TEXT,
                "type": "choices",
                "value": {"choices": [tag.polarity]},
            }
        )
    text = item.segment.text
    for tag in tags:
        for n, (start, end, span) in enumerate(evidence_spans(item.segment, tag)):
            result.append(
                {
                    "id": f"{tag.code[:20]}-{n}",
                    "from_name": lc.EVIDENCE,
                    "to_name": lc.TEXT,
                    "type": "labels",
                    "value": {
                        "start": to_utf16(text, start),
                        "end": to_utf16(text, end),
                        "text": span,
                        "labels": [tag.code],
                    },
                }
            )
    return result


def prediction(item: _Item, task_id: int | None = None) -> dict[str, Any]:
    """One prediction; its score is the confidence of the least certain code (LS can sort on it)."""
    pred: dict[str, Any] = {
        "model_version": item.source or "unknown",
        "result": prediction_result(item),
    }
    if item.tags:
        pred["score"] = round(0.5 + min(abs(t.score - 0.5) for t in item.tags), 4)
    if task_id is not None:
        pred["task"] = task_id
    return pred


# --- reconcile and record -------------------------------------------------------------------
def project_tasks(client: LabelStudioClient, project_id: int) -> tuple[dict[str, int], int]:
    """segment id → task id for every task in the project, and how many segments appear twice."""
    seen: dict[str, int] = {}
    duplicates = 0
    for task in client.iter_tasks(project_id):
        sid = (task.get("data") or {}).get("segment_id")
        if sid is None:
            continue
        if sid in seen:
            duplicates += 1
            seen[sid] = min(seen[sid], task["id"])
        else:
            seen[sid] = task["id"]
    return seen, duplicates


def record_tasks(
    store: Store, project_id: int, rows: Iterable[tuple[str, int, str | None]]
) -> None:
    """Write (segment id, task id, prediction source) rows; one transaction per batch."""
    rows = list(rows)
    if not rows:
        return
    with store.session() as s:
        for chunk in _chunks(rows, 900):
            s.execute(delete(ReviewTask).where(ReviewTask.segment_id.in_([r[0] for r in chunk])))
            s.execute(
                insert(ReviewTask),
                [
                    {
                        "segment_id": sid,
                        "project_id": project_id,
                        "task_id": tid,
                        "prediction_source": source,
                    }
                    for sid, tid, source in chunk
                ],
            )


def _known_tasks(store: Store, project_id: int) -> dict[str, int]:
    with store.session() as s:
        return dict(
            s.execute(
                select(ReviewTask.segment_id, ReviewTask.task_id).where(
                    ReviewTask.project_id == project_id
                )
            ).all()
        )


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- push -----------------------------------------------------------------------------------
def push(
    store: Store,
    settings: Any,
    collection: str | None = None,
    limit: int | None = None,
    order: Order = "document",
    *,
    client: LabelStudioClient | None = None,
    batch_size: int = 5000,
    codes: list[Any] | None = None,
) -> PushResult:
    """Create or update the review project and put the selected segments in it, exactly once.

    ``limit`` takes the first N segments of ``order`` (already pushed ones are updated, so the
    same call is repeatable). ``batch_size`` tasks go per import request: big batches are much
    cheaper for Label Studio (measured: 5,000 tasks cost it half the CPU in one request that they
    cost in five), and a batch cut short is reconciled, not repeated. The run is recorded in the
    store's ``run`` table with its counts, or with the error that stopped it.
    """
    params = {
        "collection": collection,
        "limit": limit,
        "order": order,
        "project": settings.ls_project,
    }
    run_id = store.start_run("review.push", params)
    try:
        result = _push(store, settings, collection, limit, order, client, batch_size, codes)
    except Exception as exc:
        store.finish_run(run_id, "failed", error=str(exc)[:2000])
        raise
    counts = {k: v for k, v in vars(result).items() if k not in ("seconds", "sources")}
    store.finish_run(run_id, "done", counts=counts, timings={"seconds": result.seconds})
    return result


def _push(
    store: Store,
    settings: Any,
    collection: str | None,
    limit: int | None,
    order: Order,
    client: LabelStudioClient | None,
    batch_size: int,
    codes: list[Any] | None,
) -> PushResult:
    started = time.perf_counter()
    if codes is None:
        codes, codebook_hash, version = load_codes(settings)
    else:
        codebook_hash, version = None, None
    config = lc.build_labeling_config(codes)
    description = "kracht: resident segments to review" + (
        f" (codebook {version}, {codebook_hash[:12]})" if codebook_hash and version else ""
    )
    own_client = client is None
    client = client or connect(settings)
    try:
        client.whoami()
        project = ensure_project(client, settings.ls_project, config, description)
        project_id = int(project["id"])
        with store.session() as s:
            items, held_back = select_items(
                s,
                collection=collection,
                limit=limit,
                order=order,
                require_pseudonymized=bool(settings.privacy.enabled),
            )
            contexts = build_contexts(s, items)
            s.expunge_all()
        result = PushResult(project_id=project_id, selected=len(items), held_back=held_back)
        for item in items:
            key = item.source or "none"
            result.sources[key] = result.sources.get(key, 0) + 1

        known = _known_tasks(store, project_id)
        in_project = project.get("task_number")  # unknown (None) means: ask the project
        if in_project == 0:
            existing: dict[str, int] = {}
        elif in_project is not None and int(in_project) == len(known):
            existing = known  # every task in the project is one we recorded: no orphans to find
        else:
            existing, result.duplicates_in_project = project_tasks(client, project_id)
        _forget_missing(store, project_id, known, existing)

        old = [it for it in items if it.segment.id in existing]
        new = [it for it in items if it.segment.id not in existing]
        done = 0
        try:
            for batch in _chunks(new, batch_size):
                created, recovered = _import_batch(
                    client, store, project_id, list(batch), contexts, existing
                )
                result.created += created
                result.recovered += recovered
                done += len(batch)
            stale, fine = _stale_predictions(client, project_id, old, existing) if old else ([], [])
            record_tasks(store, project_id, [(it.segment.id, existing[it.segment.id], it.source)
                                             for it in fine])  # fmt: skip
            result.unchanged = len(fine)
            done += len(fine)
            for batch in _chunks(stale, batch_size):
                _replace_predictions(client, store, project_id, list(batch), existing)
                result.updated += len(batch)
                done += len(batch)
        except LabelStudioUnavailable as exc:
            raise PushError(
                f"push stopped after {done} of {len(items)} segments: {exc}. Nothing is lost and "
                "nothing will double: run `kracht review push` again to continue."
            ) from None
        result.seconds = time.perf_counter() - started
        return result
    finally:
        if own_client:
            client.close()


def _forget_missing(
    store: Store, project_id: int, known: dict[str, int], existing: dict[str, int]
) -> None:
    """Fix the store's mapping to what the project really holds (deleted or re-created tasks)."""
    stale = [sid for sid, tid in known.items() if existing.get(sid) != tid]
    if not stale:
        return
    with store.session() as s:
        for chunk in _chunks(stale, 900):
            s.execute(delete(ReviewTask).where(ReviewTask.segment_id.in_(chunk)))
    moved = [(sid, existing[sid], None) for sid in stale if sid in existing]
    record_tasks(store, project_id, moved)


def _import_batch(
    client: LabelStudioClient,
    store: Store,
    project_id: int,
    batch: list[_Item],
    contexts: dict[str, tuple[list[dict], list[dict]]],
    existing: dict[str, int],
) -> tuple[int, int]:
    """Import one batch of new tasks, then their predictions; reconcile if the import is unsure.

    Returns (tasks created, tasks found already created by a lost earlier attempt).
    """
    recovered = 0
    for attempt in range(RECONCILE_TRIES):
        todo = [it for it in batch if it.segment.id not in existing]
        if not todo:
            break
        payload = [{"data": task_data(it, contexts[it.segment.id])} for it in todo]
        try:
            answer = client.import_tasks(project_id, payload)
        except LabelStudioUnavailable:
            if attempt == RECONCILE_TRIES - 1:
                raise
            log.warning("import of %d tasks may or may not have landed; reconciling", len(todo))
            found, _ = project_tasks(client, project_id)
            hits = {it.segment.id: found[it.segment.id] for it in todo if it.segment.id in found}
            recovered += len(hits)
            existing.update(hits)
            record_tasks(store, project_id, [(sid, tid, None) for sid, tid in hits.items()])
            continue
        ids = answer.get("task_ids") or []
        if len(ids) != len(todo):
            found, _ = project_tasks(client, project_id)
            ids = [found[it.segment.id] for it in todo]
        existing.update({it.segment.id: tid for it, tid in zip(todo, ids, strict=True)})
        pairs = zip(todo, ids, strict=True)
        record_tasks(store, project_id, [(it.segment.id, tid, None) for it, tid in pairs])
        break
    # predictions for the whole batch (recovered tasks included, they may lack them)
    _replace_predictions(client, store, project_id, batch, existing, fresh=recovered == 0)
    return len(batch) - recovered, recovered


def _fingerprint(preds: list[dict[str, Any]]) -> list[str]:
    """What makes two prediction lists the same for a reviewer: version, result, score."""
    out = []
    for p in preds:
        score = p.get("score")
        key = {
            "model_version": p.get("model_version"),
            "result": p.get("result") or [],
            "score": None if score is None else round(float(score), 4),
        }
        out.append(json.dumps(key, sort_keys=True, ensure_ascii=False))
    return sorted(out)


def _stale_predictions(
    client: LabelStudioClient, project_id: int, items: list[_Item], existing: dict[str, int]
) -> tuple[list[_Item], list[_Item]]:
    """Split tasks already in the project into (predictions to replace, predictions current).

    Label Studio deletes predictions one by one (a signal per prediction), so replacing is slow;
    comparing first makes the common re-push, where little changed, cheap. A task whose
    predictions were lost in a crash differs from the wanted ones and so gets them again.
    """
    current: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for pred in client.predictions(project_id):
        current[int(pred["task"])].append(pred)
    stale, fine = [], []
    for it in items:
        wanted = [prediction(it)] if it.source is not None else []
        have = current.get(existing[it.segment.id], [])
        (fine if _fingerprint(have) == _fingerprint(wanted) else stale).append(it)
    return stale, fine


def _replace_predictions(
    client: LabelStudioClient,
    store: Store,
    project_id: int,
    batch: list[_Item],
    existing: dict[str, int],
    fresh: bool = False,
) -> None:
    """Swap the predictions of these tasks for the current machine tags (repeatable)."""
    task_ids = [existing[it.segment.id] for it in batch]
    if not fresh:
        client.delete_predictions(project_id, task_ids)
    # a segment no machine has coded gets no prediction; one coded without codes gets an empty one
    preds = [prediction(it, existing[it.segment.id]) for it in batch if it.source is not None]
    if preds:
        try:
            client.import_predictions(project_id, preds)
        except LabelStudioUnavailable:
            # a lost answer may hide a landed import: clear and import once more, then give up
            client.delete_predictions(project_id, task_ids)
            client.import_predictions(project_id, preds)
    record_tasks(
        store,
        project_id,
        [(it.segment.id, existing[it.segment.id], it.source) for it in batch],
    )
