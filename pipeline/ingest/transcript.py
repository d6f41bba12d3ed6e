"""Speaker turns and roles, the way real Dutch transcripts write them.

Transcripts arrive as ``I:`` / ``R:`` / ``R1:``, ``Interviewer:`` / ``Bewoner:`` /
``Geïnterviewde:``, first names with a colon, pseudonym tags (``[PERSOON-1]:`` after
pseudonymization), with ``[00:01:23]`` timestamp lines or ``00:01:23 Naam:`` prefixes, and a
header (title, date, who was present) that is not speech. Plain stories have no labels at all and
are one resident speaking. Only residents' turns are ever coded, so getting the role right here is
what keeps interviewer questions out of the evidence.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.schema import Role

INTERVIEWER_LABELS = {
    "i", "int", "interviewer", "interviewster", "interviewer/ster", "gespreksleider",
    "gespreksleidster", "moderator", "onderzoeker", "vraag", "v", "vraagsteller", "q",
}
RESIDENT_LABELS = {
    "r", "b", "a", "p", "bewoner", "bewoonster", "geïnterviewde", "geinterviewde",
    "respondent", "deelnemer", "deelneemster", "antwoord", "resident", "verteller",
    "vertelster", "participant",
}
HEADER_LABELS = {
    "titel", "datum", "aanwezig", "aanwezigen", "locatie", "plaats", "tijd", "duur", "project",
    "initiatief", "onderwerp", "opname", "transcriptie", "wijk", "buurt", "gesprek", "interview",
    "transcript", "tijdstip", "lengte", "bron", "notulist", "verslag",
}
OTHER_LABELS = {"notitie", "noot", "opmerking", "observatie", "nb", "ps", "[onverstaanbaar]"}
# Words that start a sentence with a colon but never name a speaker.
NOT_NAMES = {
    "maar", "en", "dus", "nou", "ja", "nee", "toen", "want", "let op", "conclusie", "kortom",
    "tip", "vraag", "antwoord", "waarom", "wat", "hoe", "ook", "en toen", "eerst", "daarna",
    "voorbeeld", "tot slot", "update", "belangrijk",
}
INTERVIEWER_HINT = re.compile(
    r"\b(interviewer|interviewster|gespreksleider|gespreksleidster|moderator|onderzoeker"
    r"|interview door)\b",
    re.IGNORECASE,
)

_TS = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
TIMESTAMP_LINE = re.compile(rf"^\s*[\[(]?({_TS})[\])]?\s*$")
LABELED_LINE = re.compile(
    rf"^(?P<indent>\s*(?:[-*]\s+)?)(?:[\[(]?(?P<ts>{_TS})[\])]?\s*[-–]?\s*)?"
    r"\**(?P<label>\[[A-Z]+(?:-[A-Z]+)*-\d+\]|[^\W\d_][\w'’.\-/]*(?:\s+[\w'’.\-/]+){0,3}?)\**"
    r"\s*(?:\((?P<note>[^)]{1,40})\))?\s*\**[:：]\**(?:[ \t\u00a0]+|$)(?P<content>.*)$"
)
HEADING_LINE = re.compile(r"^\s*#{1,6}\s")
PSEUDONYM_TAG = re.compile(r"^\[[A-Z]+(?:-[A-Z]+)*-\d+\]$")
_NAME_WORD = re.compile(r"^(?:[A-ZÀ-Ý][\w'’.\-]*|van|de|der|den|ten|ter|el|al|bin|op|'t)$")


@dataclass(frozen=True)
class Line:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Turn:
    """One speaker's uninterrupted speech; ``start``/``end`` cover the content, not the label."""

    index: int
    speaker: str
    role: Role
    start: int
    end: int
    timestamp: str | None = None


@dataclass
class _Candidate:
    line: Line
    label: str
    note: str | None
    ts: str | None
    content_start: int


def split_lines(text: str) -> list[Line]:
    """Lines with offsets; ``\\r\\n``, ``\\r`` and ``\\n`` all end a line and are not content."""
    lines: list[Line] = []
    pos = 0
    for match in re.finditer(r"[^\r\n]*(?:\r\n|\r|\n|$)", text):
        raw = match.group(0)
        if not raw and match.start() >= len(text):
            break
        content = raw.rstrip("\r\n")
        lines.append(Line(match.start(), match.start() + len(content), content))
        pos = match.end()
        if pos >= len(text):
            break
    return lines


