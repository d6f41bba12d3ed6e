"""The theme classifier: text features + rule signals → calibrated probability per code.

Why two stages? The tagger hands the classifier plain texts in batches (``predict``) and only
later, per segment, the rule evidence (``merge`` in ``pipeline/tagger.py``). So the model is
split where the data arrives:

1. **Text stage** (batched, sparse): word and lemma TF-IDF (1-2 grams), character n-grams
   (``char_wb`` 2-5) and skip pairs (two words 2-4 apart) into one-vs-rest logistic
   regressions, one per code. Its decision values
   feed stage 2. Polarity models (one per code, one shared by all codes) read the same features.
2. **Stack stage** (per segment, a few multiplications): a logistic regression per code over the
   text decision value, the rule signals for that code (score, distinct patterns, max weight,
   negated and hedged share), two interactions and the vote of the most similar labeled
   training segments (``Neighbours``; ``stack_features``). It was fitted on
   *out-of-fold* text scores, so it learns how far to trust each source, and being a logistic
   regression it is Platt scaling at the same time: its outputs are calibrated probabilities.
   Per-code thresholds are tuned on out-of-fold stacked probabilities. A second small model
   does the same for polarity (text polarity probabilities + the rules' polarity and negation).

Everything trained is plain scikit-learn or numpy and saved with ``skops``; loading checks the
file's types against an explicit allow-list (``TRUSTED_TYPES``) and refuses anything else. At
prediction time the fitted vectorizers and linear heads are run by ``FastTfidf`` and one stacked
weight matrix (same numbers, checked by unit tests), because tagging speed is a target.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import normalize

from pipeline.nlp.lemmatizer import simplemma_lemma
from pipeline.schema import POLARITIES, EvidenceSpan

FORMAT_VERSION = 2
MODEL_FILE = "model.skops"
#: Rule signals per code, in the order the stack stage reads them (after the text score).
RULE_FEATURES = ("rule_score", "patterns", "max_weight", "negated", "hedged")
#: Rule score from which the rules alone assign a code (the codebook's default threshold).
RULE_ASSIGNED = 0.5
#: Inputs of the stack stage: text score, rule signals, two interactions and the neighbours'
#: vote (see stack_features).
STACK_FEATURES = ("text", *RULE_FEATURES, "text_x_rule", "rule_assigned", "neighbours")
#: How many labeled training segments vote in ``Neighbours`` (10 and 20 tie out of fold; 40 is
#: worse), and the document frequency above which a feature takes no part in the similarity.
NEIGHBOURS_K = 20
NEIGHBOURS_MAX_DF = 0.01
#: Character n-gram sizes inside word boundaries (``char_wb``).
CHAR_NGRAMS = (2, 5)
_WORD = re.compile(r"\w+")
#: Skip pairs join words up to this far apart, with a character no ``\w`` word holds.
SKIP_WINDOW = 4
SKIP_JOIN = "+"
_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…]*")

#: The only types a model file may contain (checked before ``skops.io.load`` trusts them).
TRUSTED_TYPES: tuple[str, ...] = (
    "builtins.dict",
    "builtins.list",
    "builtins.tuple",
    "builtins.str",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.NoneType",
    "builtins.slice",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float32",
    "numpy.float64",
    "numpy.int64",
    "numpy.int32",
    "numpy.str_",
    "scipy.sparse._csr.csr_matrix",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.multiclass.OneVsRestClassifier",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._label.LabelBinarizer",
    "pipeline.classify.char_tokens",
    "pipeline.classify.skip_tokens",
    "pipeline.classify.lemma_tokens",
    "pipeline.classify.word_tokens",
)


class UntrustedModelError(RuntimeError):
    """A model file holds types outside ``TRUSTED_TYPES``: it is refused, never executed."""


# --- features ---------------------------------------------------------------------------------


def word_tokens(text: str) -> list[str]:
    """Lower-case words and their bigrams (a named function, so skops can store a reference)."""
    words = _WORD.findall(text.lower())
    return words + [f"{a} {b}" for a, b in pairwise(words)]


def lemma_tokens(text: str) -> list[str]:
    """simplemma lemmas and their bigrams: "eenzame", "eenzaamheid" meet at the lemma level."""
    lemmas = [f"~{simplemma_lemma(w)}" for w in _WORD.findall(text.lower())]
    return lemmas + [f"{a} {b}" for a, b in pairwise(lemmas)]


@lru_cache(maxsize=200_000)
def _word_char_ngrams(word: str) -> tuple[str, ...]:
    """``char_wb`` 2-5 n-grams of one word, exactly as scikit-learn makes them (see below)."""
    padded = f" {word} "
    size = len(padded)
    grams: list[str] = []
    for n in range(CHAR_NGRAMS[0], CHAR_NGRAMS[1] + 1):
        grams.append(padded[:n])
        offset = 0
        while offset + n < size:
            offset += 1
            grams.append(padded[offset:offset + n])
        if offset == 0:  # a word shorter than n counts once, as scikit-learn does
            break
    return tuple(grams)


def char_tokens(text: str) -> list[str]:
    """Character n-grams inside word boundaries (scikit-learn's ``char_wb`` 2-5), cached per word.

    The same n-grams as ``TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5))`` (a unit test
    checks it), but a word's n-grams are computed once: words repeat, and the per-character
    Python loop was 70% of the text stage's time.
    """
    grams: list[str] = []
    for word in text.lower().split():
        grams.extend(_word_char_ngrams(word))
    return grams


def skip_tokens(text: str) -> list[str]:
    """Pairs of words 2 to ``SKIP_WINDOW`` apart ("kent+naam" in "kent ons bij naam").

    Residents say the same thing with words in between ("niemand die ooit vraagt wat ik kan");
    bigrams miss that, a parser is too slow and too unsure on spoken Dutch. Out of fold (whole
    files held out) they add +0.007 macro-F1 at window 4 (+0.003 at 3, +0.005 at 5).
    """
    words = _WORD.findall(text.lower())
    return [f"{words[i]}{SKIP_JOIN}{words[j]}"
            for i in range(len(words)) for j in range(i + 2, min(len(words), i + SKIP_WINDOW + 1))]


def text_features() -> FeatureUnion:
    """Words, lemmas, character n-grams and skip pairs; sublinear TF so a repeated word does
    not dominate."""
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer=word_tokens, sublinear_tf=True, min_df=1)),
            ("lemmas", TfidfVectorizer(analyzer=lemma_tokens, sublinear_tf=True, min_df=1)),
            (
                "chars",
                TfidfVectorizer(analyzer=char_tokens, sublinear_tf=True, min_df=2,
                                dtype=np.float32),
            ),
            (
                "skips",
                TfidfVectorizer(analyzer=skip_tokens, sublinear_tf=True, min_df=2,
                                dtype=np.float32),
            ),
        ]
    )


def text_model(c: float = 8.0) -> Pipeline:
    """The text stage: features into one balanced logistic regression per code."""
    return Pipeline(
        [
            ("features", text_features()),
            (
                "ovr",
                OneVsRestClassifier(
                    # the dual liblinear solver: same model, ~20x faster with far more
                    # features than segments
                    LogisticRegression(C=c, solver="liblinear", dual=True, max_iter=1000,
                                       random_state=0, class_weight="balanced")
                ),
            ),
        ]
    )


def rule_signals(items: Sequence[Any]) -> list[float]:
    """The stack stage's view of one code's rule evidence (``RuleEvidence`` of the tagger)."""
    if not items:
        return [0.0] * len(RULE_FEATURES)
    from pipeline.tagger import rule_score  # the tagger's own noisy-or, so both agree

    patterns = {item.pattern for item in items}
    n = len(items)
    return [
        rule_score(items),
        math.log1p(len(patterns)),
        max(item.weight for item in items),
        sum(bool(item.negated) for item in items) / n,
        sum(bool(item.hedged) for item in items) / n,
    ]


def rule_matrix(evidence: Mapping[str, Sequence[Any]], codes: Sequence[str]) -> np.ndarray:
    """``(len(codes), len(RULE_FEATURES))`` rule signals of one segment (zeros: no evidence)."""
    out = np.zeros((len(codes), len(RULE_FEATURES)))
    if evidence:
        for j, code in enumerate(codes):
            items = evidence.get(code)
            if items:
                out[j] = rule_signals(items)
    return out


def stack_features(decision: np.ndarray, rules: np.ndarray, neighbours: np.ndarray
                   ) -> np.ndarray:
    """Stack-stage inputs from text decision values ``(..., codes)``, rule signals
    ``(..., codes, k)`` and the neighbours' vote ``(..., codes)``: shape
    ``(..., codes, len(STACK_FEATURES))``.

    The product lets agreement between text and rules count for more than the sum of both
    (out of fold on train → dev: macro-F1 0.711 without the two interactions, 0.727 with).
    """
    score = rules[..., 0]
    return np.concatenate(
        [decision[..., None], rules, (decision * score)[..., None],
         (score >= RULE_ASSIGNED)[..., None].astype(np.float64), neighbours[..., None]],
        axis=-1,
    )


@dataclass(frozen=True)
class Neighbours:
    """The labels of the most similar training segments, as one vote per code.

    A linear model adds up words; a story told in other words than any single cue but close to
    a few labeled stories is what it misses. The similarity-weighted share of the ``k`` nearest
    labeled segments that carry each code is one more input of the stack stage (fitted out of
    fold, whole files held out, like the text score): +0.015 macro-F1 out of fold on 6,845
    segments, the largest gain of any variant tried (LSA, NB weighting, pattern features and
    an English sentence encoder all gave ≤ +0.007).

    Similarity is the cosine over the model's own TF-IDF features, leaving out features in more
    than ``NEIGHBOURS_MAX_DF`` of the training segments: frequent words say little about
    closeness and cost most time (the product is ~15x cheaper without them).
    """

    #: ``(features, training segments)``: L2-normalised training rows, frequent columns empty
    matrix: Any
    #: ``(training segments, codes)``: 1.0 where a segment carries a code
    labels: np.ndarray
    k: int = NEIGHBOURS_K

    @classmethod
    def fit(cls, features: Any, labels: np.ndarray, k: int = NEIGHBOURS_K,
            max_df: float = NEIGHBOURS_MAX_DF) -> Neighbours:
        from scipy import sparse

        rows = sparse.csr_matrix(features, dtype=np.float32, copy=True)
        df = np.bincount(rows.indices, minlength=rows.shape[1]) / max(1, rows.shape[0])
        rows.data[df[rows.indices] > max_df] = 0.0
        rows.eliminate_zeros()
        normalize(rows, copy=False)
        return cls(rows.T.tocsr(), np.asarray(labels, dtype=np.float32), int(k))

    def vote(self, features: Any, chunk: int = 512) -> np.ndarray:
        """``(n, codes)`` votes for the rows of ``features`` (the same columns as at fit).

        The query is not normalised: scaling a row scales all its similarities alike, and the
        vote is a weighted share. Rows go ``chunk`` at a time to bound the dense block.
        """
        n = features.shape[0]
        out = np.zeros((n, self.labels.shape[1]))
        k = min(self.k, self.labels.shape[0])
        if n == 0 or k == 0:
            return out
        for start in range(0, n, chunk):
            similarity = (features[start:start + chunk] @ self.matrix).toarray()
            nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
            weights = np.take_along_axis(similarity, nearest, axis=1)
            total = weights.sum(axis=1)
            votes = np.einsum("nk,nkc->nc", weights, self.labels[nearest])
            block = out[start:start + chunk]
            np.divide(votes, total[:, None], out=block, where=total[:, None] > 0)
        return out


def polarity_features(code_probs: np.ndarray, shared_probs: np.ndarray, items: Sequence[Any],
                      rule_polarity: str) -> np.ndarray:
    """Inputs of the polarity stack for one (segment, code): the code's and the shared text
    polarity probabilities (0 where there are none: no NaN), the rules' polarity one-hot, rules
    fired, cued share, negated share."""
    n = len(items)
    rule = [float(bool(items) and rule_polarity == p) for p in POLARITIES]
    return np.array([
        *code_probs,
        *rule,
        float(n > 0),
        sum(bool(getattr(i, "cued", False)) for i in items) / n if n else 0.0,
        sum(bool(i.negated) for i in items) / n if n else 0.0,
        *shared_probs,
    ])


def polarity_probabilities(model: OneVsRestClassifier | None, features: Any) -> np.ndarray:
    """``(n, len(POLARITIES))`` probabilities of a polarity model; 0 for classes it lacks."""
    out = np.zeros((features.shape[0], len(POLARITIES)))
    if model is not None:
        probs = model.predict_proba(features)
        for k, label in enumerate(model.classes_):
            out[:, POLARITIES.index(label)] = probs[:, k]
    return out


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))


# --- the trained model --------------------------------------------------------------------------


class Prediction(Mapping[str, float]):
    """The text stage's answer for one text: a mapping code → text-only probability.

    It is what ``Tagger.tag`` passes to ``merge`` as ``probabilities``; the merge asks the
    classifier to fold in the rule evidence (``ThemeClassifier.probabilities``). The raw
    decision values and polarity probabilities ride along so no work is done twice.
    """

    __slots__ = ("base", "codes", "decision", "neighbours", "platt", "polarity",
                 "shared_polarity")

    def __init__(
        self, codes: Sequence[str], decision: np.ndarray, platt: np.ndarray, base: list[float],
        polarity: np.ndarray, shared_polarity: np.ndarray, neighbours: np.ndarray,
    ) -> None:
        self.codes = codes
        self.decision = decision
        self.neighbours = neighbours
        self.platt = platt
        self.base = base
        self.polarity = polarity
        self.shared_polarity = shared_polarity

    def __getitem__(self, code: str) -> float:
        return float(self.platt[self.codes.index(code)])

    def __iter__(self) -> Iterator[str]:
        return iter(self.codes)

    def __len__(self) -> int:
        return len(self.codes)


class _Column:
    """A growing int64 array (capacity doubles): per-word cache entries numpy can index."""

    def __init__(self) -> None:
        self.values = np.zeros(1024, dtype=np.int64)
        self.size = 0

    def extend(self, items: Sequence[int]) -> None:
        needed = self.size + len(items)
        if needed > len(self.values):
            grown = np.zeros(max(needed, 2 * len(self.values)), dtype=np.int64)
            grown[: self.size] = self.values[: self.size]
            self.values = grown
        self.values[self.size : needed] = items
        self.size = needed

    def view(self) -> np.ndarray:
        return self.values[: self.size]


class FastTfidf:
    """The fitted feature union's ``transform``, same numbers, many times faster.

    scikit-learn looks every token up in a Python loop. Here each distinct word is looked up
    once and cached (its word, lemma and character n-gram columns in growing numpy arrays), and
    everything per occurrence is numpy: unigram columns by indexing, bigram columns by
    ``searchsorted`` over the integer keys ``left_column * size + right_column`` of the bigrams
    in the vocabulary (both halves of a known bigram are known unigrams, since ``min_df=1``),
    character counts as the sparse product of a text × word matrix and the cached word ×
    n-gram matrix. Built from the fitted vectorizers at load time, never saved (the model file
    holds plain scikit-learn objects); a unit test checks it against ``transform``.
    """

    def __init__(self, union: FeatureUnion, cache_limit: int = 200_000) -> None:
        self.blocks = [vectorizer for _, vectorizer in union.transformer_list]
        kinds = [vectorizer.analyzer for vectorizer in self.blocks]
        if kinds[:3] != [word_tokens, lemma_tokens, char_tokens] or kinds[3:] not in (
                [], [skip_tokens]):
            raise ValueError(f"FastTfidf expects word, lemma, char (and skip) blocks, got {kinds}")
        self.cache_limit = cache_limit
        vocabularies = [vectorizer.vocabulary_ for vectorizer in self.blocks]
        words, lemmas = vocabularies[:2]
        self._pairs = [_pair_keys(words, words, " "), _pair_keys(lemmas, lemmas, " ")]
        # skip pairs: both halves are words of the training texts, so known word columns
        self._skips = _pair_keys(vocabularies[3], words, SKIP_JOIN) if kinds[3:] else None
        self._sizes = [len(v) for v in vocabularies]
        self._clear()

    def _clear(self) -> None:
        # per regex word: its id, word column, lemma token and lemma column (-1: not known)
        self._units: dict[str, int] = {}
        self._lemma_tokens: list[str] = []
        self._unit_columns = [_Column(), _Column()]
        # per whitespace chunk: its id and, as CSR rows, its char n-gram columns (repeats kept)
        self._chunks: dict[str, int] = {}
        self._gram_columns = _Column()
        self._gram_rows = _Column()
        self._gram_rows.extend([0])

    def _unit(self, word: str) -> int:
        known = self._units.get(word)  # a new word twice in one text
        if known is not None:
            return known
        lemma = f"~{simplemma_lemma(word)}"
        self._lemma_tokens.append(lemma)
        self._unit_columns[0].extend([self.blocks[0].vocabulary_.get(word, -1)])
        self._unit_columns[1].extend([self.blocks[1].vocabulary_.get(lemma, -1)])
        self._units[word] = len(self._lemma_tokens) - 1
        return len(self._lemma_tokens) - 1

    def _chunk(self, chunk: str) -> int:
        known = self._chunks.get(chunk)
        if known is not None:
            return known
        vocabulary = self.blocks[2].vocabulary_
        columns = [vocabulary[g] for g in _word_char_ngrams(chunk) if g in vocabulary]
        self._gram_columns.extend(columns)
        self._gram_rows.extend([self._gram_columns.size])
        self._chunks[chunk] = len(self._chunks)
        return len(self._chunks) - 1

    def units(self, vectorizer: TfidfVectorizer, text: str) -> list[tuple[str, int]]:
        """Per regex word of ``text``: its unigram token (word or ``~lemma``) and column (-1:
        none), for ``word_tokens`` (block 0) or ``lemma_tokens`` (block 1)."""
        which = 1 if vectorizer.analyzer is lemma_tokens else 0
        out: list[tuple[str, int]] = []
        for word in _WORD.findall(text.lower()):
            unit = self._units.get(word)
            if unit is None:
                unit = self._unit(word)
            token = self._lemma_tokens[unit] if which else word
            out.append((token, int(self._unit_columns[which].values[unit])))
        return out

    def transform(self, texts: Sequence[str]) -> Any:
        from scipy import sparse

        if len(self._units) + len(self._chunks) >= self.cache_limit:
            self._clear()  # between batches only: ids must hold for a whole batch
        n = len(texts)
        units, chunks = self._units, self._chunks  # local names: looked up per text
        unit_ids: list[int] = []
        chunk_ids: list[int] = []
        unit_counts = np.zeros(n, dtype=np.int64)
        chunk_counts = np.zeros(n, dtype=np.int64)
        for i, text in enumerate(texts):
            lower = text.lower()
            found = _cached_ids(units, _WORD.findall(lower), self._unit)
            unit_ids.extend(found)
            unit_counts[i] = len(found)
            found = _cached_ids(chunks, lower.split(), self._chunk)
            chunk_ids.extend(found)
            chunk_counts[i] = len(found)

        rows = np.repeat(np.arange(n), unit_counts)
        ids = np.asarray(unit_ids, dtype=np.int64)
        blocks = [self._word_block(rows, ids, which, n) for which in (0, 1)]
        blocks.append(self._char_block(np.repeat(np.arange(n), chunk_counts),
                                       np.asarray(chunk_ids, dtype=np.int64), n))
        if self._skips is not None:
            blocks.append(self._skip_block(rows, ids, n))
        return sparse.hstack(
            [self._weighted(block, vectorizer) for block, vectorizer in
             zip(blocks, self.blocks, strict=True)]
        ).tocsr()

    def _word_block(self, rows: np.ndarray, ids: np.ndarray, which: int, n: int) -> Any:
        """Counts of word (``which`` 0) or lemma (1) unigrams and bigrams per text."""
        columns = self._unit_columns[which].view()[ids]
        pair_rows, pair_columns = _pairs_apart(rows, columns, 1, self._pairs[which],
                                               self._sizes[which])
        single = columns >= 0
        return self._counts(which, np.concatenate([rows[single], pair_rows]),
                            np.concatenate([columns[single], pair_columns]), n)

    def _skip_block(self, rows: np.ndarray, ids: np.ndarray, n: int) -> Any:
        """Counts of skip pairs per text: word pairs 2 to ``SKIP_WINDOW`` apart."""
        assert self._skips is not None
        columns = self._unit_columns[0].view()[ids]
        found = [_pairs_apart(rows, columns, distance, self._skips, self._sizes[0])
                 for distance in range(2, SKIP_WINDOW + 1)]
        return self._counts(3, np.concatenate([r for r, _ in found]),
                            np.concatenate([c for _, c in found]), n)

    def _counts(self, which: int, rows: np.ndarray, columns: np.ndarray, n: int) -> Any:
        """Block ``which`` as counts from one (row, column) hit per unit or pair found (repeats
        add up when ``_weighted`` sums duplicates)."""
        from scipy import sparse

        return sparse.csr_matrix(
            (np.ones(len(rows), dtype=self.blocks[which].dtype), (rows, columns)),
            shape=(n, self._sizes[which]),
        )

    def _char_block(self, rows: np.ndarray, ids: np.ndarray, n: int) -> Any:
        """Character n-gram counts: (text × cached word) @ (cached word × n-gram)."""
        from scipy import sparse

        dtype = self.blocks[2].dtype
        indices = self._gram_columns.view()
        grams = sparse.csr_matrix(
            (np.ones(len(indices), dtype=dtype), indices, self._gram_rows.view()),
            shape=(len(self._chunks), self._sizes[2]),
        )
        texts = sparse.csr_matrix((np.ones(len(rows), dtype=dtype), (rows, ids)),
                                  shape=(n, len(self._chunks)))
        return texts @ grams

    @staticmethod
    def _weighted(counts: Any, vectorizer: TfidfVectorizer) -> Any:
        """Sublinear TF, IDF and L2 norm, as the fitted ``TfidfTransformer`` applies them."""
        counts.sum_duplicates()
        if vectorizer.sublinear_tf:
            np.log(counts.data, counts.data)
            counts.data += 1
        counts.data *= vectorizer.idf_[counts.indices].astype(counts.dtype, copy=False)
        if vectorizer.norm:
            normalize(counts, norm=vectorizer.norm, copy=False)
        return counts


def _cached_ids(cache: dict[str, int], items: list[str], add: Any) -> list[int]:
    """Cache ids of ``items``; ``add`` makes one for an item not seen before (rare once warm,
    so the common case is a single list comprehension of dictionary lookups)."""
    found = [cache.get(item) for item in items]
    if None in found:
        return [known if known is not None else add(item)
                for known, item in zip(found, items, strict=True)]
    return found  # type: ignore[return-value]


def _pair_keys(vocabulary: Mapping[str, int], units: Mapping[str, int], join: str
               ) -> tuple[np.ndarray, np.ndarray]:
    """Sorted integer keys ``left * len(units) + right`` of the vocabulary's pairs (tokens
    ``left{join}right`` whose halves are in ``units``), and their columns: what ``FastTfidf``
    searches instead of building and hashing pair strings."""
    size = len(units)
    keys: list[int] = []
    columns: list[int] = []
    for token, column in vocabulary.items():
        left, sep, right = token.partition(join)
        if sep:
            keys.append(units[left] * size + units[right])
            columns.append(column)
    order = np.argsort(np.asarray(keys, dtype=np.int64), kind="stable")
    return (np.asarray(keys, dtype=np.int64)[order], np.asarray(columns, dtype=np.int64)[order])


def _pairs_apart(rows: np.ndarray, columns: np.ndarray, distance: int,
                 pairs: tuple[np.ndarray, np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and pair columns of the known pairs of units ``distance`` apart in one text."""
    keys, targets = pairs
    if len(columns) <= distance or not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    left, right = columns[:-distance], columns[distance:]
    paired = (rows[:-distance] == rows[distance:]) & (left >= 0) & (right >= 0)
    key = left[paired] * size + right[paired]
    slot = np.searchsorted(keys, key)
    slot[slot >= len(keys)] = 0
    known = keys[slot] == key
    return rows[:-distance][paired][known], targets[slot[known]]


