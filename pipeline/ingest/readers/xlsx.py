"""Excel ``.xlsx`` story sheets: one story per row, the first sheet with a text column."""

from __future__ import annotations

import io
from pathlib import Path

from pipeline.ingest.errors import CorruptFile, EmptyFile, NoTextColumn
from pipeline.ingest.readers.base import ReadResult
from pipeline.ingest.readers.records import manifest_options, rows_to_result
from pipeline.ingest.readers.sniff import open_package


def read_xlsx(path: Path, data: bytes) -> ReadResult:
    import openpyxl

    open_package(data, ".xlsx")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError/ValueError/XML errors when damaged
        raise CorruptFile(f"corrupt .xlsx: {exc}") from exc
    options = manifest_options(path)
    problem: NoTextColumn | None = None
    try:
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            try:
                headers = next(rows, None)
            except Exception as exc:  # read-only sheets parse lazily: damage shows up here
                raise CorruptFile(f"corrupt .xlsx: sheet {sheet.title!r}: {exc}") from exc
            if headers is None:
                continue
            try:
                result = rows_to_result(
                    list(headers), ((i + 2, list(r)) for i, r in enumerate(rows)), "xlsx", options
                )
            except NoTextColumn as exc:
                problem = problem or exc
                continue
            except Exception as exc:  # read-only sheets parse lazily: damage shows up here
                raise CorruptFile(f"corrupt .xlsx: sheet {sheet.title!r}: {exc}") from exc
            if len(book.worksheets) > 1:
                for doc in result.documents:
                    doc.metadata.setdefault("sheet", sheet.title)
            return result
    finally:
        book.close()
    if problem is not None:
        raise problem
    raise EmptyFile("the .xlsx workbook has no rows")
