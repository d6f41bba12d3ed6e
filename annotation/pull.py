"""Pull human annotations back from Label Studio into the store, and serve them as training data.

Each annotation is upserted by its Label Studio id (an edit replaces the row, nothing doubles) and
turned into ``human:<annotator>`` tags beside the machine's, so provenance is kept. Cancelled
(skipped) annotations are stored as such but give no tags. Every evidence span is checked against
the segment text before it is kept: a span whose text does not match is dropped and counted.
Annotations that disappear from Label Studio are kept in the store: nothing pulled is lost.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from annotation import labeling_config as lc
from annotation.client import LabelStudioClient, LabelStudioError, connect
from pipeline.schema import POLARITIES
from pipeline.store import Annotation, ReviewTask, Segment, Store, Tag, TaggedSegment

log = logging.getLogger(__name__)

HUMAN = "human:"
#: adjudication order when annotators tie on polarity: the more informative valence wins
_POLARITY_TIEBREAK = ("mixed", "negative", "positive", "neutral")


@dataclass
class PullResult:
    project_id: int
    tasks: int = 0
    annotations: int = 0
    new: int = 0
    updated: int = 0
    cancelled: int = 0
    spans_kept: int = 0
    spans_rejected: int = 0
    unknown_codes: int = 0
    unknown_tasks: int = 0
    segments_tagged: int = 0


def _when(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def from_utf16(text: str, index: int) -> int:
    """Inverse of ``push.to_utf16``: a JavaScript string offset to a Python one."""
    if text.isascii():
        return index
    units = 0
    for i, ch in enumerate(text):
        if units >= index:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


def annotator_name(completed_by: Any, users: dict[int, str]) -> str:
    """A stable annotator name: the Label Studio user's email (or id when unknown)."""
    if isinstance(completed_by, dict):
        return str(completed_by.get("email") or completed_by.get("username") or completed_by["id"])
    if completed_by in users:
        return users[completed_by]
    return f"user{completed_by}"


def themes_from_result(
    result: list[dict[str, Any]], text: str, codes: set[str] | None, counts: PullResult
) -> list[dict[str, Any]]:
    """Turn one annotation's result into themes, verifying every span against ``text``."""
    chosen: list[str] = []
    polarity: dict[str, str] = {}
    spans: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in result or []:
        name = item.get("from_name", "")
        value = item.get("value") or {}
        if name == lc.CODES:
            chosen.extend(value.get("choices") or [])
        elif (code := lc.code_of_polarity_name(name)) is not None:
            picked = value.get("choices") or []
            if picked and picked[0] in POLARITIES:
                polarity[code] = picked[0]
        elif name == lc.EVIDENCE:
            try:
                start = from_utf16(text, int(value["start"]))
                end = from_utf16(text, int(value["end"]))
            except (KeyError, TypeError, ValueError):
                counts.spans_rejected += 1
                continue
            claimed = value.get("text")
            if not (0 <= start < end <= len(text)) or (
                claimed is not None and text[start:end] != claimed
            ):
                counts.spans_rejected += 1
                continue
            counts.spans_kept += 1
            for code in value.get("labels") or []:
                spans[code].append({"start": start, "end": end, "text": text[start:end]})
    themes = []
    for code in dict.fromkeys(chosen):
        if codes is not None and code not in codes:
            counts.unknown_codes += 1
            continue
        themes.append(
            {
                "code": code,
                "score": 1.0,
                "polarity": polarity.get(code, "neutral"),
                "evidence": spans.get(code, []),
            }
        )
    return themes


def _codebook(settings: Any) -> tuple[set[str] | None, str | None]:
    try:
        from pipeline.codebook import load_codebook

        codebook = load_codebook(settings.codebook)
    except Exception as exc:  # a broken codebook must not block saving human work
        log.warning("codebook not loaded (%s); keeping every code as annotated", exc)
        return None, None
    return set(codebook.ids), codebook.hash


