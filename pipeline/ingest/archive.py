"""Zip archives: each supported member is ingested as if it were a file in a folder.

Members are read straight from the archive (nothing is extracted to disk) and are shown as
``archive.zip!map/verhaal.docx``, so quarantine reasons point at the member. A member's virtual
path is ``<archive>/<member>`` so the manifest beside the archive can describe it by that name.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pipeline.ingest.errors import CorruptFile

ARCHIVE_SUFFIXES = {".zip"}
_SKIP_PARTS = {"__MACOSX"}
_UNSUP = "unsupported"


@dataclass(frozen=True)
class ArchiveMember:
    display: str
    path: Path
    size: int
    load: Callable[[], bytes]


@dataclass(frozen=True)
class ArchiveProblem:
    """A member (or the whole archive) that cannot be ingested, and why."""

    display: str
    reason: str
    error_class: str


def is_archive(path: Path) -> bool:
    return path.suffix.lower() in ARCHIVE_SUFFIXES


def _reader(archive: Path, name: str) -> Callable[[], bytes]:
    def load() -> bytes:
        try:
            with zipfile.ZipFile(archive) as zf:
                return zf.read(name)
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError) as exc:
            raise CorruptFile(f"damaged zip member: {exc}") from exc

    return load


def expand_archive(
    archive: Path, supported: set[str], is_metadata: Callable[[Path], bool]
) -> Iterator[ArchiveMember | ArchiveProblem]:
    """Members in name order; folders, hidden files and metadata files are skipped."""
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = sorted(zf.infolist(), key=lambda i: i.filename)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        yield ArchiveProblem(str(archive), f"corrupt zip archive: {exc}", "corrupt")
        return
    found = False
    for info in infos:
        member = PurePosixPath(info.filename)
        if info.is_dir() or any(p.startswith(".") or p in _SKIP_PARTS for p in member.parts):
            continue
        display = f"{archive}!{info.filename}"
        virtual = archive / Path(*member.parts)
        if is_metadata(virtual):
            continue
        suffix = member.suffix.lower()
        if suffix in ARCHIVE_SUFFIXES:
            yield ArchiveProblem(display, "archive inside an archive: unzip it first", _UNSUP)
        elif suffix not in supported:
            yield ArchiveProblem(display, f"unsupported file type {suffix or '(none)'!r}", _UNSUP)
        elif info.flag_bits & 0x1:
            yield ArchiveProblem(display, "encrypted zip member (password protected)", "encrypted")
        else:
            found = True
            yield ArchiveMember(display, virtual, info.file_size, _reader(archive, info.filename))
    if not found:
        yield ArchiveProblem(str(archive), "zip archive holds no supported files", "unsupported")
