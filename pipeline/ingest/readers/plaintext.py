"""Plain text and Markdown: decoded as they are, nothing rewritten."""

from __future__ import annotations

from pathlib import Path

from pipeline.ingest.decode import decode_text
from pipeline.ingest.readers.base import RawDocument, ReadResult


def read_plaintext(path: Path, data: bytes) -> ReadResult:
    decoded = decode_text(data)
    fmt = "md" if path.suffix.lower() in {".md", ".markdown"} else "txt"
    return ReadResult([RawDocument(text=decoded.text, format=fmt, encoding=decoded.encoding)])
