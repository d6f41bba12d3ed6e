"""The ``kracht tag`` contract (design §5), ``kracht evaluate`` and ``kracht codebook``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kracht.cli import app
from pipeline.config import DEFAULT_CODEBOOK

runner = CliRunner()

LINES = [
    {"id": "s1", "text": "Ik voelde me niet serieus genomen door de gemeente.",
     "speaker": "resident"},
    {"id": "s2", "text": "Voelt u zich eigenlijk gezien en gewaardeerd?",
     "speaker": "interviewer"},
    {"id": "s3", "text": "Door de tuin ben ik minder eenzaam 🌱.\r\nEcht waar.",
     "speaker": "resident"},
    {"id": "s4", "text": "Weet u waar de buurtkamer is?", "speaker": "resident"},
    {"id": "s5", "text": "Het\u00a0fonds geeft ons eindelijk meerjarige subsidie."},
]


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def tag(args: list[str], stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["tag", "--nlp", "blank", *args], input=stdin)


def test_tag_contract(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", LINES)
    out = tmp_path / "out.jsonl"
    result = tag(["--in", str(source), "--out", str(out), "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [line["id"] for line in LINES]
    by_id = {r["id"]: r for r in rows}
    assert by_id["s2"]["themes"] == []  # interviewer
    assert by_id["s4"]["themes"] == []  # a resident's question
    assert {t["code"]: t["polarity"] for t in by_id["s1"]["themes"]} == {
        "gezien_en_gewaardeerd": "negative"}
    assert {t["code"]: t["polarity"] for t in by_id["s3"]["themes"]}["eenzaamheid"] == "positive"
    assert "financiering" in {t["code"] for t in by_id["s5"]["themes"]}
    texts = {line["id"]: line["text"] for line in LINES}
    for row in rows:
        for theme in row["themes"]:
            assert set(theme) == {"code", "score", "polarity", "evidence"}
            assert 0.0 <= theme["score"] <= 1.0
            for span in theme["evidence"]:
                assert texts[row["id"]][span["start"] : span["end"]] == span["text"]


def test_stdin_stdout() -> None:
    stdin = "".join(json.dumps(line) + "\n" for line in LINES)
    result = tag(["--in", "-", "--out", "-"], stdin=stdin)
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [line["id"] for line in LINES]


def test_bad_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    rows: list[object] = [
        LINES[0],
        "this is not json",
        {"text": "geen id"},
        {"id": "no-text"},
        {"id": "s9", "text": 42},
        "[1, 2]",
        LINES[2],
    ]
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.jsonl"
    result = tag(["--in", str(source), "--out", str(out)])
    assert result.exit_code == 1
    for number in (2, 3, 4, 5, 6):
        assert f"line {number}" in result.stderr
    assert "5 bad lines" in result.stderr
    assert [r["id"] for r in read_jsonl(out)] == ["s1", "s3"]


def test_invalid_utf8_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"id": "a", "text": "\xff\xfe kapot"}\n' + json.dumps(LINES[0]).encode()
                       + b"\n")
    result = tag(["--in", str(source), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1 and "line 1" in result.stderr
    assert [r["id"] for r in read_jsonl(tmp_path / "o.jsonl")] == ["s1"]


def test_broken_codebook_stops_early(tmp_path: Path) -> None:
    broken = tmp_path / "cb.yaml"
    broken.write_text(DEFAULT_CODEBOOK.read_text("utf-8").replace("version: 1.", "version: x1."),
                      "utf-8")
    result = tag(["--codebook", str(broken), "--in", "-", "--out", "-"], stdin="")
    assert result.exit_code == 2
    assert "line" in result.stderr and "semver" in result.stderr


def test_codebook_validate_and_show(tmp_path: Path) -> None:
    result = runner.invoke(app, ["codebook", "validate", str(DEFAULT_CODEBOOK)])
    assert result.exit_code == 0 and "14 codes" in result.stderr
    shown = runner.invoke(app, ["codebook", "show"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "eenzaamheid" in shown.stdout
    broken = tmp_path / "cb.yaml"
    broken.write_text(DEFAULT_CODEBOOK.read_text("utf-8").replace("group: werkwijze", "group: x"),
                      "utf-8")
    bad = runner.invoke(app, ["codebook", "validate", str(broken)])
    assert bad.exit_code == 1 and "unknown group" in bad.stderr


@pytest.mark.slow
def test_evaluate_json(tmp_path: Path) -> None:
    gold = [
        {**LINES[0], "themes": {"gezien_en_gewaardeerd": "negative"}},
        {**LINES[1], "themes": {}},
        {**LINES[2], "themes": {"eenzaamheid": "positive", "ontmoeting": "positive"}},
        {"id": "g4", "text": "Nee dank u, geen suiker.", "speaker": "resident", "themes": {}},
    ]
    path = write_jsonl(tmp_path / "gold.jsonl", gold)
    report = tmp_path / "report.json"
    result = runner.invoke(app, ["evaluate", "--gold", str(path), "--nlp", "blank",
                                 "--rules-only", "--json", str(report)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text("utf-8"))
    rules, baseline = data["systems"]
    assert rules["system"].startswith("rules@") and baseline["system"] == "keyword baseline"
    assert rules["interviewer_coded"] == 0 and rules["interviewer_segments"] == 1
    assert rules["codes"]["gezien_en_gewaardeerd"]["f1"] == 1.0
    assert rules["codes"]["ontmoeting"]["fn"] == 1
    assert baseline["interviewer_coded"] == 1  # keyword search does not know speakers
    assert "macro F1" in result.stdout


@pytest.mark.slow
def test_n_process_gives_the_same_output(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", LINES * 20)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert tag(["--in", str(source), "--out", str(one)]).exit_code == 0
    result = tag(["--in", str(source), "--out", str(two), "--n-process", "2",
                  "--batch-size", "7"])
    assert result.exit_code == 0, result.output
    assert one.read_bytes() == two.read_bytes()
