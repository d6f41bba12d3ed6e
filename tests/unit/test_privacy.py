"""Pseudonymization with deduce: recall on Dutch sentences, consistency, configuration.

The first run on a machine builds deduce's lookup tries (about two minutes); later runs load the
cache in a few seconds. One Pseudonymizer per module keeps that to a single load.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import ClassVar

import pytest

from pipeline.config import get_settings
from pipeline.ingest.transcript import parse_turns
from pipeline.privacy import Pseudonymizer, speaker_names

CASES = Path(__file__).resolve().parents[1] / "regression" / "pseudonymization_nl.jsonl"
ALLOW = ["Buurtkamer De Vlinder", "Oranje Fonds"]


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    settings = get_settings(home=tmp_path_factory.mktemp("home"))
    settings.privacy.allow_list = list(ALLOW)
    settings.privacy.deny_list = {"Moestuin": ["Xandroo"], "*": ["Kwibus-Jan"]}
    return settings


@pytest.fixture(scope="module")
def pseudo(settings) -> Pseudonymizer:
    return Pseudonymizer.from_settings(settings)


def _present(surface: str, text: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(surface)}(?!\w)", text) is not None


def test_recall_on_dutch_sentences(pseudo):
    cases = [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines()]
    with_ids = [c for c in cases if c["identifiers"]]
    assert len(with_ids) >= 60
    total = removed = 0
    missed, destroyed, false_tags = [], [], 0
    raw_person_hits = 0
    for case in cases:
        out = pseudo.pseudonymize(case["text"]).text
        for ident in case["identifiers"]:
            total += 1
            if _present(ident["text"], out):
                missed.append(ident["text"])
            else:
                removed += 1
        destroyed += [(w, out) for w in case["keep"] if w not in out]
        if not case["identifiers"]:
            false_tags += len(re.findall(r"\[[A-Z]+-\d+\]", out))
            raw = pseudo.engine.annotate(case["text"], pseudo._disabled)
            raw_person_hits += sum(1 for _, _, tag, _ in raw if tag == "persoon")
    recall = removed / total
    print(f"\npseudonymization recall: {removed}/{total} = {recall:.3f}; missed: {missed}")
    print(f"false tags in {len(cases) - len(with_ids)} sentences without identifiers: "
          f"{false_tags} (deduce alone: {raw_person_hits} person hits)")
    assert recall >= 0.95
    assert not destroyed, destroyed
    assert false_tags < raw_person_hits


def test_consistent_tags_and_first_name_link(pseudo):
    text = ("Anouk de Vries opende de moestuin. Later kwam Mohammed el Amrani. "
            "Anouk zegt dat Mohammed el Amrani de kas bouwde.")
    result = pseudo.pseudonymize(text)
    assert result.text == ("[PERSOON-1] opende de moestuin. Later kwam [PERSOON-2]. "
                           "[PERSOON-1] zegt dat [PERSOON-2] de kas bouwde.")
    assert result.mapping["Anouk de Vries"] == result.mapping["Anouk"] == "[PERSOON-1]"
    assert result.mapping["Mohammed"] == "[PERSOON-2]"  # alias: a manifest may say "Mohammed"


def test_speaker_labels_and_text_share_a_tag_and_roles_survive(pseudo):
    text = ("Interviewer: Hoe kwam je hier?\nFatima: Via mijn buurvrouw.\n"
            "Interviewer: En toen?\nFatima: Toen zei iedereen: Fatima, kom erbij!\n")
    result = pseudo.pseudonymize(text)
    assert "Fatima" not in result.text
    assert result.text.count("[PERSOON-1]") == 3
    turns = parse_turns(result.text)
    assert [(t.speaker, t.role) for t in turns] == [
        ("Interviewer", "interviewer"), ("[PERSOON-1]", "resident"),
        ("Interviewer", "interviewer"), ("[PERSOON-1]", "resident"),
    ]


def test_named_interviewer_maps_through_mapping(pseudo):
    text = "Sanne: Hoe gaat het?\nYusuf: Goed!\nSanne: Wat doe je?\nYusuf: Ik kook.\n"
    result = pseudo.pseudonymize(text)
    known = [result.mapping["Sanne"]]
    roles = {t.speaker: t.role for t in parse_turns(result.text, known_interviewers=known)}
    assert roles == {result.mapping["Sanne"]: "interviewer", result.mapping["Yusuf"]: "resident"}


def test_allow_list_and_codebook_words_stay(pseudo):
    text = ("Buurtkamer De Vlinder kreeg geld van het Oranje Fonds. Samen met de gemeente en de "
            "corporatie houden we de buurtkamer open.")
    assert pseudo.pseudonymize(text).text == text


def test_deny_list_per_collection_and_extra_names(pseudo):
    text = "Xandroo en Kwibus-Jan kwamen, en Blorp ook."  # names deduce does not know
    assert pseudo.pseudonymize(text).text == "Xandroo en [PERSOON-1] kwamen, en Blorp ook."
    out = pseudo.pseudonymize(text, collection="Moestuin", extra_names=["Blorp"]).text
    assert out == "[PERSOON-1] en [PERSOON-2] kwamen, en [PERSOON-3] ook."


def test_identifier_categories(pseudo):
    text = ("Bel 06-12345678 of mail fatima@voorbeeld.nl. Ik woon op de Kerkstraat 12, "
            "3511 AB Utrecht. BSN 341672117. Zie www.devlinder.nl. Op 12 maart 2023 begonnen.")
    out = pseudo.pseudonymize(text).text
    for tag in ("[TELEFOON-1]", "[EMAIL-1]", "[ADRES-1]", "[POSTCODE-1]", "[LOCATIE-1]",
                "[BSN-1]", "[URL-1]"):
        assert tag in out, out
    assert "12 maart 2023" in out  # dates stay unless replace_dates


def test_categories_and_dates_are_configurable(tmp_path):
    settings = get_settings(home=tmp_path)
    settings.privacy.categories = ["persoon"]
    settings.privacy.replace_dates = True
    pseudo = Pseudonymizer.from_settings(settings)
    out = pseudo.pseudonymize("Fatima belt 06-12345678 op 12 maart 2023.").text
    assert out == "[PERSOON-1] belt 06-12345678 op [DATUM-1]."


def test_disabled_and_lazy(tmp_path):
    settings = get_settings(home=tmp_path)
    settings.privacy.enabled = False
    pseudo = Pseudonymizer.from_settings(settings)
    assert pseudo.pseudonymize("Fatima woont hier.").text == "Fatima woont hier."
    assert pseudo._engine is None  # deduce is never loaded when nothing needs it


def test_repseudonymizing_keeps_tags(pseudo):
    once = pseudo.pseudonymize("Fatima en Yusuf kwamen.").text
    assert pseudo.pseudonymize(once).text == once


def test_speaker_names_only_for_name_labels():
    text = "Interviewer: Hoi\nFatima: Hoi\nInterviewer: Ja\nFatima: Nee\nLet op: niets\nMaar: x\n"
    assert speaker_names(text) == ["Fatima"]


class _FakeDeduce:
    """Stands in for deduce.Deduce: records which cache it was pointed at."""

    calls: ClassVar[list[Path]] = []

    def __init__(self, load_base_config, config, cache_path):
        self.calls.append(Path(cache_path))
        self.config = config

    @staticmethod
    def _initialize_tokenizer(path):
        return None


def test_deduce_cache_home_then_shared_then_build(tmp_path, monkeypatch, caplog):
    import deduce
    import deduce.lookup_structs as structs_module

    from pipeline.privacy import _cache_file, _load_deduce, shared_cache_dir

    built: list[Path] = []

    def fake_get(lookup_path, cache_path, tokenizer, deduce_version):
        built.append(Path(cache_path))
        _cache_file(Path(cache_path)).parent.mkdir(parents=True, exist_ok=True)
        _cache_file(Path(cache_path)).write_bytes(b"full")
        return {"first_name": 1, "healthcare_institution": 2, "hospital": 3}

    def fake_save(lookup_structs, cache_path, deduce_version):
        assert set(lookup_structs) == {"first_name"}  # lite: no institution tries
        _cache_file(Path(cache_path)).parent.mkdir(parents=True, exist_ok=True)
        _cache_file(Path(cache_path)).write_bytes(b"lite")

    monkeypatch.setattr(deduce, "Deduce", _FakeDeduce)
    monkeypatch.setattr(structs_module, "get_lookup_structs", fake_get)
    monkeypatch.setattr(structs_module, "cache_lookup_structs", fake_save)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _FakeDeduce.calls = []
    home = tmp_path / "home" / "cache" / "deduce"
    shared = shared_cache_dir() / deduce.__version__
    with caplog.at_level("WARNING"):
        model = _load_deduce(home, institutions=False)  # nothing cached: build, share a copy
    assert "building the Dutch name lists once" in caplog.text
    assert built == [home / "full"] and _FakeDeduce.calls == [home / "lite"]
    assert "institution" not in model.config["annotators"]
    assert _cache_file(shared / "lite").read_bytes() == b"lite"
    assert _cache_file(shared / "full").read_bytes() == b"full"
    other = tmp_path / "other" / "cache" / "deduce"
    _load_deduce(other, institutions=False)  # a new home loads the shared copy
    assert _FakeDeduce.calls[-1] == shared / "lite" and len(built) == 1
    model = _load_deduce(home, institutions=True)  # a home with its own cache uses it
    assert _FakeDeduce.calls[-1] == home / "full" and len(built) == 1
    assert "institution" in model.config["annotators"]


def test_known_organisations_and_the_collection_stay(pseudo):
    text = "Het VSBfonds betaalt. Bij Huiskamer Vera kookt Anouk."
    out = pseudo.pseudonymize(text, collection="Huiskamer Vera").text
    assert out == "Het VSBfonds betaalt. Bij Huiskamer Vera kookt [PERSOON-1]."


def test_a_name_found_once_is_removed_everywhere(pseudo):
    text = "Meneer Kowalski woont hier al lang. Ik heb met Kowalski afgesproken bij de schuur."
    result = pseudo.pseudonymize(text)
    assert result.text == (
        "Meneer [PERSOON-1] woont hier al lang. Ik heb met [PERSOON-1] afgesproken bij de schuur."
    )
