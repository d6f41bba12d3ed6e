"""Ingest: files → pseudonymized documents → turns → segments, one transaction per document.

Each file is judged on its own: a bad one is quarantined with its reason and the batch goes on.
Documents are keyed by the hash of their bytes (plus the record within a container), so ingesting
the same files again adds nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select

from pipeline.config import Settings
from pipeline.ingest.archive import ArchiveProblem, expand_archive, is_archive
from pipeline.ingest.errors import IngestError, NoConsent, TooLarge, UnsupportedFormat
from pipeline.ingest.manifest import FileMeta, ManifestError, ManifestIndex, is_metadata_file
from pipeline.ingest.readers import RawDocument, reader_for, supported_extensions
from pipeline.ingest.segment import SegmentSpan, segment_turns
from pipeline.ingest.transcript import looks_like_person_name, parse_turns
from pipeline.privacy import Pseudonymized, Pseudonymizer
from pipeline.store import Document, RawText, Segment, Store

log = logging.getLogger(__name__)


@dataclass
class Source:
    """One file to read: where it is shown as coming from, and how to get its bytes."""

    display: str
    path: Path
    size: int
    load: Callable[[], bytes]


@dataclass
class IngestSummary:
    files: int = 0
    documents_added: int = 0
    documents_updated: int = 0
    duplicates: int = 0
    segments_added: int = 0
    quarantined: list[tuple[str, str]] = field(default_factory=list)
    no_consent: list[str] = field(default_factory=list)
    document_ids: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.quarantined)

    def as_counts(self) -> dict[str, int]:
        return {
            "files": self.files,
            "documents_added": self.documents_added,
            "documents_updated": self.documents_updated,
            "duplicates": self.duplicates,
            "segments_added": self.segments_added,
            "quarantined": len(self.quarantined),
            "no_consent": len(self.no_consent),
        }


def discover(paths: Iterable[Path | str], summary: IngestSummary, store: Store) -> Iterator[Source]:
    """Expand folders recursively; missing paths and unsupported files are quarantined."""
    supported = supported_extensions()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            _quarantine(store, summary, str(path), "path does not exist", "missing", None)
            continue
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path))
            found = [p for p in files if not is_metadata_file(p)]
            usable = [p for p in found if p.suffix.lower() in supported or is_archive(p)]
            if not usable:
                _quarantine(
                    store, summary, str(path),
                    "folder holds no supported files (" + ", ".join(sorted(supported)) + ")",
                    "unsupported", None,
                )
            for p in found:
                if is_archive(p):
                    yield from _archive_sources(p, supported, summary, store)
                    continue
                if p.suffix.lower() not in supported:
                    _quarantine(
                        store, summary, str(p),
                        f"unsupported file type {p.suffix or '(none)'!r}", "unsupported", None,
                    )
                    continue
                yield _file_source(p)
        elif is_archive(path):
            yield from _archive_sources(path, supported, summary, store)
        else:
            yield _file_source(path)


# --- zip archives (pipeline/ingest/archive.py): members become Sources `a.zip!member.docx` ---
def _archive_sources(
    path: Path, supported: set[str], summary: IngestSummary, store: Store
) -> Iterator[Source]:
    for item in expand_archive(path, supported, is_metadata_file):
        if isinstance(item, ArchiveProblem):
            _quarantine(store, summary, item.display, item.reason, item.error_class, None)
        else:
            yield Source(item.display, item.path, item.size, item.load)
# --- end of zip archives ---------------------------------------------------------------------


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _file_source(path: Path) -> Source:
    return Source(str(path), path, path.stat().st_size, path.read_bytes)


def document_id(sha256: str, record: str) -> str:
    key = sha256 if not record else hashlib.sha256(f"{sha256}\0{record}".encode()).hexdigest()
    return key[:24]


def _quarantine(
    store: Store, summary: IngestSummary, where: str, reason: str, error_class: str,
    sha256: str | None,
) -> None:
    log.warning("quarantined %s: %s", where, reason)
    store.quarantine(where, reason, error_class, sha256)
    summary.quarantined.append((where, reason))


class Ingestor:
    """Holds what one ingest run needs (settings, store, pseudonymizer, manifests)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.pseudonymizer = Pseudonymizer.from_settings(settings)
        self.manifests = ManifestIndex()

    def ingest(
        self,
        paths: Iterable[Path | str],
        on_file: Callable[[Source], None] | None = None,
    ) -> IngestSummary:
        summary = IngestSummary()
        for source in discover(paths, summary, self.store):
            summary.files += 1
            if on_file:
                on_file(source)
            self.ingest_source(source, summary)
        return summary

    def ingest_source(self, source: Source, summary: IngestSummary) -> None:
        sha: str | None = None
        try:
            limit = int(self.settings.max_file_mb * 1024 * 1024)
            if source.size > limit:
                raise TooLarge(
                    f"file is {source.size / 1048576:.1f} MB, over the limit of "
                    f"{self.settings.max_file_mb:g} MB (KRACHT_MAX_FILE_MB)"
                )
            try:
                meta = self.manifests.lookup(source.path)
            except ManifestError as exc:
                raise IngestError(f"manifest: {exc}") from exc
            if meta.consent is False:
                raise NoConsent("manifest says no consent: not ingested")
            data = source.load()
            sha = hashlib.sha256(data).hexdigest()
            reader = reader_for(source.path)
            result = reader(source.path, data)
            for record, reason in result.errors:
                _quarantine(
                    self.store, summary, f"{source.display}#{record}", reason, "bad_record", sha
                )
            if not result.documents and not result.errors:
                raise IngestError("no text found in file")
            for raw in result.documents:
                self._store_document(source, sha, raw, meta, summary)
        except NoConsent:
            log.info("skipped %s: no consent", source.display)
            summary.no_consent.append(source.display)
        except (IngestError, UnsupportedFormat) as exc:
            _quarantine(self.store, summary, source.display, exc.reason, exc.error_class, sha)
        except OSError as exc:
            _quarantine(
                self.store, summary, source.display, f"cannot read file: {exc}", "io", sha
            )

    def _store_document(
        self, source: Source, sha: str, raw: RawDocument, meta: FileMeta, summary: IngestSummary
    ) -> None:
        doc_id = document_id(sha, raw.record)
        meta = meta.merged(raw.metadata) if raw.metadata else meta
        with self.store.session() as s:
            existing = s.scalar(
                select(Document).where(Document.sha256 == sha, Document.record == raw.record)
            )
            if existing is not None:
                _apply_meta(existing, meta)
                summary.duplicates += 1
                summary.document_ids.append(existing.id)
                return
        parsed = parse_document(raw, meta, self.settings, self.pseudonymizer)
        pseudo, spans = parsed.pseudonymized, parsed.segments
        with self.store.session() as s:
            doc = Document(
                id=doc_id,
                source_path=source.display + (f"#{raw.record}" if raw.record else ""),
                sha256=sha,
                record=raw.record,
                format=raw.format,
                encoding=raw.encoding,
                text=pseudo.text,
                pseudonymized=self.pseudonymizer.enabled,
            )
            _apply_meta(doc, meta)
            s.add(doc)
            if self.settings.keep_raw_text:
                s.add(RawText(document_id=doc_id, text=raw.text))
            s.flush()
            if spans:  # one bulk INSERT: per-object ORM adds dominated ingest time
                s.execute(
                    insert(Segment),
                    [
                        {
                            "id": f"{doc_id}:{span.ordinal}",
                            "document_id": doc_id,
                            "ordinal": span.ordinal,
                            "turn": span.turn,
                            "speaker": span.speaker,
                            "role": span.role,
                            "timestamp": span.timestamp,
                            "start": span.start,
                            "end": span.end,
                            "text": pseudo.text[span.start:span.end],
                        }
                        for span in spans
                    ],
                )
        summary.documents_added += 1
        summary.segments_added += len(spans)
        summary.document_ids.append(doc_id)


