"""CSV exports of story forms: one story per row (see ``records`` for the columns)."""

from __future__ import annotations

import csv as _csv
import io
from pathlib import Path

from pipeline.ingest.decode import decode_text
from pipeline.ingest.errors import CorruptFile, EmptyFile
from pipeline.ingest.readers.base import ReadResult
from pipeline.ingest.readers.records import manifest_options, rows_to_result


def read_csv(path: Path, data: bytes) -> ReadResult:
    decoded = decode_text(data)
    text = decoded.text
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    # The header line decides the delimiter: Dutch Excel writes ';', others ',' or tabs.
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = _csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    try:
        table = list(reader)
    except _csv.Error as exc:
        raise CorruptFile(f"unreadable CSV near line {reader.line_num}: {exc}") from exc
    if not table:
        raise EmptyFile("the CSV file has no rows")
    headers, body = table[0], table[1:]
    result = rows_to_result(
        headers, ((i + 2, row) for i, row in enumerate(body)), "csv", manifest_options(path)
    )
    for doc in result.documents:
        doc.encoding = decoded.encoding
    return result
