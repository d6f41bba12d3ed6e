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

from functools import lru_cache
from typing import Any

import simplemma
from spacy.language import Language
from spacy.tokens import Doc, Token

#: POS whose lemma is the form itself in UD Dutch.
_KEEP_FORM_POS = frozenset({"PUNCT", "SYM", "SPACE"})
#: Names and foreign words: the form (case kept) unless two sources agree on another lemma.
_NAME_POS = frozenset({"PROPN", "X"})
#: POS for which simplemma's answer is used even if the rule tables disagree (the rule
#: suffix tables mangle numerals: ``vier`` -> ``vi``).
_SIMPLEMMA_ONLY_POS = frozenset({"NUM"})
_RULE_TABLES = ["lemma_lookup", "lemma_rules", "lemma_exc", "lemma_index"]
_SENT_END = frozenset({".", "!", "?", "…", ":"})
_MID_PUNCT = frozenset({",", ";", "/", "&"})
#: Open classes whose lemmas keep a capital of the form (``Nederlands``, ``WK``).
_CASED_POS = frozenset({"NOUN", "ADJ", "NUM"})


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


@lru_cache(maxsize=1)
def rule_lookups() -> Any:
    """spaCy's Dutch rule-lemmatizer tables from the installed spacy-lookups-data.

    Loaded once per process (about 3 s) and shared by every pipeline instance.
    """
    from spacy.lookups import load_lookups

    return load_lookups("nl", _RULE_TABLES)


def _sentence_initial(token: Token) -> bool:
    """Whether the token's capital may be only position: first of its sentence, or after
    sentence-final or opening punctuation (quotes, dashes, colons)."""
    if token.i == 0:
        return True
    if token.doc.has_annotation("SENT_START") and token.is_sent_start:
        return True
    prev = token.nbor(-1)
    return prev.text in _SENT_END or (prev.is_punct and prev.text not in _MID_PUNCT)


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


def transfer_case(form: str, lemma: str, sentence_initial: bool) -> str:
    """Give a lowercase ``lemma`` the capitals of ``form`` over their common prefix.

    UD Dutch lemmas keep the case of capitalised words (``Nederlandse`` -> ``Nederlands``,
    ``WK`` -> ``WK``), but not of a sentence's first word, whose capital is only position:
    there case is kept only for words with capitals beyond the first letter (acronyms).
    """
    if form.islower() or not form[:1].isalpha():
        return lemma
    if sentence_initial and form[1:] == form[1:].lower():
        return lemma
    chars = list(lemma)
    for i, (f, c) in enumerate(zip(form, lemma, strict=False)):
        if f.lower() != c:
            break
        chars[i] = f
    return "".join(chars)


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
        self._verbs: frozenset[str] | None = None

    # -- sources -------------------------------------------------------------------------
    @property
    def rule_lemmatizer(self) -> Any:
        """spaCy's Dutch rule lemmatizer with tables from the installed spacy-lookups-data.

        Built lazily so that loading the pipeline stays fast when lemmas are not needed.
        """
        if self._rule is None:
            from spacy.lang.nl.lemmatizer import DutchLemmatizer

            rule = DutchLemmatizer(self._vocab, None, name=f"{self.name}_rule", mode="rule")
            rule.initialize(lookups=rule_lookups())
            self._rule = rule
        return self._rule

    def rule_lemma(self, token: Token) -> str:
        """Rule-table lemma for the token's predicted POS (lowercase)."""
        if not token.text.strip():
            return token.text
        forms = self.rule_lemmatizer.rule_lemmatize(token)
        return forms[0] if forms else token.text.lower()

    @property
    def known_verbs(self) -> frozenset[str]:
        """Verb lemmas of the rule tables: the check that a particle + verb is a real verb."""
        if self._verbs is None:
            index = self.rule_lemmatizer.lookups.get_table("lemma_index", {})
            self._verbs = frozenset(index.get("verb", ()))
        return self._verbs

    # -- combination ---------------------------------------------------------------------
    def combine(self, token: Token, edit_tree: str) -> str:
        """The lemma for ``token`` given the edit-tree lemmatizer's prediction.

        Order of trust, measured on held-out Alpino dev (MODEL_CARD.md):

        1. punctuation, symbols and whitespace keep their form;
        2. names (PROPN, X) keep their form unless simplemma and the edit-tree agree on
           another lemma (``Italianen`` -> ``Italiaan``);
        3. numerals take simplemma's lemma (the rule suffixes mangle them: ``vier`` -> ``vi``);
        4. otherwise simplemma when it changes the word; the POS-driven rule lemma when
           simplemma knows the word but leaves it unchanged (POS-ambiguous forms); the
           edit-tree for words simplemma does not know;
        5. the rule and edit-tree lemmas, when they agree, overrule that choice;
        6. a separable particle attached as ``compound:prt`` is prefixed to the verb when the
           result is a known verb (``spoorde ... aan`` -> ``aansporen``).
        """
        text = token.text
        pos = token.pos_
        if not text.strip() or pos in _KEEP_FORM_POS:
            return text
        lower = text.lower()
        sm = simplemma_lemma(lower)
        tree = edit_tree.lower() or lower
        if pos in _NAME_POS:
            return edit_tree if tree == sm and sm != lower else text
        if pos in _SIMPLEMMA_ONLY_POS:
            return transfer_case(text, sm, _sentence_initial(token))
        rule = self.rule_lemma(token)
        if sm != lower:
            lemma = sm
        elif simplemma_known(lower):
            lemma = rule
        else:
            lemma = tree
        if tree == rule:
            lemma = tree
        if self.join_particles and pos in ("VERB", "AUX"):
            lemma = self._with_particle(token, lemma)
        if pos not in _CASED_POS:
            return lemma
        return transfer_case(text, lemma, _sentence_initial(token))

    def _with_particle(self, token: Token, lemma: str) -> str:
        if not token.doc.has_annotation("DEP"):
            return lemma
        for child in token.children:
            if child.dep_ == "compound:prt":
                particle = child.text.lower()
                joined = particle + lemma
                if not lemma.startswith(particle) and (
                        simplemma_known(joined) or joined in self.known_verbs):
                    return joined
        return lemma

    def __call__(self, doc: Doc) -> Doc:
        for token in doc:
            token.lemma_ = self.combine(token, token.lemma_)
        return doc


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
