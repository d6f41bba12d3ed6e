"""JSON lines: one story per line, ``{"id": ..., "text": ..., <metadata>}``.

A broken line is reported with its line number and the good lines are still ingested.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipeline.ingest.decode import decode_text
from pipeline.ingest.errors import NoTextColumn
from pipeline.ingest.readers.base import RawDocument, ReadResult
from pipeline.ingest.readers.records import manifest_options, pick_columns, to_document


def read_jsonl(path: Path, data: bytes) -> ReadResult:
    decoded = decode_text(data)
    options = manifest_options(path)
    result = ReadResult([])
    seen: set[str] = set()
    for number, line in enumerate(decoded.text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line-{number}"
        try:
            obj: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            reason = f"line {number}: not valid JSON ({exc.msg}, column {exc.colno})"
            result.errors.append((where, reason))
            continue
        if not isinstance(obj, dict):
            reason = f"line {number}: expected a JSON object, got {type(obj).__name__}"
            result.errors.append((where, reason))
            continue
        fields = _flatten(obj)
        try:
            columns = pick_columns(fields.keys(), options)
        except NoTextColumn:
            result.errors.append((where, f"line {number}: no text field (use \"text\")"))
            continue
        outcome = to_document(fields, columns, where, "jsonl", seen)
        if isinstance(outcome, RawDocument):
            outcome.encoding = decoded.encoding
            result.documents.append(outcome)
        elif isinstance(outcome, str):
            result.errors.append((where, f"line {number}: {outcome}"))
    return result


def _flatten(obj: dict[str, Any]) -> dict[str, Any]:
    """``{"metadata": {...}}`` or ``{"meta": {...}}`` count as top-level fields."""
    fields = {k: v for k, v in obj.items() if k not in {"metadata", "meta"}}
    for key in ("metadata", "meta"):
        if isinstance(obj.get(key), dict):
            for k, v in obj[key].items():
                fields.setdefault(k, v)
    return fields
