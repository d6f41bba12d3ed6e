"""Write the demo files in every format kracht reads, from the texts below.

All people, streets, phone numbers and e-mail addresses here are invented. Run it from anywhere:
``.venv/bin/python data/sample/formats/make_formats.py`` (needs python-docx, odfpy, openpyxl and
reportlab, all in the dev dependencies). The generated files are committed, so the demo does not
need these libraries; re-run the script after changing a text.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "sample" / "formats"

DOCX_TRANSCRIPT = [
    "Titel: Gesprek over de moestuin",
    "Datum: 12 april 2025",
    "I: Hoe ben je bij de moestuin terechtgekomen?",
    "R: Mijn buurvrouw Anouk de Vries nam me mee. Ik kende bijna niemand in de straat. "
    "Nu ken ik de halve buurt bij naam.",
    "I: Wat betekent de tuin voor je?",
    "R: Ik ben minder eenzaam. Op zaterdag drinken we koffie bij de kas en Anouk brengt "
    "altijd iets lekkers mee.",
    "I: En hoe gaat het met de gemeente?",
    "R: De subsidie is maar voor een jaar. Elk jaar weer formulieren invullen, dat kost ons "
    "veel energie.",
]

ODT_STORY = [
    ("h", "Het bankje voor de deur"),
    ("p", "Sinds vorig jaar staat er een bankje voor de deur van de Buurtkamer De Vlinder. "
          "Meneer Kowalski van nummer 14 heeft het zelf getimmerd."),
    ("p", "Nu zit er elke middag wel iemand. Oudere bewoners die vroeger alleen thuis zaten, "
          "maken nu een praatje. Ik voel me hier echt thuis."),
]

RTF_STORY = (
    r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Calibri;}}" "\n"
    r"\f0\fs22 Toen mijn man overleed, kwam ik de deur niet meer uit.\par" "\n"
    r"Yusuf van het repaircaf\'e9 belde elke week even aan. Hij vroeg of ik wilde helpen met "
    r"koffie schenken.\par" "\n"
    r"Nu sta ik er elke zaterdag. Ik ben weer iemand, de mensen kennen me. "
    r"Dat had ik nooit gedacht, zo'n ge\'efnteresseerde groep.\par" "\n}"
)

PDF_TRANSCRIPT = [
    "Interview buurthuis Presikhaaf",
    "Sanne: Hoe lang doe je al mee met de kookclub?",
    "Ahmed: Een jaar of twee. Eerst kwam ik alleen eten, nu kook ik zelf elke donderdag voor "
    "twintig mensen uit de wijk. Dat had ik nooit gedurfd, maar de anderen zeiden dat ik het "
    "kon.",
    "Sanne: Wat heeft dat je gebracht?",
    "Ahmed: Zelfvertrouwen. En vrienden. Als iemand een week niet komt, gaan we even langs.",
]

VTT_TRANSCRIPT = """WEBVTT

00:00:01.000 --> 00:00:04.500
<v Marieke Jansen>Vertel eens, hoe is de buurtapp begonnen?</v>

00:00:05.000 --> 00:00:09.000
<v Fatima El Idrissi>Na de overstroming van de kelders wilde iedereen elkaar kunnen bereiken.</v>

00:00:09.200 --> 00:00:13.000
<v Fatima El Idrissi>Nu vragen mensen er om hulp, of iemand een ladder heeft.</v>

00:00:14.000 --> 00:00:16.000
<v Marieke Jansen>En voelt de buurt veiliger?</v>

00:00:16.500 --> 00:00:21.000
<v Fatima El Idrissi>Ja. We letten op elkaar, ook op de ouderen die alleen wonen.</v>
"""

SRT_TRANSCRIPT = """1
00:00:00,500 --> 00:00:03,000
Interviewer: Wat doet het taalcafé voor jou?

2
00:00:03,500 --> 00:00:07,000
Bewoner: Ik spreek nu Nederlands met de buren.

3
00:00:07,100 --> 00:00:10,000
Vroeger durfde ik niet eens boodschappen te doen.

4
00:00:11,000 --> 00:00:13,000
Interviewer: En wie helpt er mee?

