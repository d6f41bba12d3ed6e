"""Every format through the real Ingestor into a temporary SQLite store.

Fixtures are built here at test time with the same libraries users' tools write them with
(python-docx, odfpy, openpyxl, reportlab) or as plain strings; nothing binary is committed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.config import get_settings
from pipeline.ingest.readers import READERS
from pipeline.ingest.run import Ingestor
from pipeline.ingest.transcript import parse_turns
from pipeline.store import Document, Segment, Store

TRANSCRIPT = [
    "I: Hoe ben je bij de moestuin gekomen?",
    "R: Mijn buurvrouw nam me mee. Ik kende bijna niemand.",
    "I: Wat betekent de tuin voor je?",
    "R: Ik ben minder eenzaam. We drinken koffie bij de kas.",
]
STORY = ["Sinds vorig jaar staat er een bankje voor de deur.", "Nu zit er elke middag iemand."]


# --- fixture builders ------------------------------------------------------------------------
def docx_bytes(paragraphs: list[str], table: list[list[str]] | None = None,
               header: str = "", heading: str = "") -> bytes:
    import docx

    document = docx.Document()
    if header:
        document.sections[0].header.paragraphs[0].text = header
        document.sections[0].footer.paragraphs[0].text = header
    if heading:
        document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def odt_bytes(paragraphs: list[str], heading: str = "") -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    document = OpenDocumentText()
    if heading:
        document.text.addElement(H(outlinelevel=1, text=heading))
    for text in paragraphs:
        document.text.addElement(P(text=text))
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def pdf_bytes(
    paragraphs: list[str], password: str | None = None, image_only: bool = False
) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.pdfgen import canvas
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    out = io.BytesIO()
    if image_only:
        page = canvas.Canvas(out, pagesize=A4)
        page.rect(100, 100, 300, 300, fill=1)  # drawn shapes, no text layer
        page.save()
        return out.getvalue()
    encrypt = None
    if password:
        from reportlab.lib import pdfencrypt

        encrypt = pdfencrypt.StandardEncryption(password, canPrint=0)
    style = getSampleStyleSheet()["Normal"]
    SimpleDocTemplate(out, pagesize=A4, encrypt=encrypt).build(
        [Paragraph(p, style) for p in paragraphs]
    )
    return out.getvalue()


def xlsx_bytes(rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rtf_bytes(paragraphs: list[str]) -> bytes:
    escaped = [p.replace("é", r"\'e9").replace("ï", r"\'ef") for p in paragraphs]
    body = "".join(p + r"\par" + "\n" for p in escaped)
    return (r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Arial;}}\f0 " + body + "}").encode("ascii")


# --- helpers ---------------------------------------------------------------------------------
@pytest.fixture
def env(tmp_path: Path):
    settings = get_settings(home=tmp_path / "home")
    settings.privacy.enabled = False  # format tests: the text as read (privacy has its own tests)
    store = Store("sqlite:///" + str(tmp_path / "k.db"))
    return settings, store


def ingest(env, tmp_path: Path, name: str, data: bytes, manifest: str | None = None):
    settings, store = env
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    if manifest:
        (folder / "manifest.yaml").write_text(manifest, encoding="utf-8")
    summary = Ingestor(settings, store).ingest([folder / name])
    with store.session() as s:
        docs = list(s.scalars(select(Document).order_by(Document.record)))
        segs = {d.id: list(s.scalars(
            select(Segment).where(Segment.document_id == d.id).order_by(Segment.ordinal)
        )) for d in docs}
    for doc in docs:
        for seg in segs[doc.id]:
            assert doc.text[seg.start:seg.end] == seg.text
    return summary, docs, segs


def roles(segs: list[Segment]) -> list[tuple[str, str]]:
    return [(s.role, s.text) for s in segs]


EXPECTED_TRANSCRIPT = [
    ("interviewer", "Hoe ben je bij de moestuin gekomen?"),
    ("resident", "Mijn buurvrouw nam me mee. Ik kende bijna niemand."),
    ("interviewer", "Wat betekent de tuin voor je?"),
    ("resident", "Ik ben minder eenzaam. We drinken koffie bij de kas."),
]


def test_all_formats_registered():
    for ext in (".docx", ".odt", ".rtf", ".pdf", ".vtt", ".srt", ".csv", ".xlsx", ".jsonl"):
        assert ext in READERS


# --- documents -------------------------------------------------------------------------------
def test_docx_transcript_same_turns_as_txt(env, tmp_path):
    txt = "\n".join(TRANSCRIPT) + "\n"
    _, docs, segs = ingest(env, tmp_path, "gesprek.docx", docx_bytes(TRANSCRIPT, header="Geheim"))
    (doc,) = docs
    assert doc.format == "docx" and "Geheim" not in doc.text
    assert roles(segs[doc.id]) == EXPECTED_TRANSCRIPT
    as_txt = [(t.speaker, t.role, txt[t.start:t.end]) for t in parse_turns(txt)]
    as_docx = [(t.speaker, t.role, doc.text[t.start:t.end]) for t in parse_turns(doc.text)]
    assert as_docx == as_txt


def test_docx_tables_in_order_and_speaker_table(env, tmp_path):
    table = [["Spreker", "Tekst"], ["Interviewer", "Wat doe je hier?"], ["Bewoner", "Ik kook."],
             ["Interviewer", "Waarom?"], ["Bewoner", "Voor de buren."]]
    data = docx_bytes(["Inleiding van het gesprek."], table=table, heading="Kookclub")
    _, (doc,), segs = ingest(env, tmp_path, "tabel.docx", data)
    assert doc.text.startswith("# Kookclub\nInleiding van het gesprek.\n")
    assert doc.text.index("Inleiding") < doc.text.index("Wat doe je hier?")
    assert "Interviewer: Wat doe je hier?" in doc.text
    got = [(s.role, s.text) for s in segs[doc.id] if s.role != "other"]
    assert got == [("interviewer", "Wat doe je hier?"), ("resident", "Ik kook."),
                   ("interviewer", "Waarom?"), ("resident", "Voor de buren.")]


def test_odt_story_with_heading(env, tmp_path):
    _, (doc,), segs = ingest(env, tmp_path, "bankje.odt", odt_bytes(STORY, heading="Het bankje"))
    assert doc.format == "odt"
    assert [(s.role, s.text) for s in segs[doc.id]] == [
        ("other", "# Het bankje"), ("resident", " ".join(STORY).replace(". ", ".\n"))
    ]


def test_odt_transcript(env, tmp_path):
    _, (doc,), segs = ingest(env, tmp_path, "gesprek.odt", odt_bytes(TRANSCRIPT))
    assert roles(segs[doc.id]) == EXPECTED_TRANSCRIPT


def test_rtf_story_with_accents(env, tmp_path):
    paragraphs = ["Yusuf van het caf\u00e9 belde aan.", "Een ge\u00efnteresseerde groep."]
    _, (doc,), segs = ingest(env, tmp_path, "verhaal.rtf", rtf_bytes(paragraphs))
    assert doc.text == "Yusuf van het café belde aan.\nEen geïnteresseerde groep.\n"
    assert doc.encoding == "cp1252"
    assert segs[doc.id][0].role == "resident"


def test_rtf_transcript(env, tmp_path):
    _, (doc,), segs = ingest(env, tmp_path, "gesprek.rtf", rtf_bytes(TRANSCRIPT))
    assert roles(segs[doc.id]) == EXPECTED_TRANSCRIPT


def test_pdf_transcript_unwraps_lines(env, tmp_path):
    long = ("R: Eerst kwam ik alleen eten, nu kook ik zelf elke donderdag voor twintig mensen uit "
            "de wijk en dat had ik nooit gedurfd als de anderen niet hadden gezegd dat ik het kon.")
    paragraphs = [*TRANSCRIPT, "I: Wat nog meer?", long]
    _, (doc,), segs = ingest(env, tmp_path, "gesprek.pdf", pdf_bytes(paragraphs))
    assert doc.format == "pdf"
    assert roles(segs[doc.id])[:4] == EXPECTED_TRANSCRIPT
    assert segs[doc.id][-1].text == long[3:]  # one sentence again, not cut at the page edge


def test_vtt_voice_tags_merge_consecutive_cues(env, tmp_path):
    vtt = (
        "WEBVTT\n\n"
        "00:00:01.000 --> 00:00:03.000\n<v Marieke>Hoe is de buurtapp begonnen?</v>\n\n"
        "00:00:04.000 --> 00:00:06.000\n<v Fatima>Na de overstroming.</v>\n\n"
        "00:00:06.500 --> 00:00:08.000\n<v Fatima>Iedereen wilde elkaar bereiken.</v>\n\n"
        "NOTE dit is een notitie\n\n"
        "00:01:10.000 --> 00:01:12.000\n<v Marieke>En nu?</v>\n\n"
        "00:01:12.500 --> 00:01:15.000\n<v Fatima>We letten op elkaar &amp; de ouderen.</v>\n"
    )
    manifest = "files:\n  app.vtt:\n    interviewer: Marieke\n    collection: Buurtapp\n"
    _, (doc,), segs = ingest(env, tmp_path, "app.vtt", vtt.encode(), manifest)
    assert doc.text.splitlines()[1] == (
        "[00:00:04] Fatima: Na de overstroming. Iedereen wilde elkaar bereiken."
    )
    got = [(s.speaker, s.role, s.timestamp) for s in segs[doc.id]]
    assert got == [("Marieke", "interviewer", "00:00:01"), ("Fatima", "resident", "00:00:04"),
                   ("Marieke", "interviewer", "00:01:10"), ("Fatima", "resident", "00:01:12")]
    assert segs[doc.id][-1].text == "We letten op elkaar & de ouderen."
    assert doc.collection == "Buurtapp" and doc.interviewer == "Marieke"


def test_srt_name_prefix_and_continuation(env, tmp_path):
    srt = (
        "1\n00:00:00,500 --> 00:00:03,000\nInterviewer: Wat doet het taalcafé voor jou?\n\n"
        "2\n00:00:03,500 --> 00:00:07,000\nBewoner: Ik spreek nu Nederlands.\n\n"
        "3\n00:00:07,100 --> 00:00:10,000\n<i>Vroeger durfde ik niets.</i>\n\n"
        "4\n01:02:03,000 --> 01:02:05,000\nInterviewer: Mooi.\n"
    )
    _, (doc,), segs = ingest(env, tmp_path, "taal.srt", srt.encode("utf-8-sig"))
    assert doc.text.splitlines() == [
        "[00:00:00] Interviewer: Wat doet het taalcafé voor jou?",
        "[00:00:03] Bewoner: Ik spreek nu Nederlands. Vroeger durfde ik niets.",
        "[01:02:03] Interviewer: Mooi.",
    ]
    assert [(s.role, s.timestamp) for s in segs[doc.id]] == [
        ("interviewer", "00:00:00"), ("resident", "00:00:03"), ("interviewer", "01:02:03")
    ]


def test_srt_without_speakers_is_a_story(env, tmp_path):
    srt = "1\n00:00:01,000 --> 00:00:02,000\nIk woon hier al lang.\n\n2\n00:00:02,500 --> " \
          "00:00:04,000\nDe buurt is veranderd.\n"
    _, (doc,), segs = ingest(env, tmp_path, "s.srt", srt.encode())
    assert doc.text == "Ik woon hier al lang. De buurt is veranderd.\n"
    assert {s.role for s in segs[doc.id]} == {"resident"}


# --- one story per record ----------------------------------------------------------------------
def test_csv_rows_with_metadata_and_semicolons(env, tmp_path):
    csv_text = (
        "id;collectie;buurt;datum;leeftijdsgroep;verhaal\n"
        "a1;Repair Café;Tarwewijk;2025-02-08;65+;\"Mijn fiets was kapot; ik leerde hem maken.\"\n"
        "a2;Repair Café;Tarwewijk;08-03-2025;;Ik bleef voor de koffie.\n"
        ";;;;;\n"
        "a3;Repair Café;Tarwewijk;2025-04-12;;\n"
    )
    summary, docs, _ = ingest(env, tmp_path, "form.csv", csv_text.encode("cp1252"))
    assert [d.record for d in docs] == ["a1", "a2"]
    a1, a2 = docs
    assert a1.text == "Mijn fiets was kapot; ik leerde hem maken."
    assert (a1.collection, a1.neighbourhood, a1.date) == ("Repair Café", "Tarwewijk",
                                                          dt.date(2025, 2, 8))
    assert a1.meta == {"leeftijdsgroep": "65+"} and a1.encoding == "cp1252"
    assert a2.date == dt.date(2025, 3, 8)
    assert a1.source_path.endswith("form.csv#a1")
    assert summary.quarantined == [(str(tmp_path / "in" / "form.csv") + "#row-5",
                                    "row 5: empty text in 'verhaal'")]


def test_csv_text_column_from_manifest(env, tmp_path):
    csv_text = "nummer,wijk,antwoord_open\n1,Oost,Het buurthuis is mijn tweede thuis.\n"
    manifest = "files:\n  enquete.csv:\n    text_column: antwoord_open\n    collection: Enquete\n"
    _, (doc,), _ = ingest(env, tmp_path, "enquete.csv", csv_text.encode(), manifest)
    assert doc.text == "Het buurthuis is mijn tweede thuis."
    assert (doc.record, doc.neighbourhood, doc.collection) == ("1", "Oost", "Enquete")


def test_xlsx_rows(env, tmp_path):
    rows = [["nr", "initiatief", "wijk", "datum", "tekst"],
            [1, "Huiskamer", "Bijlmer", dt.datetime(2025, 5, 20), "Wij beslissen zelf."],
            [2, "Huiskamer", "Bijlmer", "2025-06-03", "Ik leid nu de naaiochtend."],
            [None, None, None, None, None]]
    summary, docs, segs = ingest(env, tmp_path, "form.xlsx", xlsx_bytes(rows))
    assert [(d.record, d.text, d.collection, d.neighbourhood, d.date) for d in docs] == [
        ("1", "Wij beslissen zelf.", "Huiskamer", "Bijlmer", dt.date(2025, 5, 20)),
        ("2", "Ik leid nu de naaiochtend.", "Huiskamer", "Bijlmer", dt.date(2025, 6, 3)),
    ]
    assert not summary.quarantined
    assert all(segs[d.id][0].role == "resident" for d in docs)


def test_jsonl_good_lines_ingested_bad_lines_reported(env, tmp_path):
    lines = [
        json.dumps({"id": "j1", "text": "De buurtapp helpt.", "buurt": "Malburgen"}),
        "{broken json",
        json.dumps({"id": "j2", "text": "Samen de straat schoon.",
                    "metadata": {"datum": "2025-08-02"}}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": "j3", "titel": "no text"}),
    ]
    summary, docs, _ = ingest(env, tmp_path, "v.jsonl", ("\n".join(lines) + "\n").encode())
    assert [(d.record, d.text) for d in docs] == [("j1", "De buurtapp helpt."),
                                                  ("j2", "Samen de straat schoon.")]
    assert docs[0].neighbourhood == "Malburgen" and docs[1].date == dt.date(2025, 8, 2)
    reasons = dict(summary.quarantined)
    where = str(tmp_path / "in" / "v.jsonl")
    assert reasons[where + "#line-2"].startswith("line 2: not valid JSON")
    assert reasons[where + "#line-4"] == "line 4: expected a JSON object, got list"
    assert reasons[where + "#line-5"].startswith("line 5: no text field")


def test_reingest_adds_nothing(env, tmp_path):
    data = xlsx_bytes([["id", "verhaal"], ["x", "Een."], ["y", "Twee."]])
    ingest(env, tmp_path, "f.xlsx", data)
    summary, docs, _ = ingest(env, tmp_path, "f.xlsx", data)
    assert len(docs) == 2 and summary.documents_added == 0 and summary.duplicates == 2


def test_named_speakers_pseudonymized_in_docx(tmp_path):
    """Names as speaker labels get the same tag as in the text; roles still come out right."""
    settings = get_settings(home=tmp_path / "home")
    store = Store("sqlite:///" + str(tmp_path / "k.db"))
    folder = tmp_path / "in"
    folder.mkdir()
    paragraphs = ["Sanne: Hoe gaat het met de moestuin?",
                  "Fatima: Goed. Iedereen zegt: Fatima, jij hebt groene vingers!",
                  "Sanne: Mooi. En de gemeente?",
                  "Fatima: Die helpt weinig."]
    (folder / "g.docx").write_bytes(docx_bytes(paragraphs))
    (folder / "manifest.yaml").write_text("files:\n  g.docx:\n    interviewer: Sanne\n")
    Ingestor(settings, store).ingest([folder])
    with store.session() as s:
        doc = s.scalars(select(Document)).one()
        segs = list(s.scalars(select(Segment).order_by(Segment.ordinal)))
    assert doc.pseudonymized and "Fatima" not in doc.text and "Sanne" not in doc.text
    assert "[PERSOON-2]: Goed. Iedereen zegt: [PERSOON-2], jij" in doc.text
    assert [(g.speaker, g.role) for g in segs if g.role != "other"][:2] == [
        ("[PERSOON-1]", "interviewer"), ("[PERSOON-2]", "resident")]
    assert "moestuin" in doc.text and "gemeente" in doc.text


def test_docx_tracked_changes_and_content_controls(env, tmp_path):
    """Word shows inserted text and hides deleted text; content controls hold real text."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    document.add_paragraph("I: Hoe gaat het?")
    answer = document.add_paragraph("R: Het gaat ")
    answer._p.append(parse_xml(
        f'<w:ins {nsdecls("w")} w:id="1" w:author="x"><w:r><w:t>heel </w:t></w:r></w:ins>'))
    answer._p.append(parse_xml(
        f'<w:del {nsdecls("w")} w:id="2" w:author="x"><w:r><w:delText>slecht</w:delText>'
        "</w:r></w:del>"))
    answer.add_run("goed.")
    document.element.body.insert(0, parse_xml(
        f'<w:sdt {nsdecls("w")}><w:sdtContent><w:p><w:r><w:t>Titel: Omslag</w:t></w:r></w:p>'
        "</w:sdtContent></w:sdt>"))
    out = io.BytesIO()
    document.save(out)
    _, (doc,), _ = ingest(env, tmp_path, "wijzigingen.docx", out.getvalue())
    assert doc.text == "Titel: Omslag\nI: Hoe gaat het?\nR: Het gaat heel goed.\n"
