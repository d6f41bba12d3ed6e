"""The report's figures against a small store whose numbers are worked out by hand.

Store (see ``test_report_helpers.small_store``): 4 documents, 8 resident segments.
d1 (moestuin, 2024-05-10): s1 netwerken+ontmoeting, s3 eenzaamheid (mixed); an interviewer turn
with a (wrong) machine tag that must not count. d2 (moestuin, 2024-11-02, CRLF): s0 machine
gezien_en_gewaardeerd, human anna gezien_en_gewaardeerd + samenwerking (negative); s1
leefbaarheid; s2 machine ontmoeting but reviewed by bob in Label Studio with no codes. d3
(buurtkamer, 2025-03-01): s0 eigenaarschap+zelfvertrouwen, s1 ontmoeting+netwerken+oude_code.
d4 (buurtkamer, no date): one uncoded resident segment.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import pytest

from pipeline.report.frame import COLUMNS, frame
from pipeline.report.html import render_html, write_html
from pipeline.report.i18n import period_label
from pipeline.report.quotes import excerpt, highlight
from pipeline.report.stats import build_report_data
from tests.unit.test_report_helpers import codebook, small_store


@pytest.fixture()
def store(tmp_path: Path):
    return small_store(tmp_path)


def test_frame_final_view_human_wins_and_review_without_codes_drops_machine(store) -> None:
    df = frame(store)
    assert list(df.columns) == COLUMNS
    assert set(df["role"]) == {"resident"}
    d2 = df[df["document_id"] == "d2"]
    assert sorted(zip(d2["segment_id"], d2["code"], d2["source"], strict=True)) == [
        ("d2-0", "gezien_en_gewaardeerd", "human:anna"),
        ("d2-0", "samenwerking", "human:anna"),
        ("d2-1", "leefbaarheid", "model:themes@1.0"),
    ]
    assert df.loc[df["segment_id"] == "d2-0", "reviewed"].all()
    every = frame(store, view="all")
    assert len(every[every["segment_id"] == "d2-0"]) == 3
    assert "d2-2" in set(every["segment_id"])


def test_frame_filters(store) -> None:
    assert set(frame(store, collection="buurtkamer")["document_id"]) == {"d3"}
    uncoded = frame(store, collection="buurtkamer", include_uncoded=True)
    assert set(uncoded["document_id"]) == {"d3", "d4"}
    period = frame(store, start=dt.date(2024, 6, 1), end=dt.date(2024, 12, 31))
    assert set(period["document_id"]) == {"d2"}
    assert set(frame(store, neighbourhood="Transvaal")["document_id"]) == {"d1", "d2"}


def test_figures_match_the_store(store) -> None:
    data = build_report_data(store, codebook())
    assert (data.documents, data.segments, data.coded_segments) == (4, 8, 6)
    ontmoeting = data.theme("ontmoeting")
    assert (ontmoeting.segments, ontmoeting.documents) == (2, 2)
    assert ontmoeting.segment_share == pytest.approx(2 / 8)
    assert ontmoeting.document_share == pytest.approx(2 / 4)
    assert ontmoeting.polarity == {"positive": 2, "mixed": 0, "neutral": 0, "negative": 0}
    assert ontmoeting.machine_only
    gezien = data.theme("gezien_en_gewaardeerd")
    assert (gezien.segments, gezien.human, gezien.machine_only) == (1, 1, False)
    assert gezien.polarity["negative"] == 1
    assert data.theme("eenzaamheid").polarity["mixed"] == 1  # interviewer tag not counted
    assert data.theme("vertrouwen").segments == 0

    assert data.periods == ["2024-K2", "2024-K3", "2024-K4", "2025-K1"]
    assert data.period_segments == {"2024-K2": 2, "2024-K3": 0, "2024-K4": 3, "2025-K1": 2}
    assert data.undated_documents == 1
    by_period = ontmoeting.by_period
    assert by_period["2024-K2"] == pytest.approx(0.5)
    assert math.isnan(by_period["2024-K3"])
    assert by_period["2024-K4"] == 0.0
    assert by_period["2025-K1"] == pytest.approx(0.5)

    codes = data.cooccurrence_codes
    i, j = codes.index("netwerken"), codes.index("ontmoeting")
    assert data.cooccurrence[i][j] == data.cooccurrence[j][i] == 2
    assert data.cooccurrence[i][i] == 2
    k = codes.index("samenwerking")
    assert data.cooccurrence[k][codes.index("gezien_en_gewaardeerd")] == 1

    comparison = {c.name: c for c in data.comparison}
    assert (comparison["moestuin"].documents, comparison["moestuin"].segments) == (2, 5)
    assert (comparison["buurtkamer"].documents, comparison["buurtkamer"].segments) == (2, 3)
    assert comparison["buurtkamer"].shares["ontmoeting"] == pytest.approx(1 / 3)


def test_provenance_and_agreement(store) -> None:
    prov = build_report_data(store, codebook()).provenance
    assert dict(prov.tag_sources) == {"model:themes@1.0": 11, "human:anna": 2}
    assert prov.reviewed_segments == 2
    assert (prov.final_tags, prov.human_final_tags) == (11, 2)
    assert prov.unknown_codes == ["oude_code"]
    agreement = {row["code"]: row for row in prov.agreement}
    assert agreement["gezien_en_gewaardeerd"]["machine_human"] == 1.0
    assert agreement["samenwerking"]["machine_human"] == 0.0
    assert agreement["ontmoeting"]["machine_human"] == 0.0  # bob removed it
    assert agreement["ontmoeting"]["machine_human_n"] == 1
    assert agreement["netwerken"]["machine_human"] is None
    assert all(row["between_humans"] is None for row in prov.agreement)


def test_selection_compares_with_other_collections(store) -> None:
    data = build_report_data(store, codebook(), collection="moestuin")
    assert (data.documents, data.segments) == (2, 5)
    assert [c.name for c in data.comparison if c.selected] == ["moestuin"]
    assert len(data.comparison) == 2


def _number(page: str, attr: str) -> str:
    match = re.search(rf'data-kpi="{attr}">([^<]+)<', page)
    assert match, attr
    return match.group(1)


def test_html_shows_the_same_numbers(store, tmp_path: Path) -> None:
    path = write_html(store, codebook(), tmp_path / "r" / "report.html")
    page = path.read_text(encoding="utf-8")
    assert _number(page, "documents") == "4"
    assert _number(page, "segments") == "8"
    assert _number(page, "coded") == "75%"
    assert _number(page, "reviewed") == "18%"  # 2 of 11 final codings
    article = page[page.index('id="thema-ontmoeting"'):]
    article = article[:article.index("</article>")]
    assert 'data-share="0.2500"' in article
    assert "25%" in article and "in 2 van 4 documenten" in article
    assert "alleen machinecodering" in article
    assert "<mark>ontmoet ik mensen</mark>" in article
    assert "doc d3" in article and "01-03-2025" in article
    assert "/data/d3.txt" not in page  # quotes name documents by reference, not file name
    gezien = page[page.index('id="thema-gezien_en_gewaardeerd"'):]
    assert "1 van 1 fragmenten door mensen beoordeeld" in gezien[:gezien.index("</article>")]
    # self-contained: no scripts, no external resources
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert page.count("<svg") >= 5
    assert "model:themes@1.0" in page and "human:anna" in page
    assert "oude_code" in page  # unknown codes are reported, not hidden


def test_html_in_english(store) -> None:
    page = render_html(build_report_data(store, codebook()), lang="en")
    assert '<html lang="en">' in page
    assert "Community strength" in page and "What the figures rest on" in page
    assert "Too few dated stories for a timeline." in page  # < 10 segments per quarter
    assert "Gemeenschapskracht in verhalen" not in page
    assert period_label("2024-K2", "en") == "2024 Q2"
    assert period_label("2024-K2", "nl") == "2024 K2"


def test_empty_store_still_renders(tmp_path: Path) -> None:
    from pipeline.store import Store

    store = Store("sqlite:///" + str(tmp_path / "empty.db"))
    page = render_html(build_report_data(store, codebook()))
    assert "nog geen bewonersfragmenten" in page


def test_highlight_escapes_and_marks() -> None:
    text = "Ik <3 de tuin & de buren"
    html = highlight(text, [{"start": 9, "end": 13}, {"start": 11, "end": 18}])
    assert html == "Ik &lt;3 de <mark>tuin</mark><mark> &amp; de</mark> buren"


def test_excerpt_keeps_evidence_visible() -> None:
    text = ("woord " * 100) + "de moestuin verbindt ons" + (" woord" * 100)
    start = text.index("moestuin")
    cut, spans = excerpt(text, [{"start": start, "end": start + 8}], limit=200)
    assert len(cut) <= 210 and cut.startswith("… ") and cut.endswith(" …")
    assert cut[spans[0]["start"]:spans[0]["end"]] == "moestuin"


def test_trend_lines_when_quarters_have_enough_stories(tmp_path: Path) -> None:
    from tests.unit.test_report_helpers import rich_store

    data = build_report_data(rich_store(tmp_path), codebook())
    assert all(n >= 10 for n in data.period_segments.values())
    page = render_html(data)
    assert "Ontwikkeling per kwartaal" in page
    assert page.count("<polyline") >= 5
    assert "2024 K1" in page and "n = " in page


def test_axis_ticks_are_round() -> None:
    from pipeline.report.charts import nice_axis

    for value in (0.0, 0.03, 0.07, 0.12, 0.17, 0.25, 0.31, 0.6, 0.99):
        top, step = nice_axis(value)
        assert top >= value - 1e-9 and round(step * 100, 6) in (1, 2, 5, 10, 20, 25)
        assert top <= 1.0 and abs(round(top / step) * step - top) < 1e-9