def pull(store: Store, settings: Any, *, client: LabelStudioClient | None = None) -> PullResult:
    """Export the project's annotations and store them (idempotent; safe to run any time)."""
    own_client = client is None
    client = client or connect(settings)
    try:
        project = client.find_project(settings.ls_project)
        if project is None:
            raise LabelStudioError(
                f"no Label Studio project titled {settings.ls_project!r}: run `kracht review push`"
            )
        project_id = int(project["id"])
        tasks = client.export(project_id)
        users = {
            int(u["id"]): str(u.get("email") or u.get("username") or u["id"])
            for u in client.users()
        }
    finally:
        if own_client:
            client.close()
    codes, codebook_hash = _codebook(settings)
    result = PullResult(project_id=project_id, tasks=len(tasks))
    run_id = store.start_run("review.pull", {"project": settings.ls_project})
    with store.session() as s:
        mapped = dict(
            s.execute(
                select(ReviewTask.task_id, ReviewTask.segment_id).where(
                    ReviewTask.project_id == project_id
                )
            ).all()
        )
        for task in tasks:
            sid = (task.get("data") or {}).get("segment_id") or mapped.get(task.get("id"))
            segment = s.get(Segment, sid) if sid else None
            if segment is None:
                result.unknown_tasks += 1
                continue
            latest: dict[str, tuple[dt.datetime, Annotation]] = {}
            for raw in task.get("annotations") or []:
                row = _upsert(s, raw, task, segment.id, users, result)
                when = row.updated_at or row.created_at or dt.datetime.min
                if row.annotator not in latest or when >= latest[row.annotator][0]:
                    latest[row.annotator] = (when, row)
            for annotator, (_, row) in latest.items():
                source = f"{HUMAN}{annotator}"
                if row.cancelled:
                    s.execute(delete(Tag).where(Tag.segment_id == segment.id, Tag.source == source))
                    s.execute(
                        delete(TaggedSegment).where(
                            TaggedSegment.segment_id == segment.id, TaggedSegment.source == source
                        )
                    )
                    continue
                themes = themes_from_result(row.result, segment.text, codes, result)
                store.replace_tags(s, segment.id, source, themes, codebook_hash, run_id)
                result.segments_tagged += 1
    store.finish_run(run_id, "done", counts=vars(result))
    return result


def _upsert(
    s: Any,
    raw: dict[str, Any],
    task: dict[str, Any],
    segment_id: str,
    users: dict[int, str],
    counts: PullResult,
) -> Annotation:
    counts.annotations += 1
    row = s.get(Annotation, int(raw["id"]))
    fields = {
        "task_id": int(task["id"]),
        "segment_id": segment_id,
        "annotator": annotator_name(raw.get("completed_by"), users),
        "result": raw.get("result") or [],
        "cancelled": bool(raw.get("was_cancelled")),
        "created_at": _when(raw.get("created_at")),
        "updated_at": _when(raw.get("updated_at")),
    }
    if fields["cancelled"]:
        counts.cancelled += 1
    if row is None:
        row = Annotation(id=int(raw["id"]), **fields)
        s.add(row)
        counts.new += 1
    elif any(getattr(row, k) != v for k, v in fields.items()):
        for key, value in fields.items():
            setattr(row, key, value)
        counts.updated += 1
    return row


# --- training examples ----------------------------------------------------------------------
def adjudicate(votes: list[dict[str, str]]) -> dict[str, str]:
    """Merge several annotators' ``{code: polarity}`` maps into one.

    A code is kept when at least half of the annotators chose it (strict majority, and ties kept:
    with two annotators one "yes" is enough). Why keep ties: a code one careful reader saw is
    more often a code another missed than a code invented, and the reviewed set is small, so
    losing positives costs more than a little noise. Polarity is the most frequent one among the
    annotators who chose the code; a tie goes to ``mixed`` when positive and negative both
    occur, else to the first of mixed, negative, positive, neutral.
    """
    n = len(votes)
    if n == 0:
        return {}
    counts = Counter(code for vote in votes for code in vote)
    out: dict[str, str] = {}
    for code, k in counts.items():
        if 2 * k < n:
            continue
        pols = Counter(vote[code] for vote in votes if code in vote)
        top = max(pols.values())
        tied = {p for p, c in pols.items() if c == top}
        if len(tied) == 1:
            out[code] = tied.pop()
        elif {"positive", "negative"} <= tied:
            out[code] = "mixed"
        else:
            out[code] = next(p for p in _POLARITY_TIEBREAK if p in tied)
    return dict(sorted(out.items()))


def reviewed_examples(store: Store) -> list[dict[str, Any]]:
    """Human-reviewed resident segments as training examples, adjudicated across annotators.

    One dict per segment: ``{"id", "text", "speaker": "resident", "themes": {code: polarity}}``
    (the data file format of the annotation guide); a segment reviewed with no code gives
    ``"themes": {}``, which is a useful negative example.
    """
    with store.session() as s:
        reviewed = s.execute(
            select(TaggedSegment.segment_id, TaggedSegment.source).where(
                TaggedSegment.source.startswith(HUMAN)
            )
        ).all()
        sources: dict[str, list[str]] = defaultdict(list)
        for sid, source in reviewed:
            sources[sid].append(source)
        votes: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        for tag in s.scalars(select(Tag).where(Tag.source.startswith(HUMAN))):
            votes[(tag.segment_id, tag.source)][tag.code] = tag.polarity
        out = []
        for sid in sorted(sources):
            segment = s.get(Segment, sid)
            if segment is None or segment.role != "resident":
                continue
            merged = adjudicate([votes.get((sid, src), {}) for src in sorted(sources[sid])])
            out.append({"id": sid, "text": segment.text, "speaker": "resident", "themes": merged})
        return out
