"""Polarity of each theme match: the valence of the situation *for residents* (design §3).

``positive``: the outcome is there or improving; ``negative``: lacking, worsening, a problem;
``mixed``: both; ``neutral``: present without valence. The decision, per match:

1. The codebook pattern may carry its own valence (``minder eenzaam`` → positive), or the code a
   default for bare mentions (``eenzaamheid``: negative).
2. A negation scope over the match turns it around: "niet serieus genomen" → negative for
   ``gezien_en_gewaardeerd``; "niet eenzaam" → positive for ``eenzaamheid``.
3. Without a hint, the valence lexicon (``rules/valence.yaml``) in the same sentence decides,
   each word counted the other way inside a negation scope; no cue at all and a scheduling word
   ("op dinsdag", "van tien tot drie") reads as neutral, otherwise positive (a mention of an
   outcome is usually its presence).
4. A before/now story ("eerst ... nu ...") turns a negative before into improvement: positive for
   outcome codes, mixed for problem codes (lonely before, less now).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.codebook import load_codebook
from pipeline.nlp.negation import NEGATED_FLAG, TRIGGER_FLAG
from pipeline.nlp.themes import (
    CODE,
    END,
    HINT,
    NEGATED,
    POLARITY,
    START,
    register_extensions,
    sentence_bounds,
)

RULES_DIR = Path(__file__).resolve().parent / "rules"
DEFAULT_LEXICON = RULES_DIR / "valence.yaml"

FLIP = {"positive": "negative", "negative": "positive", "neutral": "negative", "mixed": "mixed"}


class WordSet:
    """Lower-case words and ``prefix*`` entries, looked up per token."""

    def __init__(self, words: Iterable[str]) -> None:
        self.exact: set[str] = set()
        self.prefixes: tuple[str, ...] = ()
        prefixes: list[str] = []
        for word in words:
            word = str(word).lower()
            if word.endswith("*"):
                prefixes.append(word[:-1])
            else:
                self.exact.add(word)
        self.prefixes = tuple(prefixes)

    def __contains__(self, word: str) -> bool:
        return word in self.exact or (bool(self.prefixes) and word.startswith(self.prefixes))


class PhraseSet:
    """Single words and multi-word phrases; ``positions`` finds where they start in a doc."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self.phrases = [tuple(str(p).lower().split()) for p in phrases]

    def positions(self, words: Sequence[str]) -> list[int]:
        found = []
        for i in range(len(words)):
            for phrase in self.phrases:
                if tuple(words[i : i + len(phrase)]) == phrase:
                    found.append(i)
                    break
        return found


class Lexicon:
    """The valence lexicon: positive and negative words, change markers and neutral cues."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.positive = WordSet(data.get("positive", []))
        self.negative = WordSet(data.get("negative", []))
        change = data.get("change", {})
        self.before = PhraseSet(change.get("before", []))
        self.after = PhraseSet(change.get("after", []))
        self.neutral = PhraseSet(data.get("neutral", []))

    @classmethod
    def from_yaml(cls, path: str | Path = DEFAULT_LEXICON) -> Lexicon:
        return cls(yaml.safe_load(Path(path).read_text(encoding="utf-8")))

    def valence(self, word: str, negated: bool) -> int:
        score = 1 if word in self.positive else -1 if word in self.negative else 0
        return -score if negated else score


def change_point(lexicon: Lexicon, words: Sequence[str]) -> int | None:
    """Token index of the "now" in a before/now story, or ``None`` when there is none."""
    befores = lexicon.before.positions(words)
    if not befores:
        return None
    first_before = befores[0]
    for position in lexicon.after.positions(words):
        if position > first_before:
            return position
    return None


class PolarityTagger:
    """spaCy component: writes ``polarity`` on every theme match record."""

    def __init__(
        self, nlp: Language, name: str, lexicon: Lexicon, problem_codes: frozenset[str]
    ) -> None:
        self.name = name
        self.lexicon = lexicon
        self.problem_codes = problem_codes

    def __call__(self, doc: Doc) -> Doc:
        records: list[list[Any]] = doc._.theme_matches or []
        if not records:
            return doc
        words = [token.lower_ for token in doc]
        flags = doc._.context_flags or bytes(len(doc))
        sent_of, sent_ends, _ = sentence_bounds(doc)
        turn = change_point(self.lexicon, words)
        for record in records:
            record[POLARITY] = self._polarity(record, words, flags, sent_of, sent_ends, turn)
        return doc

    def _polarity(
        self,
        record: list[Any],
        words: Sequence[str],
        flags: bytes,
        sent_of: Sequence[int],
        sent_ends: Sequence[int],
        turn: int | None,
    ) -> str:
        start, end = record[START], record[END]
        hint = record[HINT]
        if record[NEGATED]:
            polarity = FLIP[hint or "positive"]
        elif hint:
            polarity = hint
        else:
            polarity = self._from_context(start, end, words, flags, sent_of, sent_ends)
        if turn is not None and polarity == "negative" and start < turn:
            polarity = "mixed" if record[CODE] in self.problem_codes else "positive"
        return polarity

    def _from_context(
        self,
        start: int,
        end: int,
        words: Sequence[str],
        flags: bytes,
        sent_of: Sequence[int],
        sent_ends: Sequence[int],
    ) -> str:
        sent = sent_of[start]
        lo = start
        while lo > 0 and sent_of[lo - 1] == sent:
            lo -= 1
        hi = sent_ends[start]
        score = 0
        for j in range(lo, hi):
            if start <= j < end or flags[j] & TRIGGER_FLAG:
                continue
            score += self.lexicon.valence(words[j], bool(flags[j] & NEGATED_FLAG))
        if score > 0:
            return "positive"
        if score < 0:
            return "negative"
        if self.lexicon.neutral.positions(words[lo:hi]):
            return "neutral"
        return "positive"


def combine(polarities: Iterable[str]) -> str:
    """One polarity for a code from the polarities of its evidence in one segment."""
    seen = set(polarities)
    if "mixed" in seen or {"positive", "negative"} <= seen:
        return "mixed"
    for polarity in ("negative", "positive"):
        if polarity in seen:
            return polarity
    return "neutral"


@Language.factory("kracht_polarity", default_config={"codebook": None, "lexicon": None})
def make_polarity(
    nlp: Language, name: str, codebook: str | None, lexicon: str | None
) -> PolarityTagger:
    """Polarity from a valence lexicon YAML (``None``: the packaged Dutch lexicon)."""
    from pipeline.config import DEFAULT_CODEBOOK

    register_extensions()
    book = load_codebook(codebook or DEFAULT_CODEBOOK)
    problems = frozenset(code.id for code in book.codes if code.default_valence == "negative")
    return PolarityTagger(nlp, name, Lexicon.from_yaml(lexicon or DEFAULT_LEXICON), problems)
