"""Tables inside documents (Word, OpenDocument) as text lines.

Transcripts are often a table of speaker | text (sometimes time | speaker | text). Such rows
become transcript lines, ``Spreker: tekst`` or ``[00:01:23] Spreker: tekst``; any other table is
read row by row with its cells separated by `` | ``.
"""

from __future__ import annotations

import re

_TIME = re.compile(r"^\[?(\d{1,2}:\d{2}(?::\d{2})?)(?:[.,]\d+)?\]?$")
_HEADER_WORDS = {"spreker", "naam", "wie", "persoon", "tijd", "tijdstip", "tekst", "wat", "inhoud",
                 "speaker", "time", "text", "rol"}


def _speaker_like(cell: str) -> bool:
    return 0 < len(cell) <= 40 and len(cell.split()) <= 4 and not re.search(r"[.?!,;]$", cell)


def table_lines(rows: list[list[str]]) -> list[str]:
    rows = [[c.strip() for c in row] for row in rows if any(c.strip() for c in row)]
    if not rows:
        return []
    if all(c.lower().rstrip(":") in _HEADER_WORDS for c in rows[0] if c):
        rows = rows[1:]
    width = max(len(r) for r in rows)
    body = [r for r in rows if len(r) == width]
    if width == 2 and body and all(_speaker_like(r[0]) or not r[0] for r in body):
        return [f"{r[0].rstrip(':')}: {r[1]}" if r[0] else r[1] for r in body]
    if width == 3 and body and all(_TIME.match(r[0]) or not r[0] for r in body) and all(
        _speaker_like(r[1]) or not r[1] for r in body
    ):
        lines = []
        for ts, who, said in body:
            match = _TIME.match(ts)
            stamp = f"[{match.group(1)}] " if match else ""
            lines.append(f"{stamp}{who.rstrip(':')}: {said}" if who else f"{stamp}{said}")
        return lines
    return [" | ".join(c for c in r if c) for r in rows]
