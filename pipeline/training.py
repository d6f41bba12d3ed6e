"""Train the theme classifier from labeled files (and reviewed examples) and write its artifacts.

Training never looks at the test file: thresholds, the stack stage and the polarity stack are
all fitted on out-of-fold predictions over the training examples (train + dev by default). The test
file is only scored afterwards, for ``metrics.json`` and the model card (``pipeline/model_eval``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier

from pipeline.classify import (
    MODEL_FILE,
    STACK_FEATURES,
    Neighbours,
    ThemeClassifier,
    polarity_features,
    polarity_probabilities,
    rule_matrix,
    stack_features,
    text_model,
)
from pipeline.config import PROJECT_ROOT
from pipeline.evaluate import GoldItem, read_gold
from pipeline.schema import POLARITIES

log = logging.getLogger(__name__)

DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_TRAIN = (DATA_DIR / "train", DATA_DIR / "dev")
DEFAULT_TEST = DATA_DIR / "test" / "test.jsonl"
#: A second annotator's blind labels of the test file (scored as a human reference).
DEFAULT_REFERENCE = DATA_DIR / "test" / "second_annotator.jsonl"
DEFAULT_NAME = "themes"
#: Fewer positives than this and a code cannot get out-of-fold scores and a threshold.
MIN_POSITIVES = 3
THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


#: A labeled segment is the same thing as a gold item of ``pipeline/evaluate.py``.
Example = GoldItem


def read_sourced(paths: Iterable[str | Path]) -> tuple[list[Example], list[str]]:
    """Labeled JSON lines from files or folders (``*.jsonl`` in name order), and per example
    the file it came from (a group for out-of-fold splits: one file, one set of writers)."""
    examples: list[Example] = []
    sources: list[str] = []
    for path in paths:
        path = Path(path)
        for file in sorted(path.glob("*.jsonl")) if path.is_dir() else [path]:
            found = read_gold(file)
            examples.extend(found)
            sources.extend([str(file)] * len(found))
    return examples, sources


def read_examples(paths: Iterable[str | Path]) -> list[Example]:
    """Labeled JSON lines from files or folders (``*.jsonl`` in name order)."""
    return read_sourced(paths)[0]


def as_examples(items: Sequence[Mapping[str, Any]]) -> list[Example]:
    """Reviewed segments (``annotation.pull.reviewed_examples``) as training examples.

    The caller fetches them: data flows one way, so nothing in ``pipeline`` imports ``annotation``.
    """
    return [
        Example(str(item["id"]), item["text"], item.get("speaker") or "resident",
                dict(item.get("themes") or {}))
        for item in items
    ]


def canonical(examples: Sequence[Example], codebook: Any) -> list[Example]:
    """Examples with code aliases resolved to code ids (unknown codes are an error)."""
    return [
        Example(e.id, e.text, e.speaker,
                {codebook.resolve(code).id: polarity for code, polarity in e.themes.items()})
        for e in examples
    ]


def rule_evidence_for(tagger: Any, texts: Sequence[str]) -> list[dict[str, list[Any]]]:
    """The rule tagger's evidence per text, exactly as ``merge`` will see it when tagging."""
    from pipeline.tagger import rule_evidence

    return [rule_evidence(doc) for doc in tagger.nlp.pipe(texts, batch_size=256)]


def rule_polarities(evidence: Sequence[Mapping[str, Sequence[Any]]], codes: Sequence[str]
                    ) -> list[dict[str, str]]:
    """The rules' polarity per code with evidence, as ``merge`` hands it to the classifier."""
    from pipeline.tagger import rule_polarity

    return [{code: rule_polarity(ev[code]) for code in codes if ev.get(code)} for ev in evidence]


# --- fitting -----------------------------------------------------------------------------------


@dataclass
class FitReport:
    """Out-of-fold numbers from training (what the thresholds and stacks were fitted on)."""

    oof_probabilities: np.ndarray
    oof_macro_f1: float
    oof_polarity_accuracy: float
    seconds: float


def label_matrix(examples: Sequence[Example], codes: Sequence[str]) -> np.ndarray:
    return np.array([[code in e.themes for code in codes] for e in examples], dtype=np.int8)


