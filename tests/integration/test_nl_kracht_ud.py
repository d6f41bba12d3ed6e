"""The shipped offline Dutch pipeline (models/nl_kracht_ud/pipeline): loading, lemmas, accuracy.

Accuracy is checked on Alpino test, read from ``../shared/ud-dutch`` (build/test material only;
the pipeline itself must not need it). Those tests skip, saying why, when the folder is absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import spacy
from spacy.language import Language

import pipeline.nlp.lemmatizer  # noqa: F401  (registers the kracht factories)
from pipeline.nlp.ud_eval import evaluate, read_conllu

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "nl_kracht_ud" / "pipeline"
UD_DIR = Path(os.environ.get("KRACHT_UD_DUTCH", REPO.parent / "shared" / "ud-dutch"))
ALPINO_TEST = UD_DIR / "nl_alpino-ud-test.conllu"

#: Acceptance thresholds (issue 6), on Alpino test, gold tokenization.
MIN_UPOS = 0.92
MIN_LEMMA_NOCASE = 0.945


@pytest.fixture(scope="module")
def nlp() -> Language:
    assert MODEL.is_dir(), f"shipped pipeline missing at {MODEL}"
    return spacy.load(MODEL)


# Resident-story sentences: (text, {word: (lemma, upos)}).
STORIES = [
    ("we voelden ons gezien", {"voelden": ("voelen", "VERB"), "gezien": ("zien", "VERB")}),
    ("de buren hielpen elkaar", {"buren": ("buur", "NOUN"), "hielpen": ("helpen", "VERB"),
                                 "elkaar": ("elkaar", "PRON")}),
    ("ik durfde het niet", {"durfde": ("durven", "VERB")}),
    ("De kinderen speelden op het plein.", {"kinderen": ("kind", "NOUN"),
                                            "speelden": ("spelen", "VERB")}),
    # "buiten" is parsed as the particle of the separable verb buitenspelen.
    ("De kinderen speelden buiten.", {"speelden": ("buitenspelen", "VERB")}),
    ("Sinds de buurtmoestuin er is, kennen de bewoners elkaar beter.",
     {"kennen": ("kennen", "VERB"), "bewoners": ("bewoner", "NOUN")}),
    ("Mijn buurvrouw bracht vaak soep voor de ouderen.",
     {"buurvrouw": ("buurvrouw", "NOUN"), "bracht": ("brengen", "VERB")}),
    ("Ze nodigde ons uit voor de barbecue.", {"nodigde": ("uitnodigen", "VERB")}),
    ("We hebben de speeltuin samen opgeknapt.", {"opgeknapt": ("opknappen", "VERB")}),
]


@pytest.mark.parametrize(("text", "expected"), STORIES, ids=[s[0][:30] for s in STORIES])
def test_resident_story_lemmas_and_pos(nlp: Language, text: str,
                                       expected: dict[str, tuple[str, str]]) -> None:
    doc = nlp(text)
    got = {t.text: (t.lemma_.lower(), t.pos_) for t in doc if t.text in expected}
    assert got == expected


def test_pipeline_components_and_size() -> None:
    config = (MODEL / "config.cfg").read_text()
    for name in ("tok2vec", "tagger", "morphologizer", "trainable_lemmatizer", "parser",
                 "kracht_combined_lemmatizer"):
        assert f"[components.{name}]" in config
    size_mb = sum(p.stat().st_size for p in MODEL.rglob("*") if p.is_file()) / 1e6
    assert size_mb <= 25, f"pipeline is {size_mb:.1f} MB"
    assert not any("vectors" in p.name and p.stat().st_size > 1e5 for p in MODEL.rglob("*"))


def test_loads_in_fresh_process_without_shared(tmp_path: Path) -> None:
    """As pipeline/nlp/load.py does it, in a new interpreter started outside the repo, with
    an audit hook that fails on any file opened under ../shared."""
    shared = str(REPO.parent / "shared")
    script = textwrap.dedent(f"""
        import json, sys
        opened = []
        def hook(event, args):
            if event == "open" and isinstance(args[0], str) and args[0].startswith({shared!r}):
                opened.append(args[0])
        sys.addaudithook(hook)
        sys.path.insert(0, {str(REPO)!r})
        import spacy
        import pipeline.nlp.lemmatizer  # noqa: F401
        nlp = spacy.load({str(MODEL)!r})
        doc = nlp("de buren hielpen elkaar")
        print(json.dumps({{"lemmas": [t.lemma_ for t in doc], "pipes": nlp.pipe_names,
                           "opened": opened}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["opened"] == []
    assert result["lemmas"][1:3] == ["buur", "helpen"]
    assert result["pipes"][-1] == "kracht_combined_lemmatizer"


@pytest.mark.skipif(not ALPINO_TEST.exists(),
                    reason=f"UD Dutch Alpino test not found at {ALPINO_TEST} "
                           "(set KRACHT_UD_DUTCH to the ud-dutch folder)")
def test_accuracy_on_alpino_test(nlp: Language) -> None:
    sentences = read_conllu(ALPINO_TEST)
    scores = evaluate(nlp, sentences)
    assert scores.tokens == 11046
    assert scores.upos >= MIN_UPOS, scores
    assert scores.lemma_nocase >= MIN_LEMMA_NOCASE, scores
    assert scores.las > 0.6, scores
    assert scores.sent_f > 0.8, scores
