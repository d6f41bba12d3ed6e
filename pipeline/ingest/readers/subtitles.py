"""Subtitles from recording and meeting tools: WebVTT ``.vtt`` and SubRip ``.srt``.

Each cue has a start time and text; the speaker comes from a ``<v Name>`` voice tag (Teams,
WebVTT) or a ``Name:`` prefix (Zoom, hand-made SRT). A cue without a speaker continues the last
one. Consecutive cues of one speaker merge into one turn line ``[hh:mm:ss] Name: text`` so the
transcript parser finds turns, roles and offsets as for any ``.txt``; cues with no speaker at
all become plain running text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.ingest.decode import decode_text
from pipeline.ingest.errors import CorruptFile, EmptyFile
from pipeline.ingest.readers.base import RawDocument, ReadResult
from pipeline.ingest.transcript import NOT_NAMES

_TIMING = re.compile(
    r"^\s*(?P<start>(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*(?:(?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>(.*?)(?:</v>|(?=<v[\s.])|$)", re.DOTALL)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>|<\d{1,2}:\d{2}[^>]*>|\{\\[^}]*\}")
_PREFIX = re.compile(
    r"^\s*[-–]?\s*(?P<name>(?=[A-ZÀ-Ý])[^\W\d_][\w.'’-]*(?:\s+[\w.'’-]+){0,3}?)"
    r"\s*:\s+(?P<text>.+)$"
)


@dataclass
class Cue:
    start: str  # hh:mm:ss
    speaker: str | None
    text: str


def read_vtt(path: Path, data: bytes) -> ReadResult:
    text = decode_text(data).text
    if not text.lstrip("\ufeff").startswith("WEBVTT"):
        raise CorruptFile("not a WebVTT file: it does not start with WEBVTT")
    return _result(_parse(text), "vtt")


def read_srt(path: Path, data: bytes) -> ReadResult:
    text = decode_text(data).text
    cues = _parse(text)
    if not cues:
        raise CorruptFile("not a SubRip file: no cues with 00:00:00,000 --> timings found")
    return _result(cues, "srt")


def _result(cues: list[Cue], fmt: str) -> ReadResult:
    text = cues_to_transcript(cues)
    if not text.strip():
        raise EmptyFile(f"the .{fmt} file holds no spoken text")
    return ReadResult([RawDocument(text=text, format=fmt)])


def _parse(text: str) -> list[Cue]:
    """Cues in order; NOTE/STYLE/REGION blocks and cue numbers are skipped."""
    cues: list[Cue] = []
    for block in re.split(r"\r?\n\s*\r?\n|\r\s*\r", text):
        lines = [ln for ln in re.split(r"\r\n|\r|\n", block) if ln.strip()]
        for i, line in enumerate(lines):
            match = _TIMING.match(line)
            if match:
                cues.extend(_cue_parts(_clock(match.group("start")), lines[i + 1:]))
                break
    return cues


def _clock(stamp: str) -> str:
    parts = re.split(r"[:.,]", stamp)[:-1]  # drop the milliseconds
    if len(parts) == 2:
        parts.insert(0, "0")
    h, m, s = (int(p) for p in parts)
    return f"{h:02d}:{m:02d}:{s:02d}"


def _cue_parts(start: str, lines: list[str]) -> list[Cue]:
    """One cue can hold several voices (``<v A>..</v><v B>..``) or ``- A: ..`` dialogue lines."""
    raw = "\n".join(lines)
    voices = _VOICE.findall(raw)
    if voices:
        return [Cue(start, _clean(name), _clean(said)) for name, said in voices if _clean(said)]
    parts: list[Cue] = []
    for line in lines:
        said = _clean(line)
        if not said:
            continue
        match = _PREFIX.match(said)
        if match and match.group("name").lower() not in NOT_NAMES:
            parts.append(Cue(start, match.group("name"), match.group("text").strip()))
        elif parts:
            parts[-1].text += " " + said.lstrip("- ")
        else:
            parts.append(Cue(start, None, said))
    return parts


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(_TAG.sub("", text))).strip()


def cues_to_transcript(cues: list[Cue]) -> str:
    """Merge consecutive cues of one speaker into ``[hh:mm:ss] Name: text`` lines."""
    turns: list[Cue] = []
    speaker: str | None = None
    for cue in cues:
        who = cue.speaker or speaker
        if turns and turns[-1].speaker == who:
            turns[-1].text += " " + cue.text
        else:
            turns.append(Cue(cue.start, who, cue.text))
        speaker = who
    lines = [f"[{t.start}] {t.speaker}: {t.text}" if t.speaker else t.text for t in turns]
    return "\n".join(lines) + ("\n" if lines else "")
