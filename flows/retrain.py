"""The ``retrain`` flow: train the theme classifier again on the reviewed annotations.

It calls the training function of :mod:`pipeline.classify` (the code behind ``kracht train``);
the new model is saved with its card, and the next tag run in this process loads it.
"""

from __future__ import annotations

import importlib
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import flow_record, load_settings, resources, snapshot
from flows.review import as_counts, call_supported

#: Where the training function may live (the first one found is used).
TRAIN_FUNCTIONS = (("pipeline.train", "train"), ("pipeline.classify", "train"))


class TrainingUnavailable(RuntimeError):
    """No training function is installed."""


def training_function() -> Any:
    for module, name in TRAIN_FUNCTIONS:
        try:
            fn = getattr(importlib.import_module(module), name, None)
        except ImportError:
            continue
        if callable(fn):
            return fn
    raise TrainingUnavailable(
        "no training function found (looked for "
        + ", ".join(f"{m}.{n}" for m, n in TRAIN_FUNCTIONS) + ")"
    )


@task(name="train-classifier", cache_policy=NO_CACHE)
def train_task(home: str | None, collection: str | None) -> dict[str, Any]:
    settings = load_settings(home)
    res = resources(snapshot(settings))
    result = call_supported(
        training_function(), store=res.store, settings=settings, collection=collection
    )
    res.forget_tagger()
    return as_counts(result)


@flow(name="retrain", log_prints=False)
def retrain_flow(home: str | None = None, collection: str | None = None) -> dict[str, Any]:
    """Retrain on the store's human annotations (all, or one collection's)."""
    settings = load_settings(home)
    store = resources(snapshot(settings)).store
    with flow_record(store, "retrain", {"collection": collection}) as rec:
        rec.counts = train_task(home, collection)
    return rec.counts
