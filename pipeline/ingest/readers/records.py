"""Files that hold one story per record (CSV and Excel rows, JSON lines).

Which field is the story and which are metadata is read from the header: ``verhaal``, ``tekst``,
``story``, ``text``, ``transcript``… is the text, ``collectie``/``initiatief`` → collection,
``buurt``/``wijk`` → neighbourhood, ``datum`` → date, ``interviewer``, ``toestemming`` →
consent; the folder's manifest can name them instead (``text_column: verhaal``, ``id_column``).
Every record becomes its own document keyed by its id (or row number); a bad record is
reported and the others go on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.ingest.errors import NoTextColumn
from pipeline.ingest.manifest import ManifestError, ManifestIndex, parse_consent, parse_date
from pipeline.ingest.readers.base import RawDocument, ReadResult

TEXT_COLUMNS = (
    "verhaal", "tekst", "text", "story", "transcript", "transcriptie", "inhoud", "verslag",
    "antwoord", "beschrijving", "content", "body",
)
ID_COLUMNS = ("id", "nr", "nummer", "volgnummer", "record", "respondent", "code")
META_ALIASES = {
    "collectie": "collection", "collection": "collection", "initiatief": "collection",
    "project": "collection", "buurt": "neighbourhood", "wijk": "neighbourhood",
    "neighbourhood": "neighbourhood", "neighborhood": "neighbourhood", "datum": "date",
    "date": "date", "interviewer": "interviewer", "interviewster": "interviewer",
    "toestemming": "consent", "consent": "consent", "taal": "language", "language": "language",
}
_MAX_RECORD = 200


@dataclass(frozen=True)
class Columns:
    """Which header is the text and which the id (the original header spelling)."""

    text: str
    id: str | None


def normalise(header: Any) -> str:
    return str(header or "").replace("\ufeff", "").strip().lower()


def manifest_options(path: Path) -> dict[str, str]:
    """``text_column`` / ``id_column`` from the manifest of the file's folder, if any."""
    try:
        extra = ManifestIndex().lookup(path).extra
    except (ManifestError, OSError):
        return {}
    return {k: str(extra[k]) for k in ("text_column", "id_column") if extra.get(k)}


def pick_columns(headers: Iterable[Any], options: dict[str, str]) -> Columns:
    names = [str(h) for h in headers if normalise(h)]
    by_norm = {normalise(h): h for h in names}
    wanted = options.get("text_column")
    if wanted:
        if normalise(wanted) not in by_norm:
            raise NoTextColumn(
                f"text column {wanted!r} named in the manifest is not in the header "
                f"({', '.join(names) or 'no header'})"
            )
        text = by_norm[normalise(wanted)]
    else:
        found = [by_norm[c] for c in TEXT_COLUMNS if c in by_norm]
        if not found:
            raise NoTextColumn(
                "no recognisable text column (header: " + (", ".join(names) or "none") + "); "
                "name it verhaal/tekst/story/text/transcript or set text_column in the manifest"
            )
        text = found[0]
    id_wanted = options.get("id_column")
    id_col = by_norm.get(normalise(id_wanted)) if id_wanted else None
    if id_col is None:
        id_col = next((by_norm[c] for c in ID_COLUMNS if c in by_norm), None)
    return Columns(text=text, id=id_col)


def to_document(
    fields: dict[str, Any], columns: Columns, fallback: str, fmt: str, seen: set[str]
) -> RawDocument | str | None:
    """A document, a reason why the record is bad, or None for an empty record."""
    if not any(_present(v) for v in fields.values()):
        return None
    text = fields.get(columns.text)
    if not _present(text) or not str(text).strip():
        return f"empty text in {columns.text!r}"
    record = _record_id(fields.get(columns.id) if columns.id else None, fallback, seen)
    metadata: dict[str, Any] = {}
    for key, value in fields.items():
        if key in (columns.text, columns.id) or not _present(value):
            continue
        name = META_ALIASES.get(normalise(key), normalise(key))
        if name == "date":
            try:
                value = parse_date(value)
            except ManifestError:
                name, value = "date_text", str(value)
        elif name == "consent":
            try:
                value = parse_consent(value)
            except ManifestError:
                name, value = "consent_text", str(value)
            if value is False:
                return f"no consent ({key}: {fields[key]}): not ingested"
        elif isinstance(value, dt.datetime):
            value = value.isoformat()
        elif isinstance(value, str):
            value = value.strip()
        metadata[name] = value
    return RawDocument(text=str(text), format=fmt, record=record, metadata=metadata)


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _record_id(value: Any, fallback: str, seen: set[str]) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    record = str(value).strip()[:_MAX_RECORD] if _present(value) else fallback
    if record in seen:
        record = f"{record}-{fallback}"
    seen.add(record)
    return record


def rows_to_result(
    headers: list[Any], rows: Iterable[tuple[int, list[Any]]], fmt: str, options: dict[str, str]
) -> ReadResult:
    """Rows (with their 1-based row number in the file) under one header row."""
    columns = pick_columns(headers, options)
    keys = [str(h) if normalise(h) else f"column_{i + 1}" for i, h in enumerate(headers)]
    result = ReadResult([])
    seen: set[str] = set()
    for number, values in rows:
        fields = dict(zip(keys, values, strict=False))
        outcome = to_document(fields, columns, f"row-{number}", fmt, seen)
        if isinstance(outcome, RawDocument):
            result.documents.append(outcome)
        elif isinstance(outcome, str):
            result.errors.append((f"row-{number}", f"row {number}: {outcome}"))
    return result
