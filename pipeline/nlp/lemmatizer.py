"""Dutch lemmatizer components for kracht's spaCy pipelines.

Two factories, registered on import:

``kracht_simplemma_lemmatizer``
    For the blank fallback pipeline (``spacy.blank("nl")``, no tagger): simplemma's Dutch
    dictionary lemma of each token. It needs no POS, so it works without any trained model,
    and a per-lowercase-form cache makes it cheap on long transcripts.

``kracht_combined_lemmatizer``
    For the trained pipeline (``models/nl_kracht_ud``). It runs after the trainable edit-tree
    lemmatizer and replaces its lemma by a POS-aware combination of three sources, because
    each is right where the others fail (measured on Alpino: simplemma alone 0.938, the
    edit-tree alone lower, either of simplemma/rule right 0.969):

    * simplemma's dictionary lemma, when simplemma knows the word and changes it;
    * spaCy's Dutch rule lemmatizer (tables from ``spacy-lookups-data``) driven by the
      predicted POS, when simplemma leaves the word unchanged (POS-ambiguous forms, e.g.
      ``gezien`` as ADJ vs. VERB, and inflections simplemma misses);
    * the edit-tree lemmatizer's prediction for words neither dictionary knows.

    A separable-verb particle attached by the parser (``compound:prt``) is prefixed to the
    verb lemma (``spoorde ... aan`` -> ``aansporen``), following the UD Dutch lemmas with
    their ``_`` removed. The choices were made by measuring on held-out Alpino dev, never
    on Alpino test (see ``models/nl_kracht_ud/MODEL_CARD.md``).

Run-time data comes only from installed packages (simplemma, spacy-lookups-data); nothing is
read from ``../shared``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import simplemma
from spacy.language import Language
from spacy.tokens import Doc, Token

#: POS whose lemma is the form itself in UD Dutch (case kept).
_KEEP_FORM_POS = frozenset({"PUNCT", "SYM", "PROPN", "X", "SPACE"})
#: POS for which simplemma's answer is used even if the rule tables disagree (the rule
#: suffix tables mangle numerals: ``vier`` -> ``vi``).
_SIMPLEMMA_ONLY_POS = frozenset({"NUM"})
_RULE_TABLES = ["lemma_lookup", "lemma_rules", "lemma_exc", "lemma_index"]
_SENT_END = frozenset({".", "!", "?", "…", ":"})


@lru_cache(maxsize=200_000)
def simplemma_lemma(lower: str) -> str:
    """simplemma's Dutch lemma of a lowercase form, ``_`` removed, lowercased.

    Cached per lowercase form (transcripts repeat words a lot). Never raises: forms simplemma
    cannot handle (empty, whitespace, emoji) come back unchanged.
    """
    if not lower.strip():
        return lower
    try:
        lemma = simplemma.lemmatize(lower, lang="nl")
    except (ValueError, TypeError):
        return lower
    if lemma.strip("_"):
        lemma = lemma.replace("_", "")
    return lemma.lower()


@lru_cache(maxsize=200_000)
def simplemma_known(lower: str) -> bool:
    """Whether simplemma's Dutch dictionary contains the form."""
    if not lower.strip():
        return False
    try:
        return bool(simplemma.is_known(lower, lang="nl"))
    except (ValueError, TypeError):
        return False


def _sentence_initial(token: Token) -> bool:
    if token.i == 0:
        return True
    if token.doc.has_annotation("SENT_START") and token.is_sent_start:
        return True
    return token.nbor(-1).text in _SENT_END


def blank_lemma(token: Token) -> str:
    """Lemma without POS: simplemma's, keeping the form's case for unchanged mid-sentence
    capitalised words (likely names: ``Amsterdam`` stays ``Amsterdam``)."""
    text = token.text
    if token.is_space or not text.strip():
        return text
    lower = text.lower()
    lemma = simplemma_lemma(lower)
    if lemma == lower and text[:1].isupper() and not _sentence_initial(token):
        return text
    return lemma


class SimplemmaLemmatizer:
    """spaCy component: simplemma lemmas for every token (blank fallback pipeline)."""

    def __init__(self, nlp: Language, name: str, overwrite: bool) -> None:
        self.name = name
        self.overwrite = overwrite

    def __call__(self, doc: Doc) -> Doc:
        for token in doc:
            if self.overwrite or not token.lemma:
                token.lemma_ = blank_lemma(token)
        return doc


