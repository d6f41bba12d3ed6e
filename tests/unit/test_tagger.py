"""The tagger's Python API: polarity semantics, evidence offsets, speakers, merge, pipelines."""

from __future__ import annotations

import pytest

from pipeline.config import get_settings
from pipeline.nlp.load import BLANK_NAME, load_nlp
from pipeline.nlp.polarity import combine
from pipeline.schema import TagInput
from pipeline.tagger import RuleEvidence, Tagger, is_coded_speaker, merge


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.from_settings(get_settings(nlp="blank", use_model=False))


def codes(tagger: Tagger, text: str) -> dict[str, str]:
    (themes,) = tagger.tag_texts([text])
    return {theme.code: theme.polarity for theme in themes}


def test_blank_pipeline_is_named(tagger: Tagger) -> None:
    assert tagger.nlp_name == BLANK_NAME
    assert tagger.source == f"rules@{tagger.codebook.version}"
    assert tagger.nlp.pipe_names[-3:] == ["kracht_themes", "kracht_context", "kracht_polarity"]


def test_nlp_disable_and_sentences() -> None:
    nlp, name = load_nlp(get_settings(nlp="blank", nlp_disable=["kracht_simplemma_lemmatizer"]))
    assert name == BLANK_NAME
    assert "kracht_simplemma_lemmatizer" not in nlp.pipe_names
    assert "sentencizer" in nlp.pipe_names


@pytest.mark.parametrize(
    ("text", "code", "polarity"),
    [
        ("Door de tuin ben ik minder eenzaam.", "eenzaamheid", "positive"),
        ("Ik zit de hele dag alleen thuis.", "eenzaamheid", "negative"),
        ("Ik voelde me niet serieus genomen.", "gezien_en_gewaardeerd", "negative"),
        ("Ze hebben me nooit serieus genomen bij de gemeente.", "gezien_en_gewaardeerd",
         "negative"),
        ("Ik voel me echt gewaardeerd door de buurtverbinder.", "gezien_en_gewaardeerd",
         "positive"),
        ("We krijgen eindelijk meerjarige subsidie van het fonds.", "financiering", "positive"),
        ("Elk jaar weer dat formulier voor de subsidie, twaalf kantjes.", "financiering",
         "negative"),
        ("Eerst kende ik niemand en zat ik alleen thuis. Nu ga ik naar de koffieochtend.",
         "eenzaamheid", "mixed"),
        ("Vroeger durfde ik niks te zeggen. Nu praat ik gewoon met de wethouder.",
         "zelfvertrouwen", "positive"),
    ],
)
def test_polarity(tagger: Tagger, text: str, code: str, polarity: str) -> None:
    assert codes(tagger, text).get(code) == polarity


def test_combine() -> None:
    assert combine([("positive", True), ("negative", True)]) == "mixed"
    assert combine([("positive", False), ("negative", True)]) == "negative"
    assert combine([("neutral", False)]) == "neutral"
    assert combine([("mixed", True), ("positive", True)]) == "mixed"


@pytest.mark.parametrize(
    "text",
    [
        "Ik voel me hier\r\nveilig en thuis 🏠, echt waar.\r\n",
        "😀👍🏽 Mijn buurvrouw doet mijn boodschappen 🛒 en ik voel me minder eenzaam.",
        "Ik\u00a0ben vrijwilliger\u00a0bij de voedselbank\u2009en\u202fik help graag.",
        "\ufeffBij de taalcafé 🇳🇱 heb ik Fatima leren kennen.",
        "Tab\tgescheiden\tvertrouwen in de buurt,\u200b zero-width.",
    ],
)
def test_evidence_offsets(tagger: Tagger, text: str) -> None:
    (themes,) = tagger.tag_texts([text])
    assert themes, "expected at least one theme"
    for theme in themes:
        assert theme.evidence
        for span in theme.evidence:
            assert text[span.start : span.end] == span.text
            assert 0 <= span.start < span.end <= len(text)


