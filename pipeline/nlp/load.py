"""Choose and load the Dutch spaCy pipeline the tagger runs on (design §4).

Order for ``settings.nlp == "auto"``: ``nl_core_news_md`` when installed; else the project's own
pipeline trained on UD Dutch (``models/nl_kracht_ud/pipeline``); else ``spacy.blank("nl")`` with a
sentencizer and the simplemma lemmatizer, which needs no model at all. ``"blank"`` forces the
last one, anything else is a spaCy package name or a path. The returned name (e.g.
``nl_kracht_ud@0.1.0``) is logged and stored on every run so results can be traced to the
pipeline that made them.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from pathlib import Path

import spacy
from spacy.language import Language

from pipeline.config import MODELS_DIR, Settings

log = logging.getLogger(__name__)

CORE_PACKAGE = "nl_core_news_md"
UD_PIPELINE = MODELS_DIR / "nl_kracht_ud" / "pipeline"
BLANK_NAME = "blank:nl+simplemma"
SENTENCE_SETTERS = ("parser", "senter", "sentencizer")


def _lemmatizer_factories() -> bool:
    """Import the project's lemmatizer module so its factories are registered with spaCy."""
    try:
        importlib.import_module("pipeline.nlp.lemmatizer")
    except ImportError as exc:  # the other stage's module is missing or broken
        log.warning("pipeline.nlp.lemmatizer unavailable (%s): lemmas come from nothing", exc)
        return False
    return True


def blank_nlp() -> tuple[Language, str]:
    """``spacy.blank("nl")`` + sentencizer + simplemma lemmas: works offline, without models."""
    nlp = spacy.blank("nl")
    nlp.add_pipe("sentencizer")
    if _lemmatizer_factories():
        nlp.add_pipe("kracht_simplemma_lemmatizer")
        return nlp, BLANK_NAME
    return nlp, "blank:nl"


def _named(nlp: Language, fallback: str) -> str:
    meta = nlp.meta or {}
    name = meta.get("name") or fallback
    lang = meta.get("lang")
    if lang and not name.startswith(f"{lang}_"):
        name = f"{lang}_{name}"
    return f"{name}@{meta.get('version', '0.0.0')}"


def _load(target: str | Path) -> tuple[Language, str]:
    _lemmatizer_factories()
    nlp = spacy.load(target)
    return nlp, _named(nlp, Path(str(target)).name)


def load_nlp(settings: Settings) -> tuple[Language, str]:
    """The Dutch pipeline for tagging and what it is; components in ``nlp_disable`` are off."""
    choice = (settings.nlp or "auto").strip()
    if choice == "blank":
        nlp, name = blank_nlp()
    elif choice == "auto":
        if importlib.util.find_spec(CORE_PACKAGE) is not None:
            nlp, name = _load(CORE_PACKAGE)
        elif (UD_PIPELINE / "config.cfg").is_file():
            nlp, name = _load(UD_PIPELINE)
        else:
            nlp, name = blank_nlp()
    else:
        nlp, name = _load(choice)
    prepare_for_tagging(nlp, settings.nlp_disable)
    log.info("loaded spaCy pipeline %s (%s)", name, ", ".join(nlp.pipe_names))
    return nlp, name


def prepare_for_tagging(nlp: Language, disable: list[str]) -> None:
    """Turn off what tagging does not need, keeping sentence boundaries available.

    With the parser off, a trained ``senter`` (off by default in spaCy packages) is switched on;
    without either, a rule-based sentencizer is added: question sentences and negation scope
    both need sentences.
    """
    for name in disable:
        if name in nlp.pipe_names:
            nlp.disable_pipe(name)
    if not any(name in nlp.pipe_names for name in SENTENCE_SETTERS):
        if "senter" in nlp.component_names and "senter" not in disable:
            nlp.enable_pipe("senter")
        else:
            first = nlp.pipe_names[0] if nlp.pipe_names else None
            nlp.add_pipe("sentencizer", before=first) if first else nlp.add_pipe("sentencizer")