def _norm(label: str) -> str:
    return re.sub(r"\s+", " ", label.strip().strip("*").lower())


def _base_label(label: str) -> str:
    """``R1`` → ``r``, ``Bewoner 2`` → ``bewoner``: numbered labels share a role."""
    return re.sub(r"\s*\d+$", "", _norm(label))


def _is_name(label: str) -> bool:
    if PSEUDONYM_TAG.match(label):
        return True
    words = label.split()
    if not 1 <= len(words) <= 3 or len(label) > 30:
        return False
    if not words[0][:1].isupper():
        return False
    return all(_NAME_WORD.match(w) for w in words) and _norm(label) not in NOT_NAMES


def looks_like_person_name(value: str) -> bool:
    """True for "Anouk Verbeek", false for role words such as "buurtverbinder" or "I"."""
    return _is_name(value) and _role_of_known(value) is None and not PSEUDONYM_TAG.match(value)


def _role_of_known(label: str) -> Role | None:
    base = _base_label(label)
    if base in INTERVIEWER_LABELS:
        return "interviewer"
    if base in RESIDENT_LABELS:
        return "resident"
    if base in HEADER_LABELS or base in OTHER_LABELS:
        return "other"
    return None


def _candidates(lines: Iterable[Line]) -> list[_Candidate | None]:
    out: list[_Candidate | None] = []
    for line in lines:
        match = LABELED_LINE.match(line.text)
        if not match:
            out.append(None)
            continue
        label = match.group("label").strip()
        content_start = line.start + match.start("content")
        out.append(_Candidate(line, label, match.group("note"), match.group("ts"), content_start))
    return out


def _header_people(
    candidates: list[_Candidate | None], known_interviewers: Iterable[str]
) -> tuple[set[str], set[str]]:
    """Who the header says was present, and who of them interviewed (also from the manifest)."""
    present: set[str] = set()
    interviewers = {_norm(n) for n in known_interviewers if n}
    for cand in candidates:
        if cand is None:
            continue
        if cand.note and INTERVIEWER_HINT.search(cand.note):
            interviewers.add(_norm(cand.label))
        base = _base_label(cand.label)
        content = cand.line.text[cand.content_start - cand.line.start:]
        if base in {"aanwezig", "aanwezigen"}:
            for part in re.split(r"[,;]|\sen\s", content):
                name = re.sub(r"\(.*?\)|[-–].*$", "", part)
                name = INTERVIEWER_HINT.sub("", name).strip(" :-")
                if not name:
                    continue
                present.add(_norm(name))
                if INTERVIEWER_HINT.search(part):
                    interviewers.add(_norm(name))
        if base in {"interviewer", "interviewster", "gespreksleider", "gespreksleidster"}:
            name = re.sub(r"\(.*?\)", "", content).strip()
            if name and len(name.split()) <= 4 and not re.search(r"[.?!]", name):
                interviewers.add(_norm(name))
    return present, interviewers


def parse_turns(text: str, known_interviewers: Iterable[str] = ()) -> list[Turn]:
    """Split a document into turns with roles and exact offsets into ``text``."""
    lines = split_lines(text)
    candidates = _candidates(lines)
    label_counts = Counter(_norm(c.label) for c in candidates if c is not None)
    present, interviewer_names = _header_people(candidates, known_interviewers)
    interviewer_names |= {n.split()[0] for n in interviewer_names if n.split()}

    def accepted(cand: _Candidate) -> bool:
        if _role_of_known(cand.label) is not None:
            return True
        if not _is_name(cand.label):
            return False
        norm = _norm(cand.label)
        return label_counts[norm] >= 2 or norm in interviewer_names or norm in present

    speech = [
        c for c in candidates
        if c is not None and accepted(c) and _role_of_known(c.label) != "other"
    ]
    if len(speech) < 2:
        return _story_turns(lines, candidates)
    return _transcript_turns(text, lines, candidates, accepted, interviewer_names)


