"""The tagger: segments in, themes with score, polarity and evidence out (design §5).

Everything that codes text goes through :class:`Tagger`: ``kracht tag``, the Python API
``kracht.tag_texts``, the flows and the benchmarks, so they cannot drift apart. Rule evidence
comes from the spaCy components (theme matcher → negation/hedging scope → polarity); a
scikit-learn classifier (``pipeline/classify.py``, a later issue) plugs in as ``classifier`` and
:func:`merge` is the one place where rule evidence and model probabilities become final themes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar

from pydantic import BaseModel
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.codebook import Codebook, load_codebook
from pipeline.config import Settings
from pipeline.nlp.load import load_nlp
from pipeline.nlp.polarity import combine
from pipeline.nlp.themes import (
    CODE,
    CUED,
    END,
    HEDGED,
    MATCHES,
    NEGATED,
    PATTERN,
    POLARITY,
    START,
    WEIGHT,
    noisy_or,
)
from pipeline.schema import EvidenceSpan, TagInput, TagOutput, Theme

log = logging.getLogger(__name__)

#: Speaker labels whose words are coded; no speaker at all counts as a resident (plain texts).
CODED_SPEAKERS = frozenset({"resident", "bewoner", "respondent", "deelnemer"})
THEME_COMPONENTS = ("kracht_themes", "kracht_context", "kracht_polarity")


def is_coded_speaker(speaker: str | None) -> bool:
    """Interviewer and other speakers are never coded (design §3); residents and unknown are."""
    return not speaker or speaker.strip().lower() in CODED_SPEAKERS


class ThemeClassifier(Protocol):
    """What the tagger needs from a trained classifier (``pipeline/classify.py``).

    Optional, used by :func:`merge` when present: ``probabilities(prediction, evidence)`` (a
    stack over text and rule signals), ``polarity(code, prediction, items, rule_polarity)`` and
    ``evidence(text, code)`` (spans for a model-only code).
    """

    name: str
    version: str

    def predict(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Calibrated probability per code id for each text."""

    def threshold(self, code: str) -> float:
        """Probability from which ``code`` is assigned."""


class RuleEvidence(NamedTuple):
    """One rule match in one segment, as the merge step sees it.

    A ``NamedTuple``, not a frozen dataclass: one is built for every match of every segment, and
    a frozen dataclass pays an ``object.__setattr__`` per field (three times the cost). It is as
    immutable and reads the same (``.code``, ``.weight``, ``.pattern`` ...).
    """

    code: str
    start: int
    end: int
    weight: float
    polarity: str
    cued: bool
    negated: bool
    hedged: bool
    pattern: str


def rule_evidence(doc: Doc, records: Sequence[Sequence[Any]] | None = None
                  ) -> dict[str, list[RuleEvidence]]:
    """Rule matches of a processed doc (or its ``records``), grouped by code, in text order."""
    grouped: dict[str, list[RuleEvidence]] = {}
    for record in doc.user_data.get(MATCHES) or () if records is None else records:
        first, last = doc[record[START]], doc[record[END] - 1]
        item = RuleEvidence(record[CODE], first.idx, last.idx + len(last), record[WEIGHT],
                            record[POLARITY] or "neutral", record[CUED], record[NEGATED],
                            record[HEDGED], record[PATTERN])
        items = grouped.get(item.code)
        if items is None:
            grouped[item.code] = [item]
        else:
            items.append(item)
    return grouped


def rule_score(evidence: Sequence[RuleEvidence]) -> float:
    """Noisy-or over distinct patterns: weak cues (weight 0.4) need company to pass 0.5."""
    best: dict[str, float] = {}
    for item in evidence:
        best[item.pattern] = max(best.get(item.pattern, 0.0), item.weight)
    return noisy_or(best.values())


def rule_polarity(evidence: Sequence[RuleEvidence]) -> str:
    """The rules' polarity for one code in one segment (``neutral`` without evidence): what the
    merge uses, and what the classifier's polarity step was trained on as the rules' say."""
    return combine([(e.polarity, e.cued) for e in evidence]) if evidence else "neutral"


