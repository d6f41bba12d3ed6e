"""Model evaluation helpers on hand-checked numbers: Brier, uncertainty, tables, curve PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.codebook import load_codebook
from pipeline.config import DEFAULT_CODEBOOK
from pipeline.evaluate import GoldItem, score
from pipeline.model_eval import (
    CurvePoint,
    ModelReport,
    QueueItem,
    brier,
    human_reference,
    markdown_table,
    model_card,
    plot_learning_curve,
    uncertainty,
)


def test_brier_by_hand() -> None:
    y = np.array([[1, 0], [0, 0]])
    p = np.array([[0.8, 0.1], [0.3, 0.0]])
    # (0.04 + 0.01 + 0.09 + 0) / 4
    assert brier(y, p) == pytest.approx(0.035)
    assert brier(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0


def test_uncertainty_uses_each_codes_threshold() -> None:
    probabilities = {"a": 0.5, "b": 0.28, "c": 0.95}
    thresholds = {"a": 0.9, "b": 0.3, "c": 0.5}
    assert uncertainty(probabilities, thresholds) == ("b", 0.28)
    item = QueueItem("s1", "tekst", "b", 0.28, 0.3)
    assert item.margin == pytest.approx(0.02)
    assert item.as_dict()["margin"] == pytest.approx(0.02)


def _report() -> ModelReport:
    book = load_codebook(DEFAULT_CODEBOOK)
    gold = [
        GoldItem("1", "x", "resident", {"eenzaamheid": "negative"}),
        GoldItem("2", "y", "resident", {"ontmoeting": "positive"}),
        GoldItem("3", "z", "interviewer", {}),
    ]
    baseline = score("keyword baseline", gold, [{"eenzaamheid": "positive"}, {}, {}], book)
    model = score("model:themes@1.0.0", gold,
                  [{"eenzaamheid": "negative"}, {"ontmoeting": "positive"}, {}], book)
    model.extra["brier"] = 0.01
    return ModelReport([baseline, model], brier=0.01)


def test_side_by_side_table_counts() -> None:
    report = _report()
    baseline, model = report.systems
    assert model.codes["eenzaamheid"].tp == 1 and model.polarity_accuracy == 1.0
    assert baseline.codes["ontmoeting"].fn == 1 and baseline.polarity_accuracy == 0.0
    table = markdown_table(report)
    assert "| eenzaamheid | 1.00 / 1.00 / 1.00 | 1.00 / 1.00 / 1.00 |" in table
    assert "| interviewer coded | 0/1 | 0/1 |" in table
    assert "| Brier | - | 0.0100 |" in table


def test_model_card_names_weak_codes() -> None:
    report = _report()
    metrics = {
        "model": "themes@1.0.0", "trained_at": "2026-01-01T00:00:00+00:00",
        "train_seconds": 12.0, "nlp": "blank:nl",
        "codebook": {"name": "kracht", "version": "1.0.0", "hash": "abc"},
        "data": {"files": ["data/train"], "examples": 3, "positives": {"eenzaamheid": 1},
                 "test_file": "t.jsonl", "test_examples": 3},
        "out_of_fold": {"macro_f1": 0.7, "polarity_accuracy": 0.8},
        "test": report.as_dict(),
    }
    card = model_card(metrics)
    assert "# Model card: themes@1.0.0" in card
    assert "hash `abc`" in card
    assert "- talenten: test F1 0.00" in card  # a code never predicted is a weak code


def test_learning_curve_png(tmp_path: Path) -> None:
    points = [CurvePoint(size, seed, 0.3 + size / 1000 + seed / 100)
              for size in (100, 200, 300) for seed in (0, 1, 2)]
    path = plot_learning_curve(points, tmp_path / "curve.png", {"keyword baseline": 0.27})
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_review_queue_ranks_resident_segments_by_margin(store, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setenv("KRACHT_USE_MODEL", "true")
    monkeypatch.delenv("KRACHT_MODEL", raising=False)

    from typer.testing import CliRunner

    from kracht.commands.train import queue_command
    from pipeline import registry
    from pipeline.model_eval import review_queue
    from pipeline.nlp.load import blank_nlp
    from pipeline.store import Document, Segment
    from pipeline.tagger import Tagger
    from pipeline.training import (
        DATA_DIR,
        canonical,
        fit_classifier,
        read_examples,
        rule_evidence_for,
    )

    nlp, name = blank_nlp()
    tagger = Tagger(nlp, load_codebook(DEFAULT_CODEBOOK), nlp_name=name)
    examples = canonical(read_examples([DATA_DIR / "train" / "a.jsonl"]), tagger.codebook)
    evidence = rule_evidence_for(tagger, [e.text for e in examples])
    tagger.classifier, _ = fit_classifier(examples, evidence, tagger.codebook.ids, folds=3,
                                          polarity=False)
    turns = [("resident", "Ik zit de hele dag alleen thuis, ik spreek niemand."),
             ("interviewer", "Hoe gaat het met u?"),
             ("resident", "Het weer was mooi vandaag."),
             ("resident", "We hebben de moestuin zelf opgezet en de sleutel is van ons.")]
    with store.session() as s:
        s.add(Document(id="d1", source_path="/x.txt", sha256="d1", format="txt", text="x"))
        s.flush()
        for i, (role, text) in enumerate(turns):
            s.add(Segment(id=f"d1-{i}", document_id="d1", ordinal=i, turn=i, speaker=role,
                          role=role, start=0, end=len(text), text=text))
    ranked = review_queue(store, tagger)
    assert [item.segment_id for item in ranked] != []
    assert {item.segment_id for item in ranked} == {"d1-0", "d1-2", "d1-3"}  # residents only
    margins = [item.margin for item in ranked]
    assert margins == sorted(margins)

    # the command: table plus the whole ranking as JSON lines
    folder = Path(store.url.removeprefix("sqlite:///")).parent / "models" / "themes" / "0.0.1"
    tagger.classifier.save(folder / "model.skops")
    from pipeline.config import get_settings

    registry.use(get_settings(), "themes@0.0.1")
    import typer

    app = typer.Typer()
    app.command()(queue_command)
    out = tmp_path / "queue.jsonl"
    result = CliRunner().invoke(app, ["--limit", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 3 and lines[0]["margin"] <= lines[-1]["margin"]


def test_weak_code_advice_follows_the_learning_curve() -> None:
    from pipeline.model_eval import weak_code_advice

    def curve(scores: list[float]) -> dict:
        sizes = [100, 400, 700, 1000]
        return {"points": [{"size": s, "seed": seed, "macro_f1": f}
                           for s, f in zip(sizes, scores, strict=True) for seed in (0, 1)]}

    climbing = weak_code_advice(curve([0.40, 0.50, 0.58, 0.65]))
    flat = weak_code_advice(curve([0.40, 0.60, 0.66, 0.665]))
    assert "More labeled segments" in climbing
    assert "flat" in flat and "two annotators" in flat
    assert "More labeled segments" in weak_code_advice(None)  # no curve drawn: no claim


def test_human_reference_scores_a_second_annotator(tmp_path: Path) -> None:
    book = load_codebook(DEFAULT_CODEBOOK)
    gold = [
        GoldItem("a", "x", "resident", {"eenzaamheid": "negative", "netwerken": "negative"}),
        GoldItem("b", "y", "resident", {"ontmoeting": "neutral"}),
        GoldItem("c", "z", "interviewer", {}),
    ]
    path = tmp_path / "second.jsonl"
    # the gold file's format; in another order
    lines = [{"id": "b", "text": "y", "speaker": "resident",
              "themes": {"ontmoeting": "positive"}},  # found, polarity differs
             {"id": "a", "text": "x", "speaker": "resident",
              "themes": {"eenzaamheid": "negative"}},  # netwerken missed
             {"id": "c", "text": "z", "speaker": "interviewer", "themes": {}}]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    ref = human_reference(gold, path, book)
    assert ref is not None
    assert ref.codes["netwerken"].fn == 1 and ref.codes["eenzaamheid"].tp == 1
    assert ref.micro.precision == 1.0 and ref.micro.recall == pytest.approx(2 / 3)
    assert ref.polarity_accuracy == 0.5
    # another test file (ids differ) or no file: no reference rather than a wrong one
    assert human_reference(gold[:2], path, book) is None
    assert human_reference(gold, tmp_path / "none.jsonl", book) is None

    report = _report()
    metrics = {
        "model": "themes@1.0.0", "trained_at": "2026-01-01T00:00:00+00:00",
        "train_seconds": 1.0, "nlp": "blank:nl",
        "codebook": {"name": "kracht", "version": "1.0.0", "hash": "abc"},
        "data": {"files": ["data/train"], "examples": 3, "positives": {},
                 "test_file": "t.jsonl", "test_examples": 3},
        "out_of_fold": {"macro_f1": 0.7, "polarity_accuracy": 0.8},
        "test": {**report.as_dict(), "human_reference": ref.as_dict()},
    }
    card = model_card(metrics)
    line = next(x for x in card.splitlines() if x.startswith("- Human reference"))
    assert f"macro-F1 {ref.macro_f1:.3f}" in line
    assert f"{report.systems[-1].macro_f1 / ref.macro_f1:.0%} of that" in line
