"""Word ``.docx``: body paragraphs and tables in document order; headers and footers ignored.

Transcripts in Word are either ``I:`` / ``R:`` paragraphs (kept as they are, one line each) or a
table with a speaker column; a table row becomes ``Spreker: tekst`` (or ``[tijd] Spreker: tekst``)
so the transcript parser finds the same turns as in a ``.txt``. Headings become ``# Kop`` lines,
which the parser keeps out of the speech.

Only ``word/document.xml`` (and the style names) are parsed, with python-docx's own element
classes: opening the whole package with ``docx.Document`` costs ~4x more and reads nothing we use.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from zipfile import BadZipFile, ZipFile

from pipeline.ingest.errors import CorruptFile, EmptyFile
from pipeline.ingest.readers.base import RawDocument, ReadResult
from pipeline.ingest.readers.sniff import open_package
from pipeline.ingest.readers.tables import table_lines

_BODY = "word/document.xml"
_STYLES = "word/styles.xml"
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def read_docx(path: Path, data: bytes) -> ReadResult:
    from docx.oxml.parser import parse_xml
    from docx.table import Table

    package = open_package(data, ".docx")
    if _BODY not in package.namelist():
        raise CorruptFile(f"corrupt .docx: the package has no {_BODY}")
    try:
        root = parse_xml(_read(package, _BODY))
        body = root.find(f"{_W}body")
        headings = _heading_style_ids(package, parse_xml)
        lines: list[str] = []
        for element in _blocks(body):
            if element.tag == f"{_W}tbl":
                lines.extend(table_lines([_row_cells(r) for r in Table(element, None).rows]))
                continue
            text = paragraph_text(element)
            if element.style in headings and text.strip():
                lines.append("# " + text.strip())
            else:
                lines.append(text)
    except CorruptFile:
        raise
    except Exception as exc:  # lxml syntax errors and the like from a damaged document.xml
        raise CorruptFile(f"corrupt .docx: cannot read {_BODY} ({exc})") from exc
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"
    if not text.strip():
        raise EmptyFile("the .docx holds no text")
    return ReadResult([RawDocument(text=text, format="docx")])


def _blocks(body) -> Iterator:
    """Paragraphs and tables in order, also inside content controls (``w:sdt``)."""
    for child in body if body is not None else ():
        if child.tag in (f"{_W}p", f"{_W}tbl"):
            yield child
        elif child.tag in (f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml"):
            yield from _blocks(child)


_TEXT_TAGS = {f"{_W}t": None, f"{_W}tab": "\t", f"{_W}br": "\n", f"{_W}cr": "\n",
              f"{_W}noBreakHyphen": "-"}


def paragraph_text(p) -> str:
    """All visible text of a paragraph, tracked insertions included and deletions left out.

    Deleted text is ``w:delText`` and field codes are ``w:instrText``, so reading only ``w:t``
    (plus tabs and breaks) anywhere under the paragraph gives what Word shows.
    """
    parts: list[str] = []
    for element in p.iter(*_TEXT_TAGS):
        extra = _TEXT_TAGS[element.tag]
        parts.append(element.text or "" if extra is None else extra)
    return "".join(parts)


def _read(package: ZipFile, name: str) -> bytes:
    try:
        return package.read(name)
    except (BadZipFile, zlib.error, EOFError) as exc:
        raise CorruptFile(f"corrupt .docx: damaged {name} ({exc})") from exc


def _heading_style_ids(package: ZipFile, parse_xml) -> set[str]:
    """Style ids whose name is a heading or title (``Heading1``, ``Kop1``, ``Title``)."""
    if _STYLES not in package.namelist():
        return {"Heading1", "Heading2", "Heading3", "Title"}
    ids: set[str] = set()
    for style in parse_xml(_read(package, _STYLES)).style_lst:
        name = (style.name_val or "").lower()
        if name.startswith(("heading", "kop", "title", "titel")) and style.styleId:
            ids.add(style.styleId)
    return ids


def _row_cells(row) -> list[str]:
    """Cell texts of one row; a merged cell (repeated by python-docx) counts once."""
    cells: list[str] = []
    seen: list[object] = []  # the elements themselves: lxml proxies are only stable while held
    for cell in row.cells:
        if any(cell._tc is tc for tc in seen):
            continue
        seen.append(cell._tc)
        texts = (paragraph_text(p._p).strip() for p in cell.paragraphs)
        cells.append(" ".join(t for t in texts if t))
    return cells
