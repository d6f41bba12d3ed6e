"""OpenDocument text ``.odt`` (LibreOffice): paragraphs, headings, lists and tables in order.

Comments, tracked deletions and the header/footer (which live in styles.xml) are not part of the
story and are skipped.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from pipeline.ingest.errors import CorruptFile, EmptyFile
from pipeline.ingest.readers.base import RawDocument, ReadResult
from pipeline.ingest.readers.sniff import open_package
from pipeline.ingest.readers.tables import table_lines

_SKIP = {"tracked-changes", "annotation", "sequence-decls", "variable-decls", "note"}


def read_odt(path: Path, data: bytes) -> ReadResult:
    from odf import teletype
    from odf.opendocument import load

    package = open_package(data, ".odt")
    if "content.xml" not in package.namelist():
        raise CorruptFile("corrupt .odt: the package has no content.xml")
    try:
        document = load(io.BytesIO(data))
    except Exception as exc:  # odfpy raises bare XML/zip errors for a damaged file
        raise CorruptFile(f"corrupt .odt: cannot read content.xml ({exc})") from exc
    lines: list[str] = []
    _walk(document.text, lines, teletype)
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"
    if not text.strip():
        raise EmptyFile("the .odt holds no text")
    return ReadResult([RawDocument(text=text, format="odt")])


def _local(element) -> str:
    return element.qname[1] if getattr(element, "qname", None) else ""


def _walk(element, lines: list[str], teletype) -> None:
    for child in element.childNodes:
        name = _local(child)
        if name in _SKIP:
            continue
        if name == "h":  # marked like Markdown so the parser sees a heading, not speech
            lines.append("# " + teletype.extractText(child).strip())
        elif name == "p":
            lines.append(teletype.extractText(child))
        elif name == "table":
            rows = []
            for row in _descendants(child, "table-row"):
                cells = [
                    " ".join(teletype.extractText(p) for p in _descendants(cell, "p")).strip()
                    for cell in row.childNodes
                    if _local(cell) == "table-cell"
                ]
                rows.append(cells)
            lines.extend(table_lines(rows))
        else:
            _walk(child, lines, teletype)


def _descendants(element, name: str):
    for child in element.childNodes:
        if _local(child) == name:
            yield child
        elif _local(child) not in _SKIP:
            yield from _descendants(child, name)
