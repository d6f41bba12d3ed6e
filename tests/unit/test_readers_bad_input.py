"""Bad files get a clear reason in quarantine and the summary; the batch goes on."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.config import get_settings
from pipeline.ingest.run import Ingestor
from pipeline.store import Document, Quarantine, Segment, Store
from tests.unit.test_readers_formats import docx_bytes, pdf_bytes

GOOD = "R: Ik woon hier graag.\nI: Waarom?\nR: Door de buren.\n"


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _run(tmp_path: Path, files: dict[str, bytes], max_mb: float = 50.0):
    settings = get_settings(home=tmp_path / "home", max_file_mb=max_mb)
    settings.privacy.enabled = False
    store = Store("sqlite:///" + str(tmp_path / "k.db"))
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    summary = Ingestor(settings, store).ingest([folder])
    with store.session() as s:
        quarantine = {Path(q.source_path).name: (q.error_class, q.reason)
                      for q in s.scalars(select(Quarantine))}
        docs = [Path(d.source_path).name for d in s.scalars(select(Document))]
        n_segments = len(list(s.scalars(select(Segment))))
    return summary, quarantine, docs, n_segments


@pytest.mark.parametrize(
    ("name", "data", "error_class", "words"),
    [
        ("kapot.docx", b"this is not a zip at all", "corrupt", "not a zip package"),
        ("kapot.xlsx", b"PK\x03\x04garbage", "corrupt", "damaged zip"),
        ("oud.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "corrupt", "old binary"),
        ("leeg.docx", b"", "empty", "0 bytes"),
        ("leeg.txt", b"", "empty", "0 bytes"),
        ("leeg.pdf", b"", "empty", "0 bytes"),
        ("wit.srt", b"   \n\n", "empty", "white space"),
        ("binair.csv", bytes(range(256)) * 4, "binary", "binary content"),
        ("binair.jsonl", b"\x00\x01\x02" * 100, "binary", "binary content"),
        ("nep.pdf", b"hello, I am text", "corrupt", "no %PDF header"),
        ("nep.rtf", b"plain text pretending", "corrupt", "{\\rtf"),
        ("nep.vtt", b"00:00:01.000 --> 00:00:02.000\nhoi\n", "corrupt", "WEBVTT"),
        ("zonder.csv", b"naam;leeftijd\nPiet;70\n", "no_text_column", "no recognisable text"),
        ("kapot.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage", "corrupt", "PDF"),
        ("leeg.odt", _zip({"content.xml": b"<bad"}), "corrupt", "corrupt .odt"),
        ("leeg.xlsx", _zip({"xl/workbook.xml": b"<bad"}), "corrupt", "corrupt .xlsx"),
        ("kaal.docx", _zip({"other.xml": b"<x/>"}), "corrupt", "no word/document.xml"),
    ],
)
def test_bad_file_is_quarantined_and_batch_goes_on(tmp_path, name, data, error_class, words):
    summary, quarantine, docs, _ = _run(tmp_path, {name: data, "goed.txt": GOOD.encode()})
    assert docs == ["goed.txt"]
    assert quarantine[name][0] == error_class
    assert words in quarantine[name][1]
    assert any(Path(where).name == name for where, _ in summary.quarantined)
    assert summary.failed


def test_pdf_with_password(tmp_path):
    data = pdf_bytes(["Geheim verhaal over de buurt."], password="geheim")
    _, quarantine, docs, _ = _run(tmp_path, {"slot.pdf": data, "goed.txt": GOOD.encode()})
    assert docs == ["goed.txt"]
    assert quarantine["slot.pdf"][0] == "encrypted"
    assert "password" in quarantine["slot.pdf"][1]


def test_pdf_without_text_layer(tmp_path):
    _, quarantine, _, _ = _run(tmp_path, {"scan.pdf": pdf_bytes([], image_only=True)})
    assert quarantine["scan.pdf"][0] == "no_text_layer"
    assert "no text layer" in quarantine["scan.pdf"][1]


def test_file_over_the_size_limit(tmp_path):
    big = docx_bytes(["x" * 200] * 20)
    _, quarantine, docs, n_segments = _run(tmp_path, {"groot.docx": big}, max_mb=0.001)
    assert quarantine["groot.docx"][0] == "too_large"
    assert "KRACHT_MAX_FILE_MB" in quarantine["groot.docx"][1]
    assert docs == [] and n_segments == 0  # nothing half-written


def test_truncated_docx_leaves_nothing(tmp_path):
    data = docx_bytes(["R: Een verhaal."])
    _, quarantine, docs, n_segments = _run(tmp_path, {"half.docx": data[: len(data) // 2]})
    assert quarantine["half.docx"][0] == "corrupt"
    assert docs == [] and n_segments == 0


def test_csv_text_column_named_in_manifest_but_missing(tmp_path):
    files = {
        "a.csv": b"id,verhaal\n1,Hoi.\n",
        "manifest.yaml": b"files:\n  a.csv:\n    text_column: tekstje\n",
    }
    _, quarantine, docs, _ = _run(tmp_path, files)
    assert quarantine["a.csv"][0] == "no_text_column" and "tekstje" in quarantine["a.csv"][1]
    assert docs == []


def test_csv_row_without_consent_is_not_ingested(tmp_path):
    data = b"id;toestemming;verhaal\n1;ja;Mag erin.\n2;nee;Mag er niet in.\n"
    _, quarantine, docs, _ = _run(tmp_path, {"c.csv": data})
    assert docs == ["c.csv#1"]
    assert "no consent" in quarantine["c.csv#row-3"][1]
