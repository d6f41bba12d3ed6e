"""Cut turns into sentence-window segments, the unit that is coded and reviewed.

A segment is at most a few sentences of one speaker, short enough for an annotator to judge at
a glance and for evidence to be specific, and never crosses a turn. Offsets always point into the
document text, so ``text[start:end]`` is the segment, whatever emoji, CRLF or NBSP it holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.ingest.transcript import Turn
from pipeline.schema import Role

# A sentence ends at . ! ? … (plus closing quotes/brackets) before white space, or at a line break.
_SENTENCE_END = re.compile(r"""[.!?…]+["'”’)\]]*(?=\s)|\r\n|\r|\n""")
_ABBREVIATIONS = {
    "bijv", "bv", "o.a", "m.a.w", "d.w.z", "enz", "etc", "mevr", "mr", "dhr", "dr", "ca", "nl",
    "jl", "jr", "evt", "incl", "excl", "vgl", "z.g.a.n", "t.o.v", "ivm", "i.v.m", "a.s", "st",
}


@dataclass(frozen=True)
class SegmentSpan:
    """One segment: exact offsets into the document text plus who said it."""

    ordinal: int
    turn: int
    speaker: str
    role: Role
    start: int
    end: int
    timestamp: str | None


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def sentence_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Sentences inside ``text[start:end]`` as trimmed offset pairs."""
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        cut = match.end()
        before = text[cursor:match.start()].rsplit(None, 1)
        word = before[-1].lower().strip("(\"'") if before else ""
        if match.group(0).startswith(".") and word in _ABBREVIATIONS:
            continue
        s, e = _trimmed(text, cursor, cut)
        if e > s:
            yield s, e
        cursor = cut
    s, e = _trimmed(text, cursor, end)
    if e > s:
        yield s, e


def _split_long(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, int]]:
    """A run-on sentence longer than ``max_chars`` is cut at white space near the limit."""
    while end - start > max_chars:
        cut = text.rfind(" ", start + max_chars // 2, start + max_chars)
        if cut <= start:
            cut = start + max_chars
        s, e = _trimmed(text, start, cut)
        if e > s:
            yield s, e
        start = cut
    s, e = _trimmed(text, start, end)
    if e > s:
        yield s, e


def segment_turns(
    text: str, turns: Iterable[Turn], max_sentences: int = 3, max_chars: int = 600
) -> list[SegmentSpan]:
    """Group each turn's sentences into windows of at most ``max_sentences`` / ``max_chars``."""
    segments: list[SegmentSpan] = []
    for turn in turns:
        if turn.role == "other":
            pieces: list[tuple[int, int]] = [_trimmed(text, turn.start, turn.end)]
        else:
            pieces = []
            for s, e in sentence_spans(text, turn.start, turn.end):
                pieces.extend(_split_long(text, s, e, max_chars))
        window: list[tuple[int, int]] = []
        for piece in pieces:
            if window and (
                len(window) >= max_sentences or piece[1] - window[0][0] > max_chars
            ):
                segments.append(_make(segments, turn, window))
                window = []
            window.append(piece)
        if window:
            segments.append(_make(segments, turn, window))
    return segments


def _make(segments: list[SegmentSpan], turn: Turn, window: list[tuple[int, int]]) -> SegmentSpan:
    return SegmentSpan(
        ordinal=len(segments),
        turn=turn.index,
        speaker=turn.speaker,
        role=turn.role,
        start=window[0][0],
        end=window[-1][1],
        timestamp=turn.timestamp,
    )