def f1(y: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of boolean predictions against 0/1 truth (0 when there is nothing either way)."""
    tp = int((predicted & (y == 1)).sum())
    denom = int(predicted.sum()) + int(y.sum())
    return 2 * tp / denom if denom else 0.0


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The grid threshold with the best F1; ties go to the one nearest 0.5 (less overfit)."""
    best, best_key = 0.5, (-1.0, 0.0)
    for t in THRESHOLD_GRID:
        key = (round(f1(y, p >= t), 6), -abs(t - 0.5))
        if key > best_key:
            best, best_key = float(t), key
    return best


def polarity_model(c: float) -> OneVsRestClassifier:
    """One-vs-rest liblinear: as accurate out of fold as a multinomial lbfgs fit here (0.70 vs
    0.70) and about five times faster; ``balanced`` because ``mixed``/``neutral`` are rare."""
    return OneVsRestClassifier(
        LogisticRegression(C=c, solver="liblinear", dual=True, max_iter=1000, random_state=0,
                           class_weight="balanced")
    )


def fit_polarity(features: Any, examples: Sequence[Example], code: str, c: float = 4.0
                 ) -> OneVsRestClassifier | None:
    """Polarity model for one code over the rows that carry it (``None`` if only one class)."""
    rows = [i for i, e in enumerate(examples) if code in e.themes]
    labels = [examples[i].themes[code] for i in rows]
    if len(set(labels)) < 2:
        return None
    return polarity_model(c).fit(features[rows], labels)


def fit_shared_polarity(features: Any, examples: Sequence[Example], c: float = 4.0
                        ) -> OneVsRestClassifier | None:
    """One polarity model over every (segment, code) pair of every code.

    Polarity words ("niet", "minder", "eindelijk", "nooit meer") mean the same for most codes,
    so pooling gives it ten times the data of a per-code model: out of fold 0.78 of gold
    polarities right against 0.72 per code (train + dev).
    """
    rows = [i for i, e in enumerate(examples) for _ in e.themes]
    labels = [polarity for e in examples for polarity in e.themes.values()]
    if len(set(labels)) < 2:
        return None
    return polarity_model(c).fit(features[rows], labels)


def fit_polarity_stack(
    examples: Sequence[Example],
    codes: Sequence[str],
    oof_polarity: np.ndarray,
    oof_shared: np.ndarray,
    evidence: Sequence[Mapping[str, Sequence[Any]]],
    rule_pol: Sequence[Mapping[str, str]],
    c: float = 3.0,
) -> tuple[np.ndarray, float]:
    """The polarity stack (rows in ``POLARITIES`` order) and its out-of-fold accuracy.

    Fitted on every gold (segment, code) pair, from out-of-fold text polarity probabilities;
    one model shared by all codes (a per-code one has too few ``mixed``/``neutral`` cases).
    """
    rows, labels, groups = [], [], []
    for i, e in enumerate(examples):
        for j, code in enumerate(codes):
            if code in e.themes:
                items = evidence[i].get(code, ())
                rows.append(polarity_features(oof_polarity[i, j], oof_shared[i], items,
                                              rule_pol[i].get(code, "neutral")))
                labels.append(e.themes[code])
                groups.append(i)
    weights = np.zeros((len(POLARITIES), len(rows[0]) + 1 if rows else 1))
    weights[:, -1] = -1e3
    if len(set(labels)) < 2:
        weights[POLARITIES.index(labels[0]) if labels else 0, -1] = 0.0
        return weights, 1.0 if labels else 0.0
    x, y = np.array(rows), np.array(labels)
    model = LogisticRegression(C=c, max_iter=2000)
    folds = min(5, len(set(groups)))
    predicted = cross_val_predict(model, x, y, cv=GroupKFold(folds), groups=groups)
    model.fit(x, y)
    coef = model.coef_ if len(model.classes_) > 2 else np.vstack([-model.coef_, model.coef_])
    intercept = (model.intercept_ if len(model.classes_) > 2
                 else np.concatenate([-model.intercept_, model.intercept_]))
    for k, label in enumerate(model.classes_):
        weights[POLARITIES.index(label), :-1] = coef[k]
        weights[POLARITIES.index(label), -1] = intercept[k]
    return weights, float(np.mean(predicted == y))


def oof_splits(n: int, folds: int, seed: int, groups: Sequence[Any] | None = None
               ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/held-out index pairs: whole groups held out when there are enough groups, else
    shuffled K-fold (a small slice of one file, as in the unit tests)."""
    if groups is not None and len(set(groups)) >= folds:
        return list(GroupKFold(folds).split(np.arange(n), groups=list(groups)))
    return list(KFold(folds, shuffle=True, random_state=seed).split(np.arange(n)))


def single_precision(*models: OneVsRestClassifier | None) -> None:
    """Store the linear heads' weights as float32: ~74 heads over ~170,000 n-gram features are
    most of the model file, and the seventh digit of a weight changes no decision."""
    for model in models:
        for estimator in model.estimators_ if model is not None else ():
            estimator.coef_ = estimator.coef_.astype(np.float32)
            estimator.intercept_ = estimator.intercept_.astype(np.float32)


def fit_classifier(
    examples: Sequence[Example],
    evidence: Sequence[Mapping[str, Sequence[Any]]],
    codes: Sequence[str],
    *,
    name: str = DEFAULT_NAME,
    version: str = "0.0.0",
    folds: int = 5,
    seed: int = 0,
    c: float = 8.0,
    polarity: bool = True,
    groups: Sequence[Any] | None = None,
) -> tuple[ThemeClassifier, FitReport]:
    """Fit both stages, thresholds and polarity on ``examples`` (see the module docstring).

    ``groups`` (one label per example, e.g. the file it came from) makes the out-of-fold
    predictions leave whole groups out: each file was written by other people in other words,
    as the test file was, so the thresholds and the stack learn how far the text model and the
    rules carry to new writers instead of to new sentences of the same writer.
    """
    started = time.perf_counter()
    codes = list(codes)
    texts = [e.text for e in examples]
    y = label_matrix(examples, codes)
    rules = np.stack([rule_matrix(ev, codes) for ev in evidence])  # (n, codes, k)
    rule_pol = rule_polarities(evidence, codes)
    n = len(examples)
    scarce = [code for code, count in zip(codes, y.sum(axis=0), strict=True)
              if count < MIN_POSITIVES]
    if scarce:
        raise ValueError(f"too few examples (< {MIN_POSITIVES}) for: {', '.join(scarce)}")
    folds = max(2, min(folds, int(y.sum(axis=0).min()) if y.size else 2))
    splits = oof_splits(n, folds, seed, groups)

    decision = np.zeros((n, len(codes)))
    votes = np.zeros((n, len(codes)))
    oof_polarity = np.zeros((n, len(codes), len(POLARITIES)))
    oof_shared = np.zeros((n, len(POLARITIES)))
    for train_idx, test_idx in splits:
        model = text_model(c).fit([texts[i] for i in train_idx], y[train_idx])
        features = model.named_steps["features"]
        test_x = features.transform([texts[i] for i in test_idx])
        decision[test_idx] = model.named_steps["ovr"].decision_function(test_x)
        train_x = features.transform([texts[i] for i in train_idx])
        votes[test_idx] = Neighbours.fit(train_x, y[train_idx]).vote(test_x)
        if polarity:
            fold_examples = [examples[i] for i in train_idx]
            for j, code in enumerate(codes):
                pol_model = fit_polarity(train_x, fold_examples, code)
                oof_polarity[test_idx, j] = polarity_probabilities(pol_model, test_x)
            oof_shared[test_idx] = polarity_probabilities(
                fit_shared_polarity(train_x, fold_examples), test_x)

    text = text_model(c).fit(texts, y)
    all_x = text.named_steps["features"].transform(texts)

    platt = np.zeros((len(codes), 2))
    stack = np.zeros((len(codes), 1 + len(STACK_FEATURES)))
    inputs = stack_features(decision, rules, votes)  # (n, codes, features)
    oof = np.zeros((n, len(codes)))
    thresholds: dict[str, float] = {}
    for j, code in enumerate(codes):
        d = decision[:, j : j + 1]
        calibrator = LogisticRegression(C=100.0).fit(d, y[:, j])
        platt[j] = [calibrator.coef_[0, 0], calibrator.intercept_[0]]
        x = inputs[:, j, :]
        for train_idx, test_idx in splits:
            fold = LogisticRegression(C=1.0, max_iter=1000).fit(x[train_idx], y[train_idx, j])
            oof[test_idx, j] = fold.predict_proba(x[test_idx])[:, 1]
        stacker = LogisticRegression(C=1.0, max_iter=1000).fit(x, y[:, j])
        stack[j, :-1] = stacker.coef_[0]
        stack[j, -1] = stacker.intercept_[0]
        thresholds[code] = best_threshold(y[:, j], oof[:, j])

    polarity_models: list[OneVsRestClassifier | None] = [None] * len(codes)
    shared_polarity = None
    polarity_stack, polarity_accuracy = fit_polarity_stack(
        examples, codes, oof_polarity, oof_shared, evidence, rule_pol
    )
    if polarity:
        polarity_models = [fit_polarity(all_x, examples, code) for code in codes]
        shared_polarity = fit_shared_polarity(all_x, examples)

    f1s = [f1(y[:, j], oof[:, j] >= thresholds[code]) for j, code in enumerate(codes)]
    single_precision(text.named_steps["ovr"], *polarity_models, shared_polarity)
    seconds = time.perf_counter() - started
    classifier = ThemeClassifier(
        name=name,
        version=version,
        codes=codes,
        text=text,
        platt=platt,
        stack=stack,
        thresholds=thresholds,
        polarity_models=polarity_models,
        shared_polarity=shared_polarity,
        polarity_stack=polarity_stack,
        neighbours=Neighbours.fit(all_x, y),
        metadata={
            "folds": folds,
            "seed": seed,
            "c": c,
            "examples": n,
            "oof_macro_f1": round(float(np.mean(f1s)), 4),
            "oof_polarity_accuracy": round(polarity_accuracy, 4),
            "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "train_seconds": round(seconds, 2),
        },
    )
    return classifier, FitReport(oof, float(np.mean(f1s)), polarity_accuracy, seconds)


# --- the whole job: data in, artifacts out ---------------------------------------------------


@dataclass
class TrainResult:
    """Where the model went and what it scored (``metrics`` is what ``metrics.json`` holds)."""

    path: Path
    spec: str
    metrics: dict[str, Any]


def next_version(root: Path, name: str = DEFAULT_NAME) -> str:
    """One patch version above the newest under ``root/name`` (``1.0.0`` for the first)."""
    from pipeline.registry import version_key

    folder = root / name
    if not folder.is_dir():
        return "1.0.0"
    versions = [p.name for p in folder.iterdir() if (p / MODEL_FILE).is_file()]
    numeric = [v for v in versions if all(part.isdigit() for part in v.split("."))
               and v.count(".") == 2]
    if not numeric:
        return "1.0.0"
    major, minor, patch = map(int, max(numeric, key=version_key).split("."))
    return f"{major}.{minor}.{patch + 1}"


def rule_codes(tagger: Any, evidence: Sequence[Mapping[str, Sequence[Any]]],
               examples: Sequence[Example]) -> list[dict[str, str]]:
    """``{code: polarity}`` the rules alone give each example (interviewers get nothing)."""
    from pipeline.tagger import is_coded_speaker, merge

    return [
        {t.code: t.polarity for t in merge(e.text, tagger.codebook, ev)}
        if is_coded_speaker(e.speaker) else {}
        for e, ev in zip(examples, evidence, strict=True)
    ]


def _shown(path: str | Path) -> str:
    """A path as the model card shows it: relative to the project when inside it."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def train(
    settings: Any,
    *,
    version: str | None = None,
    out_root: str | Path | None = None,
    reviewed: Sequence[Mapping[str, Any]] | None = None,
    train_paths: Sequence[str | Path] = DEFAULT_TRAIN,
    test_path: str | Path | None = DEFAULT_TEST,
    name: str = DEFAULT_NAME,
    folds: int = 5,
    curve: str | Path | None = None,
    reference_path: str | Path | None = DEFAULT_REFERENCE,
) -> TrainResult:
    """Train on ``train_paths`` (+ reviewed examples), score on ``test_path``, write the folder.

    The folder is ``<out_root>/<name>/<version>/`` (``out_root`` defaults to the project's
    ``models/``): ``model.skops``, ``metrics.json`` and ``MODEL_CARD.md``. With ``curve`` (a
    PNG path, relative paths inside the folder) a learning curve on the test file is drawn too.
    ``reference_path``: a second annotator's labels of the test file, scored beside the model.
    """
    from pipeline.config import MODELS_DIR
    from pipeline.evaluate import score
    from pipeline.model_eval import compare, curve_report, human_reference, model_card
    from pipeline.tagger import Tagger

    started = time.perf_counter()
    # rules only: the rule signals are features here, an active model has no part in training
    tagger = Tagger.from_settings(settings.model_copy(update={"use_model": False}))
    codebook = tagger.codebook
    found, files = read_sourced(train_paths)
    labeled = dict(zip((e.id for e in found), zip(canonical(found, codebook), files, strict=True),
                       strict=True))
    sources = {"files": [_shown(p) for p in train_paths], "file_examples": len(found)}
    if reviewed is not None:
        human = canonical(as_examples(reviewed), codebook)
        # a human review overrides the file label
        labeled.update({e.id: (e, "reviewed in Label Studio") for e in human})
        sources["reviewed_examples"] = len(human)
    examples = [example for example, _ in labeled.values()]
    groups = [group for _, group in labeled.values()]
    gold = read_gold(test_path) if test_path else []
    overlap = {g.text.strip() for g in gold} & {e.text.strip() for e in examples}
    if overlap:
        raise ValueError(f"{len(overlap)} test segments are also in the training data: "
                         "the test file must stay unseen")

    texts = [e.text for e in examples]
    evidence = rule_evidence_for(tagger, texts)
    out_root = Path(out_root) if out_root else MODELS_DIR
    version = version or next_version(out_root, name)
    classifier, report = fit_classifier(examples, evidence, codebook.ids, name=name,
                                        version=version, folds=folds, groups=groups)
    train_seconds = time.perf_counter() - started
    classifier.metadata.update({
        "codebook_name": codebook.name, "codebook_version": codebook.version,
        "codebook_hash": codebook.hash, "nlp": tagger.nlp_name, **sources,
    })
    folder = out_root / name / version
    classifier.save(folder / MODEL_FILE)

    metrics: dict[str, Any] = {
        "model": f"{name}@{version}",
        "trained_at": classifier.metadata["trained_at"],
        "train_seconds": round(train_seconds, 1),
        "nlp": tagger.nlp_name,
        "codebook": {"name": codebook.name, "version": codebook.version, "hash": codebook.hash},
        "data": {**sources, "examples": len(examples),
                 "positives": {c: int(sum(c in e.themes for e in examples)) for c in codebook.ids},
                 "test_file": _shown(test_path) if test_path else None,
                 "test_examples": len(gold)},
        "thresholds": classifier.thresholds,
        "out_of_fold": {"macro_f1": round(report.oof_macro_f1, 4),
                        "polarity_accuracy": round(report.oof_polarity_accuracy, 4)},
    }
    metrics["rules_on_training_data"] = round(
        score("rules", examples, rule_codes(tagger, evidence, examples), codebook).macro_f1, 4)
    if gold:
        comparison = compare(tagger, gold, classifier)
        metrics["test"] = comparison.as_dict()
        reference = human_reference(gold, reference_path, codebook) if reference_path else None
        if reference is not None:
            metrics["test"]["human_reference"] = reference.as_dict()
        if curve:
            path = folder / curve if not Path(curve).is_absolute() else Path(curve)
            points = curve_report(tagger, gold, path, comparison, train_paths)
            metrics["learning_curve"] = {"png": str(curve), "points": points}
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    (folder / "MODEL_CARD.md").write_text(model_card(metrics), encoding="utf-8")
    log.info("trained %s@%s in %.1f s: %s", name, version, train_seconds, folder)
    return TrainResult(folder, f"{name}@{version}", metrics)
