"""Metadata that travels with the files: a manifest per folder or a sidecar per file.

Researchers keep who/where/when/consent in a spreadsheet or a small YAML beside the
transcripts. ``manifest.yaml`` (or ``.yml`` / ``.csv``) in a folder describes the files in it;
``<file>.meta.yaml`` beside a file describes that file and wins over the manifest.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MANIFEST_NAMES = ("manifest.yaml", "manifest.yml", "manifest.csv")
SIDECAR_SUFFIX = ".meta.yaml"
KNOWN_FIELDS = ("collection", "neighbourhood", "date", "interviewer", "consent", "language")


class ManifestError(ValueError):
    """A manifest that cannot be read; ingest stops for that folder with this message."""


@dataclass
class FileMeta:
    """What we know about one file before reading it."""

    collection: str | None = None
    neighbourhood: str | None = None
    date: dt.date | None = None
    interviewer: str | None = None
    consent: bool | None = None
    language: str = "nl"
    extra: dict[str, Any] = field(default_factory=dict)

    def merged(self, other: dict[str, Any]) -> FileMeta:
        """This metadata overlaid with ``other`` (non-empty values win)."""
        data = self.as_dict()
        for key, value in other.items():
            if value is None or value == "":
                continue
            data[key] = value
        return meta_from_mapping(data)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "collection": self.collection,
            "neighbourhood": self.neighbourhood,
            "date": self.date,
            "interviewer": self.interviewer,
            "consent": self.consent,
            "language": self.language,
        }
        out.update(self.extra)
        return out


def parse_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%Y/%m/%d", "%Y-%m", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ManifestError(f"cannot read date {text!r} (use YYYY-MM-DD)")


def parse_consent(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"ja", "yes", "true", "1", "y", "j", "akkoord"}:
        return True
    if text in {"nee", "no", "false", "0", "n"}:
        return False
    raise ManifestError(f"cannot read consent {value!r} (use ja/nee or true/false)")


def meta_from_mapping(data: dict[str, Any]) -> FileMeta:
    extra = {k: v for k, v in data.items() if k not in KNOWN_FIELDS and v is not None}
    return FileMeta(
        collection=_str_or_none(data.get("collection")),
        neighbourhood=_str_or_none(data.get("neighbourhood")),
        date=parse_date(data.get("date")),
        interviewer=_str_or_none(data.get("interviewer")),
        consent=parse_consent(data.get("consent")),
        language=str(data.get("language") or "nl"),
        extra={k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in extra.items()},
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _read_yaml_manifest(path: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: expected a mapping with 'files:'")
    defaults = data.get("defaults") or {}
    files = data.get("files") or {}
    if isinstance(files, list):  # also accept a list of {file: ..., ...}
        files = {str(entry.pop("file")): entry for entry in files if "file" in entry}
    if not isinstance(files, dict):
        raise ManifestError(f"{path}: 'files' must map file names to metadata")
    return defaults, {str(k): (v or {}) for k, v in files.items()}


def _read_csv_manifest(path: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    text = path.read_text(encoding="utf-8-sig")
    dialect = csv.Sniffer().sniff(text[:2048], delimiters=",;\t") if text.strip() else csv.excel
    rows = list(csv.DictReader(io.StringIO(text), dialect=dialect))
    if rows and "file" not in rows[0]:
        raise ManifestError(f"{path}: a CSV manifest needs a 'file' column")
    return {}, {row.pop("file"): row for row in rows}


class ManifestIndex:
    """Looks up the metadata of a file from its folder's manifest and its own sidecar."""

    def __init__(self) -> None:
        self._folders: dict[Path, tuple[dict[str, Any], dict[str, dict[str, Any]]]] = {}

    def _folder(self, folder: Path) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        if folder not in self._folders:
            found: tuple[dict[str, Any], dict[str, dict[str, Any]]] = ({}, {})
            for name in MANIFEST_NAMES:
                candidate = folder / name
                if candidate.is_file():
                    reader = _read_csv_manifest if name.endswith(".csv") else _read_yaml_manifest
                    found = reader(candidate)
                    break
            self._folders[folder] = found
        return self._folders[folder]

    def lookup(self, path: Path) -> FileMeta:
        path = path.resolve()
        meta = FileMeta()
        # Manifests of parent folders apply too, nearest last (so it wins).
        for folder in reversed([path.parent, *list(path.parent.parents)[:3]]):
            defaults, files = self._folder(folder)
            try:
                rel = path.relative_to(folder).as_posix()
            except ValueError:
                continue
            if defaults:
                meta = meta.merged(defaults)
            if rel in files:
                meta = meta.merged(files[rel])
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        if sidecar.is_file():
            try:
                data = yaml.safe_load(sidecar.read_text(encoding="utf-8-sig")) or {}
            except yaml.YAMLError as exc:
                raise ManifestError(f"{sidecar}: not valid YAML: {exc}") from exc
            meta = meta.merged(data)
        return meta


def is_metadata_file(path: Path) -> bool:
    return path.name in MANIFEST_NAMES or path.name.endswith(SIDECAR_SUFFIX)
