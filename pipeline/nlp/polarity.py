"""Polarity of each theme match: the valence of the situation *for residents* (design §3).

``positive``: the outcome is there or improving; ``negative``: lacking, worsening, a problem;
``mixed``: both; ``neutral``: present without valence. The decision, per match:

1. The codebook pattern may carry its own valence (``minder eenzaam`` → positive), or the code a
   default for bare mentions (``eenzaamheid``: negative; a default is weaker than a cue).
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

from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.codebook import load_codebook
from pipeline.nlp.negation import NEGATED_FLAG, TRIGGER_FLAG
from pipeline.nlp.themes import (
    CODE,
    CUED,
    END,
    FLAGS,
    HINT,
    MATCHES,
    NEGATED,
    POLARITY,
    START,
    VIEW,
    doc_view,
    register_extensions,
    sentence_span,
)

RULES_DIR = Path(__file__).resolve().parent / "rules"
DEFAULT_LEXICON = RULES_DIR / "valence.yaml"

#: What ``combine`` returns for a single piece of evidence with this polarity (else neutral).
_DIRECTED = frozenset({"mixed", "negative", "positive"})

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
    """Single words and multi-word phrases; ``positions`` finds where they start."""

    def __init__(self, phrases: Iterable[str], key: Callable[[str], Hashable] = str) -> None:
        self.phrases = [str(p).lower() for p in phrases]
        self.by_first: dict[Hashable, list[tuple[Hashable, ...]]] = {}
        for phrase in self.phrases:
            keys = tuple(key(word) for word in phrase.split())
            self.by_first.setdefault(keys[0], []).append(keys)

    def positions(self, words: Sequence[Hashable], start: int = 0, end: int | None = None
                  ) -> list[int]:
        """Where a phrase starts in ``words[start:end]`` (``words`` compared through ``key``)."""
        stop = len(words) if end is None else end
        by_first = self.by_first
        span = words[start:stop]
        if by_first.keys().isdisjoint(span):
            return []  # the usual case, answered by one set operation instead of a loop
        # Only the tokens that start some phrase are looked at: the comprehension finds them at
        # C speed, and the phrases of the change markers start with "de" and "in".
        return [i for i in [i for i, word in enumerate(span, start) if word in by_first]
                if self._starts_at(words, i)]

    def first(self, words: Sequence[Hashable], start: int = 0) -> int | None:
        """The first position from ``start`` where a phrase starts (``positions(...)[0]``)."""
        by_first = self.by_first
        for i, word in enumerate(words[start:], start):
            if word in by_first and self._starts_at(words, i):
                return i
        return None

    def _starts_at(self, words: Sequence[Hashable], i: int) -> bool:
        return any(len(keys) == 1 or tuple(words[i : i + len(keys)]) == keys
                   for keys in self.by_first[words[i]])


class Lexicon:
    """The valence lexicon: positive and negative words, change markers and neutral cues."""

    def __init__(self, data: dict[str, Any], key: Callable[[str], Hashable] = str) -> None:
        self.data = data
        self.positive = WordSet(data.get("positive", []))
        self.negative = WordSet(data.get("negative", []))
        change = data.get("change", {})
        self.before = PhraseSet(change.get("before", []), key)
        self.after = PhraseSet(change.get("after", []), key)
        self.neutral = PhraseSet(data.get("neutral", []), key)

    def keyed(self, key: Callable[[str], Hashable]) -> Lexicon:
        """The same lexicon with phrases compared through another ``key``."""
        return Lexicon(self.data, key)

    @classmethod
    def from_yaml(cls, path: str | Path = DEFAULT_LEXICON) -> Lexicon:
        return cls(yaml.safe_load(Path(path).read_text(encoding="utf-8")))

    def valence(self, word: str) -> int:
        """+1 positive, -1 negative, 0 neither."""
        return 1 if word in self.positive else -1 if word in self.negative else 0


def change_point(lexicon: Lexicon, words: Sequence[Hashable]) -> int | None:
    """Token index of the "now" in a before/now story, or ``None`` when there is none."""
    before, after = lexicon.before, lexicon.after
    # Two set operations answer most docs; the scans stop at the first hit.
    if before.by_first.keys().isdisjoint(words) or after.by_first.keys().isdisjoint(words):
        return None
    first_before = before.first(words)
    return None if first_before is None else after.first(words, first_before + 1)


class PolarityTagger:
    """spaCy component: writes ``polarity`` (and whether a cue decided it) on every match."""

    def __init__(
        self,
        nlp: Language,
        name: str,
        lexicon: Lexicon,
        problem_codes: frozenset[str],
        plain: dict[str, str] | None = None,
        defaults: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.lexicon = lexicon.keyed(nlp.vocab.strings.__getitem__)
        self.problem_codes = problem_codes
        self.plain = plain or {}
        self.defaults = defaults or {}
        self._valence: dict[int, int] = {}

    def __call__(self, doc: Doc) -> Doc:
        data = doc.user_data
        records: list[list[Any]] | None = data.get(MATCHES)
        if not records:
            return doc
        words, sent_of, sent_ends = doc_view(doc)
        flags = data.get(FLAGS) or bytes(len(doc))
        turn = change_point(self.lexicon, words)
        strings = doc.vocab.strings
        for record in records:
            polarity, cued = self._polarity(strings, record, words, flags, sent_of, sent_ends)
            if turn is not None and polarity == "negative" and record[START] < turn:
                polarity = "mixed" if record[CODE] in self.problem_codes else "positive"
            record[POLARITY], record[CUED] = polarity, cued
        data[VIEW] = None  # last reader: the doc need not carry it any further
        return doc

    def _polarity(
        self,
        strings: Any,
        record: list[Any],
        words: Sequence[int],
        flags: bytes,
        sent_of: Sequence[int],
        sent_ends: Sequence[int],
    ) -> tuple[str, bool]:
        """The match's polarity and whether a cue (pattern, negation, lexicon) decided it."""
        start, end = record[START], record[END]
        hint = record[HINT]
        default = self.defaults.get(record[CODE])
        if record[NEGATED]:
            return FLIP[hint or default or "positive"], True
        if hint:
            return hint, True
        if default:
            return default, False
        lo, hi = sentence_span(sent_of, sent_ends, start)
        score = 0
        cache = self._valence
        for j in range(lo, hi):
            if start <= j < end or flags[j] & TRIGGER_FLAG:
                continue
            value = cache.get(words[j])
            if value is None:
                value = cache[words[j]] = self.lexicon.valence(strings[words[j]])
                if len(cache) > 100_000:
                    cache.clear()
            score += -value if flags[j] & NEGATED_FLAG else value
        if score:
            return ("positive" if score > 0 else "negative"), True
        if self.lexicon.neutral.positions(words, lo, hi):
            return "neutral", False
        return self.plain.get(record[CODE], "positive"), False


def combine(polarities: Iterable[tuple[str, bool]]) -> str:
    """One polarity for a code from ``(polarity, cued)`` of its evidence in one segment.

    Cued evidence outvotes uncued defaults; explicit positive and negative cues together (or a
    before/now story) make ``mixed``.
    """
    items = list(polarities)
    if len(items) == 1:  # most codes have one match in a segment: no sets to build
        polarity = items[0][0]
        return polarity if polarity in _DIRECTED else "neutral"
    cued = {polarity for polarity, was_cued in items if was_cued}
    seen = cued or {polarity for polarity, _ in items}
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
    plain = {code.id: code.plain_valence for code in book.codes}
    defaults = {code.id: code.default_valence for code in book.codes if code.default_valence}
    return PolarityTagger(
        nlp, name, Lexicon.from_yaml(lexicon or DEFAULT_LEXICON), problems, plain, defaults
    )
