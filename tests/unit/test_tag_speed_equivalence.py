"""The batched theme matcher (``ThemeMatcher.pipe``) gives exactly the per-doc records.

``nlp.pipe`` runs the numpy batch path, ``nlp(text)`` the per-doc one; the batch path prunes
tries with arrays (sequences whose words are not all in the doc, codes that cannot reach the
rule threshold), so both are compared record by record, view by view and span by span on texts
with the awkward cases: CRLF, emoji, non-breaking spaces, questions, negation, empty texts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from spacy.tokens import Doc

from pipeline.config import PROJECT_ROOT, get_settings
from pipeline.nlp.themes import MATCHES, SPANS_KEY, VIEW, ThemeMatcher, unique_words
from pipeline.tagger import THEME_COMPONENTS, Tagger

HANDMADE = [
    "",
    " ",
    "\r\n",
    "Ik voel me niet meer zo eenzaam sinds de koffieochtend in de buurtkamer.\r\nFijn!",
    "Voel jij je eenzaam?",
    "Voel jij je\u00a0eenzaam? Ik wel, soms. Niemand komt meer langs 😢.",
    "Sinds\u00a0de\u00a0buurtkamer\u00a0open is zit ik niet meer alleen thuis 😀🎉",
    "We doen het zelf, niet de gemeente. Niet van ons, zeggen ze?",
    "Eerst was ik heel eenzaam, nu kom ik elke week naar het buurthuis.",
    "De wijkagent en de corporatie overleggen met de bewonerscommissie. Kon.",
    "Ik kan dat! Dat ik dat kon, wist ik niet... wie wat kon.",
    "geen probleem, niet alleen ik maar iedereen doet mee\r\n\r\nmet z'n allen",
    "Het fonds stopt: de stekker eruit, elk jaar weer opnieuw aanvragen.",
    "🙂",
    "?",
    "Alleen alleen alleen alleen eenzaam eenzaam niet niet niet.",
]


def labeled_texts(limit: int = 400) -> list[str]:
    """Texts of the labeled dev files (never test), when they are there."""
    texts: list[str] = []
    for path in sorted((PROJECT_ROOT / "data" / "dev").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    return texts[:limit]


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger.from_settings(get_settings(nlp="blank", use_model=False))


def matched(doc: Doc) -> tuple[Any, Any, list[tuple[int, int, str]]]:
    spans = doc.spans.get(SPANS_KEY, [])
    return (doc.user_data.get(MATCHES), doc.user_data.get(VIEW),
            [(span.start, span.end, span.label_) for span in spans])


def per_doc(tagger: Tagger, texts: list[str]) -> list[Any]:
    matcher = tagger.nlp.get_pipe("kracht_themes")
    with tagger.nlp.select_pipes(disable=list(THEME_COMPONENTS)):
        return [matched(matcher(tagger.nlp(text))) for text in texts]


def batched(tagger: Tagger, texts: list[str], batch_size: int) -> list[Any]:
    matcher: ThemeMatcher = tagger.nlp.get_pipe("kracht_themes")
    with tagger.nlp.select_pipes(disable=list(THEME_COMPONENTS)):
        docs = list(tagger.nlp.pipe(texts))
    return [matched(doc) for doc in matcher.pipe(docs, batch_size=batch_size)]


@pytest.mark.parametrize("batch_size", [1, 3, 256])
@pytest.mark.parametrize("min_score", [None, 0.0, 0.9])
def test_batch_records_equal_per_doc(tagger: Tagger, batch_size: int,
                                     min_score: float | None) -> None:
    matcher: ThemeMatcher = tagger.nlp.get_pipe("kracht_themes")
    saved = matcher.min_score
    if min_score is not None:
        matcher.min_score = min_score
    try:
        texts = HANDMADE + labeled_texts() + HANDMADE
        expected = per_doc(tagger, texts)
        assert any(records for records, _, _ in expected), "the texts should match patterns"
        assert batched(tagger, texts, batch_size) == expected
    finally:
        matcher.min_score = saved


def test_full_pipeline_outputs_equal_per_doc(tagger: Tagger) -> None:
    """Through all three components: ``nlp.pipe`` and ``nlp(text)`` code texts the same."""
    texts = HANDMADE + labeled_texts(200)
    piped = [doc.user_data.get(MATCHES) for doc in tagger.nlp.pipe(texts, batch_size=7)]
    single = [tagger.nlp(text).user_data.get(MATCHES) for text in texts]
    assert piped == single
    assert [doc._.theme_matches for doc in tagger.nlp.pipe(texts[:20])] == single[:20]


def test_unique_words_is_exact_on_a_mix_collision() -> None:
    """Two (lower, lemma) pairs with the same mixed key are still told apart."""
    import numpy as np

    mix = int(np.uint64(0x9E3779B97F4A7C15))
    a, b = 12345, 67890
    # lower ^ (lemma * mix) collides for (a ^ (b * mix), b) and (a, 0)
    lower2 = a ^ ((b * mix) % 2**64)
    table = np.array([[a, 0, 1], [lower2, b, 1], [a, 0, 1]], dtype=np.uint64)
    first, inverse = unique_words(table)
    pairs = [tuple(row) for row in table[first, :2].tolist()]
    assert sorted(pairs) == sorted({(a, 0), (lower2, b)})
    assert inverse[0] == inverse[2] != inverse[1]


def test_tag_cli_path_streams_same_json(tagger: Tagger, tmp_path: Path) -> None:
    """``run_tag`` (the CLI path) writes what the per-item API returns."""
    from kracht.commands.tag import run_tag

    texts = HANDMADE + labeled_texts(100)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"s{i}", "text": t}, ensure_ascii=False) + "\n"
                              for i, t in enumerate(texts)), encoding="utf-8")
    sink = tmp_path / "out.jsonl"
    with source.open("rb") as src, sink.open("wb") as dst:
        run_tag(tagger, src, dst, batch_size=5)
    lines = sink.read_text(encoding="utf-8").splitlines()
    expected = [tagger.tag_texts([t])[0] for t in texts]
    assert [json.loads(line)["themes"] for line in lines] == [
        [theme.model_dump() for theme in themes] for themes in expected
    ]


def test_trusted_models_equal_model_construct() -> None:
    """``trusted`` (the tagger's cheap ``model_construct``) leaves the same instance state."""
    from pipeline.schema import EvidenceSpan, TagOutput, Theme
    from pipeline.tagger import trusted

    span = {"start": 3, "end": 10, "text": "eenzaam"}
    theme = {"code": "eenzaamheid", "score": 0.9, "polarity": "negative",
             "evidence": [EvidenceSpan.model_construct(**span)]}
    output = {"id": "s1", "themes": [Theme.model_construct(**theme)]}
    for model, fields in ((EvidenceSpan, span), (Theme, theme), (TagOutput, output)):
        fast, slow = trusted(model, dict(fields)), model.model_construct(**fields)
        assert type(fast) is model
        assert fast.__getstate__() == slow.__getstate__()
        assert fast.model_dump_json() == slow.model_dump_json()
        assert fast == slow


def test_combine_single_item_matches_general_rule() -> None:
    """``combine``'s one-item shortcut answers what the set rule answers."""
    from pipeline.nlp.polarity import combine

    for polarity in ("positive", "negative", "neutral", "mixed", "other"):
        for cued in (True, False):
            general = combine([(polarity, cued), (polarity, cued)])  # two: the general rule
            assert combine([(polarity, cued)]) == general
