"""The theme matcher: codebook patterns found in a spaCy ``Doc``, as spans with their evidence.

Why not spaCy's ``Matcher`` with ``REGEX`` predicates? The codebook holds hundreds of word globs
(``eenzaam*``, ``*kamer`` for Dutch compounds); as regexes they would be tried on every token,
which is far below the throughput target. Here every distinct word form (lower case and lemma) is
looked up once in exact/prefix/suffix tables and the answer is cached on the component, so a
token costs two dictionary lookups once the vocabulary is warm. Sequences (``serieus ... genomen``)
are matched from their first element, inside one sentence.

The component writes ``doc.spans["themes"]`` (label = code id) and, per match, a plain record in
``doc._.theme_matches`` (plain lists and numbers, so docs cross process boundaries with
``n_process > 1``). The span extensions ``negated``, ``hedged``, ``polarity`` read those records.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from spacy.attrs import LEMMA, LOWER, SENT_START
from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup

from pipeline.codebook import Codebook, Element, Glob, load_codebook, parse_variants

SPANS_KEY = "themes"
EMPTY: frozenset[int] = frozenset()
CACHE_LIMIT = 200_000

# Indices into one match record (a list, so that msgpack can carry it between processes).
CODE, START, END, PATTERN, WEIGHT, HINT, SENT, NEGATED, HEDGED, POLARITY, CUED = range(11)


#: How much one full-weight pattern says on its own (two of them: 0.99).
PATTERN_CONFIDENCE = 0.9


def noisy_or(weights: Iterable[float]) -> float:
    """Rule score from the best weight of each distinct pattern: weak cues (0.4) need company."""
    miss = 1.0
    for weight in weights:
        miss *= 1.0 - PATTERN_CONFIDENCE * weight
    return round(1.0 - miss, 4)


class WordIndex:
    """Which glob elements a word form matches: exact, prefix and suffix tables plus a cache.

    One instance per component (no module state); the cache is cleared when it grows past
    ``CACHE_LIMIT`` entries so memory stays flat on endless streams of new words.
    """

    def __init__(self, elements: Sequence[tuple[Glob, ...]]) -> None:
        self.exact: dict[str, list[int]] = {}
        self.prefix: dict[str, list[int]] = {}
        self.suffix: dict[str, list[int]] = {}
        self.infix: list[tuple[str, int]] = []
        for element_id, alternatives in enumerate(elements):
            for glob in alternatives:
                if glob.kind == "infix":
                    self.infix.append((glob.text, element_id))
                else:
                    table = getattr(self, glob.kind)
                    table.setdefault(glob.text, []).append(element_id)
        self.prefix_lengths = sorted({len(text) for text in self.prefix})
        self.suffix_lengths = sorted({len(text) for text in self.suffix})
        self._cache: dict[str, frozenset[int]] = {}

    def lookup(self, word: str) -> frozenset[int]:
        """Element ids that ``word`` (already lower case) matches."""
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        found: list[int] = list(self.exact.get(word, ()))
        size = len(word)
        for length in self.prefix_lengths:
            if length > size:
                break
            found.extend(self.prefix.get(word[:length], ()))
        for length in self.suffix_lengths:
            if length > size:
                break
            found.extend(self.suffix.get(word[-length:], ()))
        for text, element_id in self.infix:
            if text in word:
                found.append(element_id)
        result = frozenset(found) if found else EMPTY
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = result
        return result


@dataclass(frozen=True)
class CompiledPattern:
    """A pattern as element ids; ``owner`` is the code id, ``block`` marks a cancelling pattern."""

    owner: str
    text: str
    elements: tuple[int, ...]
    gaps: tuple[int, ...]
    weight: float
    hint: str | None
    block: bool = False
    anchor: int = 0


#: Frequent Dutch words: a sequence is never anchored on them when it has a rarer element.
COMMON_WORDS = frozenset(
    [
        "aan", "al", "alle", "alleen", "als", "altijd", "ben", "bij", "dan", "dat", "de", "deed",
        "die", "dit", "doe", "doen", "doet", "een", "eens", "elkaar", "en", "er", "ga", "gaan",
        "gaat", "geen", "gewoon", "goed", "had", "heb", "hebben", "heeft", "heel", "hem", "het",
        "hier", "hij", "hoe", "hun", "ik", "in", "is", "iedereen", "iemand", "ja", "je", "jij",
        "jullie", "kan", "kon", "komen", "komt", "kwam", "maar", "me", "mee", "meer", "men",
        "mensen", "met", "mij", "mijn", "m'n", "moet", "na", "naar", "niemand", "niet", "niets",
        "niks", "nog", "nooit", "nu", "of", "om", "onze", "ook", "op", "over", "te", "toen", "tot",
        "u", "uit", "van", "veel", "voor", "waar", "wanneer", "was", "wat", "we", "wel", "werd",
        "wie", "wij", "wil", "zal", "ze", "zei", "zeggen", "zelf", "zich", "zij", "zijn", "zit",
        "zitten", "zo", "zou",
    ]
)


def _anchor(elements: Sequence[Element]) -> int:
    """The element a sequence is looked up by: its rarest-looking word (no frequent word, then
    the longest, exact before wildcard), so that "ik ben ... iemand" is only tried where
    "iemand" occurs and "niet ... serieus" only where "serieus" does."""

    def rarity(element: Element) -> tuple[bool, int, bool]:
        rare = not any(glob.text in COMMON_WORDS for glob in element.alternatives)
        shortest = min(len(glob.text) for glob in element.alternatives)
        exact = all(glob.kind == "exact" for glob in element.alternatives)
        return rare, shortest, exact

    return max(range(len(elements)), key=lambda k: rarity(elements[k]))


class PatternSet:
    """Many compiled patterns sharing one ``WordIndex``; finds them in token id sequences."""

    def __init__(self) -> None:
        self._element_ids: dict[tuple[Glob, ...], int] = {}
        self.patterns: list[CompiledPattern] = []
        self._by_anchor: dict[int, list[int]] = {}
        self.index: WordIndex | None = None
        self._hash_cache: dict[Any, tuple[frozenset[int], tuple[int, ...]]] = {}

    def add(
        self,
        owner: str,
        text: str,
        *,
        weight: float = 1.0,
        hint: str | None = None,
        block: bool = False,
        variants: Sequence[Sequence[Element]] | None = None,
    ) -> None:
        for parsed in variants if variants is not None else parse_variants(text):
            ids = tuple(self._element_ids.setdefault(el.alternatives, len(self._element_ids))
                        for el in parsed)
            gaps = tuple(el.gap for el in parsed)
            anchor = _anchor(parsed)
            self._by_anchor.setdefault(ids[anchor], []).append(len(self.patterns))
            self.patterns.append(
                CompiledPattern(owner, text, ids, gaps, weight, hint, block, anchor)
            )
        self.index = None

    def build(self) -> WordIndex:
        if self.index is None:
            ordered = sorted(self._element_ids.items(), key=lambda item: item[1])
            self.index = WordIndex([alternatives for alternatives, _ in ordered])
        return self.index

    def token_ids(
        self, doc: Doc
    ) -> tuple[list[frozenset[int]], list[tuple[int, ...]], list[int], list[int]]:
        """Per token: the element ids it matches and the patterns anchored on it.

        Works on the hash ids of ``doc.to_array`` (no ``Token`` objects, no strings for words
        already seen): this loop runs on every token of every segment, so both answers are
        cached per word form.
        """
        cache = self._hash_cache
        ids: list[frozenset[int]] = []
        starts: list[tuple[int, ...]] = []
        lowers: list[int] = []
        sent_starts: list[int] = []
        for lower, lemma, sent_start in doc.to_array([LOWER, LEMMA, SENT_START]).tolist():
            hit = cache.get(lower if lemma == lower else (lower, lemma))
            if hit is None:
                hit = self._entry(doc, lower, lemma)
            ids.append(hit[0])
            starts.append(hit[1])
            lowers.append(lower)
            sent_starts.append(sent_start)
        return ids, starts, lowers, sent_starts

    def _entry(self, doc: Doc, lower: int, lemma: int) -> tuple[frozenset[int], tuple[int, ...]]:
        index = self.build()
        strings = doc.vocab.strings
        text = strings[lower]
        found = index.lookup(text)
        if len(text) > 2 and text.endswith("."):
            # Dutch tokenizer exceptions keep abbreviations whole ("kon." = koninklijk), also
            # when the word merely ends a sentence: "... wie wat kon."
            found = found | index.lookup(text.rstrip("."))
        if lemma and lemma != lower:
            other = index.lookup(strings[lemma].lower())
            found = found | other if found else other
        first = tuple(p for element in found for p in self._by_anchor.get(element, ()))
        if len(self._hash_cache) >= CACHE_LIMIT:
            self._hash_cache.clear()
        entry = (found, first)
        self._hash_cache[lower if lemma == lower else (lower, lemma)] = entry
        return entry

    def find(
        self,
        ids: Sequence[frozenset[int]],
        anchored: Sequence[tuple[int, ...]],
        sent_of: Sequence[int],
    ) -> Iterator[tuple[CompiledPattern, int, int]]:
        """Yield ``(pattern, start, end)`` token spans; a match never crosses a sentence end.

        A sequence is tried where its anchor word occurs, and only when all its elements occur
        somewhere in the doc: the rest is matched backwards and forwards from the anchor.
        """
        patterns = self.patterns
        present: set[int] | None = None
        possible: dict[int, bool] = {}
        for i, candidates in enumerate(anchored):
            for pattern_index in candidates:
                pattern = patterns[pattern_index]
                if len(pattern.elements) == 1:
                    yield pattern, i, i + 1
                    continue
                ok = possible.get(pattern_index)
                if ok is None:
                    if present is None:
                        present = set().union(*ids)
                    ok = possible[pattern_index] = present.issuperset(pattern.elements)
                if not ok:
                    continue
                start = _match_back(pattern, pattern.anchor - 1, i, sent_of, ids)
                if start is None:
                    continue
                end = _match_forward(pattern, pattern.anchor + 1, i + 1, sent_of, ids)
                if end is not None:
                    yield pattern, start, end


def _match_forward(
    pattern: CompiledPattern, k: int, pos: int, sent_of: Sequence[int],
    ids: Sequence[frozenset[int]],
) -> int | None:
    """End of the shortest match of ``elements[k:]`` from ``pos`` in the sentence of ``pos-1``."""
    if k == len(pattern.elements):
        return pos
    element = pattern.elements[k]
    sent = sent_of[pos - 1]
    last = min(pos + pattern.gaps[k], len(ids) - 1)
    for j in range(pos, last + 1):
        if sent_of[j] != sent:
            break
        if element in ids[j]:
            end = _match_forward(pattern, k + 1, j + 1, sent_of, ids)
            if end is not None:
                return end
    return None


def _match_back(
    pattern: CompiledPattern, k: int, pos: int, sent_of: Sequence[int],
    ids: Sequence[frozenset[int]],
) -> int | None:
    """Start of a match of ``elements[:k+1]`` ending right before ``elements[k+1]`` at ``pos``."""
    if k < 0:
        return pos
    element = pattern.elements[k]
    sent = sent_of[pos]
    first = max(pos - 1 - pattern.gaps[k + 1], 0)
    for j in range(pos - 1, first - 1, -1):
        if sent_of[j] != sent:
            break
        if element in ids[j]:
            start = _match_back(pattern, k - 1, j, sent_of, ids)
            if start is not None:
                return start
    return None


def sentence_bounds(doc: Doc, flags: Sequence[int] | None = None) -> tuple[list[int], list[int]]:
    """Per token: the index of its sentence and the token index where that sentence ends.

    ``flags`` are the doc's ``SENT_START`` values when the caller already has them.
    """
    n = len(doc)
    if n == 0:
        return [], []
    starts = [0]
    if doc.has_annotation("SENT_START"):
        if flags is None:
            flags = doc.to_array(SENT_START).tolist()
        starts += [i for i in range(1, n) if flags[i] == 1]
    starts.append(n)
    sent_of: list[int] = []
    ends: list[int] = []
    for index in range(len(starts) - 1):
        length = starts[index + 1] - starts[index]
        sent_of.extend([index] * length)
        ends.extend([starts[index + 1]] * length)
    return sent_of, ends


def doc_view(doc: Doc) -> tuple[list[int], list[int], list[int]]:
    """Lower-case hashes, sentence index and sentence end per token, shared by the components.

    The theme matcher leaves them in ``doc._.theme_view`` (plain lists, so a doc still crosses
    process boundaries) and the polarity step, the last reader, removes them again.
    """
    view = doc._.theme_view
    if view is None:
        sent_of, sent_ends = sentence_bounds(doc)
        view = (doc.to_array(LOWER).tolist() if len(doc) else [], sent_of, sent_ends)
    return view


def sentence_span(sent_of: Sequence[int], sent_ends: Sequence[int], i: int) -> tuple[int, int]:
    """``(start, end)`` of the sentence holding token ``i``."""
    start = i
    sent = sent_of[i]
    while start > 0 and sent_of[start - 1] == sent:
        start -= 1
    return start, sent_ends[i]


def is_question(
    strings: Any, lowers: Sequence[int], start: int, end: int, memo: dict[int, int]
) -> bool:
    """Does the sentence ``[start, end)`` end with a question mark (spaces ignored)?

    Works on lower-case hashes; ``memo`` remembers per hash: 1 question mark, 0 space, -1 other.
    """
    for i in range(end - 1, start - 1, -1):
        kind = memo.get(lowers[i])
        if kind is None:
            text = strings[lowers[i]]
            kind = memo[lowers[i]] = 0 if not text.strip() else 1 if "?" in text else -1
        if kind:
            return kind == 1
    return False


class ThemeMatcher:
    """spaCy component: codebook patterns → ``doc.spans["themes"]`` and match records."""

    def __init__(
        self,
        nlp: Language,
        name: str,
        codebook: Codebook,
        skip_questions: bool = True,
        min_score: float | None = None,
    ) -> None:
        self.name = name
        self.codebook = codebook
        self.skip_questions = skip_questions
        # Evidence of codes whose rule score stays below this is dropped right here, so that
        # negation and polarity only run where a code can be assigned. A classifier that wants
        # every weak cue sets it to 0 (``None``: the codebook threshold).
        self.min_score = codebook.threshold if min_score is None else min_score
        self._punct: dict[int, int] = {}
        self.patterns = PatternSet()
        for code in codebook.codes:
            for pattern in code.patterns:
                self.patterns.add(
                    code.id,
                    pattern.match,
                    weight=pattern.weight,
                    hint=pattern.valence,
                    variants=pattern.variants,
                )
            for text in code.block:
                self.patterns.add(code.id, text, block=True)
        self.patterns.build()

    def __call__(self, doc: Doc) -> Doc:
        records: list[list[Any]] = []
        ext = doc._
        if len(doc):
            ids, starts, lowers, sent_starts = self.patterns.token_ids(doc)
            if any(starts):
                sent_of, sent_ends = sentence_bounds(doc, sent_starts)
                found = self.patterns.find(ids, starts, sent_of)
                records = self._prune(self._records(doc, found, lowers, sent_of, sent_ends))
                if records:
                    ext.theme_view = (lowers, sent_of, sent_ends)
        ext.theme_matches = records
        if records:
            doc.spans[SPANS_KEY] = SpanGroup(
                doc, name=SPANS_KEY, spans=[Span(doc, r[START], r[END], r[CODE]) for r in records]
            )
        return doc

    def _promising(
        self, found: Iterable[tuple[CompiledPattern, int, int]]
    ) -> list[tuple[CompiledPattern, int, int]]:
        """Matches of codes that could reach ``min_score`` even before questions and blocks
        are taken out: most weak single cues stop here, which keeps the rest of the work small.
        """
        matches = list(found)
        if self.min_score <= 0:
            return matches
        best: dict[str, dict[str, float]] = {}
        for pattern, _, _ in matches:
            if not pattern.block:
                weights = best.setdefault(pattern.owner, {})
                if pattern.weight > weights.get(pattern.text, 0.0):
                    weights[pattern.text] = pattern.weight
        keep = {code for code, w in best.items() if noisy_or(w.values()) >= self.min_score}
        return [match for match in matches if match[0].owner in keep]

    def _prune(self, records: list[list[Any]]) -> list[list[Any]]:
        """Drop the evidence of codes that cannot reach ``min_score`` on the rules alone."""
        if not records or self.min_score <= 0:
            return records
        best: dict[str, dict[str, float]] = {}
        for record in records:
            weights = best.setdefault(record[CODE], {})
            weights[record[PATTERN]] = max(weights.get(record[PATTERN], 0.0), record[WEIGHT])
        keep = {code for code, w in best.items() if noisy_or(w.values()) >= self.min_score}
        return [record for record in records if record[CODE] in keep]

    def _records(
        self,
        doc: Doc,
        found: Iterable[tuple[CompiledPattern, int, int]],
        lowers: Sequence[int],
        sent_of: Sequence[int],
        sent_ends: Sequence[int],
    ) -> list[list[Any]]:
        """One record per (code, span): no questions, no blocked or contained evidence."""
        kept: dict[tuple[str, int, int], list[Any]] = {}
        blocks: list[tuple[str, int, int]] = []
        questions: dict[int, bool] = {}
        for pattern, start, end in self._promising(found):
            sent = sent_of[start]
            if self.skip_questions:
                if sent not in questions:
                    first = start
                    while first > 0 and sent_of[first - 1] == sent:
                        first -= 1
                    questions[sent] = is_question(
                        doc.vocab.strings, lowers, first, sent_ends[start], self._punct
                    )
                if questions[sent]:
                    continue
            if pattern.block:
                blocks.append((pattern.owner, start, end))
                continue
            key = (pattern.owner, start, end)
            old = kept.get(key)
            if old is None or pattern.weight > old[WEIGHT]:
                kept[key] = [pattern.owner, start, end, pattern.text, pattern.weight,
                             pattern.hint, sent, False, False, None, False]
        for key in list(kept):
            code, start, end = key
            if any(b_code == code and b_start < end and start < b_end
                   for b_code, b_start, b_end in blocks):
                del kept[key]
        for inner in sorted(kept, key=lambda k: k[2] - k[1]):
            if inner not in kept:
                continue
            code, start, end = inner
            for outer in [k for k in kept if k[0] == code and k != inner
                          and k[1] <= start and end <= k[2]]:
                # Nested evidence for one code: keep the one that says more about polarity
                # ("minder eenzaam" inside "voel ik me minder eenzaam"), then the one that
                # weighs more, then the longer one.
                a, b = kept[inner], kept[outer]
                if (bool(a[HINT]), a[WEIGHT]) > (bool(b[HINT]), b[WEIGHT]):
                    del kept[outer]
                else:
                    del kept[inner]
                    break
        return sorted(kept.values(), key=lambda r: (r[START], r[END], r[CODE]))


def _record_for(span: Span) -> list[Any] | None:
    records = span.doc._.theme_matches or ()
    for record in records:
        if record[START] == span.start and record[END] == span.end and record[CODE] == span.label_:
            return record
    return None


def _getter(field: int, default: Any) -> Any:
    def get(span: Span) -> Any:
        record = _record_for(span)
        return default if record is None else record[field]

    return get


def register_extensions() -> None:
    """Doc/Span extensions the theme components share (idempotent; spaCy's own registry)."""
    for doc_extension in ("theme_matches", "context_flags", "theme_view"):
        if not Doc.has_extension(doc_extension):
            Doc.set_extension(doc_extension, default=None)
    for name, field, default in (
        ("negated", NEGATED, False),
        ("hedged", HEDGED, False),
        ("polarity", POLARITY, None),
    ):
        if not Span.has_extension(name):
            Span.set_extension(name, getter=_getter(field, default))


@Language.factory(
    "kracht_themes",
    default_config={"codebook": None, "skip_questions": True, "min_score": None},
)
def make_theme_matcher(
    nlp: Language, name: str, codebook: str | None, skip_questions: bool,
    min_score: float | None,
) -> ThemeMatcher:
    """Build the matcher from a codebook path (``None``: the project's default codebook)."""
    from pipeline.config import DEFAULT_CODEBOOK

    register_extensions()
    book = load_codebook(codebook or DEFAULT_CODEBOOK)
    return ThemeMatcher(nlp, name, book, skip_questions=skip_questions, min_score=min_score)