def test_questions_are_no_evidence(tagger: Tagger) -> None:
    assert codes(tagger, "Weet u waar de buurtkamer is?") == {}
    assert codes(tagger, "Voelt u zich gezien?  ") == {}
    assert "eenzaamheid" in codes(tagger, "Eenzaam? Ja, ik ben heel eenzaam sinds hij weg is.")


def test_speakers(tagger: Tagger) -> None:
    text = "Ik ben vrijwilliger en ik voel me gewaardeerd."
    items = [
        TagInput(id="a", text=text, speaker="interviewer"),
        TagInput(id="b", text=text, speaker="resident"),
        TagInput(id="c", text=text),
        TagInput(id="d", text=text, speaker="other"),
        TagInput(id="e", text=text, speaker="Bewoner"),
    ]
    outputs = list(tagger.tag(items, batch_size=2))
    assert [o.id for o in outputs] == ["a", "b", "c", "d", "e"]
    coded = {o.id for o in outputs if o.themes}
    assert coded == {"b", "c", "e"}
    assert is_coded_speaker(None) and not is_coded_speaker("interviewer")


def test_order_and_one_output_per_input(tagger: Tagger) -> None:
    texts = ["", "Ik ben vrijwilliger.", "   ", "Het fonds stopt.", "Hallo"] * 50
    items = [TagInput(id=f"i{n}", text=t) for n, t in enumerate(texts)]
    outputs = list(tagger.tag(iter(items), batch_size=7))
    assert [o.id for o in outputs] == [i.id for i in items]


def test_merge_with_a_classifier(tagger: Tagger) -> None:
    class Model:
        name, version = "fake", "0.1"

        def predict(self, texts):  # type: ignore[no-untyped-def]
            return [{"ontmoeting": 0.9, "talenten": 0.2} for _ in texts]

        def threshold(self, code: str) -> float:
            return 0.5

    evidence = {"eenzaamheid": [RuleEvidence("eenzaamheid", 0, 7, 1.0, "negative", True,
                                             False, False, "eenzaam")]}
    themes = merge("eenzaam", tagger.codebook, evidence, {"ontmoeting": 0.9}, Model())
    assert [t.code for t in themes] == ["ontmoeting", "eenzaamheid"]
    assert themes[0].evidence == [] and themes[0].polarity == "neutral"
    assert themes[1].evidence[0].text == "eenzaam"
    with_model = Tagger(tagger.nlp, tagger.codebook, Model(), nlp_name=tagger.nlp_name)
    assert with_model.source == "model:fake@0.1"
    (themes,) = with_model.tag_texts(["Ik kook graag."])
    assert [t.code for t in themes] == ["ontmoeting"]


def test_merge_with_a_stacking_classifier(tagger: Tagger) -> None:
    class Stacking:
        name, version = "stack", "0.2"

        def predict(self, texts):  # type: ignore[no-untyped-def]
            return [{"ontmoeting": 0.2} for _ in texts]

        def threshold(self, code: str) -> float:
            return 0.5

        def probabilities(self, prediction, evidence):  # type: ignore[no-untyped-def]
            # the stack sees the rule evidence: trust the rules for eenzaamheid only
            return {"eenzaamheid": 0.8 if evidence.get("eenzaamheid") else 0.1,
                    "ontmoeting": prediction["ontmoeting"]}

        def polarity(self, code, prediction, items, rule_polarity):  # type: ignore[no-untyped-def]
            return "mixed"

        def evidence(self, text, code):  # type: ignore[no-untyped-def]
            return []

    stacked = Tagger(tagger.nlp, tagger.codebook, Stacking(), nlp_name=tagger.nlp_name)
    (themes,) = stacked.tag_texts(["Ik ben zo eenzaam. Ik ben vrijwilliger bij de voedselbank."])
    assert [(t.code, t.score, t.polarity) for t in themes] == [("eenzaamheid", 0.8, "mixed")]
    assert themes[0].evidence and themes[0].evidence[0].text == "eenzaam"
