"""CSV, JSON lines and XLSX exports: same rows as the frame, same figures as the report."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import typer
from openpyxl import load_workbook
from typer.testing import CliRunner

from pipeline.report import REPORT_FILES, write_reports
from pipeline.report.export import EXPORT_COLUMNS, SHEETS, export_tables
from tests.unit.test_report_helpers import codebook, small_store


@pytest.fixture()
def store(tmp_path: Path):
    return small_store(tmp_path)


def test_csv_has_one_row_per_segment_and_code(store, tmp_path: Path) -> None:
    path = export_tables(store, codebook(), "csv", tmp_path / "out.csv")
    df = pd.read_csv(path, encoding="utf-8-sig")
    assert list(df.columns) == EXPORT_COLUMNS
    assert len(df) == 11
    row = df[(df["segment_id"] == "d3-1") & (df["code"] == "ontmoeting")].iloc[0]
    assert row["label"] == "Ontmoeting" and row["group"] == "uitkomst_buurt"
    assert row["collection"] == "buurtkamer" and row["date"] == "2025-03-01"
    assert row["origin"] == "machine" and row["score"] == pytest.approx(0.95)
    spans = json.loads(row["evidence_spans"])
    assert spans[0]["text"] == "ontmoet ik mensen"
    human = df[df["source"] == "human:anna"]
    assert set(human["code"]) == {"gezien_en_gewaardeerd", "samenwerking"}
    assert "\r\n" in human.iloc[0]["text"]  # CRLF survives


def test_csv_all_view_keeps_every_source(store, tmp_path: Path) -> None:
    path = export_tables(store, codebook(), "csv", tmp_path / "all.csv", view="all")
    df = pd.read_csv(path, encoding="utf-8-sig")
    assert len(df) == 13  # 11 machine + 2 human on resident segments
    assert set(df["role"]) == {"resident"}


def test_jsonl_round_trips_spans_and_dates(store, tmp_path: Path) -> None:
    path = export_tables(store, codebook(), "jsonl", tmp_path / "out.jsonl",
                         collection="moestuin")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert {r["document_id"] for r in rows} == {"d1", "d2"}
    eenzaam = next(r for r in rows if r["code"] == "eenzaamheid")
    assert eenzaam["date"] == "2024-05-10"
    assert [s["text"] for s in eenzaam["evidence_spans"]] == ["eenzaam", "minder eenzaam 😀"]
    for r in rows:
        for s in r["evidence_spans"]:
            assert r["text"][s["start"]:s["end"]] == s["text"]


def test_xlsx_has_a_sheet_per_view(store, tmp_path: Path) -> None:
    path = export_tables(store, codebook(), "xlsx", tmp_path / "out.xlsx")
    book = load_workbook(path, read_only=True)
    assert tuple(book.sheetnames) == SHEETS
    sheets = pd.read_excel(path, sheet_name=None)
    assert len(sheets["segments"]) == 11
    themes = sheets["themes"].set_index("code")
    assert len(themes) == 14
    assert themes.loc["ontmoeting", "segments"] == 2
    assert themes.loc["ontmoeting", "segment_share"] == pytest.approx(0.25)
    assert themes.loc["ontmoeting", "document_share"] == pytest.approx(0.5)
    assert themes.loc["gezien_en_gewaardeerd", "human_reviewed_segments"] == 1
    assert bool(themes.loc["ontmoeting", "machine_only"]) is True
    trend = sheets["trend"].set_index("period")
    assert trend.loc["2024-K4", "resident_segments"] == 3
    assert trend.loc["2025-K1", "ontmoeting"] == pytest.approx(0.5)
    cooc = sheets["cooccurrence"].set_index("code")
    assert cooc.loc["netwerken", "ontmoeting"] == 2
    quotes = sheets["quotes"]
    assert set(quotes["code"]) >= {"ontmoeting", "netwerken", "gezien_en_gewaardeerd"}
    about = dict(zip(sheets["about"]["key"], sheets["about"]["value"], strict=True))
    assert about["documents"] == "4" and about["resident_segments"] == "8"


def test_xlsx_survives_control_characters(tmp_path: Path) -> None:
    from pipeline.store import Store
    from tests.unit.test_report_helpers import add_document, add_tag

    store = Store("sqlite:///" + str(tmp_path / "ctl.db"))
    with store.session() as s:
        segs = add_document(s, "x", "c", None, None, [("resident", "Samen\x0bkoken\x0c verbindt")])
        add_tag(s, segs[0], "ontmoeting", "positive", phrases=("koken",))
    path = export_tables(store, codebook(), "xlsx", tmp_path / "ctl.xlsx")
    assert pd.read_excel(path, sheet_name="segments").iloc[0]["text"] == "Samenkoken verbindt"


def test_unknown_format_is_refused(store, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown table format"):
        export_tables(store, codebook(), "parquet", tmp_path / "x.parquet")  # type: ignore[arg-type]


def test_write_reports_writes_every_file(store, tmp_path: Path) -> None:
    paths = write_reports(store, SimpleNamespace(report_language="en"), codebook(),
                          tmp_path / "reports")
    assert set(paths) == set(REPORT_FILES)
    for path in paths.values():
        assert path.is_file() and path.stat().st_size > 0
    assert '<html lang="en">' in paths["html"].read_text(encoding="utf-8")


def _cli(tmp_path: Path, store_path: Path) -> tuple[CliRunner, typer.Typer, list[str]]:
    from kracht.commands import report as report_commands

    app = typer.Typer()
    report_commands.register(app)
    home = tmp_path / "home"
    home.mkdir()
    store_path.rename(home / "kracht.db")
    return CliRunner(), app, ["--home", str(home)]


def test_cli_export_and_report(tmp_path: Path) -> None:
    store = small_store(tmp_path)
    store.close()
    runner, app, home = _cli(tmp_path, tmp_path / "k.db")
    for fmt in ("csv", "xlsx", "jsonl", "qdc", "qdpx"):
        out = tmp_path / f"cli.{fmt}"
        result = runner.invoke(app, ["export", "--format", fmt, "--out", str(out), *home])
        assert result.exit_code == 0, result.output
        assert out.stat().st_size > 0
    result = runner.invoke(app, ["report", "--collection", "moestuin", "--from", "2024-01-01",
                                 "--to", "2024-12-31", "--lang", "en", "--out",
                                 str(tmp_path / "rep"), *home])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    assert "moestuin" in page and 'data-kpi="documents">2<' in page
