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

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup

from pipeline.codebook import Codebook, Element, Glob, load_codebook, parse_pattern

SPANS_KEY = "themes"
EMPTY: frozenset[int] = frozenset()
CACHE_LIMIT = 200_000

# Indices into one match record (a list, so that msgpack can carry it between processes).
CODE, START, END, PATTERN, WEIGHT, HINT, SENT, NEGATED, HEDGED, POLARITY = range(10)


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


class PatternSet:
    """Many compiled patterns sharing one ``WordIndex``; finds them in token id sequences."""

    def __init__(self) -> None:
        self._element_ids: dict[tuple[Glob, ...], int] = {}
        self.patterns: list[CompiledPattern] = []
        self._by_first: dict[int, list[int]] = {}
        self.index: WordIndex | None = None

    def add(
        self,
        owner: str,
        text: str,
        *,
        weight: float = 1.0,
        hint: str | None = None,
        block: bool = False,
        elements: Sequence[Element] | None = None,
    ) -> None:
        parsed = elements if elements is not None else parse_pattern(text)
        ids = tuple(self._element_ids.setdefault(el.alternatives, len(self._element_ids))
                    for el in parsed)
        gaps = tuple(el.gap for el in parsed)
        self._by_first.setdefault(ids[0], []).append(len(self.patterns))
        self.patterns.append(CompiledPattern(owner, text, ids, gaps, weight, hint, block))
        self.index = None

    def build(self) -> WordIndex:
        if self.index is None:
            ordered = sorted(self._element_ids.items(), key=lambda item: item[1])
            self.index = WordIndex([alternatives for alternatives, _ in ordered])
        return self.index

    def token_ids(self, doc: Doc) -> list[frozenset[int]]:
        """Element ids per token, from its lower-case form and its lemma."""
        index = self.build()
        lookup = index.lookup
        out: list[frozenset[int]] = []
        append = out.append
        for token in doc:
            ids = lookup(token.lower_)
            lemma = token.lemma_
            if lemma:
                lemma = lemma.lower()
                if lemma != token.lower_:
                    other = lookup(lemma)
                    if other:
                        ids = ids | other if ids else other
            append(ids)
        return out

    def find(
        self, ids: Sequence[frozenset[int]], sent_ends: Sequence[int]
    ) -> Iterator[tuple[CompiledPattern, int, int]]:
        """Yield ``(pattern, start, end)`` token spans; a match never crosses a sentence end."""
        by_first = self._by_first
        patterns = self.patterns
        for i, token_ids in enumerate(ids):
            if not token_ids:
                continue
            for element_id in token_ids:
                for pattern_index in by_first.get(element_id, ()):
                    pattern = patterns[pattern_index]
                    end = _match_rest(pattern, 1, i + 1, sent_ends[i], ids)
                    if end is not None:
                        yield pattern, i, end


def _match_rest(
    pattern: CompiledPattern, k: int, pos: int, limit: int, ids: Sequence[frozenset[int]]
) -> int | None:
    """End of the shortest match of ``pattern.elements[k:]`` starting at ``pos`` before ``limit``."""
    if k == len(pattern.elements):
        return pos
    element = pattern.elements[k]
    last = min(pos + pattern.gaps[k], limit - 1)
    for j in range(pos, last + 1):
        if element in ids[j]:
            end = _match_rest(pattern, k + 1, j + 1, limit, ids)
            if end is not None:
                return end
    return None


def sentence_bounds(doc: Doc) -> tuple[list[int], list[int], list[bool]]:
    """Per token: sentence index and sentence end; per sentence: is it a question?"""
    n = len(doc)
    if n == 0:
        return [], [], []
    if doc.has_annotation("SENT_START"):
        spans = [(sent.start, sent.end) for sent in doc.sents]
    else:
        spans = [(0, n)]
    sent_of = [0] * n
    ends = [n] * n
    questions: list[bool] = []
    for index, (start, end) in enumerate(spans):
        for i in range(start, end):
            sent_of[i] = index
            ends[i] = end
        questions.append(_is_question(doc, start, end))
    return sent_of, ends, questions


def _is_question(doc: Doc, start: int, end: int) -> bool:
    for i in range(end - 1, start - 1, -1):
        token = doc[i]
        if token.is_space:
            continue
        return token.text.endswith("?") or (token.is_punct and "?" in token.text)
    return False


class ThemeMatcher:
    """spaCy component: codebook patterns → ``doc.spans["themes"]`` and match records."""

    def __init__(
        self, nlp: Language, name: str, codebook: Codebook, skip_questions: bool = True
    ) -> None:
        self.name = name
        self.codebook = codebook
        self.skip_questions = skip_questions
        self.patterns = PatternSet()
        for code in codebook.codes:
            for pattern in code.patterns:
                self.patterns.add(
                    code.id,
                    pattern.match,
                    weight=pattern.weight,
                    hint=pattern.valence or code.default_valence,
                    elements=pattern.elements,
                )
            for text in code.block:
                self.patterns.add(code.id, text, block=True)
        self.patterns.build()

    def __call__(self, doc: Doc) -> Doc:
        records: list[list[Any]] = []
        if len(doc):
            sent_of, sent_ends, questions = sentence_bounds(doc)
            ids = self.patterns.token_ids(doc)
            records = self._records(self.patterns.find(ids, sent_ends), sent_of, questions)
        doc._.theme_matches = records
        doc.spans[SPANS_KEY] = SpanGroup(
            doc, name=SPANS_KEY, spans=[Span(doc, r[START], r[END], r[CODE]) for r in records]
        )
        return doc

    def _records(
        self,
        found: Iterable[tuple[CompiledPattern, int, int]],
        sent_of: Sequence[int],
        questions: Sequence[bool],
    ) -> list[list[Any]]:
        """Keep one record per (code, span); drop question sentences and blocked evidence."""
        kept: dict[tuple[str, int, int], list[Any]] = {}
        blocks: list[tuple[str, int, int]] = []
        for pattern, start, end in found:
            sent = sent_of[start]
            if self.skip_questions and questions[sent]:
                continue
            if pattern.block:
                blocks.append((pattern.owner, start, end))
                continue
            key = (pattern.owner, start, end)
            old = kept.get(key)
            if old is None or pattern.weight > old[WEIGHT]:
                kept[key] = [pattern.owner, start, end, pattern.text, pattern.weight,
                             pattern.hint, sent, False, False, None]
        if blocks:
            for key in list(kept):
                code, start, end = key
                if any(b_code == code and b_start < end and start < b_end
                       for b_code, b_start, b_end in blocks):
                    del kept[key]
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
    for doc_extension in ("theme_matches", "context_flags"):
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
    default_config={"codebook": None, "skip_questions": True},
)
def make_theme_matcher(
    nlp: Language, name: str, codebook: str | None, skip_questions: bool
) -> ThemeMatcher:
    """Build the matcher from a codebook path (``None``: the project's default codebook)."""
    from pipeline.config import DEFAULT_CODEBOOK

    register_extensions()
    book = load_codebook(codebook or DEFAULT_CODEBOOK)
    return ThemeMatcher(nlp, name, book, skip_questions=skip_questions)
