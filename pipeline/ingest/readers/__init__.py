"""Format readers, chosen by file extension (one small module per format)."""

from __future__ import annotations

from pathlib import Path

from pipeline.ingest.errors import UnsupportedFormat
from pipeline.ingest.readers.base import RawDocument, Reader, ReadResult
from pipeline.ingest.readers.plaintext import read_plaintext

READERS: dict[str, Reader] = {
    ".txt": read_plaintext,
    ".text": read_plaintext,
    ".md": read_plaintext,
    ".markdown": read_plaintext,
}


def supported_extensions() -> set[str]:
    return set(READERS)


def reader_for(path: Path) -> Reader:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnsupportedFormat(
            f"unsupported file type {path.suffix or '(none)'!r}; supported: "
            + ", ".join(sorted(READERS))
        )
    return reader


__all__ = ["READERS", "RawDocument", "ReadResult", "Reader", "reader_for", "supported_extensions"]