5
00:00:13,500 --> 00:00:17,000
Bewoner: Vrijwilligers uit de wijk. Een van hen is nu mijn vriendin.
"""

CSV_ROWS = [
    ["id", "collectie", "buurt", "datum", "verhaal"],
    ["rc-01", "Repair Café Tarwewijk", "Tarwewijk", "2025-02-08",
     "Mijn fiets was kapot en ik had geen geld. In het repaircafé leerde ik hem zelf maken. "
     "Nu help ik anderen met hun fiets."],
    ["rc-02", "Repair Café Tarwewijk", "Tarwewijk", "2025-03-08",
     "Ik kwam voor een kapotte broodrooster en bleef voor de koffie. Je raakt aan de praat met "
     "mensen die je anders nooit zou spreken."],
    ["rc-03", "Repair Café Tarwewijk", "Tarwewijk", "2025-04-12",
     "De vrijwilligers merkten dat mijn buurman al weken niet buiten was geweest. Ze hebben "
     "de wijkverpleging gebeld."],
]

XLSX_ROWS = [
    ["nr", "initiatief", "wijk", "datum", "tekst"],
    [1, "Huiskamer Bijlmer", "Bijlmer-Oost", "2025-05-20",
     "In de huiskamer beslissen wij zelf wat we doen. De welzijnsorganisatie denkt mee, maar "
     "het is van ons."],
    [2, "Huiskamer Bijlmer", "Bijlmer-Oost", "2025-06-03",
     "Ik had nooit gedacht dat ik een groep zou leiden. Nu organiseer ik de naaiochtend."],
]

JSONL_RECORDS = [
    {"id": "ba-01", "text": "Via de buurtapp vond ik iemand die met mij naar het ziekenhuis "
     "wilde rijden. Ik voel me minder alleen.", "collectie": "Buurtapp Malburgen",
     "buurt": "Malburgen", "datum": "2025-07-01"},
    {"id": "ba-02", "text": "Het Oranje Fonds gaf ons geld voor twee jaar. Eindelijk kunnen we "
     "vooruit plannen.", "collectie": "Buurtapp Malburgen", "buurt": "Malburgen",
     "datum": "2025-07-15"},
    {"id": "ba-03", "text": "Mensen vertrouwen elkaar meer sinds we samen de straat schoonmaken.",
     "collectie": "Buurtapp Malburgen", "buurt": "Malburgen", "datum": "2025-08-02"},
]

ZIP_MEMBERS = {
    "verhalen/speeltuin.txt": "Samen met de kinderen hebben we de speeltuin opgeknapt. De "
    "corporatie betaalde de verf, wij deden het werk.\n",
    "verhalen/kerstdiner.md": "# Kerstdiner\n\nVijftig buren aan een lange tafel in de "
    "gymzaal. Niemand hoefde alleen te zijn met kerst.\n",
}


def docx_bytes(paragraphs: list[str], header: str = "") -> bytes:
    import docx

    document = docx.Document()
    if header:
        document.sections[0].header.paragraphs[0].text = header
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def odt_bytes(blocks: list[tuple[str, str]]) -> bytes:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    document = OpenDocumentText()
    for kind, text in blocks:
        element = H(outlinelevel=1, text=text) if kind == "h" else P(text=text)
        document.text.addElement(element)
    out = io.BytesIO()
    document.write(out)
    return out.getvalue()


def pdf_bytes(paragraphs: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    out = io.BytesIO()
    style = getSampleStyleSheet()["Normal"]
    SimpleDocTemplate(out, pagesize=A4).build([Paragraph(p, style) for p in paragraphs])
    return out.getvalue()


def xlsx_bytes(rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_text(rows: list[list], delimiter: str = ";") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue()


def zip_bytes(members: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return out.getvalue()


def main() -> None:
    files: dict[str, bytes] = {
        "moestuin_interview.docx": docx_bytes(DOCX_TRANSCRIPT, header="Vertrouwelijk"),
        "bankje_verhaal.odt": odt_bytes(ODT_STORY),
        "repaircafe_verhaal.rtf": RTF_STORY.encode("ascii"),
        "kookclub_interview.pdf": pdf_bytes(PDF_TRANSCRIPT),
        "buurtapp_gesprek.vtt": VTT_TRANSCRIPT.encode("utf-8"),
        "taalcafe_gesprek.srt": SRT_TRANSCRIPT.encode("utf-8"),
        "repaircafe_formulier.csv": csv_text(CSV_ROWS).encode("utf-8"),
        "huiskamer_formulier.xlsx": xlsx_bytes(XLSX_ROWS),
        "buurtapp_verhalen.jsonl": "".join(
            json.dumps(r, ensure_ascii=False) + "\n" for r in JSONL_RECORDS
        ).encode("utf-8"),
        "verhalen.zip": zip_bytes(ZIP_MEMBERS),
    }
    for name, data in files.items():
        (HERE / name).write_bytes(data)
        print(f"wrote {name} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
