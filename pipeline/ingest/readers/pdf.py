"""PDF: the text layer only (no OCR). Scanned or password-protected PDFs are quarantined.

A PDF stores visual lines, so a sentence is broken wherever the page was full. Lines are joined
back into paragraphs unless a line ends a sentence or the next starts a speaker turn, so sentences
and turns come out as they were written.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from pipeline.ingest.errors import CorruptFile, EncryptedFile, NoTextLayer
from pipeline.ingest.readers.base import RawDocument, ReadResult
from pipeline.ingest.readers.sniff import require_bytes
from pipeline.ingest.transcript import LABELED_LINE, TIMESTAMP_LINE

_MIN_CHARS = 20
_ENDS_SENTENCE = re.compile(r"[.!?…:;\"”’)]$")


def read_pdf(path: Path, data: bytes) -> ReadResult:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    require_bytes(data)
    if b"%PDF" not in data[:1024]:
        raise CorruptFile("not a PDF: no %PDF header (damaged or renamed file)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _opens_without_password(reader):
            raise EncryptedFile("PDF is password protected; save a copy without a password")
        pages = [page.extract_text() or "" for page in reader.pages]
    except (FileNotDecryptedError, DependencyError) as exc:
        raise EncryptedFile(f"PDF is encrypted and cannot be opened ({exc})") from exc
    except EncryptedFile:
        raise
    except PdfReadError as exc:
        raise CorruptFile(f"corrupt PDF: {exc}") from exc
    except Exception as exc:  # pypdf meets broken files with any error (zlib, struct, ...)
        raise CorruptFile(f"corrupt PDF: {type(exc).__name__}: {exc}") from exc
    text = "\n\n".join(unwrap(page) for page in pages if page.strip())
    if len(text.strip()) < _MIN_CHARS:
        raise NoTextLayer(
            f"PDF has no text layer ({len(pages)} page(s) of images, e.g. a scan); "
            "run OCR first or supply the text"
        )
    return ReadResult([RawDocument(text=text.strip("\n") + "\n", format="pdf")])


def _opens_without_password(reader) -> bool:
    """Many PDFs are 'encrypted' with an empty user password only to restrict printing."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # wrong algorithm support and the like: treat as locked
        return False


def unwrap(page: str) -> str:
    """Join visual lines into paragraphs; keep breaks before turns and after sentences."""
    out: list[str] = []
    for raw in page.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            if out and out[-1] != "":
                out.append("")
            continue
        starts_turn = LABELED_LINE.match(line) or TIMESTAMP_LINE.match(line)
        if out and out[-1] and not starts_turn and not _ENDS_SENTENCE.search(out[-1]):
            prev = out[-1]
            if prev.endswith("-") and line[:1].islower():
                out[-1] = prev[:-1] + line
            else:
                out[-1] = prev + " " + line
        else:
            out.append(line)
    return "\n".join(out).strip("\n")
