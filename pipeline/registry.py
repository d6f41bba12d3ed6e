"""The model registry: which theme classifiers exist, which one is active, and loading it.

A model is a folder ``<root>/<name>/<version>/`` holding ``model.skops``, ``metrics.json`` and
``MODEL_CARD.md``; it is called ``NAME@VERSION`` (e.g. ``themes@1.0.0``). Two roots are searched:
``<home>/models`` (what ``kracht train --out`` wrote for one user or test) and the project's
``models/`` (what ships, so ``make demo`` has a model without training).

Which model is active, strongest first: ``Settings.model`` (``KRACHT_MODEL`` or ``kracht.toml``),
then the choice saved by ``kracht models use`` in ``<home>/active_model``, then the newest
shipped version. ``Settings.use_model = False`` turns the model off: the tagger runs on rules.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.classify import MODEL_FILE, ThemeClassifier, load_classifier
from pipeline.config import MODELS_DIR, Settings

log = logging.getLogger(__name__)

DEFAULT_NAME = "themes"
ACTIVE_FILE = "active_model"
METRICS_FILE = "metrics.json"
CARD_FILE = "MODEL_CARD.md"
_SPEC = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)@(?P<version>[A-Za-z0-9_.+-]+)$")


class ModelNotFoundError(LookupError):
    """A ``NAME@VERSION`` that no registry root holds; the message lists what is there."""


@dataclass(frozen=True)
class ModelInfo:
    """One registered model folder."""

    name: str
    version: str
    path: Path

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def model_file(self) -> Path:
        return self.path / MODEL_FILE

    def metrics(self) -> dict[str, Any]:
        """``metrics.json`` of the model ({} when absent or unreadable)."""
        try:
            return json.loads((self.path / METRICS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}


def parse_spec(spec: str) -> tuple[str, str]:
    """``themes@1.0.0`` → ``("themes", "1.0.0")``; a bare version means the default name."""
    spec = spec.strip()
    match = _SPEC.match(spec)
    if match:
        return match["name"], match["version"]
    if spec and "@" not in spec and "/" not in spec:
        return DEFAULT_NAME, spec
    raise ValueError(f"model {spec!r} is not NAME@VERSION (e.g. {DEFAULT_NAME}@1.0.0)")


def version_key(version: str) -> tuple[Any, ...]:
    """Sort key: numeric parts numerically (1.10.0 after 1.9.0), the rest as text."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.+-]", version))


def roots(settings: Settings) -> list[Path]:
    """Registry roots, the user's home first (a model trained there shadows a shipped one)."""
    found = [Path(settings.home) / "models", MODELS_DIR]
    unique: list[Path] = []
    for root in found:
        if root.resolve() not in [r.resolve() for r in unique]:
            unique.append(root)
    return unique


def list_models(settings: Settings) -> list[ModelInfo]:
    """Every ``<root>/<name>/<version>/model.skops``, sorted by name and version."""
    seen: dict[str, ModelInfo] = {}
    for root in roots(settings):
        if not root.is_dir():
            continue
        for model_file in sorted(root.glob(f"*/*/{MODEL_FILE}")):
            info = ModelInfo(model_file.parent.parent.name, model_file.parent.name,
                             model_file.parent)
            seen.setdefault(info.spec, info)
    return sorted(seen.values(), key=lambda m: (m.name, version_key(m.version)))


def find(settings: Settings, spec: str) -> ModelInfo:
    """The model folder for ``NAME@VERSION``; ``ModelNotFoundError`` names what exists."""
    name, version = parse_spec(spec)
    for info in list_models(settings):
        if (info.name, info.version) == (name, version):
            return info
    known = ", ".join(m.spec for m in list_models(settings)) or "none"
    raise ModelNotFoundError(f"no model {name}@{version} (known: {known})")


def active_file(settings: Settings) -> Path:
    return Path(settings.home) / ACTIVE_FILE


def active_spec(settings: Settings) -> str | None:
    """The active ``NAME@VERSION`` (see the module docstring for the order), or ``None``."""
    if settings.model:
        return settings.model.strip()
    path = active_file(settings)
    if path.is_file():
        chosen = path.read_text(encoding="utf-8").strip()
        if chosen:
            return chosen
    shipped = [m for m in list_models(settings) if m.name == DEFAULT_NAME]
    return shipped[-1].spec if shipped else None


def use(settings: Settings, spec: str) -> ModelInfo:
    """Make ``spec`` the active model for this home (checked: it must exist and load)."""
    info = find(settings, spec)
    load_classifier(info.model_file)
    path = active_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(info.spec + "\n", encoding="utf-8")
    return info


def load(settings: Settings, spec: str | None = None) -> ThemeClassifier:
    """Load ``spec`` (or the active model); the classifier's name/version are the folder's."""
    chosen = spec or active_spec(settings)
    if chosen is None:
        raise ModelNotFoundError("no theme model is registered (train one: kracht train)")
    info = find(settings, chosen)
    classifier = load_classifier(info.model_file)
    classifier.name, classifier.version = info.name, info.version
    return classifier


def load_active(settings: Settings, codebook_hash: str | None = None) -> ThemeClassifier | None:
    """The classifier the tagger should use, or ``None`` (model off, or none registered).

    A chosen model that is missing or refused is an error, not a silent fallback to rules: a
    researcher who asked for a model must not get rule-only codes without knowing it. A model
    trained under another codebook still loads (its rule signals came from other patterns), with
    a warning to retrain.
    """
    if not settings.use_model:
        return None
    if active_spec(settings) is None:
        log.warning("no theme model registered: tagging with rules only")
        return None
    classifier = load(settings)
    trained_on = classifier.metadata.get("codebook_hash")
    if codebook_hash and trained_on and trained_on != codebook_hash:
        log.warning("model %s@%s was trained with codebook %s, tagging uses %s: retrain it "
                    "(kracht train)", classifier.name, classifier.version, trained_on[:12],
                    codebook_hash[:12])
    return classifier