def _story_turns(lines: list[Line], candidates: list[_Candidate | None]) -> list[Turn]:
    """A story without speaker labels: one resident, except headings and header fields."""
    turns: list[Turn] = []
    current: tuple[int, int] | None = None

    def flush() -> None:
        nonlocal current
        if current is not None:
            turns.append(Turn(len(turns), "bewoner", "resident", current[0], current[1]))
            current = None

    first = next((i for i, line in enumerate(lines) if line.text.strip()), None)
    for i, (line, cand) in enumerate(zip(lines, candidates, strict=True)):
        if not line.text.strip():
            continue
        is_header = (
            HEADING_LINE.match(line.text)
            or (cand is not None and _base_label(cand.label) in HEADER_LABELS)
            or (i == first and _is_title(lines, i))
        )
        if is_header:
            flush()
            start, end = _trim(line.text, line.start)
            turns.append(Turn(len(turns), "kop", "other", start, end))
            continue
        start, end = _trim(line.text, line.start)
        current = (current[0], end) if current else (start, end)
    flush()
    return turns


def _is_title(lines: list[Line], index: int) -> bool:
    """A short first line without closing punctuation, followed by a blank line, is a title."""
    text = lines[index].text.strip()
    followed_by_blank = index + 1 < len(lines) and not lines[index + 1].text.strip()
    return followed_by_blank and len(text.split()) <= 10 and not re.search(r"[.!?:;,…]$", text)


def _trim(text: str, offset: int) -> tuple[int, int]:
    left = len(text) - len(text.lstrip())
    right = len(text.rstrip())
    return offset + left, offset + max(left, right)


def _transcript_turns(
    text: str,
    lines: list[Line],
    candidates: list[_Candidate | None],
    accepted,
    interviewer_names: set[str],
) -> list[Turn]:
    raw: list[dict] = []
    pending_ts: str | None = None
    started = False
    for line, cand in zip(lines, candidates, strict=True):
        stripped = line.text.strip()
        if not stripped:
            continue
        ts_match = TIMESTAMP_LINE.match(line.text)
        if ts_match:
            pending_ts = ts_match.group(1)
            continue
        if cand is not None and accepted(cand):
            role = _role_of_known(cand.label)
            content = line.text[cand.content_start - line.start:]
            if role == "other" or (
                not started and _looks_like_header_field(cand, content, interviewer_names)
            ):
                start, end = _trim(line.text, line.start)
                raw.append(dict(speaker="kop", role="other", start=start, end=end, ts=None))
                continue
            started = True
            start, end = _trim(content, cand.content_start)
            raw.append(
                dict(speaker=cand.label, role=role, start=start, end=end, ts=cand.ts or pending_ts)
            )
            pending_ts = None
            continue
        start, end = _trim(line.text, line.start)
        if not started or HEADING_LINE.match(line.text):
            raw.append(dict(speaker="kop", role="other", start=start, end=end, ts=None))
            continue
        last = raw[-1]
        if last["start"] == last["end"]:
            last["start"] = start
        last["end"] = end

    _assign_named_roles(raw, interviewer_names, text)
    return [
        Turn(i, t["speaker"], t["role"], t["start"], t["end"], t["ts"])
        for i, t in enumerate(raw)
        if t["end"] > t["start"]
    ]


def _looks_like_header_field(
    cand: _Candidate, content: str, interviewer_names: set[str]
) -> bool:
    """``Interviewer: Sanne de Wit`` above the first question names who interviews; not speech."""
    base = _base_label(cand.label)
    if base not in INTERVIEWER_LABELS or base in {"i", "v", "q", "vraag"}:
        return False
    name = re.sub(r"\(.*?\)", "", content).strip()
    return bool(name) and _norm(name) in interviewer_names


def _assign_named_roles(raw: list[dict], interviewer_names: set[str], text: str) -> None:
    """Named speakers: the marked interviewer, else the one who mostly asks questions."""
    named = [t for t in raw if t["role"] is None]
    if not named:
        return
    questioner: str | None = None
    marked = any(_norm(t["speaker"]) in interviewer_names for t in named)
    if not marked and not any(t["role"] == "interviewer" for t in raw):
        asked: Counter[str] = Counter()
        total: Counter[str] = Counter()
        for t in named:
            total[t["speaker"]] += 1
            asked[t["speaker"]] += text[t["start"]:t["end"]].rstrip().endswith("?")
        if len(total) >= 2:
            best = max(total, key=lambda s: asked[s] / total[s])
            if total[best] >= 2 and asked[best] / total[best] >= 0.5:
                questioner = best
    for t in named:
        if _norm(t["speaker"]) in interviewer_names or t["speaker"] == questioner:
            t["role"] = "interviewer"
        else:
            t["role"] = "resident"
