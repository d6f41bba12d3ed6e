"""The adjudication rule for re-read training segments, and that the data files follow it."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from pipeline.config import PROJECT_ROOT

TOOL = PROJECT_ROOT / "data" / "tools" / "adjudicate.py"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("adjudicate", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_of_three_voices_decide(tool) -> None:
    writer = {"netwerken": "positive", "ontmoeting": "neutral"}
    blind = {"netwerken": "mixed", "eenzaamheid": "positive"}
    # netwerken: writer + blind (writer's polarity); ontmoeting: writer alone (dropped);
    # eenzaamheid: blind + model (blind's polarity); vertrouwen: model alone (not added)
    assert tool.decide(writer, blind, ["eenzaamheid", "vertrouwen"]) == {
        "netwerken": "positive", "eenzaamheid": "positive"}
    assert tool.decide(writer, {}, ["ontmoeting"]) == {"ontmoeting": "neutral"}
    assert tool.decide({}, {"talenten": "neutral"}, []) == {}


def test_data_files_follow_the_recorded_rounds(tool) -> None:
    final = tool.decisions()
    assert len(final) > 1000  # round 1 re-read 1,866 segments
    found: dict[str, dict[str, str]] = {}
    for path in tool.LABELED:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row["id"] in final:
                    found[row["id"]] = row["themes"]
    assert set(found) == set(final)
    wrong = [i for i in final if found[i] != final[i]]
    assert not wrong, f"{len(wrong)} labels differ from the adjudication, e.g. {wrong[:3]}"