def merge(
    text: str,
    codebook: Codebook,
    evidence: Mapping[str, Sequence[RuleEvidence]],
    probabilities: Mapping[str, float] | None = None,
    classifier: ThemeClassifier | None = None,
) -> list[Theme]:
    """The one place where rule evidence and model probabilities become final themes.

    Rules only (``probabilities is None``): a code is assigned when its rule score reaches the
    codebook ``threshold``; score = rule score, polarity and evidence from the rules.

    With a model, ``probabilities`` is what ``classifier.predict`` returned for this text:

    * a stacking classifier (one with ``probabilities(prediction, evidence)``, as
      ``pipeline/classify.py``) folds the rule evidence in itself; a code is assigned when that
      final probability reaches ``classifier.threshold(code)``, which was tuned on exactly these
      probabilities, and the probability is the score;
    * a plain classifier: a code is assigned when its probability reaches the threshold *or*
      the rules alone reach theirs; the score is the larger of the two.

    Polarity comes from ``classifier.polarity(...)`` when the classifier has it, else from the
    rules (``neutral`` for a model-only code). Evidence comes from the rules, else from
    ``classifier.evidence(text, code)`` when available, else none (to be reviewed).
    Themes come in codebook order.
    """
    model = classifier if probabilities is not None else None
    if model is None:
        return _rule_themes(text, codebook, evidence)
    predicted: Mapping[str, float] = probabilities or {}
    stack = getattr(model, "probabilities", None)
    stacked = stack(predicted, evidence) if stack is not None else None
    if stacked is not None:
        return _stacked_themes(text, codebook, evidence, predicted, stacked, model)
    themes: list[Theme] = []
    for code in codebook.codes:  # a plain classifier: rules or model may assign
        items = evidence.get(code.id, ())
        score = rule_score(items) if items else 0.0
        probability = float(predicted.get(code.id, 0.0))
        if score < codebook.threshold and probability < model.threshold(code.id):
            continue
        themes.append(_model_theme(text, code.id, max(score, probability), items, predicted,
                                   model))
    return themes


def _model_theme(text: str, code: str, score: float, items: Sequence[RuleEvidence],
                 predicted: Mapping[str, float], model: Any) -> Theme:
    """An assigned code with a model on: polarity from the model when it has a polarity step
    (else the rules'), evidence from the rules or else from the model."""
    polarity = rule_polarity(items)
    if hasattr(model, "polarity"):
        polarity = model.polarity(code, predicted, items, polarity)
    spans = _spans(text, items)
    if not spans and hasattr(model, "evidence"):
        spans = model.evidence(text, code)
    return _theme(code, score, polarity, spans)


def _theme(code: str, score: float, polarity: str, spans: list[EvidenceSpan]) -> Theme:
    """A final theme; every field is built by ``merge``, so validation would only cost time."""
    return trusted(Theme, {"code": code, "score": min(1.0, max(0.0, score)),
                           "polarity": polarity, "evidence": spans})


def _stacked_themes(
    text: str,
    codebook: Codebook,
    evidence: Mapping[str, Sequence[RuleEvidence]],
    predicted: Mapping[str, float],
    stacked: Mapping[str, float],
    model: Any,
) -> list[Theme]:
    """``merge`` with a stacking classifier: the stacked probability alone decides, so rule
    polarity, model polarity and evidence are only worked out for the codes that are assigned
    (a handful of the 14); otherwise the same steps as ``merge``."""
    return [
        _model_theme(text, code.id, score, evidence.get(code.id, ()), predicted, model)
        for code in codebook.codes
        if (score := float(stacked.get(code.id, 0.0))) >= model.threshold(code.id)
    ]


def _rule_themes(
    text: str, codebook: Codebook, evidence: Mapping[str, Sequence[RuleEvidence]]
) -> list[Theme]:
    """``merge`` without a model: only codes with evidence can reach the (positive) threshold,
    so the others are skipped without scoring; otherwise the same steps as ``merge``."""
    themes: list[Theme] = []
    threshold = codebook.threshold
    for code in codebook.codes:
        items = evidence.get(code.id)
        if not items:
            continue
        score = rule_score(items)
        if score < threshold:
            continue
        themes.append(_theme(code.id, score, rule_polarity(items), _spans(text, items)))
    return themes


def _spans(text: str, items: Sequence[RuleEvidence]) -> list[EvidenceSpan]:
    if len(items) == 1:  # the usual case: nothing to sort or to deduplicate
        start, end = items[0].start, items[0].end
        return [trusted(EvidenceSpan, {"start": start, "end": end, "text": text[start:end]})]
    seen: set[tuple[int, int]] = set()
    spans: list[EvidenceSpan] = []
    for item in sorted(items, key=lambda e: (e.start, e.end)):
        key = (item.start, item.end)
        if key not in seen:
            seen.add(key)
            spans.append(
                trusted(EvidenceSpan,
                        {"start": item.start, "end": item.end, "text": text[item.start:item.end]})
            )
    return spans


Model = TypeVar("Model", bound=BaseModel)
_set_slot = object.__setattr__


