"""Regression cases as data: ``cases.json`` holds what the tagger must do, with a reason each.

A case that the rules get wrong today is listed in ``known_failures.json`` (name -> what goes
wrong) instead of being deleted: it still runs, as an expected failure, so a fix shows up.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import get_settings
from pipeline.schema import TagInput
from pipeline.tagger import Tagger

HERE = Path(__file__).resolve().parent
CASES = json.loads((HERE / "cases.json").read_text(encoding="utf-8"))
KNOWN = json.loads((HERE / "known_failures.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.from_settings(get_settings(nlp="blank", use_model=False))


def _params() -> list:  # type: ignore[type-arg]
    params = []
    for case in CASES:
        marks = []
        if case["name"] in KNOWN:
            marks.append(pytest.mark.xfail(reason=KNOWN[case["name"]], strict=False))
        params.append(pytest.param(case, id=case["name"], marks=marks))
    return params


def test_cases_are_well_formed() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)) >= 40
    assert set(KNOWN) <= set(names), "known failures must name existing cases"
    for case in CASES:
        assert case["reason"].strip()


@pytest.mark.parametrize("case", _params())
def test_case(tagger: Tagger, case: dict) -> None:  # type: ignore[type-arg]
    text = case["text"]
    (output,) = tagger.tag([TagInput(id=case["name"], text=text, speaker=case["speaker"])])
    got = {theme.code: theme.polarity for theme in output.themes}
    for theme in output.themes:
        for span in theme.evidence:
            assert text[span.start : span.end] == span.text
    assert got == case["expect"], case["reason"]
