"""Lemmatizer logic on small examples: the blank fallback and the POS-aware combination.

These tests need no trained model: the combined lemmatizer is run on Docs whose POS, parse
and edit-tree lemma are given by hand, so each rule of the combination is checked on its own.
"""

from __future__ import annotations

from functools import cache

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.nlp import lemmatizer as lem
from pipeline.nlp.ud_eval import strip_lemma


@cache
def _blank() -> Language:
    """One blank fallback pipeline for the module (building spaCy pipelines is slow-ish)."""
    return lem.blank_pipeline()


@cache
def _with_combined() -> Language:
    nlp = spacy.blank("nl")
    nlp.add_pipe("kracht_combined_lemmatizer")
    return nlp


def _blank_lemmas(text: str) -> dict[str, str]:
    return {t.text: t.lemma_ for t in _blank()(text)}


def _combined(words: list[str], pos: list[str], *, heads: list[int] | None = None,
              deps: list[str] | None = None, edit_tree: list[str] | None = None) -> list[str]:
    nlp = _with_combined()
    component = nlp.get_pipe("kracht_combined_lemmatizer")
    doc = Doc(nlp.vocab, words=words, pos=pos, heads=heads, deps=deps,
              lemmas=edit_tree or list(words))
    return [t.lemma_ for t in component(doc)]


# -- blank fallback: spacy.blank("nl") + kracht_simplemma_lemmatizer --------------------------

def test_blank_resident_sentences() -> None:
    assert _blank_lemmas("we voelden ons gezien")["voelden"] == "voelen"
    assert _blank_lemmas("we voelden ons gezien")["gezien"] == "zien"
    lemmas = _blank_lemmas("de buren hielpen elkaar")
    assert (lemmas["buren"], lemmas["hielpen"]) == ("buur", "helpen")
    assert _blank_lemmas("ik durfde het niet")["durfde"] == "durven"
    assert _blank_lemmas("De kinderen speelden buiten")["kinderen"] == "kind"


def test_blank_survives_emoji_and_whitespace() -> None:
    nlp = _blank()
    doc = nlp("Super buurt 😀🇳🇱  \n\n  echt waar!! \t #trots")
    assert [t.text for t in doc if t.is_space] == [t.lemma_ for t in doc if t.is_space]
    assert "😀" in [t.lemma_ for t in doc]
    assert nlp("").text == ""
    assert [t.lemma_ for t in nlp("   ")] == ["   "]


def test_blank_keeps_case_of_names_but_not_sentence_starts() -> None:
    lemmas = _blank_lemmas("Gisteren ging ik naar Amsterdam.")
    assert lemmas["Amsterdam"] == "Amsterdam"
    assert lemmas["Gisteren"] == "gisteren"
    assert _blank()("Buren hielpen.")[0].lemma_ == "buur"


def test_simplemma_cache_is_per_lowercase_form_and_strips_underscores() -> None:
    assert lem.simplemma_lemma("hielpen") == "helpen"
    assert lem.simplemma_lemma("") == ""
    assert "_" not in lem.simplemma_lemma("afgelopen")
    info = lem.simplemma_lemma.cache_info()
    lem.simplemma_lemma("hielpen")
    assert lem.simplemma_lemma.cache_info().hits == info.hits + 1


def test_strip_lemma() -> None:
    assert strip_lemma("mee_nemen") == "meenemen"
    assert strip_lemma("basis_niveau") == "basisniveau"
    assert strip_lemma("_") == "_"


# -- combined lemmatizer ----------------------------------------------------------------------

def test_combined_uses_simplemma_when_it_knows_the_word() -> None:
    assert _combined(["we", "voelden", "ons", "gezien"], ["PRON", "VERB", "PRON", "VERB"]) == [
        "we", "voelen", "ons", "zien"]
    assert _combined(["de", "buren", "hielpen", "elkaar"], ["DET", "NOUN", "VERB", "PRON"])[1:3] \
        == ["buur", "helpen"]


def test_combined_keeps_names_and_punctuation() -> None:
    out = _combined(["Jan", "woont", "in", "Amsterdam", "!", "😀"],
                    ["PROPN", "VERB", "ADP", "PROPN", "PUNCT", "SYM"])
    assert out == ["Jan", "wonen", "in", "Amsterdam", "!", "😀"]


def test_combined_numerals_not_mangled_by_rule_suffixes() -> None:
    # spaCy's rule tables strip suffixes from numerals (vier -> vi); simplemma does not.
    assert _combined(["vier", "kinderen"], ["NUM", "NOUN"]) == ["vier", "kind"]


def test_combined_falls_back_to_edit_tree_for_unknown_words() -> None:
    # "flurbde" is in no dictionary: the trained edit-tree's guess is used.
    assert _combined(["hij", "flurbde"], ["PRON", "VERB"],
                     edit_tree=["hij", "flurben"])[1] == "flurben"


def test_combined_joins_separable_particles() -> None:
    out = _combined(["Zij", "spoorde", "hem", "aan"], ["PRON", "VERB", "PRON", "ADP"],
                    heads=[1, 1, 1, 1], deps=["nsubj", "ROOT", "obj", "compound:prt"])
    assert out[1] == "aansporen"
    out = _combined(["Hij", "gaf", "het", "op"], ["PRON", "VERB", "PRON", "ADP"],
                    heads=[1, 1, 1, 1], deps=["nsubj", "ROOT", "obj", "compound:prt"])
    assert out[1] == "opgeven"


def test_combined_without_parse_or_whitespace_does_not_crash() -> None:
    out = _combined(["ik", "durfde", " ", "het", "niet"], ["PRON", "VERB", "SPACE", "PRON", "ADV"])
    assert out == ["ik", "durven", " ", "het", "niet"]


def test_combined_case_follows_ud_conventions() -> None:
    # Capitalised adjectives and acronyms keep their capitals mid-sentence...
    out = _combined(["de", "Nederlandse", "WK", "zijn", "leuk"],
                    ["DET", "ADJ", "NOUN", "AUX", "ADJ"])
    assert out == ["de", "Nederlands", "WK", "zijn", "leuk"]
    # ...but a sentence-initial capital is only position.
    assert _combined(["Buren", "hielpen"], ["NOUN", "VERB"]) == ["buur", "helpen"]
    assert _combined(["Wij", "hielpen"], ["PRON", "VERB"]) == ["wij", "helpen"]


def test_combined_names_keep_form_unless_sources_agree() -> None:
    out = _combined(["de", "Italianen", "en", "Jansen"], ["DET", "PROPN", "CCONJ", "PROPN"],
                    edit_tree=["de", "Italiaan", "en", "Jans"])
    assert out == ["de", "Italiaan", "en", "Jansen"]


def test_transfer_case() -> None:
    assert lem.transfer_case("FARC-rebellen", "farc-rebel", False) == "FARC-rebel"
    assert lem.transfer_case("Nederlandse", "nederlands", True) == "nederlands"
    assert lem.transfer_case("WK", "wk", True) == "WK"
    assert lem.transfer_case("😀", "😀", False) == "😀"
