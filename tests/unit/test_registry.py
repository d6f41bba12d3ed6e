"""The model registry: NAME@VERSION folders, the active model and its overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline import registry
from pipeline.classify import MODEL_FILE
from pipeline.codebook import load_codebook
from pipeline.config import DEFAULT_CODEBOOK, Settings
from pipeline.nlp.load import blank_nlp
from pipeline.tagger import Tagger
from pipeline.training import DATA_DIR, canonical, fit_classifier, read_examples, rule_evidence_for


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One small trained model file, copied into each test's home."""
    nlp, name = blank_nlp()
    tagger = Tagger(nlp, load_codebook(DEFAULT_CODEBOOK), nlp_name=name)
    examples = canonical(read_examples([DATA_DIR / "train" / "a.jsonl"]), tagger.codebook)
    evidence = rule_evidence_for(tagger, [e.text for e in examples])
    classifier, _ = fit_classifier(examples, evidence, tagger.codebook.ids, folds=3,
                                   polarity=False)
    path = classifier.save(tmp_path_factory.mktemp("m") / MODEL_FILE)
    return path.read_bytes()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared fixture with the model on, whatever KRACHT_USE_MODEL says outside."""
    return settings.model_copy(update={"use_model": True, "model": None})


def _install(settings: Settings, model_bytes: bytes, name: str, version: str) -> Path:
    folder = Path(settings.home) / "models" / name / version
    folder.mkdir(parents=True)
    (folder / MODEL_FILE).write_bytes(model_bytes)
    (folder / "metrics.json").write_text(json.dumps({"model": f"{name}@{version}"}))
    return folder


def test_parse_spec() -> None:
    assert registry.parse_spec("themes@1.2.0") == ("themes", "1.2.0")
    assert registry.parse_spec("1.2.0") == ("themes", "1.2.0")
    with pytest.raises(ValueError, match="NAME@VERSION"):
        registry.parse_spec("a@b@c")


def test_versions_sort_numerically() -> None:
    versions = ["1.10.0", "1.2.0", "1.9.1", "2.0.0"]
    assert sorted(versions, key=registry.version_key) == ["1.2.0", "1.9.1", "1.10.0", "2.0.0"]


def test_list_use_and_load(settings: Settings, model_bytes: bytes) -> None:
    _install(settings, model_bytes, "themes", "9.0.1")
    _install(settings, model_bytes, "themes", "9.0.10")
    specs = [m.spec for m in registry.list_models(settings)]
    assert specs.index("themes@9.0.1") < specs.index("themes@9.0.10")

    info = registry.use(settings, "themes@9.0.1")
    assert (Path(settings.home) / "active_model").read_text().strip() == "themes@9.0.1"
    assert registry.active_spec(settings) == "themes@9.0.1"
    classifier = registry.load_active(settings)
    assert classifier is not None
    assert (classifier.name, classifier.version) == ("themes", "9.0.1")
    assert info.metrics() == {"model": "themes@9.0.1"}


def test_settings_model_overrides_the_saved_choice(settings: Settings, model_bytes: bytes
                                                   ) -> None:
    _install(settings, model_bytes, "themes", "9.0.1")
    _install(settings, model_bytes, "themes", "9.0.2")
    registry.use(settings, "themes@9.0.1")
    override = settings.model_copy(update={"model": "themes@9.0.2"})
    assert registry.active_spec(override) == "themes@9.0.2"
    assert registry.load_active(override).version == "9.0.2"


def test_model_off_and_unknown_model(settings: Settings, model_bytes: bytes) -> None:
    _install(settings, model_bytes, "themes", "9.0.1")
    off = settings.model_copy(update={"use_model": False, "model": "themes@9.0.1"})
    assert registry.load_active(off) is None
    with pytest.raises(registry.ModelNotFoundError, match=r"no model themes@0\.0\.9"):
        registry.use(settings, "themes@0.0.9")
    missing = settings.model_copy(update={"model": "themes@0.0.9"})
    with pytest.raises(registry.ModelNotFoundError, match=r"known: .*themes@9\.0\.1"):
        registry.load_active(missing)


def test_use_refuses_a_tampered_model(settings: Settings, model_bytes: bytes) -> None:
    from pipeline.classify import UntrustedModelError

    folder = _install(settings, model_bytes, "themes", "9.0.3")
    (folder / MODEL_FILE).write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(UntrustedModelError, match=r"9\.0\.3"):
        registry.use(settings, "themes@9.0.3")
    assert not (Path(settings.home) / "active_model").exists()


def test_cli_train_list_use(settings: Settings, tmp_path: Path) -> None:
    """``kracht train --out`` into a home, then ``models list`` and ``models use`` find it."""
    from typer.testing import CliRunner

    from kracht.cli import app

    home = Path(settings.home)
    runner = CliRunner()
    result = runner.invoke(app, [
        "train", "--data", str(DATA_DIR / "train" / "a.jsonl"), "--test",
        str(DATA_DIR / "dev" / "a.jsonl"), "--out", str(home / "models"), "--version", "0.0.7",
        "--home", str(home),
    ])
    assert result.exit_code == 0, result.output
    folder = home / "models" / "themes" / "0.0.7"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["data"]["examples"] == 330
    assert metrics["test"]["systems"][-1]["system"] == "model:themes@0.0.7"
    assert metrics["test"]["systems"][-1]["interviewer_coded"] == 0
    assert "themes@0.0.7" in (folder / "MODEL_CARD.md").read_text()

    listed = runner.invoke(app, ["models", "list", "--home", str(home)])
    assert listed.exit_code == 0 and "themes@0.0.7" in listed.output
    used = runner.invoke(app, ["models", "use", "themes@0.0.7", "--home", str(home)])
    assert used.exit_code == 0, used.output
    assert registry.active_spec(settings) == "themes@0.0.7"
    missing = runner.invoke(app, ["models", "use", "themes@0.0.8", "--home", str(home)])
    assert missing.exit_code == 2