@dataclass
class ParsedDocument:
    pseudonymized: Pseudonymized
    segments: list[SegmentSpan]


def parse_document(
    raw: RawDocument, meta: FileMeta, settings: Settings, pseudonymizer: Pseudonymizer
) -> ParsedDocument:
    """Pseudonymize first, then find turns and segments in the pseudonymized text."""
    known = [meta.interviewer] if meta.interviewer else []
    # A manifest often names the interviewer's role ("buurtverbinder"); only a name is removed.
    names = [n for n in known if looks_like_person_name(n)]
    pseudo = pseudonymizer.pseudonymize(raw.text, meta.collection, extra_names=names)
    known += [pseudo.mapping[name] for name in list(known) if name in pseudo.mapping]
    turns = parse_turns(pseudo.text, known_interviewers=known)
    spans = segment_turns(
        pseudo.text, turns, settings.segment_max_sentences, settings.segment_max_chars
    )
    return ParsedDocument(pseudo, spans)


def _apply_meta(doc: Document, meta: FileMeta) -> None:
    doc.collection = meta.collection
    doc.neighbourhood = meta.neighbourhood
    doc.date = meta.date
    doc.interviewer = meta.interviewer
    doc.language = meta.language
    doc.meta = dict(meta.extra)


def ingest_paths(paths: Iterable[Path | str], settings: Settings, store: Store) -> IngestSummary:
    """Ingest files and folders into the store; see :class:`Ingestor`."""
    return Ingestor(settings, store).ingest(paths)