@dataclass(frozen=True)
class _Heads:
    """Stacked linear heads: ``features @ weights + bias``; ``polarity`` lists, per polarity
    model (code index, or ``len(codes)`` for the shared one), its first column and classes."""

    weights: np.ndarray
    bias: np.ndarray
    polarity: list[tuple[int, int, list[int]]]


@dataclass
class ThemeClassifier:
    """A trained theme model: what the tagger calls, what ``skops`` stores (as ``to_state``)."""

    name: str
    version: str
    codes: list[str]
    text: Pipeline
    #: per code: ``[a, b]`` so that ``sigmoid(a * decision + b)`` is the text-only probability
    platt: np.ndarray
    #: per code: weights over ``STACK_FEATURES`` and an intercept (last column)
    stack: np.ndarray
    thresholds: dict[str, float]
    #: per code: a polarity logistic regression over text features, or ``None`` (rules decide)
    polarity_models: list[OneVsRestClassifier | None]
    #: one polarity model for all codes (more data than any one code has), or ``None``
    shared_polarity: OneVsRestClassifier | None
    #: rows in ``POLARITIES`` order: weights over ``polarity_features`` and an intercept
    polarity_stack: np.ndarray
    #: the labeled training segments whose vote is a stack input
    neighbours: Neighbours
    metadata: dict[str, Any] = field(default_factory=dict)

    # --- what the tagger calls -----------------------------------------------------------------
    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Text-stage predictions for a batch: one sparse transform, one matrix product.

        Every linear head (the per-code detectors, the per-code and the shared polarity models)
        is stacked into one weight matrix at load time (``_heads``), so a batch costs one
        sparse × dense product instead of ~30 scikit-learn calls.
        """
        if not texts:
            return []
        heads = self._heads
        # one dtype on both sides: a float64 × float32 product makes scipy copy the whole
        # (features × heads) weight matrix to float64 on every batch
        features = self._fast.transform(list(texts)).astype(heads.weights.dtype, copy=False)
        z = np.asarray(features @ heads.weights, dtype=np.float64) + heads.bias
        n_codes = len(self.codes)
        decision = z[:, :n_codes]
        platt = sigmoid(decision * self.platt[:, 0] + self.platt[:, 1])
        votes = self.neighbours.vote(features)
        no_rules = stack_features(decision, np.zeros((*decision.shape, len(RULE_FEATURES))),
                                  votes)
        base = sigmoid((no_rules * self.stack[:, :-1]).sum(axis=-1) + self.stack[:, -1]).tolist()
        polarity = np.zeros((len(texts), n_codes + 1, len(POLARITIES)))
        for group, start, classes in heads.polarity:
            scores = sigmoid(z[:, start:start + len(classes)])
            if len(classes) == 2:  # binary one-vs-rest: one estimator for the second class
                scores = np.column_stack([1.0 - scores[:, 1], scores[:, 1]])
            polarity[:, group, classes] = scores / scores.sum(axis=1, keepdims=True)
        return [
            Prediction(self.codes, decision[i], platt[i], base[i], polarity[i, :n_codes],
                       polarity[i, n_codes], votes[i])
            for i in range(len(texts))
        ]

    def threshold(self, code: str) -> float:
        return self.thresholds.get(code, 0.5)

    def probabilities(
        self, prediction: Prediction, evidence: Mapping[str, Sequence[Any]]
    ) -> dict[str, float]:
        """Final probability per code: the stack stage over text score and rule signals.

        ``predict`` already computed, for the whole batch, the probabilities without rule
        evidence (``prediction.base``); only the few codes the rules found are redone here, in
        plain Python (a dot product of nine numbers is faster without numpy), because this
        runs once per segment.
        """
        out = dict(zip(self.codes, prediction.base, strict=True))
        index = self._code_index
        for code, items in evidence.items():
            j = index.get(code)
            if j is None or not items:
                continue
            d = float(prediction.decision[j])
            signals = rule_signals(items)
            x = (d, *signals, d * signals[0], float(signals[0] >= RULE_ASSIGNED),
                 float(prediction.neighbours[j]))
            weights = self._stack_rows[j]
            z = sum(w * v for w, v in zip(weights, x, strict=False)) + weights[-1]
            out[code] = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
        return out

    def polarity(
        self, code: str, prediction: Prediction, items: Sequence[Any], rule_polarity: str
    ) -> str:
        """Polarity of an assigned code: a small model over what the text model and rules say.

        Inputs (``polarity_features``): the per-code and the shared text polarity models'
        probabilities, the rules' polarity, whether rules fired, how much of their evidence was
        cued or negated. Fitted out of fold (``pipeline/training.py``) on train + dev: 0.82 of
        gold polarities right, against 0.72 for the per-code text model alone, 0.78 for the
        shared one and 0.68 for the rules alone.
        """
        x = polarity_features(prediction.polarity[self._code_index[code]],
                              prediction.shared_polarity, items, rule_polarity)
        z = self.polarity_stack[:, :-1] @ x + self.polarity_stack[:, -1]
        return POLARITIES[int(np.argmax(z))]

    def evidence(self, text: str, code: str) -> list[EvidenceSpan]:
        """Evidence for a model-only code: the sentence whose words weigh most for it.

        A sentence's weight is the sum of the code's positive text-stage weights of its word
        and lemma unigrams (the columns come from the same per-word caches as ``predict``).
        """
        column = self._code_index.get(code)
        if column is None:
            return []
        weights = self._positive_weights[column]
        fast = self._fast
        words, lemmas = fast.blocks[0], fast.blocks[1]
        offset = len(words.vocabulary_)
        best: tuple[float, int, int] | None = None
        for match in _SENTENCE.finditer(text):
            start, end = match.start(), match.end()
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if start == end:
                continue
            sentence = text[start:end]
            columns = [c for _, c in fast.units(words, sentence) if c >= 0]
            columns += [c + offset for _, c in fast.units(lemmas, sentence) if c >= 0]
            score = float(weights[columns].sum()) if columns else 0.0
            if best is None or score > best[0]:
                best = (score, start, end)
        if best is None:
            return []
        _, start, end = best
        return [EvidenceSpan(start=start, end=end, text=text[start:end])]

    # --- derived once per loaded model -----------------------------------------------------------
    @cached_property
    def _fast(self) -> FastTfidf:
        return FastTfidf(self.text.named_steps["features"])

    @cached_property
    def _heads(self) -> _Heads:
        """All linear heads as one ``(features, heads)`` matrix (see ``predict``)."""
        columns: list[np.ndarray] = []
        bias: list[float] = []
        for estimator in self.text.named_steps["ovr"].estimators_:
            columns.append(np.asarray(estimator.coef_).ravel())
            bias.append(float(np.asarray(estimator.intercept_).ravel()[0]))
        groups: list[tuple[int, int, list[int]]] = []
        for group, model in enumerate([*self.polarity_models, self.shared_polarity]):
            if model is None:
                continue
            classes = [POLARITIES.index(label) for label in model.classes_]
            start = len(columns)
            if len(classes) == 2:
                columns.append(np.zeros_like(columns[0]))  # placeholder, never read
                bias.append(0.0)
            for estimator in model.estimators_:
                columns.append(np.asarray(estimator.coef_).ravel())
                bias.append(float(np.asarray(estimator.intercept_).ravel()[0]))
            groups.append((group, start, classes))
        weights = np.column_stack(columns)  # float32 when trained by pipeline/training.py
        return _Heads(weights, np.array(bias), groups)

    @cached_property
    def _stack_rows(self) -> list[list[float]]:
        return self.stack.tolist()

    @cached_property
    def _code_index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.codes)}

    @cached_property
    def _positive_weights(self) -> np.ndarray:
        """Per code, the text stage's weights clipped at 0 (what makes a sentence evidence)."""
        return np.clip(self._heads.weights[:, :len(self.codes)].T, 0.0, None)

    # --- persistence ---------------------------------------------------------------------------
    def to_state(self) -> dict[str, Any]:
        """Plain dict of scikit-learn objects and arrays: what ``skops`` writes."""
        return {
            "format": FORMAT_VERSION,
            "name": self.name,
            "version": self.version,
            "codes": list(self.codes),
            "text": self.text,
            "platt": self.platt,
            "stack": self.stack,
            "thresholds": dict(self.thresholds),
            "polarity_models": list(self.polarity_models),
            "shared_polarity": self.shared_polarity,
            "polarity_stack": self.polarity_stack,
            "neighbours": {"matrix": self.neighbours.matrix, "labels": self.neighbours.labels,
                           "k": self.neighbours.k},
            "metadata": self.metadata,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> ThemeClassifier:
        from scipy import sparse

        if state.get("format") != FORMAT_VERSION:
            raise ValueError(f"model format {state.get('format')!r}, expected {FORMAT_VERSION}")
        vocabularies = state.get("vocabularies")
        if vocabularies is not None:
            union = state["text"].named_steps["features"]
            for (_, vectorizer), tokens in zip(union.transformer_list, vocabularies, strict=True):
                vectorizer.vocabulary_ = {str(t): i for i, t in enumerate(tokens.tolist())}
        return cls(
            name=state["name"],
            version=state["version"],
            codes=list(state["codes"]),
            text=state["text"],
            platt=np.asarray(state["platt"], dtype=np.float64),
            stack=np.asarray(state["stack"], dtype=np.float64),
            thresholds={k: float(v) for k, v in state["thresholds"].items()},
            polarity_models=list(state["polarity_models"]),
            shared_polarity=state["shared_polarity"],
            polarity_stack=np.asarray(state["polarity_stack"], dtype=np.float64),
            neighbours=Neighbours(
                sparse.csr_matrix(state["neighbours"]["matrix"], dtype=np.float32),
                np.asarray(state["neighbours"]["labels"], dtype=np.float32),
                int(state["neighbours"]["k"]),
            ),
            metadata=dict(state.get("metadata") or {}),
        )

    def save(self, path: str | Path) -> Path:
        """Write the model with skops, compressed, vocabularies as string arrays.

        skops writes a dict entry by entry into its JSON schema (~900 bytes for each of ~50,000
        n-grams); as one array per vectorizer the file is several times smaller and loads faster.
        """
        import skops.io as sio

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        vectorizers = [v for _, v in self.text.named_steps["features"].transformer_list]
        vocabularies = [v.vocabulary_ for v in vectorizers]
        state = self.to_state()
        state["vocabularies"] = [
            np.array(sorted(vocabulary, key=vocabulary.__getitem__), dtype=np.str_)
            for vocabulary in vocabularies
        ]
        try:
            for vectorizer in vectorizers:
                del vectorizer.vocabulary_
            sio.dump(state, path, compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        finally:
            for vectorizer, vocabulary in zip(vectorizers, vocabularies, strict=True):
                vectorizer.vocabulary_ = vocabulary
        return path


def schema_types(path: Path) -> set[str]:
    """Every ``module.Class`` named in a skops file's schema (what loading would build)."""
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
    found: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("__module__"), str) and isinstance(node.get("__class__"), str):
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def load_classifier(path: str | Path) -> ThemeClassifier:
    """Load a model file, refusing it (``UntrustedModelError``) if it holds unexpected types.

    Two checks, both against ``TRUSTED_TYPES``: every type named anywhere in the file's schema
    (skops itself trusts any scikit-learn estimator by default; a kracht model holds only a
    few), and the types skops reports as untrusted. Only then is ``skops.io.load`` called, with
    exactly those types trusted. Nothing is ever unpickled.
    """
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        named = schema_types(path)
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # not a skops archive at all (truncated, replaced, ...)
        raise UntrustedModelError(f"{path}: not a readable skops model file ({exc})") from exc
    unexpected = sorted((named | set(untrusted)) - set(TRUSTED_TYPES))
    if unexpected:
        raise UntrustedModelError(
            f"{path}: refused to load, it contains types that a kracht model never holds: "
            f"{', '.join(unexpected)}"
        )
    try:
        state = sio.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise UntrustedModelError(f"{path}: could not be loaded safely ({exc})") from exc
    if not isinstance(state, dict):
        raise UntrustedModelError(f"{path}: expected a kracht model state, got {type(state)}")
    try:
        return ThemeClassifier.from_state(state)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UntrustedModelError(f"{path}: not a kracht theme model ({exc})") from exc
