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
from itertools import chain
from typing import Any

import numpy as np
from spacy.attrs import LEMMA, LOWER, SENT_START
from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup

from pipeline.codebook import Codebook, Element, Glob, load_codebook, parse_variants

SPANS_KEY = "themes"


def doc_ext_key(name: str) -> tuple[str, str, None, None]:
    """Where spaCy keeps the value of the doc extension ``name``: ``doc.user_data[key]``.

    The theme components read and write their extensions there directly: ``doc._.name`` builds
    an ``Underscore`` object per access (about a microsecond, several times per doc and
    component), and it reads and writes exactly this entry, so both see the same value.
    """
    return ("._.", name, None, None)


MATCHES = doc_ext_key("theme_matches")
VIEW = doc_ext_key("theme_view")
FLAGS = doc_ext_key("context_flags")
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
        self._tables: PatternTables | None = None
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
        self._tables = None

    @property
    def tables(self) -> PatternTables:
        """The patterns as arrays for the batch path (rebuilt after ``add``)."""
        if self._tables is None:
            self._tables = PatternTables.of(self.patterns, len(self._element_ids))
        return self._tables

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
                hit = self.entry(doc.vocab.strings, lower, lemma)
            ids.append(hit[0])
            starts.append(hit[1])
            lowers.append(lower)
            sent_starts.append(sent_start)
        return ids, starts, lowers, sent_starts

    def entry(self, strings: Any, lower: int, lemma: int) -> tuple[frozenset[int], tuple[int, ...]]:
        """Element ids of a word form and the patterns anchored on it (cached per hash pair)."""
        hit = self._hash_cache.get(lower if lemma == lower else (lower, lemma))
        if hit is not None:
            return hit
        index = self.build()
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
                match = match_at(pattern, i, sent_of, ids)
                if match is not None:
                    yield match

    def find_tries(
        self,
        tries: tuple[list[int], list[int]],
        ids: Sequence[frozenset[int]] | None,
        sent_of: Sequence[int],
    ) -> Iterator[tuple[CompiledPattern, int, int]]:
        """``find`` for the (token, pattern id) tries a batch already checked: every sequence
        among them has all its elements in the doc (``ids`` may be ``None`` when none is)."""
        patterns = self.patterns
        for i, pattern_index in zip(*tries, strict=True):
            pattern = patterns[pattern_index]
            if len(pattern.elements) == 1:
                yield pattern, i, i + 1
            elif ids is not None:
                match = match_at(pattern, i, sent_of, ids)
                if match is not None:
                    yield match


@dataclass(frozen=True)
class PatternTables:
    """What the batch path needs of every pattern, as arrays indexed by pattern id."""

    multi: np.ndarray  # bool: a sequence (tried only where all its elements occur)
    owner: np.ndarray  # index of the code into ``owners``
    group: np.ndarray  # index of (code, pattern text, weight) for scoring; -1 for a block
    group_miss: np.ndarray  # log(1 - confidence * weight) per group
    group_owner: np.ndarray  # code index per group
    n_owners: int
    element_ptr: np.ndarray  # CSR: the distinct elements of pattern p are
    element_ids: np.ndarray  # element_ids[element_ptr[p]:element_ptr[p + 1]]
    n_elements: int

    @classmethod
    def of(cls, patterns: Sequence[CompiledPattern], n_elements: int) -> PatternTables:
        owners: dict[str, int] = {}
        groups: dict[tuple[str, str, float], int] = {}
        owner, group = [], []
        for pattern in patterns:
            owner.append(owners.setdefault(pattern.owner, len(owners)))
            key = (pattern.owner, pattern.text, pattern.weight)
            group.append(-1 if pattern.block else groups.setdefault(key, len(groups)))
        ordered = sorted(groups, key=groups.__getitem__)
        distinct = [sorted(set(pattern.elements)) for pattern in patterns]
        sizes = [len(elements) for elements in distinct]
        return cls(
            multi=np.array([len(p.elements) > 1 for p in patterns], dtype=bool),
            owner=np.array(owner, dtype=np.intp),
            group=np.array(group, dtype=np.intp),
            group_miss=np.log1p(-PATTERN_CONFIDENCE * np.array([w for _, _, w in ordered])),
            group_owner=np.array([owners[code] for code, _, _ in ordered], dtype=np.intp),
            n_owners=len(owners),
            element_ptr=np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp),
            element_ids=np.array([e for d in distinct for e in d], dtype=np.intp),
            n_elements=n_elements,
        )


