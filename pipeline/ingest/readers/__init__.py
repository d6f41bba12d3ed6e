"""Format readers, chosen by file extension (one small module per format)."""

from __future__ import annotations

from pathlib import Path

from pipeline.ingest.errors import UnsupportedFormat
from pipeline.ingest.readers.base import RawDocument, Reader, ReadResult
from pipeline.ingest.readers.csvfile import read_csv
from pipeline.ingest.readers.docx import read_docx
from pipeline.ingest.readers.jsonl import read_jsonl
from pipeline.ingest.readers.odt import read_odt
from pipeline.ingest.readers.pdf import read_pdf
from pipeline.ingest.readers.plaintext import read_plaintext
from pipeline.ingest.readers.rtf import read_rtf
from pipeline.ingest.readers.subtitles import read_srt, read_vtt
from pipeline.ingest.readers.xlsx import read_xlsx

READERS: dict[str, Reader] = {
    ".txt": read_plaintext,
    ".text": read_plaintext,
    ".md": read_plaintext,
    ".markdown": read_plaintext,
    ".docx": read_docx,
    ".odt": read_odt,
    ".rtf": read_rtf,
    ".pdf": read_pdf,
    ".vtt": read_vtt,
    ".srt": read_srt,
    ".csv": read_csv,
    ".xlsx": read_xlsx,
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
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
