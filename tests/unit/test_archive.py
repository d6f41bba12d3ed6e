"""Zip archives: members are ingested like files in a folder and shown as ``a.zip!member``."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sqlalchemy import select

from pipeline.config import get_settings
from pipeline.ingest.archive import ArchiveMember, ArchiveProblem, expand_archive
from pipeline.ingest.manifest import is_metadata_file
from pipeline.ingest.run import Ingestor
from pipeline.store import Document, Quarantine, Segment, Store
from tests.unit.test_readers_formats import docx_bytes

TRANSCRIPT = ["I: Wat doe je in de buurtkamer?", "R: Koffie zetten voor iedereen."]


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _store(tmp_path: Path):
    settings = get_settings(home=tmp_path / "home")
    settings.privacy.enabled = False
    return settings, Store("sqlite:///" + str(tmp_path / "k.db"))


def test_zip_members_become_documents(tmp_path):
    settings, store = _store(tmp_path)
    archive = tmp_path / "verhalen.zip"
    archive.write_bytes(zip_bytes({
        "map/gesprek.docx": docx_bytes(TRANSCRIPT),
        "map/verhaal.txt": b"Ik woon hier graag.\n",
        "map/foto.jpg": b"\xff\xd8\xff",
        "map/kapot.docx": b"niet een zip",
        "__MACOSX/map/._gesprek.docx": b"junk",
        "map/.verborgen.txt": b"geheim",
    }))
    (tmp_path / "manifest.yaml").write_text(
        "files:\n  verhalen.zip/map/verhaal.txt:\n    collection: Buurtkamer\n    consent: ja\n"
    )
    summary = Ingestor(settings, store).ingest([archive])
    with store.session() as s:
        docs = {d.source_path: d for d in s.scalars(select(Document))}
        quarantine = {q.source_path: q.reason for q in s.scalars(select(Quarantine))}
        segs = list(s.scalars(select(Segment).order_by(Segment.document_id, Segment.ordinal)))
    member = f"{archive}!map/gesprek.docx"
    assert set(docs) == {member, f"{archive}!map/verhaal.txt"}
    assert docs[f"{archive}!map/verhaal.txt"].collection == "Buurtkamer"
    assert docs[member].format == "docx"
    roles = [g.role for g in segs if g.document_id == docs[member].id]
    assert roles == ["interviewer", "resident"]
    assert quarantine[f"{archive}!map/foto.jpg"] == "unsupported file type '.jpg'"
    assert "not a zip package" in quarantine[f"{archive}!map/kapot.docx"]
    assert len(quarantine) == 2 and summary.files == 3


def test_zip_inside_a_folder_and_reingest_is_idempotent(tmp_path):
    settings, store = _store(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.zip").write_bytes(zip_bytes({"x.txt": b"Een verhaal over de moestuin.\n"}))
    first = Ingestor(settings, store).ingest([folder])
    second = Ingestor(settings, store).ingest([folder])
    assert first.documents_added == 1 and second.documents_added == 0 and second.duplicates == 1


def test_corrupt_and_empty_archives(tmp_path):
    bad = tmp_path / "kapot.zip"
    bad.write_bytes(b"PK\x03\x04 broken")
    (problem,) = list(expand_archive(bad, {".txt"}, is_metadata_file))
    assert isinstance(problem, ArchiveProblem) and problem.error_class == "corrupt"
    empty = tmp_path / "leeg.zip"
    empty.write_bytes(zip_bytes({}))
    (problem,) = list(expand_archive(empty, {".txt"}, is_metadata_file))
    assert problem.reason == "zip archive holds no supported files"


def test_member_is_read_lazily_with_its_real_size(tmp_path):
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes({"s.txt": b"x" * 5000}))
    (member,) = list(expand_archive(archive, {".txt"}, is_metadata_file))
    assert isinstance(member, ArchiveMember)
    assert member.size == 5000 and member.display.endswith("a.zip!s.txt")
    assert member.load() == b"x" * 5000


def test_member_over_size_limit(tmp_path):
    settings, store = _store(tmp_path)
    settings.max_file_mb = 0.001
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes({"groot.txt": b"woord " * 2000}))
    summary = Ingestor(settings, store).ingest([archive])
    assert summary.quarantined[0][0].endswith("a.zip!groot.txt")
    assert "over the limit" in summary.quarantined[0][1]


def test_damaged_member_is_quarantined_and_the_rest_goes_on(tmp_path):
    settings, store = _store(tmp_path)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a_kapot.txt", b"Dit verhaal raakt beschadigd onderweg.\n")
        zf.writestr("b_goed.txt", b"Dit verhaal komt heel aan.\n")
    data = out.getvalue().replace(b"beschadigd", b"BESCHADIGD")  # CRC no longer matches
    archive = tmp_path / "a.zip"
    archive.write_bytes(data)
    summary = Ingestor(settings, store).ingest([archive])
    assert summary.documents_added == 1
    (where, reason), = summary.quarantined
    assert where.endswith("a.zip!a_kapot.txt") and reason.startswith("damaged zip member")
