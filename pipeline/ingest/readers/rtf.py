"""Rich Text Format ``.rtf``: control words stripped by striprtf, the text kept as written."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.ingest.errors import CorruptFile, EmptyFile
from pipeline.ingest.readers.base import RawDocument, ReadResult
from pipeline.ingest.readers.sniff import require_bytes

_CODEPAGE = re.compile(rb"\\ansicpg(\d+)")


def read_rtf(path: Path, data: bytes) -> ReadResult:
    from striprtf.striprtf import rtf_to_text

    require_bytes(data)
    head = data.lstrip(b"\xef\xbb\xbf \r\n\t")[:5]
    if head != b"{\\rtf":
        raise CorruptFile("not an RTF file: it does not start with {\\rtf")
    match = _CODEPAGE.search(data[:2048])
    encoding = f"cp{match.group(1).decode()}" if match else "cp1252"
    try:
        "".encode(encoding)
    except LookupError:
        encoding = "cp1252"
    try:
        text = rtf_to_text(data.decode("latin-1"), encoding=encoding, errors="replace")
    except Exception as exc:  # striprtf has no error classes of its own
        raise CorruptFile(f"corrupt RTF: {exc}") from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"
    if not text.strip():
        raise EmptyFile("the RTF file holds no text")
    return ReadResult([RawDocument(text=text, format="rtf", encoding=encoding)])
