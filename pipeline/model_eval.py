"""How good is a theme model: Brier score, side-by-side table, learning curve.

Every number goes through the real tagger (``Tagger.tag`` and its ``merge``), the same path as
``kracht tag``, so what is reported is what users get. Three systems are put side by side on one
gold file: the keyword baseline (QDA-style text search), the rules-only tagger and rules + model.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.classify import ThemeClassifier
from pipeline.evaluate import (
    GoldItem,
    Scores,
    keyword_baseline,
    read_gold,
    score,
    tagger_predictions,
)
from pipeline.schema import TagInput


def brier(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean squared error of the probabilities against 0/1 truth, over every (segment, code)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if y_true.size == 0:
        return 0.0
    return float(np.mean((probabilities - y_true) ** 2))


def gold_matrix(gold: Sequence[GoldItem], codes: Sequence[str], codebook: Any) -> np.ndarray:
    return np.array(
        [[code in {codebook.resolve(c).id for c in g.themes} for code in codes] for g in gold],
        dtype=np.int8,
    )


def model_probabilities(tagger: Any, classifier: ThemeClassifier, texts: Sequence[str]
                        ) -> np.ndarray:
    """Final probabilities ``(n, codes)``, computed as ``merge`` computes them."""
    from pipeline.tagger import rule_evidence

    docs = list(tagger.nlp.pipe(texts, batch_size=256))
    predictions = classifier.predict(list(texts))
    rows = [classifier.probabilities(p, rule_evidence(doc))
            for p, doc in zip(predictions, docs, strict=True)]
    return np.array([[row[code] for code in classifier.codes] for row in rows])


@dataclass
class ModelReport:
    """Keyword baseline, rules only and rules + model on one gold file, plus model extras."""

    systems: list[Scores]
    brier: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"systems": [s.as_dict() for s in self.systems]}
        if self.brier is not None:
            out["brier"] = round(self.brier, 4)
        out["seconds"] = {k: round(v, 3) for k, v in self.seconds.items()}
        return out


def compare(tagger: Any, gold: Sequence[GoldItem], classifier: ThemeClassifier | None
            ) -> ModelReport:
    """Score baseline, rules only and (when given) the model on ``gold`` with one tagger."""
    codebook = tagger.codebook
    keep = tagger.classifier
    seconds: dict[str, float] = {}
    try:
        baseline_fn = keyword_baseline(codebook)
        systems = [score("keyword baseline", gold,
                         [baseline_fn(g.text, g.speaker) for g in gold], codebook)]
        tagger.classifier = None
        started = time.perf_counter()
        systems.append(score(tagger.source, gold, list(tagger_predictions(tagger, gold)),
                             codebook))
        seconds["rules"] = time.perf_counter() - started
        brier_score = None
        if classifier is not None:
            tagger.classifier = classifier
            started = time.perf_counter()
            systems.append(score(tagger.source, gold, list(tagger_predictions(tagger, gold)),
                                 codebook))
            seconds["model"] = time.perf_counter() - started
            resident = [g for g in gold if g.speaker != "interviewer"]
            probabilities = model_probabilities(tagger, classifier, [g.text for g in resident])
            brier_score = brier(gold_matrix(resident, classifier.codes, codebook), probabilities)
            systems[-1].extra["brier"] = round(brier_score, 4)
    finally:
        tagger.classifier = keep
    return ModelReport(systems, brier_score, seconds)


def table_rows(report: ModelReport) -> tuple[list[str], list[list[str]]]:
    """Header and rows: one row per code plus micro/macro/polarity/interviewer/Brier lines."""
    systems = report.systems
    header = ["code"] + [f"{s.system} P/R/F1" for s in systems]
    rows: list[list[str]] = []
    for code in systems[0].codes:
        cells = [code]
        for s in systems:
            c = s.codes[code]
            cells.append(f"{c.precision:.2f} / {c.recall:.2f} / {c.f1:.2f}")
        rows.append(cells)
    rows.append(["micro F1"] + [f"{s.micro.f1:.3f}" for s in systems])
    rows.append(["macro F1"] + [f"{s.macro_f1:.3f}" for s in systems])
    rows.append(["polarity accuracy"] + [f"{s.polarity_accuracy:.3f}" for s in systems])
    rows.append(["interviewer coded"] + [f"{s.interviewer_coded}/{s.interviewer_segments}"
                                         for s in systems])
    rows.append(["Brier"] + [f"{s.extra['brier']:.4f}" if "brier" in s.extra else "-"
                             for s in systems])
    return header, rows


def markdown_table(report: ModelReport) -> str:
    header, rows = table_rows(report)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# --- learning curve -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CurvePoint:
    size: int
    seed: int
    macro_f1: float


def learning_curve(
    tagger: Any,
    examples: Sequence[Any],
    evidence: Sequence[Any],
    gold: Sequence[GoldItem],
    *,
    points: int = 10,
    seeds: Sequence[int] = (0, 1, 2),
    folds: int = 3,
    smallest: int = 100,
) -> list[CurvePoint]:
    """Macro-F1 on ``gold`` for models trained on growing random subsets of ``examples``.

    Each subset is trained the normal way (out-of-fold thresholds and stacking; polarity off,
    it does not change which codes are found) and scored through the tagger.
    """
    from pipeline.training import fit_classifier

    codebook = tagger.codebook
    sizes = np.unique(np.linspace(min(smallest, len(examples)), len(examples), points).astype(int))
    keep = tagger.classifier
    out: list[CurvePoint] = []
    try:
        for seed in seeds:
            order = np.random.default_rng(seed).permutation(len(examples))
            for size in sizes:
                chosen = order[:size]
                try:
                    classifier, _ = fit_classifier(
                        [examples[i] for i in chosen], [evidence[i] for i in chosen],
                        codebook.ids, folds=folds, seed=seed, polarity=False,
                    )
                except ValueError:  # a code with too few positives in this small draw
                    continue
                tagger.classifier = classifier
                scores = score("curve", gold, list(tagger_predictions(tagger, gold)), codebook)
                out.append(CurvePoint(int(size), seed, scores.macro_f1))
    finally:
        tagger.classifier = keep
    return out


def plot_learning_curve(points: Sequence[CurvePoint], path: str | Path,
                        baselines: dict[str, float] | None = None) -> Path:
    """Mean and min-max band of macro-F1 per training size, saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({p.size for p in points})
    values = [[p.macro_f1 for p in points if p.size == s] for s in sizes]
    mean = [float(np.mean(v)) for v in values]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    ax.fill_between(sizes, [min(v) for v in values], [max(v) for v in values], alpha=0.25,
                    label="min-max over seeds")
    ax.plot(sizes, mean, marker="o", label="rules + model (mean)")
    for i, (name, value) in enumerate((baselines or {}).items()):
        ax.axhline(value, linestyle="--", color=f"C{i + 1}", label=name)
    ax.set_xlabel("training examples")
    ax.set_ylabel("macro-F1 (14 codes)")
    ax.set_ylim(0.0, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Learning curve of the theme model")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def gold_to_inputs(gold: Sequence[GoldItem]) -> list[TagInput]:
    return [TagInput(id=g.id, text=g.text, speaker=g.speaker) for g in gold]


# --- model card -------------------------------------------------------------------------------

WEAK_F1 = 0.65


def human_reference(gold: Sequence[GoldItem], path: str | Path, codebook: Any) -> Scores | None:
    """A second annotator's blind labels of the gold file (same format), scored like a system.

    It tells how far people who follow the same guide agree on these segments: the model's
    numbers mean more next to it (a model at 0.68 is far from a ceiling of 0.70 and far from
    one of 0.90). ``None`` when the file is missing or labels other segments than ``gold``.
    """
    if not Path(path).is_file():
        return None
    labels = {item.id: item.themes for item in read_gold(path)}
    if set(labels) != {g.id for g in gold}:
        return None
    return score("second annotator (blind)", gold, [labels[g.id] for g in gold], codebook)


def weak_code_advice(curve: dict[str, Any] | None) -> str:
    """What would help the weak codes, read from the learning curve: more of the same data
    while the curve still climbs, better labels once it has flattened."""
    points = (curve or {}).get("points") or []
    sizes = sorted({p["size"] for p in points})
    if len(sizes) >= 3:
        mean = {s: np.mean([p["macro_f1"] for p in points if p["size"] == s]) for s in sizes}
        two_thirds = min(sizes, key=lambda s: abs(s - sizes[-1] * 2 / 3))
        if mean[sizes[-1]] - mean[two_thirds] < 0.01:
            return ("The learning curve is flat over the last third of the training data: "
                    "labels checked by two annotators (`kracht review agreement`) and sharper "
                    "guidance between neighbouring codes would help these codes more than more "
                    "segments of the same kind.")
    return "More labeled segments for these codes would help most."


def model_card(metrics: dict[str, Any]) -> str:
    """``MODEL_CARD.md`` from ``metrics.json``: data, method, numbers, limits."""
    data = metrics["data"]
    book = metrics["codebook"]
    lines = [
        f"# Model card: {metrics['model']}",
        "",
        "Theme classifier of kracht: which of the 14 codes of gemeenschapskracht a Dutch resident",
        "segment carries, with polarity. It runs inside the tagger (`pipeline/tagger.py`, `merge`)",
        "next to the codebook rules, and every tag it makes is stored with source "
        f"`model:{metrics['model']}`.",
        "",
        "## Method",
        "- Text stage: word and simplemma-lemma TF-IDF (1-2 grams) + character n-grams (char_wb",
        "  2-5) + skip pairs (two words 2-4 apart) into one balanced logistic regression per",
        "  code (one-vs-rest).",
        "- Stack stage: per code a logistic regression over the out-of-fold text score, the",
        "  rule tagger's signals for that code (noisy-or score, distinct patterns, max weight,",
        "  negated and hedged share), two interactions (text × rule score, rules alone",
        "  would assign) and the neighbours' vote: the similarity-weighted share of the 20 most",
        "  similar training segments (cosine over TF-IDF features in <= 1% of segments) that",
        "  carry the code. It is Platt scaling too: its outputs are calibrated probabilities.",
        "- Thresholds: per code, the best F1 on out-of-fold stacked probabilities of the training",
        "  data (never the test file). Folds leave whole data files out (each file has its own",
        "  writers and voices), so thresholds and stack see how far the model carries to new",
        "  writers, as on the test file.",
        "- Polarity: a logistic regression per code and one shared by all codes over the same",
        "  text features, then a small model over their probabilities and the rules' polarity,",
        "  cue and negation signals (fitted on out-of-fold probabilities).",
        "- No word vectors: the shipped spaCy pipelines carry none.",
        "- Saved with skops; loading refuses any type outside an explicit allow-list.",
        "",
        "## Data",
        f"- Training: {data['examples']} segments from {', '.join(data['files'])}"
        + (f" + {data['reviewed_examples']} reviewed examples" if data.get("reviewed_examples")
           else ""),
        (f"- Test (scored once, never tuned on): {data['test_examples']} segments, "
         f"{data['test_file']}" if data.get("test_file") else "- Test: not scored"),
        "- Positives per code in training: "
        + ", ".join(f"{c} {n}" for c, n in data["positives"].items()),
        f"- Codebook: {book['name']} {book['version']}, hash `{book['hash']}`",
        f"- spaCy pipeline for the rule signals: {metrics['nlp']}",
        f"- Trained {metrics['trained_at']} in {metrics['train_seconds']} s",
        "",
        "## Out-of-fold on the training data (whole files held out)",
        f"- macro-F1 {metrics['out_of_fold']['macro_f1']}, polarity accuracy "
        f"{metrics['out_of_fold']['polarity_accuracy']}",
        "",
    ]
    test = metrics.get("test")
    if test:
        by_name = {s["system"]: s for s in test["systems"]}
        systems = test["systems"]
        model = systems[-1]
        lines += [
            "## Test results",
            "",
            "| code | " + " | ".join(f"{s['system']} P / R / F1" for s in systems) + " |",
            "|---|" + "---|" * len(systems),
        ]
        for code in model["codes"]:
            cells = [
                f"{s['codes'][code]['precision']:.2f} / {s['codes'][code]['recall']:.2f} / "
                f"{s['codes'][code]['f1']:.2f}"
                for s in systems
            ]
            lines.append(f"| {code} | " + " | ".join(cells) + " |")
        for label, key in (("macro-F1", "macro_f1"), ("micro-F1", "micro_f1"),
                           ("polarity accuracy", "polarity_accuracy")):
            lines.append(f"| **{label}** | " + " | ".join(f"{s[key]:.3f}" for s in systems) + " |")
        lines.append("| interviewer segments coded | " + " | ".join(
            f"{s['interviewer_coded']} / {s['interviewer_segments']}" for s in systems) + " |")
        baseline = by_name["keyword baseline"]["macro_f1"]
        lines += [
            "",
            f"- Brier score (model, resident segments × 14 codes): {test.get('brier')}",
            f"- Keyword baseline macro-F1 {baseline:.3f}; model "
            f"is {model['macro_f1'] - baseline:+.3f} above it.",
            *human_lines(test.get("human_reference"), model),
            "",
            "## Targets (issue 7)",
        ]
        worst = min(v["f1"] for v in model["codes"].values())
        for label, ok in (
            (f"macro-F1 >= 0.75: {model['macro_f1']:.3f}", model["macro_f1"] >= 0.75),
            (f"every code F1 >= 0.55: lowest {worst:.2f}", worst >= 0.55),
            (f"no interviewer segment coded: {model['interviewer_coded']}",
             model["interviewer_coded"] == 0),
            (f"polarity accuracy >= 0.80: {model['polarity_accuracy']:.3f}",
             model["polarity_accuracy"] >= 0.80),
            (f">= 0.25 macro-F1 above the keyword baseline: {model['macro_f1'] - baseline:+.3f}",
             model["macro_f1"] - baseline >= 0.25),
        ):
            lines.append(f"- [{'x' if ok else ' '}] {label}")
        rules_train = metrics.get("rules_on_training_data")
        rules_test = systems[-2]["macro_f1"] if len(systems) > 2 else None
        if rules_train is not None and rules_test is not None and rules_train - rules_test > 0.05:
            lines += [
                "",
                f"The rules alone score macro-F1 {rules_train:.3f} on the training data and "
                f"{rules_test:.3f} on the test file. The codebook patterns were written while "
                "reading the training data, so the stack stage learns how much to trust rule "
                "signals from data on which they look better than on new text; on unseen text "
                "the model leans on rules that fire less often, and recall drops. A share of "
                "labeled data kept away from pattern writing (for the stack to be fitted on) and "
                "more labeled segments for the weak codes below are what would help most.",
            ]
        lines += ["", "## Known weak codes"]
        weak = sorted((v["f1"], c) for c, v in model["codes"].items() if v["f1"] < WEAK_F1)
        if weak:
            lines += [f"- {code}: test F1 {f1:.2f}" for f1, code in weak]
            lines.append(f"- {weak_code_advice(metrics.get('learning_curve'))}")
        else:
            lines.append(f"- none below F1 {WEAK_F1} on the test file")
    curve = metrics.get("learning_curve")
    if curve:
        sizes = sorted({p["size"] for p in curve["points"]})
        means = [np.mean([p["macro_f1"] for p in curve["points"] if p["size"] == s])
                 for s in sizes]
        lines += [
            "",
            "## Learning curve",
            f"![learning curve]({curve['png']})",
            "",
            "Test macro-F1 by number of training examples (mean over "
            f"{len({p['seed'] for p in curve['points']})} random draws): "
            + ", ".join(f"{s}: {m:.3f}" for s, m in zip(sizes, means, strict=True)),
        ]
    lines += [
        "",
        "## Use and limits",
        "- Trained on short Dutch resident segments (1-3 sentences). Longer turns are split by",
        "  the segmenter first; other genres or languages are out of scope.",
        "- Scores are probabilities per code; a code is assigned from its own threshold.",
        "- Model-only codes get the sentence that weighs most for the code as evidence: review it.",
        "- The file holds each training segment as a row of TF-IDF weights over its rarer words",
        "  (for the neighbours' vote), with its codes: share the model as you would share the",
        "  training data (reviewed segments enter it pseudonymized, as they are stored).",
        "",
    ]
    return "\n".join(lines)


def human_lines(reference: dict[str, Any] | None, model: dict[str, Any]) -> list[str]:
    """The model card's lines on the second annotator (none without one)."""
    if not reference:
        return []
    codes = reference["codes"]
    return [
        f"- Human reference: a second annotator who labeled the test file blind (same guide) "
        f"scores macro-F1 {reference['macro_f1']:.3f} against its labels (micro-F1 "
        f"{reference['micro_f1']:.3f}, polarity {reference['polarity_accuracy']:.3f}); the model "
        f"reaches {model['macro_f1'] / reference['macro_f1']:.0%} of that. Per code: "
        + ", ".join(f"{c} {v['f1']:.2f}" for c, v in codes.items()) + ".",
    ]


def curve_report(tagger: Any, gold: Sequence[GoldItem], path: str | Path,
                 report: ModelReport | None = None, train_paths: Sequence[Path] | None = None,
                 points: int = 7, seeds: Sequence[int] = (0, 1)) -> list[dict[str, Any]]:
    """Learning curve on ``gold`` from the default training data, drawn to ``path``."""
    from pipeline.training import DEFAULT_TRAIN, canonical, read_examples, rule_evidence_for

    examples = canonical(read_examples(train_paths or DEFAULT_TRAIN), tagger.codebook)
    evidence = rule_evidence_for(tagger, [e.text for e in examples])
    curve = learning_curve(tagger, examples, evidence, gold, points=points, seeds=seeds)
    baselines = {s.system: s.macro_f1 for s in (report.systems[:2] if report else [])}
    plot_learning_curve(curve, path, baselines)
    return [{"size": p.size, "seed": p.seed, "macro_f1": round(p.macro_f1, 4)} for p in curve]


# --- review queue (active learning) -----------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    """A resident segment and how close its most uncertain code is to that code's threshold."""

    segment_id: str
    text: str
    code: str
    probability: float
    threshold: float

    @property
    def margin(self) -> float:
        return abs(self.probability - self.threshold)

    def as_dict(self) -> dict[str, Any]:
        return {"segment": self.segment_id, "code": self.code,
                "probability": round(self.probability, 4), "threshold": self.threshold,
                "margin": round(self.margin, 4), "text": self.text}


def uncertainty(probabilities: dict[str, float], thresholds: dict[str, float]
                ) -> tuple[str, float]:
    """The code whose probability is nearest its threshold, and that probability.

    Margin to the *per-code threshold* rather than to 0.5: a code assigned from 0.3 is most in
    doubt at 0.3, so that is where a human label teaches the model most.
    """
    code = min(probabilities, key=lambda c: abs(probabilities[c] - thresholds.get(c, 0.5)))
    return code, probabilities[code]


def review_queue(store: Any, tagger: Any, batch_size: int = 256) -> list[QueueItem]:
    """Every resident segment in the store, ranked by margin (smallest, most useful, first)."""
    from sqlalchemy import select

    from pipeline.store import Segment
    from pipeline.tagger import rule_evidence

    classifier = tagger.classifier
    with store.session() as s:
        rows = s.execute(
            select(Segment.id, Segment.text).where(Segment.role == "resident")
            .order_by(Segment.document_id, Segment.ordinal)
        ).all()
    items: list[QueueItem] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        texts = [text for _, text in chunk]
        docs = tagger.nlp.pipe(texts, batch_size=batch_size)
        for (segment_id, text), doc, prediction in zip(chunk, docs, classifier.predict(texts),
                                                       strict=True):
            probabilities = classifier.probabilities(prediction, rule_evidence(doc))
            code, probability = uncertainty(probabilities, classifier.thresholds)
            items.append(QueueItem(segment_id, text, code, probability,
                                   classifier.threshold(code)))
    return sorted(items, key=lambda item: (item.margin, item.segment_id))
