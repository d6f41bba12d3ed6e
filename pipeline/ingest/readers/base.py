"""The one interface every format reader implements.

A reader turns the bytes of one file into one or more documents of plain text. Formats that
carry speakers or timestamps (subtitles, exports) write them as transcript lines
(``[00:01:23] Naam: tekst``) so that turns, roles and offsets are found by the same parser for
every format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RawDocument:
    """Text from one file (or one record of a file that holds many, like a CSV row)."""

    text: str
    format: str
    record: str = ""
    encoding: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReadResult:
    """What a reader found; ``errors`` are bad records (e.g. a broken JSONL line) to quarantine."""

    documents: list[RawDocument]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (record, reason)


Reader = Callable[[Path, bytes], ReadResult]
