"""Ingest into a real SQLite store: offsets, metadata, consent, quarantine, idempotence."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from pipeline.ingest.run import ingest_paths
from pipeline.store import Document, Quarantine, RawText, Segment

TRANSCRIPT = (
    "Interview buurtkamer\r\nDatum: 3 maart 2025\r\n\r\n"
    "I: Hoe vaak komt u hier? 😀\r\n"
    "R: Elke week.\u00a0Ik ken nu de buren. Dat is fijn!\r\n"
    "I: Mooi.\r\n"
)


def write_corpus(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "interview.txt").write_bytes(TRANSCRIPT.encode("utf-8"))
    (folder / "verhaal.md").write_text("# Tuin\n\nDe tuin bracht ons samen.\n", encoding="utf-8")
    (folder / "oud.txt").write_bytes("Café met één goede buur.\n".encode("cp1252"))
    (folder / "geheim.txt").write_text("Dit mag niet gebruikt worden.\n", encoding="utf-8")
    (folder / "manifest.yaml").write_text(
        "files:\n"
        "  interview.txt: {collection: Buurtkamer, neighbourhood: Lombok, date: 2025-03-03,"
        " interviewer: buurtverbinder, consent: true}\n"
        "  verhaal.md: {collection: Moestuin, date: 2024-06-01, consent: ja}\n"
        "  geheim.txt: {collection: Moestuin, consent: false}\n",
        encoding="utf-8",
    )
    (folder / "oud.txt.meta.yaml").write_text("collection: Repair Café\n", encoding="utf-8")


def test_offsets_metadata_and_roles(settings, store, tmp_path):
    write_corpus(tmp_path / "corpus")
    summary = ingest_paths([tmp_path / "corpus"], settings, store)
    assert summary.documents_added == 3
    assert summary.no_consent == [str(tmp_path / "corpus" / "geheim.txt")]
    assert not summary.failed
    with store.session() as s:
        docs = {Path(d.source_path).name: d for d in s.scalars(select(Document))}
        assert set(docs) == {"interview.txt", "verhaal.md", "oud.txt"}
        interview = docs["interview.txt"]
        assert interview.text == TRANSCRIPT  # nothing rewritten: CRLF, emoji and NBSP stay
        assert (interview.collection, interview.neighbourhood) == ("Buurtkamer", "Lombok")
        assert interview.date.isoformat() == "2025-03-03"
        assert docs["oud.txt"].encoding == "cp1252"
        assert docs["oud.txt"].collection == "Repair Café"
        segments = list(s.scalars(select(Segment).order_by(Segment.document_id, Segment.ordinal)))
        for seg in segments:
            assert docs_by_id(docs)[seg.document_id].text[seg.start:seg.end] == seg.text
        roles = [(seg.role, seg.text) for seg in segments if seg.document_id == interview.id]
        assert roles == [
            ("other", "Interview buurtkamer"),
            ("other", "Datum: 3 maart 2025"),
            ("interviewer", "Hoe vaak komt u hier? 😀"),
            ("resident", "Elke week.\u00a0Ik ken nu de buren. Dat is fijn!"),
            ("interviewer", "Mooi."),
        ]
        assert s.scalar(select(RawText).limit(1)) is None  # raw text only on opt-in


def docs_by_id(docs: dict[str, Document]) -> dict[str, Document]:
    return {d.id: d for d in docs.values()}


def test_reingest_adds_nothing(settings, store, tmp_path):
    write_corpus(tmp_path / "corpus")
    ingest_paths([tmp_path / "corpus"], settings, store)
    before = store.counts()
    again = ingest_paths([tmp_path / "corpus"], settings, store)
    assert again.documents_added == 0
    assert again.duplicates == 3
    assert store.counts() == before


def test_bad_files_are_quarantined_and_the_batch_goes_on(settings, store, tmp_path):
    folder = tmp_path / "mixed"
    write_corpus(folder)
    (folder / "leeg.txt").write_bytes(b"")
    (folder / "foto.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    (folder / "kapot.txt").write_bytes(b"caf\x81 \x8d\x8f" * 20)
    (folder / "notities.xyz").write_text("onbekend formaat", encoding="utf-8")
    summary = ingest_paths([folder, tmp_path / "bestaat-niet"], settings, store)
    assert summary.documents_added == 3
    reasons = {Path(where).name: reason for where, reason in summary.quarantined}
    assert set(reasons) == {"leeg.txt", "foto.txt", "kapot.txt", "notities.xyz", "bestaat-niet"}
    assert "empty" in reasons["leeg.txt"]
    assert "binary" in reasons["foto.txt"]
    assert "not valid UTF-8" in reasons["kapot.txt"]
    assert "unsupported" in reasons["notities.xyz"]
    assert "does not exist" in reasons["bestaat-niet"]
    with store.session() as s:
        rows = list(s.scalars(select(Quarantine)))
        assert {Path(r.source_path).name for r in rows} == set(reasons)
        assert all(r.reason and r.error_class for r in rows)
    # quarantining again does not duplicate rows
    ingest_paths([folder], settings, store)
    assert store.counts()["quarantined"] == 5


def test_folder_without_supported_files(settings, store, tmp_path):
    folder = tmp_path / "leeg"
    folder.mkdir()
    (folder / "plaatje.png").write_bytes(b"\x89PNG")
    summary = ingest_paths([folder], settings, store)
    assert any("no supported files" in reason for _, reason in summary.quarantined)


def test_file_over_size_limit(settings, store, tmp_path):
    settings.max_file_mb = 0.001
    big = tmp_path / "groot.txt"
    big.write_text("woord " * 1000, encoding="utf-8")
    summary = ingest_paths([big], settings, store)
    assert summary.documents_added == 0
    assert "over the limit" in summary.quarantined[0][1]


def test_raw_text_kept_only_on_opt_in(settings, store, tmp_path):
    settings.keep_raw_text = True
    story = tmp_path / "s.txt"
    story.write_text("Mail me op jan@example.nl, groet Jan.\n", encoding="utf-8")
    ingest_paths([story], settings, store)
    with store.session() as s:
        doc = s.scalars(select(Document)).one()
        raw = s.get(RawText, doc.id)
        assert raw is not None and "jan@example.nl" in raw.text
        assert "jan@example.nl" not in doc.text