def _expand(ptr_of: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Indices ``ptr_of[k] + 0 .. counts[k] - 1`` for every ``k``, concatenated (CSR gather)."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.intp)
    ends = np.cumsum(counts)
    return np.repeat(ptr_of - (ends - counts), counts) + np.arange(total)


def _csr(rows: Sequence[Iterable[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ptr, counts, flat)`` of a list of int collections."""
    counts = np.fromiter(map(len, rows), dtype=np.intp, count=len(rows))  # type: ignore[arg-type]
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.intp)
    ptr = np.cumsum(counts) - counts
    return ptr, counts, flat


#: Multiplier that mixes the lemma hash into the lower-case hash for one sort key per token.
_MIX = np.uint64(0x9E3779B97F4A7C15)


def unique_words(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first, inverse)`` over the distinct (lower, lemma) pairs of a ``to_array`` table.

    One sort of a mixed 64-bit key; a collision of the mix (two pairs, one key) is detected and
    answered by an exact sort of the 16-byte pairs, so the result is always exact.
    """
    lower, lemma = table[:, 0], table[:, 1]
    _, first, inverse = np.unique(lower ^ (lemma * _MIX), return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if np.array_equal(lower[first][inverse], lower) and np.array_equal(lemma[first][inverse],
                                                                      lemma):
        return first, inverse
    pairs = np.ascontiguousarray(table[:, :2]).view(np.dtype((np.void, 16))).reshape(-1)
    _, first, inverse = np.unique(pairs, return_index=True, return_inverse=True)
    return first, inverse.reshape(-1)


class BatchMatch:
    """The theme matcher's numpy pass over a batch of non-empty docs.

    Why: most tokens anchor no pattern and most tries of a sequence fail because one of its
    words is not in the doc. Here the word cache is asked once per distinct word of the batch,
    and arrays decide which ``(token, pattern)`` tries can lead anywhere: a sequence only where
    all its elements occur in the doc, and (when ``min_score > 0``) only patterns of codes whose
    rule score could reach ``min_score`` with every possible pattern matched. Python then only
    runs for those tries, in exactly the order of ``PatternSet.find``, so the records are the
    same as the per-doc path's.
    """

    def __init__(
        self, patterns: PatternSet, strings: Any, arrays: Sequence[np.ndarray], min_score: float
    ) -> None:
        self.patterns = patterns
        lengths = np.fromiter((len(a) for a in arrays), dtype=np.intp, count=len(arrays))
        self.offsets = np.cumsum(lengths) - lengths
        self.lengths = lengths
        self.table = np.concatenate(arrays) if len(arrays) > 1 else arrays[0]
        self.doc_of = np.repeat(np.arange(len(arrays)), lengths)
        first, self.inverse = unique_words(self.table)
        entries = self._entries(strings, first)
        self.found = [found for found, _ in entries]
        self._sentences(len(arrays))
        tries_at, tries_pattern = self._tries([anchored for _, anchored in entries])
        keep = self._possible(tries_at, tries_pattern, len(arrays))
        keep = self._promising(tries_at, tries_pattern, keep, len(arrays), min_score)
        self._lists(tries_at[keep], tries_pattern[keep], len(arrays))

    def _lists(self, at: np.ndarray, pattern: np.ndarray, n_docs: int) -> None:
        """Plain lists for the per-doc steps: slicing a list costs far less than a numpy call
        per doc (one ``tolist`` per batch instead of several per doc)."""
        doc = self.doc_of[at]
        self.tries_ptr: list[int] = np.searchsorted(doc, np.arange(n_docs + 1)).tolist()
        self.tries_at: list[int] = (at - self.offsets[doc]).tolist()
        self.tries_pattern: list[int] = pattern.tolist()
        multi = np.zeros(n_docs, dtype=bool)
        multi[doc[self.patterns.tables.multi[pattern]]] = True
        self.multi: list[bool] = multi.tolist()
        self.bounds: list[int] = np.append(self.offsets, len(self.table)).tolist()
        self.words: list[int] = self.inverse.tolist()
        self.lowers: list[int] = self.table[:, 0].tolist()
        self.sent_list: list[int] = self.sent_of.tolist()
        self.ends_list: list[int] = self.sent_ends.tolist()

    def _entries(self, strings: Any, first: np.ndarray
                 ) -> list[tuple[frozenset[int], tuple[int, ...]]]:
        """The word cache's answer for every distinct (lower, lemma) pair."""
        cache = self.patterns._hash_cache
        entry = self.patterns.entry
        out = []
        # Two flat lists, not ``tolist()`` of the 2-D slice: a list per word would be as many
        # live containers, enough to set off the garbage collector on every batch.
        pairs = zip(self.table[first, 0].tolist(), self.table[first, 1].tolist(), strict=True)
        for lower, lemma in pairs:
            hit = cache.get(lower if lemma == lower else (lower, lemma))
            out.append(hit if hit is not None else entry(strings, lower, lemma))
        return out

    def _sentences(self, n_docs: int) -> None:
        """Sentence index (within its doc) and sentence end (doc token index) per token."""
        starts = self.table[:, 2] == 1
        starts[self.offsets] = True
        sentence = np.cumsum(starts) - 1
        start_at = np.flatnonzero(starts)
        ends = np.append(start_at[1:], len(starts))
        self.sent_of = sentence - sentence[self.offsets][self.doc_of]
        self.sent_ends = ends[sentence] - self.offsets[self.doc_of]

    def _tries(self, anchored: Sequence[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray]:
        """Every ``(token, pattern)`` pair where the token is a pattern's anchor word, in the
        order of ``PatternSet.find``: by token, then by the word's anchored tuple."""
        ptr, counts, flat = _csr(anchored)
        at = np.flatnonzero(counts[self.inverse])
        words = self.inverse[at]
        return np.repeat(at, counts[words]), flat[_expand(ptr[words], counts[words])]

    def _possible(self, at: np.ndarray, pattern: np.ndarray, n_docs: int) -> np.ndarray:
        """Single words always; a sequence only when each of its elements occurs in the doc."""
        tables = self.patterns.tables
        keep = np.ones(len(at), dtype=bool)
        multi = np.flatnonzero(tables.multi[pattern])
        if len(multi) == 0:
            return keep
        present = np.zeros((n_docs, tables.n_elements), dtype=bool)
        ptr, counts, flat = _csr(self.found)
        has = np.flatnonzero(counts[self.inverse])
        words = self.inverse[has]
        present[np.repeat(self.doc_of[has], counts[words]),
                flat[_expand(ptr[words], counts[words])]] = True
        wanted = pattern[multi]
        sizes = tables.element_ptr[wanted + 1] - tables.element_ptr[wanted]
        elements = tables.element_ids[_expand(tables.element_ptr[wanted], sizes)]
        hits = present[np.repeat(self.doc_of[at[multi]], sizes), elements]
        seen = np.add.reduceat(hits.astype(np.intp), np.cumsum(sizes) - sizes)
        keep[multi] = seen == sizes
        return keep

    def _promising(
        self, at: np.ndarray, pattern: np.ndarray, keep: np.ndarray, n_docs: int,
        min_score: float,
    ) -> np.ndarray:
        """Tries of codes that could reach ``min_score`` if every kept try matched.

        An upper bound of ``ThemeMatcher._promising`` (noisy-or over the best weight of each
        distinct pattern text; here each distinct (text, weight) counts, which can only raise
        the bound): a code that fails it fails there too, so its tries are dropped here. A margin
        covers the rounding of ``noisy_or`` and float error.
        """
        bound = min_score - 1e-3
        if bound <= 0:
            return keep
        tables = self.patterns.tables
        group = tables.group[pattern]
        scored = keep & (group >= 0)
        n_groups = len(tables.group_miss)
        pairs = np.unique(self.doc_of[at[scored]] * n_groups + group[scored])
        doc, group = np.divmod(pairs, n_groups)
        log_miss = np.bincount(doc * tables.n_owners + tables.group_owner[group],
                               weights=tables.group_miss[group],
                               minlength=n_docs * tables.n_owners)
        passing = log_miss <= np.log1p(-bound)
        return keep & passing[self.doc_of[at] * tables.n_owners + tables.owner[pattern]]

    def doc_tries(self, k: int) -> tuple[list[int], list[int]]:
        """The kept tries of doc ``k``: token indices (within the doc) and pattern ids."""
        lo, hi = self.tries_ptr[k], self.tries_ptr[k + 1]
        return self.tries_at[lo:hi], self.tries_pattern[lo:hi]

    def has_sequence(self, k: int) -> bool:
        """Is a sequence among the kept tries of doc ``k``?"""
        return self.multi[k]

    def doc_ids(self, k: int) -> list[frozenset[int]]:
        """Element ids per token of doc ``k``."""
        found = self.found
        return [found[word] for word in self.words[self.bounds[k]:self.bounds[k + 1]]]

    def doc_view(self, k: int) -> tuple[list[int], list[int], list[int]]:
        """``(lower-case hashes, sentence index, sentence end)`` per token of doc ``k``."""
        lo, hi = self.bounds[k], self.bounds[k + 1]
        return self.lowers[lo:hi], self.sent_list[lo:hi], self.ends_list[lo:hi]


def match_at(
    pattern: CompiledPattern, i: int, sent_of: Sequence[int], ids: Sequence[frozenset[int]]
) -> tuple[CompiledPattern, int, int] | None:
    """The match of a sequence whose anchor element is token ``i``, if the rest is around it."""
    start = _match_back(pattern, pattern.anchor - 1, i, sent_of, ids)
    if start is None:
        return None
    end = _match_forward(pattern, pattern.anchor + 1, i + 1, sent_of, ids)
    return None if end is None else (pattern, start, end)


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

    ``flags`` are the doc's ``SENT_START`` values when the caller already has them. No
    ``doc.has_annotation`` check: it is false exactly when no token after the first is flagged,
    and then the flags add no start anyway (and the check cost as much as the rest).
    """
    n = len(doc)
    if n == 0:
        return [], []
    if flags is None:
        flags = doc.to_array(SENT_START).tolist()
    starts = [0, *(i for i in range(1, n) if flags[i] == 1), n]
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
    view = doc.user_data.get(VIEW)
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
        if len(doc):
            ids, starts, lowers, sent_starts = self.patterns.token_ids(doc)
            if any(starts):
                sent_of, sent_ends = sentence_bounds(doc, sent_starts)
                found = self.patterns.find(ids, starts, sent_of)
                records = self._records(doc, found, lowers, sent_of, sent_ends)
                if records:
                    doc.user_data[VIEW] = (lowers, sent_of, sent_ends)
        self._write(doc, records)
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        """The same records as ``__call__``, a batch at a time (see ``BatchMatch``).

        Not ``spacy.util.minibatch``: it still holds the previous batch while it collects the
        next one, and two batches of docs with their records alive at once are enough to set
        off the garbage collector again and again (a full collection costs ~0.1 s here).
        """
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._match_batch(batch)
                batch = []
        if batch:
            yield from self._match_batch(batch)

    def _match_batch(self, docs: Sequence[Doc]) -> Iterator[Doc]:
        full = [doc for doc in docs if len(doc)]
        arrays = [doc.to_array([LOWER, LEMMA, SENT_START]) for doc in full]
        batch = (BatchMatch(self.patterns, full[0].vocab.strings, arrays, self.min_score)
                 if full else None)
        k = 0
        for doc in docs:
            records: list[list[Any]] = []
            if batch is not None and len(doc):
                tries = batch.doc_tries(k)
                if tries[0]:
                    records = self._batch_records(doc, batch, k, tries)
                k += 1
            self._write(doc, records)
            yield doc

    def _batch_records(
        self, doc: Doc, batch: BatchMatch, k: int, tries: tuple[list[int], list[int]]
    ) -> list[list[Any]]:
        lowers, sent_of, sent_ends = view = batch.doc_view(k)
        ids = batch.doc_ids(k) if batch.has_sequence(k) else None
        found = self.patterns.find_tries(tries, ids, sent_of)
        records = self._records(doc, found, lowers, sent_of, sent_ends)
        if records:
            doc.user_data[VIEW] = view
        return records

    def _write(self, doc: Doc, records: list[list[Any]]) -> None:
        doc.user_data[MATCHES] = records
        if records:
            doc.spans[SPANS_KEY] = SpanGroup(
                doc, name=SPANS_KEY, spans=[Span(doc, r[START], r[END], r[CODE]) for r in records]
            )

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
        """One record per (code, span): no questions, no blocked or contained evidence, only
        codes that can still reach ``min_score``."""
        kept: dict[tuple[str, int, int], list[Any]] = {}
        blocks: list[tuple[str, int, int]] = []
        questions: dict[int, bool] = {}
        skip_questions = self.skip_questions
        matches = self._promising(found)
        for pattern, start, end in matches:
            sent = sent_of[start]
            if skip_questions:
                question = questions.get(sent)
                if question is None:
                    first = start
                    while first > 0 and sent_of[first - 1] == sent:
                        first -= 1
                    question = questions[sent] = is_question(
                        doc.vocab.strings, lowers, first, sent_ends[start], self._punct
                    )
                if question:
                    continue
            if pattern.block:
                blocks.append((pattern.owner, start, end))
                continue
            key = (pattern.owner, start, end)
            old = kept.get(key)
            if old is None or pattern.weight > old[WEIGHT]:
                kept[key] = [pattern.owner, start, end, pattern.text, pattern.weight,
                             pattern.hint, sent, False, False, None, False]
        if blocks:
            for key in list(kept):
                code, start, end = key
                if any(b_code == code and b_start < end and start < b_end
                       for b_code, b_start, b_end in blocks):
                    del kept[key]
        _drop_nested(kept)
        records = sorted(kept.values(), key=lambda r: (r[START], r[END], r[CODE]))
        if len(records) == len(matches):
            # Every promising match became a record (no question, block, duplicate or nesting):
            # each code has the pattern weights that passed ``_promising``, so all pass again.
            return records
        return self._prune(records)


def _drop_nested(kept: dict[tuple[str, int, int], list[Any]]) -> None:
    """Nested evidence for one code: keep the one that says more about polarity ("minder
    eenzaam" inside "voel ik me minder eenzaam"), then the one that weighs more, then the longer
    one. Only codes with two or more records can nest, so the others are not looked at (most
    docs have none: this used to be a quadratic loop over every record)."""
    codes: set[str] = set()
    shared: set[str] = set()
    for code, _, _ in kept:
        (shared if code in codes else codes).add(code)
    if not shared:
        return
    for inner in sorted(kept, key=lambda k: k[2] - k[1]):
        if inner not in kept or inner[0] not in shared:
            continue
        code, start, end = inner
        for outer in [k for k in kept if k[0] == code and k != inner
                      and k[1] <= start and end <= k[2]]:
            a, b = kept[inner], kept[outer]
            if (bool(a[HINT]), a[WEIGHT]) > (bool(b[HINT]), b[WEIGHT]):
                del kept[outer]
            else:
                del kept[inner]
                break


def _record_for(span: Span) -> list[Any] | None:
    records = span.doc.user_data.get(MATCHES) or ()
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
