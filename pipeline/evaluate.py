"""Coding quality against labeled data: per-code precision, recall and F1, with a baseline.

The gold files are JSON lines in the contract format plus ``"themes": {code: polarity}``
(``data/ANNOTATION_GUIDE.md``). Next to the tagger the report always shows a keyword baseline:
a code is assigned when any word of its label or examples occurs in the segment, which is what
text-search auto-coding in a QDA package does. A tagger that does not beat it clearly is not
worth its complexity. Interviewer segments that received a code are counted: it must be 0.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.codebook import Codebook
from pipeline.schema import TagInput

#: Words too common to be a keyword of any code (label and example words are filtered by it).
STOPWORDS = frozenset(
    [
        "aan", "als", "bij", "dat", "de", "den", "der", "des", "die", "dit", "een", "eens", "en",
        "er", "het", "hij", "hem", "hen", "hoe", "hun", "ik", "in", "is", "je", "jij", "kan",
        "kun", "kunt", "maar", "me", "mee", "men", "met", "mij", "mijn", "na", "naar", "niet",
        "nog", "nu", "of", "om", "ons", "onze", "ook", "op", "over", "te", "tegen", "toe", "tot",
        "u", "uit", "van", "veel", "voor", "want", "was", "wat", "we", "wel", "werd", "wie", "wij",
        "zal", "ze", "zei", "zich", "zij", "zijn", "zo", "zou", "dan", "daar", "door", "had",
        "heb", "hebben", "heeft", "hier", "iets", "al", "alle", "alles", "elke", "heel", "meer",
        "nou", "toen", "voel", "voelde", "voelen", "zelf", "komt", "kwam", "gaan", "gaat", "ging",
        "doen", "doet", "deed", "worden", "wordt", "krijg", "kreeg",
    ]
)


@dataclass(frozen=True)
class GoldItem:
    """One labeled segment."""

    id: str
    text: str
    speaker: str | None
    themes: dict[str, str]


def read_gold(path: str | Path) -> list[GoldItem]:
    """Labeled segments of a JSON-lines file (codes are taken as written)."""
    items: list[GoldItem] = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                items.append(
                    GoldItem(str(data["id"]), data["text"], data.get("speaker"),
                             dict(data.get("themes") or {}))
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: bad gold line ({exc})") from exc
    return items


@dataclass
class CodeCounts:
    """Counts for one code; F1 and friends derived."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    polarity_right: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Scores:
    """Per-code counts plus the summary numbers of one system on one gold file."""

    system: str
    codes: dict[str, CodeCounts]
    interviewer_segments: int = 0
    interviewer_coded: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def micro(self) -> CodeCounts:
        total = CodeCounts()
        for counts in self.codes.values():
            total.tp += counts.tp
            total.fp += counts.fp
            total.fn += counts.fn
            total.polarity_right += counts.polarity_right
        return total

    @property
    def macro_f1(self) -> float:
        return sum(c.f1 for c in self.codes.values()) / len(self.codes) if self.codes else 0.0

    @property
    def polarity_accuracy(self) -> float:
        micro = self.micro
        return micro.polarity_right / micro.tp if micro.tp else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "macro_f1": round(self.macro_f1, 4),
            "micro_f1": round(self.micro.f1, 4),
            "micro_precision": round(self.micro.precision, 4),
            "micro_recall": round(self.micro.recall, 4),
            "polarity_accuracy": round(self.polarity_accuracy, 4),
            "interviewer_segments": self.interviewer_segments,
            "interviewer_coded": self.interviewer_coded,
            "codes": {
                code: {"precision": round(c.precision, 4), "recall": round(c.recall, 4),
                       "f1": round(c.f1, 4), "tp": c.tp, "fp": c.fp, "fn": c.fn,
                       "polarity_accuracy": round(c.polarity_right / c.tp, 4) if c.tp else None}
                for code, c in self.codes.items()
            },
            **self.extra,
        }


def score(
    system: str,
    gold: Sequence[GoldItem],
    predicted: Iterable[Mapping[str, str]],
    codebook: Codebook,
) -> Scores:
    """Compare predicted ``{code: polarity}`` maps with the gold ones, item by item."""
    result = Scores(system, {code: CodeCounts() for code in codebook.ids})
    for item, guess in zip(gold, predicted, strict=True):
        truth = {codebook.resolve(code).id: polarity for code, polarity in item.themes.items()}
        if item.speaker == "interviewer":
            result.interviewer_segments += 1
            result.interviewer_coded += bool(guess)
        for code, counts in result.codes.items():
            if code in truth and code in guess:
                counts.tp += 1
                counts.polarity_right += truth[code] == guess[code]
            elif code in guess:
                counts.fp += 1
            elif code in truth:
                counts.fn += 1
    return result


def keyword_baseline(codebook: Codebook) -> Callable[[str, str | None], dict[str, str]]:
    """QDA-style auto-coding: any label or example word of a code, as a whole word, codes it.

    It knows nothing of speakers or polarity: every hit is ``positive`` (the commonest polarity).
    """
    patterns: dict[str, re.Pattern[str]] = {}
    for code in codebook.codes:
        words = {
            word
            for phrase in [code.label, *code.examples]
            for word in re.findall(r"\w+", phrase.lower())
            if len(word) > 3 and word not in STOPWORDS
        }
        if words:
            alternatives = "|".join(sorted(map(re.escape, words), key=len, reverse=True))
            patterns[code.id] = re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)

    def code_text(text: str, speaker: str | None = None) -> dict[str, str]:
        return {code: "positive" for code, rx in patterns.items() if rx.search(text)}

    return code_text


def tagger_predictions(tagger: Any, gold: Sequence[GoldItem]) -> Iterator[dict[str, str]]:
    """``{code: polarity}`` per gold item, through the tagger's ``tag`` like ``kracht tag``."""
    items = (TagInput(id=g.id, text=g.text, speaker=g.speaker) for g in gold)
    for output in tagger.tag(items):
        yield {theme.code: theme.polarity for theme in output.themes}


def evaluate(tagger: Any, gold_path: str | Path) -> list[Scores]:
    """Tagger and keyword baseline on one gold file."""
    gold = read_gold(gold_path)
    codebook = tagger.codebook
    rules = score(tagger.source, gold, tagger_predictions(tagger, gold), codebook)
    rules.extra = {"nlp": tagger.nlp_name, "codebook_version": codebook.version,
                   "codebook_hash": codebook.hash, "gold": str(gold_path), "segments": len(gold)}
    baseline_fn = keyword_baseline(codebook)
    baseline = score("keyword baseline", gold,
                     (baseline_fn(g.text, g.speaker) for g in gold), codebook)
    return [rules, baseline]
