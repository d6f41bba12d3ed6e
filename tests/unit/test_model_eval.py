"""Model evaluation helpers on hand-checked numbers: Brier, uncertainty, tables, curve PNG."""

from __future__ import annotations

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
