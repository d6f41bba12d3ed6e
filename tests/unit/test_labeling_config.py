"""The labeling config is generated from the codebook: valid XML, every code, per-code polarity."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

from annotation import labeling_config as lc
from pipeline.codebook import load_codebook
from pipeline.config import DEFAULT_CODEBOOK
from pipeline.schema import POLARITIES

FIXED_IDS = {
    "gezien_en_gewaardeerd", "zelfvertrouwen", "eigenaarschap", "talenten", "netwerken",
    "ontmoeting", "onderlinge_hulp", "leefbaarheid", "vertrouwen", "samenwerking",
    "betrokkenheid", "signalering", "financiering", "eenzaamheid",
}  # fmt: skip


@pytest.fixture(scope="module")
def codebook():
    return load_codebook(DEFAULT_CODEBOOK)


@pytest.fixture(scope="module")
def root(codebook) -> ET.Element:
    return ET.fromstring(lc.build_labeling_config(codebook.codes))


def test_config_is_valid_xml_with_a_view_root(root: ET.Element) -> None:
    assert root.tag == "View"


def test_every_code_is_a_choice_and_an_evidence_label(root: ET.Element, codebook) -> None:
    choices = next(el for el in root.iter("Choices") if el.get("name") == lc.CODES)
    assert choices.get("choice") == "multiple"
    assert choices.get("toName") == lc.TEXT
    offered = [c.get("value") for c in choices.iter("Choice")]
    assert offered == codebook.ids
    assert set(offered) == FIXED_IDS
    labels = next(el for el in root.iter("Labels") if el.get("name") == lc.EVIDENCE)
    assert [label.get("value") for label in labels.iter("Label")] == codebook.ids
    colors = {code.id: code.color for code in codebook.codes}
    assert all(label.get("background") == colors[label.get("value")] for label in labels)


def test_polarity_per_code_only_visible_when_the_code_is_chosen(root: ET.Element, codebook) -> None:
    blocks = [el for el in root.iter("View") if el.get("visibleWhen") == "choice-selected"]
    assert {b.get("whenChoiceValue") for b in blocks} == set(codebook.ids)
    for block in blocks:
        code = block.get("whenChoiceValue")
        assert block.get("whenTagName") == lc.CODES
        (polarity,) = list(block.iter("Choices"))
        assert polarity.get("name") == lc.polarity_name(code)
        assert lc.code_of_polarity_name(polarity.get("name")) == code
        assert [c.get("value") for c in polarity.iter("Choice")] == list(POLARITIES)


def test_dialogue_context_before_and_after(root: ET.Element) -> None:
    paragraphs = {el.get("name"): el for el in root.iter("Paragraphs")}
    assert set(paragraphs) == {lc.CONTEXT_BEFORE, lc.CONTEXT_AFTER}
    for el in paragraphs.values():
        assert el.get("nameKey") == "speaker" and el.get("textKey") == "text"
    assert [el.get("value") for el in root.iter("Text")] == ["$text"]


def test_label_studio_accepts_config_and_a_prediction(codebook) -> None:
    from label_studio_sdk.label_interface import LabelInterface

    li = LabelInterface(lc.build_labeling_config(codebook.codes))
    prediction = {
        "model_version": "model:test@1",
        "result": [
            {"from_name": lc.CODES, "to_name": lc.TEXT, "type": "choices",
             "value": {"choices": ["ontmoeting", "eenzaamheid"]}},
            {"from_name": lc.polarity_name("ontmoeting"), "to_name": lc.TEXT, "type": "choices",
             "value": {"choices": ["positive"]}},
            {"id": "e0", "from_name": lc.EVIDENCE, "to_name": lc.TEXT, "type": "labels",
             "value": {"start": 0, "end": 5, "text": "Sinds", "labels": ["ontmoeting"]}},
        ],
    }  # fmt: skip
    assert li.validate_prediction(prediction, return_errors=True) == []
    bad_choice = dict(prediction["result"][0], value={"choices": ["nee"]})
    wrong = {"model_version": "x", "result": [bad_choice]}
    assert li.validate_prediction(wrong, return_errors=True)


def test_config_follows_codebook_changes(codebook) -> None:
    codes = [{"id": c.id, "label": c.label} for c in codebook.codes]
    before = lc.build_labeling_config(codes)
    after = lc.build_labeling_config([*codes, {"id": "nieuwe_code", "label": "Nieuw"}])
    assert not lc.same_config(before, after)
    assert lc.config_codes(after)[-1] == "nieuwe_code"
    assert lc.same_config(before, before.replace("\n  ", "\n    "))


def test_empty_codebook_is_refused() -> None:
    with pytest.raises(ValueError):
        lc.build_labeling_config([])
