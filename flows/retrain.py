"""The ``retrain`` flow: train the theme classifier again, with the reviewed annotations.

It calls :func:`pipeline.training.train` (the code behind ``kracht train``) with the reviewed
segments from :func:`annotation.pull.reviewed_examples`, writes the model under
``KRACHT_HOME/models`` with a version above every registered one, and (``activate``) makes it
the active model, so the next ``tag`` run codes the segments again under the new model's source;
older tags stay, with their provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import flow_record, load_settings, resources, snapshot


def next_version(settings: Any) -> str:
    """One patch version above the newest ``themes`` model in any registry root."""
    from pipeline.registry import DEFAULT_NAME, roots, version_key
    from pipeline.training import next_version as next_in_root

    return max((next_in_root(root, DEFAULT_NAME) for root in roots(settings)), key=version_key)


@task(name="train-classifier", cache_policy=NO_CACHE)
def train_task(home: str | None, activate: bool) -> dict[str, Any]:
    from annotation.pull import reviewed_examples
    from pipeline import registry
    from pipeline.training import train

    settings = load_settings(home)
    res = resources(snapshot(settings))
    result = train(
        settings, reviewed=reviewed_examples(res.store),
        out_root=Path(settings.home) / "models", version=next_version(settings),
    )
    if activate:
        registry.use(settings, result.spec)
        res.forget_tagger()
    metrics = result.metrics
    counts: dict[str, Any] = {
        "model": result.spec,
        "activated": activate,
        "examples": metrics.get("data", {}).get("examples"),
        "reviewed_examples": metrics.get("data", {}).get("reviewed_examples"),
        "oof_macro_f1": metrics.get("out_of_fold", {}).get("macro_f1"),
    }
    test = metrics.get("test") or {}
    if isinstance(test, dict):
        counts["test"] = {k: v for k, v in test.items() if isinstance(v, int | float | str)}
    return counts


@flow(name="retrain", log_prints=False)
def retrain_flow(home: str | None = None, activate: bool = True) -> dict[str, Any]:
    """Retrain on the training files plus the store's reviewed annotations."""
    settings = load_settings(home)
    store = resources(snapshot(settings)).store
    with flow_record(store, "retrain", {"activate": activate}) as rec:
        rec.counts = train_task(home, activate)
    return rec.counts
