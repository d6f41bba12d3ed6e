"""Dutch negation and hedging scope (ConText style) and what it does to polarity."""

from __future__ import annotations

import pytest

from pipeline.config import get_settings
from pipeline.nlp.negation import ContextRules, Scope
from pipeline.tagger import Tagger

RULES = ContextRules.from_yaml()


@pytest.fixture(scope="module")
def tagger_blank() -> Tagger:
    return Tagger.from_settings(get_settings(nlp="blank", use_model=False))


def scoped(sentence: str, target: str, kind: str = "negation") -> bool:
    """Is the word ``target`` inside a ``kind`` scope of ``sentence`` (split on spaces)?"""
    words = sentence.lower().split()
    index = words.index(target)
    scopes: list[Scope] = RULES.scopes(words, 0, len(words))
    return any(s.kind == kind and s.lo <= index < s.hi for s in scopes)


@pytest.mark.parametrize(
    ("sentence", "target"),
    [
        ("ik voelde me niet serieus genomen", "genomen"),  # forward
        ("ik durf het niet", "durf"),  # backward
        ("er is geen koffieochtend meer", "koffieochtend"),
        ("niemand vraagt wat ik kan", "kan"),
        ("ik heb nooit hulp gekregen", "hulp"),
        ("nauwelijks contact met de buren", "contact"),
        ("ik voel me niet meer zo eenzaam", "eenzaam"),
    ],
)
def test_negated(sentence: str, target: str) -> None:
    assert scoped(sentence, target)


@pytest.mark.parametrize(
    ("sentence", "target"),
    [
        ("geen probleem , ik help graag", "help"),  # pseudo-trigger
        ("ik had nooit gedacht dat ik vrijwilliger zou worden", "vrijwilliger"),  # pseudo
        ("het is niet de koffie maar de mensen die je leert kennen", "kennen"),  # terminator
        ("zonder dat ik het vraag doet hij boodschappen", "boodschappen"),  # pseudo
        ("ik kende niemand . nu heb ik vrienden", "vrienden"),  # sentence is the limit
        ("niet ver van hier is de buurtkamer waar iedereen koffie drinkt", "drinkt"),  # window
    ],
)
def test_not_negated(sentence: str, target: str) -> None:
    words = sentence.split()
    if "." in words:  # the component works sentence by sentence
        cut = words.index(".") + 1
        scopes = RULES.scopes(words, 0, cut) + RULES.scopes(words, cut, len(words))
        index = words.index(target)
        assert not any(s.lo <= index < s.hi for s in scopes)
    else:
        assert not scoped(sentence, target)


@pytest.mark.parametrize(
    ("sentence", "target"),
    [
        ("misschien voel ik me een beetje eenzaam", "eenzaam"),
        ("ik ben soms wel eenzaam", "eenzaam"),
        ("het helpt wel denk ik", "helpt"),
    ],
)
def test_hedged(sentence: str, target: str) -> None:
    assert scoped(sentence, target, kind="hedge")


def test_longest_trigger_wins() -> None:
    words = ["dat", "heb", "ik", "nog", "nooit", "meegemaakt"]
    (scope, *_) = [s for s in RULES.scopes(words, 0, len(words)) if s.kind == "negation"]
    assert (scope.trigger_start, scope.trigger_end) == (3, 5)


def test_component_marks_spans(tagger_blank: Tagger) -> None:
    text = "Ik voelde me niet serieus genomen. Misschien ben ik een beetje eenzaam."
    doc = tagger_blank.nlp(text)
    spans = {span.label_: span for span in doc.spans["themes"]}
    assert spans["gezien_en_gewaardeerd"].text == "serieus genomen"
    assert spans["gezien_en_gewaardeerd"]._.negated is True
    assert spans["gezien_en_gewaardeerd"]._.polarity == "negative"
    assert spans["eenzaamheid"]._.negated is False
    assert spans["eenzaamheid"]._.hedged is True
    assert spans["eenzaamheid"]._.polarity == "negative"


def test_trigger_inside_the_pattern_does_not_negate(tagger_blank: Tagger) -> None:
    doc = tagger_blank.nlp("Door de tuin voel ik me minder eenzaam.")
    (span,) = [s for s in doc.spans["themes"] if s.label_ == "eenzaamheid"]
    assert span.text == "minder eenzaam"
    assert span._.polarity == "positive"


def test_negation_outside_the_pattern(tagger_blank: Tagger) -> None:
    doc = tagger_blank.nlp("Ik heb me er nooit gewaardeerd gevoeld.")
    (span,) = [s for s in doc.spans["themes"] if s.label_ == "gezien_en_gewaardeerd"]
    assert span._.negated is True
    assert span._.polarity == "negative"
