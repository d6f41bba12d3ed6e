"""The theme classifier: trains on a small slice, saves, loads back, refuses tampered files.

One small model is trained per module (the first ~330 lines of training data: every code has
enough positives) on the blank spaCy pipeline, which needs no trained model.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from pipeline.classify import (
    MODEL_FILE,
    STACK_FEATURES,
    ThemeClassifier,
    UntrustedModelError,
    load_classifier,
    stack_features,
)
from pipeline.codebook import load_codebook
from pipeline.config import DEFAULT_CODEBOOK
from pipeline.nlp.load import blank_nlp
from pipeline.tagger import Tagger
from pipeline.training import (
    DATA_DIR,
    best_threshold,
    canonical,
    fit_classifier,
    read_examples,
    rule_evidence_for,
)

SLICE = DATA_DIR / "train" / "a.jsonl"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    nlp, name = blank_nlp()
    return Tagger(nlp, load_codebook(DEFAULT_CODEBOOK), nlp_name=name)


@pytest.fixture(scope="module")
def trained(tagger: Tagger) -> tuple[ThemeClassifier, list]:
    examples = canonical(read_examples([SLICE]), tagger.codebook)
    evidence = rule_evidence_for(tagger, [e.text for e in examples])
    classifier, report = fit_classifier(examples, evidence, tagger.codebook.ids, folds=3,
                                        version="0.0.1")
    assert 0.0 < report.oof_macro_f1 <= 1.0
    return classifier, examples


@pytest.fixture(scope="module")
def model_file(trained: tuple[ThemeClassifier, list], tmp_path_factory: pytest.TempPathFactory
               ) -> Path:
    classifier, _ = trained
    return classifier.save(tmp_path_factory.mktemp("model") / MODEL_FILE)


def test_small_slice_trains_a_loadable_model(trained, model_file: Path, tagger: Tagger) -> None:
    classifier, examples = trained
    loaded = load_classifier(model_file)
    assert loaded.codes == tagger.codebook.ids
    assert loaded.thresholds == classifier.thresholds
    texts = [e.text for e in examples[:20]]
    before = [dict(p) for p in classifier.predict(texts)]
    after = [dict(p) for p in loaded.predict(texts)]
    for a, b in zip(before, after, strict=True):
        assert a.keys() == b.keys()
        assert np.allclose(list(a.values()), list(b.values()))
    # weights are kept in single precision (half the file), in memory as on disk
    heads = loaded.text.named_steps["ovr"].estimators_ + loaded.shared_polarity.estimators_
    assert {h.coef_.dtype for h in heads} == {np.dtype(np.float32)}


def test_tagger_with_model_codes_residents_only_and_names_the_model(trained, tagger) -> None:
    classifier, _ = trained
    with_model = Tagger(tagger.nlp, tagger.codebook, classifier, nlp_name=tagger.nlp_name)
    assert with_model.source == "model:themes@0.0.1"
    from pipeline.schema import TagInput

    text = "Sinds de koffieochtend in de buurtkamer ben ik veel minder eenzaam."
    outputs = list(with_model.tag([
        TagInput(id="r", text=text, speaker="resident"),
        TagInput(id="i", text="Komt u vaak in de buurtkamer? Bent u eenzaam?",
                 speaker="interviewer"),
    ]))
    assert [o.id for o in outputs] == ["r", "i"]
    assert outputs[1].themes == []
    assert outputs[0].themes, "an obvious resident segment gets codes"
    for theme in outputs[0].themes:
        assert 0.0 <= theme.score <= 1.0
        for span in theme.evidence:
            assert text[span.start:span.end] == span.text


def test_model_only_code_gets_a_sentence_as_evidence(trained) -> None:
    classifier, _ = trained
    text = "Het was een mooie dag.  Ik voel me minder eenzaam sinds de koffieochtend! Ja."
    spans = classifier.evidence(text, "eenzaamheid")
    assert len(spans) == 1
    span = spans[0]
    assert text[span.start:span.end] == span.text
    assert "eenzaam" in span.text


def test_probabilities_are_calibrated_numbers(trained, tagger) -> None:
    classifier, examples = trained
    from pipeline.tagger import rule_evidence

    doc = tagger.nlp(examples[1].text)
    probabilities = classifier.probabilities(classifier.predict([doc.text])[0], rule_evidence(doc))
    assert set(probabilities) == set(classifier.codes)
    assert all(0.0 <= p <= 1.0 for p in probabilities.values())


def test_stack_features_shape_and_interactions() -> None:
    decision = np.array([[2.0, -1.0]])
    rules = np.zeros((1, 2, 5))
    rules[0, 0, 0] = 0.9  # code 0: rules fire
    x = stack_features(decision, rules, np.array([[0.25, 0.0]]))
    assert x.shape == (1, 2, len(STACK_FEATURES))
    assert x[0, 0, -3] == pytest.approx(1.8)  # text × rule score
    assert x[0, 0, -2] == 1.0 and x[0, 1, -2] == 0.0  # rules alone would assign code 0 only
    assert x[0, 0, -1] == 0.25 and x[0, 1, -1] == 0.0  # the neighbours' vote


def test_neighbours_vote_on_hand_checked_rows() -> None:
    """Cosine over rare features only, top k, similarity-weighted share of labels."""
    from scipy import sparse

    from pipeline.classify import Neighbours

    # columns: 0 is in every row (frequent: takes no part), 1-3 are rare
    train = sparse.csr_matrix(np.array([
        [1.0, 3.0, 0.0, 0.0],
        [1.0, 0.0, 4.0, 0.0],
        [1.0, 3.0, 4.0, 0.0],
    ] + [[1.0, 0.0, 0.0, 0.0]] * 97))  # 100 rows: column 0 has df 1.0, columns 1-3 df <= 0.02
    labels = np.zeros((100, 2))
    labels[0, 0] = labels[1, 1] = labels[2, 0] = labels[2, 1] = 1.0
    nb = Neighbours.fit(train, labels, k=2, max_df=0.05)
    # a query that shares only column 1: rows 0 (cos 1) and 2 (cos 0.6) are nearest
    query = sparse.csr_matrix(np.array([[5.0, 2.0, 0.0, 0.0]], dtype=np.float32))
    vote = nb.vote(query)
    assert vote[0, 0] == pytest.approx(1.0)  # both neighbours carry code 0
    assert vote[0, 1] == pytest.approx(0.6 / 1.6)  # only row 2 (weight 0.6) carries code 1
    # a query with only the frequent column finds nobody: no vote, no NaN
    assert nb.vote(sparse.csr_matrix(np.array([[1.0, 0, 0, 0]], dtype=np.float32))).tolist() \
        == [[0.0, 0.0]]
    # chunking changes nothing
    many = sparse.vstack([query] * 5).tocsr()
    assert np.allclose(nb.vote(many, chunk=2), np.repeat(vote, 5, axis=0))


def test_best_threshold_on_hand_checked_scores() -> None:
    y = np.array([1, 1, 0, 0, 1, 0])
    p = np.array([0.9, 0.43, 0.4, 0.1, 0.8, 0.3])
    # only 0.425 on the grid (step 0.025) separates 0.43 from 0.4: F1 = 1 there, 6/7 at 0.4
    assert best_threshold(y, p) == pytest.approx(0.425)
    # 0.42 cannot be separated from 0.4 on the grid: 0.4 keeps all positives (F1 6/7 = 0.857)
    # and beats 0.425, which loses one (F1 4/5)
    assert best_threshold(y, np.array([0.9, 0.42, 0.4, 0.1, 0.8, 0.3])) == pytest.approx(0.4)
    # nothing separates: ties are broken towards 0.5
    assert best_threshold(np.array([1, 0]), np.array([0.5, 0.5])) <= 0.5


def test_training_refuses_codes_without_examples(tagger: Tagger) -> None:
    examples = canonical(read_examples([SLICE]), tagger.codebook)[:40]
    evidence = rule_evidence_for(tagger, [e.text for e in examples])
    with pytest.raises(ValueError, match="too few examples"):
        fit_classifier(examples, evidence, tagger.codebook.ids)


# --- tampering -----------------------------------------------------------------------------------


class Evil:
    """A type no kracht model holds."""


def _forest() -> object:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier()


@pytest.mark.parametrize(
    ("make_payload", "name", "refused"),
    [
        (Evil, "evil.skops", r"evil\.skops.*Evil"),
        # skops trusts every scikit-learn estimator by default; the loader does not
        (_forest, "forest.skops", r"forest\.skops.*RandomForestClassifier"),
    ],
    ids=["foreign-type", "scikit-learn-type-a-kracht-model-never-holds"],
)
def test_unexpected_type_is_refused_with_the_file_name(
    trained, tmp_path: Path, make_payload, name: str, refused: str
) -> None:
    import skops.io as sio

    classifier, _ = trained
    state = classifier.to_state()
    state["metadata"] = {**state["metadata"], "payload": make_payload()}
    path = tmp_path / name
    sio.dump(state, path)
    with pytest.raises(UntrustedModelError, match=refused):
        load_classifier(path)


def test_schema_edited_inside_the_archive_is_refused(model_file: Path, tmp_path: Path) -> None:
    tampered = tmp_path / "tampered.skops"
    with zipfile.ZipFile(model_file) as source, zipfile.ZipFile(tampered, "w") as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "schema.json":
                schema = json.loads(data)
                text = json.dumps(schema).replace('"TfidfVectorizer"', '"system"', 1)
                text = text.replace('"sklearn.feature_extraction.text"', '"os"', 1)
                data = text.encode()
            target.writestr(info, data)
    with pytest.raises(UntrustedModelError, match=r"tampered\.skops"):
        load_classifier(tampered)


def test_not_a_model_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.skops"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(UntrustedModelError, match=r"model\.skops"):
        load_classifier(path)


def test_stacked_heads_match_scikit_learn(trained) -> None:
    """``predict`` folds ~30 estimators into one product: it must agree with each of them."""
    from pipeline.classify import polarity_probabilities

    classifier, examples = trained
    texts = [e.text for e in examples[:30]]
    features = classifier.text.named_steps["features"].transform(texts)
    decision = classifier.text.named_steps["ovr"].decision_function(features)
    predictions = classifier.predict(texts)
    assert np.allclose([p.decision for p in predictions], decision)
    for j, model in enumerate(classifier.polarity_models):
        expected = polarity_probabilities(model, features)
        assert np.allclose([p.polarity[j] for p in predictions], expected)
    shared = polarity_probabilities(classifier.shared_polarity, features)
    assert np.allclose([p.shared_polarity for p in predictions], shared)


def test_per_segment_probabilities_match_the_vectorised_stack(trained, tagger) -> None:
    """``probabilities`` is a hand-unrolled copy of the stack used in training: same numbers."""
    from pipeline.classify import rule_matrix, sigmoid
    from pipeline.tagger import rule_evidence

    classifier, examples = trained
    texts = [e.text for e in examples[:40]]
    for prediction, doc in zip(classifier.predict(texts), tagger.nlp.pipe(texts), strict=True):
        evidence = rule_evidence(doc)
        x = stack_features(prediction.decision, rule_matrix(evidence, classifier.codes),
                           prediction.neighbours)
        expected = sigmoid((x * classifier.stack[:, :-1]).sum(axis=1) + classifier.stack[:, -1])
        got = classifier.probabilities(prediction, evidence)
        assert np.allclose([got[c] for c in classifier.codes], expected)


def test_char_tokens_equal_scikit_learn_char_wb() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from pipeline.classify import CHAR_NGRAMS, char_tokens

    reference = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS).build_analyzer()
    for text in ("Ik ben 'n oude  Vrouw\tuit\nDe Pijp, éénzaam?", "u", "", "a bc def ghij",
                 "Zó blij!! Met de buurtkamer…"):
        assert char_tokens(text) == reference(text)


def test_fast_transform_equals_the_feature_union(trained) -> None:
    from pipeline.classify import FastTfidf

    classifier, examples = trained
    union = classifier.text.named_steps["features"]
    texts = [e.text for e in examples[:200]] + ["", "   ", "?", "Onbekendwoord xyzzy!"]
    fast = FastTfidf(union, cache_limit=50)  # small cache: clearing must not change anything
    expected = union.transform(texts)
    for _ in range(2):  # cold and warm cache
        got = fast.transform(texts)
        assert got.shape == expected.shape
        assert abs(got - expected).max() < 1e-6


def test_out_of_fold_splits_hold_out_whole_files() -> None:
    """With a group per file, no file is ever on both sides of a split."""
    from pipeline.training import oof_splits

    groups = ["a"] * 7 + ["b"] * 5 + ["c"] * 9 + ["d"] * 4 + ["e"] * 6 + ["f"] * 3
    splits = oof_splits(len(groups), 5, 0, groups)
    assert len(splits) == 5
    held = np.concatenate([test for _, test in splits])
    assert sorted(held.tolist()) == list(range(len(groups)))  # every example once out of fold
    for train, test in splits:
        assert not {groups[i] for i in train} & {groups[i] for i in test}
    # too few groups for the folds: plain shuffled K-fold over the examples
    mixed = oof_splits(12, 5, 0, ["x"] * 6 + ["y"] * 6)
    assert any({i < 6 for i in test} == {True, False} for _, test in mixed)


def test_examples_keep_the_file_they_came_from(tmp_path: Path) -> None:
    from pipeline.training import read_sourced

    for name, ids in (("one.jsonl", ["p", "q"]), ("two.jsonl", ["r"])):
        (tmp_path / name).write_text("".join(
            json.dumps({"id": i, "text": f"tekst {i}", "speaker": "resident", "themes": {}}) + "\n"
            for i in ids), encoding="utf-8")
    examples, sources = read_sourced([tmp_path])
    assert [e.id for e in examples] == ["p", "q", "r"]
    assert [Path(s).name for s in sources] == ["one.jsonl", "one.jsonl", "two.jsonl"]
