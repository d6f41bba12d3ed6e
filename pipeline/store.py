"""The store: one SQLAlchemy schema that every stage reads from and writes to.

Keys are content hashes and stable ids, so re-running a stage replaces its own rows instead of
adding new ones. SQLite is the default (a file under ``KRACHT_HOME``); any SQLAlchemy URL works,
PostgreSQL included. Every write goes through :meth:`Store.session`, one transaction per unit of
work, so a crash leaves either the whole document or nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

SCHEMA_VERSION = 1


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class SchemaInfo(Base):
    __tablename__ = "schema_info"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Document(Base):
    """One story or transcript; ``text`` is the pseudonymized text that offsets refer to."""

    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("sha256", "record", name="uq_document_content"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    record: Mapped[str] = mapped_column(String(255), default="")
    format: Mapped[str] = mapped_column(String(16))
    encoding: Mapped[str | None] = mapped_column(String(32), nullable=True)
    collection: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    neighbourhood: Mapped[str | None] = mapped_column(String(255), nullable=True)
    date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    interviewer: Mapped[str | None] = mapped_column(String(255), nullable=True)
    language: Mapped[str] = mapped_column(String(8), default="nl")
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    text: Mapped[str] = mapped_column(Text)
    pseudonymized: Mapped[bool] = mapped_column(Boolean, default=False)
    ingested_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RawText(Base):
    """Opt-in only (``keep_raw_text``): the text before pseudonymization, never exported."""

    __tablename__ = "raw_text"
    document_id: Mapped[str] = mapped_column(
        ForeignKey("document.id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)


class Quarantine(Base):
    """A file (or record) that could not be ingested, and why. Nothing is dropped silently."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("source_path", "reason", name="uq_quarantine"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    error_class: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Segment(Base):
    """A piece of one speaker turn, with exact offsets into ``Document.text``."""

    __tablename__ = "segment"
    __table_args__ = (Index("ix_segment_document_ordinal", "document_id", "ordinal", unique=True),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    turn: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), index=True)
    timestamp: Mapped[str | None] = mapped_column(String(32), nullable=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class CodebookVersion(Base):
    __tablename__ = "codebook_version"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    yaml: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Tag(Base):
    """One code on one segment from one source (rules, a model, or a human)."""

    __tablename__ = "tag"
    __table_args__ = (UniqueConstraint("segment_id", "code", "source", name="uq_tag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    segment_id: Mapped[str] = mapped_column(
        ForeignKey("segment.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(64), index=True)
    score: Mapped[float] = mapped_column(Float)
    polarity: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(128), index=True)
    codebook_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class TaggedSegment(Base):
    """Marks that ``source`` coded a segment, also when it found no code (re-runs skip it)."""

    __tablename__ = "tagged_segment"
    segment_id: Mapped[str] = mapped_column(
        ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ReviewTask(Base):
    """The Label Studio task that holds a segment, so a re-push updates instead of duplicating."""

    __tablename__ = "review_task"
    segment_id: Mapped[str] = mapped_column(
        ForeignKey("segment.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(Integer, index=True)
    task_id: Mapped[int] = mapped_column(Integer, index=True)
    prediction_source: Mapped[str | None] = mapped_column(String(128), nullable=True)
    pushed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Annotation(Base):
    """An annotation pulled from Label Studio; upserted by its Label Studio id."""

    __tablename__ = "annotation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    task_id: Mapped[int] = mapped_column(Integer, index=True)
    segment_id: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    annotator: Mapped[str] = mapped_column(String(255))
    result: Mapped[list[Any]] = mapped_column(JSON, default=list)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Run(Base):
    """One command or flow run: what it was asked, what it did, how long it took."""

    __tablename__ = "run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="running")
    nlp: Mapped[str | None] = mapped_column(String(128), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Store:
    """A handle on the database; create one per command or flow run and pass it down."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        Base.metadata.create_all(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        with self.session() as s:
            if s.get(SchemaInfo, "schema_version") is None:
                s.add(SchemaInfo(key="schema_version", value=str(SCHEMA_VERSION)))

    @classmethod
    def from_settings(cls, settings: Any) -> Store:
        settings.ensure_dirs()
        return cls(settings.db_url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()

    # --- runs -------------------------------------------------------------------------------
    def start_run(self, kind: str, parameters: dict[str, Any], nlp: str | None = None) -> int:
        with self.session() as s:
            run = Run(kind=kind, parameters=_jsonable(parameters), nlp=nlp)
            s.add(run)
            s.flush()
            return run.id

    def finish_run(
        self,
        run_id: int,
        status: str,
        counts: dict[str, Any] | None = None,
        timings: dict[str, Any] | None = None,
        error: str | None = None,
        nlp: str | None = None,
    ) -> None:
        with self.session() as s:
            run = s.get(Run, run_id)
            if run is None:
                return
            run.status = status
            run.counts = _jsonable(counts or {})
            run.timings = _jsonable(timings or {})
            run.error = error
            if nlp:
                run.nlp = nlp
            run.finished_at = utcnow()

    # --- quarantine -------------------------------------------------------------------------
    def quarantine(
        self, source_path: str, reason: str, error_class: str, sha256: str | None
    ) -> None:
        with self.session() as s:
            existing = s.scalar(
                select(Quarantine).where(
                    Quarantine.source_path == source_path, Quarantine.reason == reason
                )
            )
            if existing is None:
                s.add(
                    Quarantine(
                        source_path=source_path,
                        reason=reason,
                        error_class=error_class,
                        sha256=sha256,
                    )
                )
            else:
                existing.at = utcnow()
                existing.sha256 = sha256

    # --- tags -------------------------------------------------------------------------------
    def record_codebook(self, name: str, version: str, hash_: str, yaml_text: str) -> None:
        """Idempotent, also when two workers (the Dask runner) register the same codebook at
        the same moment: the one whose insert loses the race finds the other's row and is done."""
        try:
            with self.session() as s:
                if s.get(CodebookVersion, hash_) is None:
                    s.add(CodebookVersion(hash=hash_, name=name, version=version, yaml=yaml_text))
        except IntegrityError:
            with self.session() as s:
                if s.get(CodebookVersion, hash_) is None:
                    raise

    @staticmethod
    def replace_tags(
        s: Session,
        segment_id: str,
        source: str,
        themes: list[dict[str, Any]],
        codebook_hash: str | None,
        run_id: int | None,
    ) -> None:
        """Swap a source's tags on one segment for new ones (idempotent re-tagging)."""
        s.execute(delete(Tag).where(Tag.segment_id == segment_id, Tag.source == source))
        for theme in themes:
            s.add(
                Tag(
                    segment_id=segment_id,
                    code=theme["code"],
                    score=float(theme["score"]),
                    polarity=theme["polarity"],
                    evidence=theme.get("evidence", []),
                    source=source,
                    codebook_hash=codebook_hash,
                    run_id=run_id,
                )
            )
        if s.get(TaggedSegment, (segment_id, source)) is None:
            s.add(TaggedSegment(segment_id=segment_id, source=source))

    # --- counts -----------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self.session() as s:
            out = {}
            for name, model in (
                ("documents", Document),
                ("segments", Segment),
                ("tags", Tag),
                ("quarantined", Quarantine),
                ("annotations", Annotation),
                ("review_tasks", ReviewTask),
                ("runs", Run),
            ):
                out[name] = s.scalar(select(func.count()).select_from(model)) or 0
            residents = select(func.count()).select_from(Segment).where(Segment.role == "resident")
            out["resident_segments"] = s.scalar(residents) or 0
            return out


def _jsonable(value: Any) -> Any:
    """Run parameters may hold paths and dates; store them as plain JSON."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