def trusted(model: type[Model], fields: dict[str, Any]) -> Model:
    """``model.model_construct(**fields)`` for a flat model given all of its fields, in order.

    Why: a TagOutput per segment and a Theme and an EvidenceSpan per assigned code; pydantic's
    ``model_construct`` walks every field's aliases and defaults for each and costs 2.5 times
    this. The instance state is the same (no aliases, defaults, private attributes or
    ``extra="allow"`` in these models; the speed equivalence test compares it with
    ``model_construct``).
    """
    instance = model.__new__(model)
    _set_slot(instance, "__dict__", fields)
    _set_slot(instance, "__pydantic_fields_set__", set(fields))
    _set_slot(instance, "__pydantic_extra__", None)
    _set_slot(instance, "__pydantic_private__", None)
    return instance


def add_theme_components(nlp: Language, codebook: Codebook) -> None:
    """Append matcher, negation scope and polarity, configured from the codebook file."""
    path = Path(codebook.path)
    if not path.is_file():
        raise ValueError(f"the theme components read the codebook from a file, not {path}")
    config = {"codebook": str(path)}
    for name in THEME_COMPONENTS:
        if name in nlp.pipe_names:
            nlp.remove_pipe(name)
    nlp.add_pipe("kracht_themes", config={**config, "skip_questions": True})
    nlp.add_pipe("kracht_context")
    nlp.add_pipe("kracht_polarity", config=config)


class Tagger:
    """Codes segments with the codebook: rules now, rules + classifier once one is trained."""

    def __init__(
        self,
        nlp: Language,
        codebook: Codebook,
        classifier: ThemeClassifier | None = None,
        *,
        nlp_name: str = "",
        batch_size: int = 256,
    ) -> None:
        # Importing the component modules registers their factories with spaCy.
        from pipeline.nlp import negation, polarity, themes  # noqa: F401

        if "kracht_themes" not in nlp.pipe_names:
            add_theme_components(nlp, codebook)
        self.nlp = nlp
        self.codebook = codebook
        self.classifier = classifier
        self.nlp_name = nlp_name or _named(nlp)
        self.batch_size = batch_size

    @classmethod
    def from_settings(cls, settings: Settings, codebook: str | Path | None = None) -> Tagger:
        """Pipeline from ``settings.nlp``, codebook from ``settings.codebook`` (or the argument),
        classifier: the registry's active model unless ``settings.use_model`` is off."""
        from pipeline.registry import load_active  # reads skops files: only when a tagger is built

        book = load_codebook(codebook or settings.codebook)
        nlp, name = load_nlp(settings)
        log.info("tagger: codebook %s %s (%s), pipeline %s",
                 book.name, book.version, book.hash[:12], name)
        classifier = load_active(settings, book.hash)
        return cls(nlp, book, classifier, nlp_name=name, batch_size=settings.batch_size)

    @property
    def source(self) -> str:
        """Provenance stored on every tag."""
        if self.classifier is not None:
            return f"model:{self.classifier.name}@{self.classifier.version}"
        return f"rules@{self.codebook.version}"

    def tag(
        self, items: Iterable[TagInput], batch_size: int | None = None, n_process: int = 1
    ) -> Iterator[TagOutput]:
        """Stream one output per input, in input order; other speakers get no themes."""
        size = batch_size or self.batch_size
        stream = ((item.text if is_coded_speaker(item.speaker) else "", item) for item in items)
        docs = self.nlp.pipe(stream, as_tuples=True, batch_size=size, n_process=n_process)
        if self.classifier is None:
            for doc, item in docs:
                yield self._output(doc, item, None)
            return
        while chunk := list(islice(docs, size)):
            # The texts that went into the pipe, not ``doc.text``: spaCy rebuilds that string
            # token by token, which cost as much as the classifier's feature step.
            texts = [item.text if is_coded_speaker(item.speaker) else "" for _, item in chunk]
            predicted = self.classifier.predict(texts)
            for (doc, item), text, probabilities in zip(chunk, texts, predicted, strict=True):
                yield self._output(doc, item, probabilities if text.strip() else None)

    def _output(
        self, doc: Doc, item: TagInput, probabilities: Mapping[str, float] | None
    ) -> TagOutput:
        records = doc.user_data.get(MATCHES)
        if not records and probabilities is None:
            return trusted(TagOutput, {"id": item.id, "themes": []})
        themes = merge(item.text, self.codebook, rule_evidence(doc, records or ()),
                       probabilities, self.classifier)
        return trusted(TagOutput, {"id": item.id, "themes": themes})

    def tag_texts(self, texts: Sequence[str]) -> list[list[Theme]]:
        """Themes for plain resident texts (the public ``kracht.tag_texts``)."""
        items = (TagInput(id=str(i), text=text) for i, text in enumerate(texts))
        return [output.themes for output in self.tag(items)]


def _named(nlp: Language) -> str:
    meta: dict[str, Any] = nlp.meta or {}
    return f"{meta.get('lang', 'xx')}_{meta.get('name', 'pipeline')}@{meta.get('version', '0')}"