@Language.factory(
    "kracht_simplemma_lemmatizer",
    default_config={"overwrite": True},
)
def make_simplemma_lemmatizer(nlp: Language, name: str, overwrite: bool) -> SimplemmaLemmatizer:
    """Factory for :class:`SimplemmaLemmatizer`."""
    return SimplemmaLemmatizer(nlp, name, overwrite)


class CombinedLemmatizer:
    """spaCy component: simplemma + rule tables + edit-tree, chosen by predicted POS.

    Must run after the POS tagger (morphologizer) and the trainable lemmatizer, whose lemma it
    reads as the edit-tree candidate; separable-particle joining uses the parse, which is
    available when the component runs after the parser (it is skipped otherwise).
    """

    def __init__(self, nlp: Language, name: str, join_particles: bool) -> None:
        self.name = name
        self.join_particles = join_particles
        self._vocab = nlp.vocab
        self._rule: Any = None  # spaCy DutchLemmatizer in rule mode, built on first use

    # -- sources -------------------------------------------------------------------------
    @property
    def rule_lemmatizer(self) -> Any:
        """spaCy's Dutch rule lemmatizer with tables from the installed spacy-lookups-data.

        Built lazily so that loading the pipeline stays fast when lemmas are not needed.
        """
        if self._rule is None:
            from spacy.lang.nl.lemmatizer import DutchLemmatizer
            from spacy.lookups import load_lookups

            rule = DutchLemmatizer(self._vocab, None, name=f"{self.name}_rule", mode="rule")
            rule.initialize(lookups=load_lookups("nl", _RULE_TABLES))
            self._rule = rule
        return self._rule

    def rule_lemma(self, token: Token) -> str:
        """Rule-table lemma for the token's predicted POS (lowercase)."""
        if not token.text.strip():
            return token.text
        forms = self.rule_lemmatizer.rule_lemmatize(token)
        return forms[0] if forms else token.text.lower()

    # -- combination ---------------------------------------------------------------------
    def combine(self, token: Token, edit_tree: str) -> str:
        """The lemma for ``token`` given the edit-tree lemmatizer's prediction."""
        text = token.text
        pos = token.pos_
        if not text.strip() or pos in _KEEP_FORM_POS:
            return text
        lower = text.lower()
        sm = simplemma_lemma(lower)
        if pos in _SIMPLEMMA_ONLY_POS:
            lemma = sm
        elif sm != lower:
            lemma = sm
        elif simplemma_known(lower):
            rule = self.rule_lemma(token)
            lemma = rule
        else:
            rule = self.rule_lemma(token)
            lemma = rule if rule != lower else (edit_tree.lower() or lower)
        if self.join_particles and pos in ("VERB", "AUX"):
            lemma = self._with_particle(token, lemma)
        return lemma

    @staticmethod
    def _with_particle(token: Token, lemma: str) -> str:
        if not token.doc.has_annotation("DEP"):
            return lemma
        for child in token.children:
            if child.dep_ == "compound:prt":
                particle = child.text.lower()
                if not lemma.startswith(particle):
                    return particle + lemma
        return lemma

    def __call__(self, doc: Doc) -> Doc:
        for token in doc:
            token.lemma_ = self.combine(token, token.lemma_)
        return doc

    # spaCy serialisation hooks: the component has no weights or tables of its own.
    def to_disk(self, path: Any, *, exclude: Sequence[str] = ()) -> None:  # noqa: D102
        return None

    def from_disk(self, path: Any, *, exclude: Sequence[str] = ()) -> CombinedLemmatizer:  # noqa: D102
        return self


@Language.factory(
    "kracht_combined_lemmatizer",
    default_config={"join_particles": True},
    requires=["token.pos", "token.lemma"],
    assigns=["token.lemma"],
)
def make_combined_lemmatizer(nlp: Language, name: str,
                             join_particles: bool) -> CombinedLemmatizer:
    """Factory for :class:`CombinedLemmatizer`."""
    return CombinedLemmatizer(nlp, name, join_particles)


def blank_pipeline() -> Language:
    """``spacy.blank("nl")`` with the simplemma lemmatizer: the last-resort pipeline."""
    import spacy

    nlp = spacy.blank("nl")
    nlp.add_pipe("kracht_simplemma_lemmatizer")
    return nlp
