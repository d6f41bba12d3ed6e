"""The ``pull_review`` flow: bring reviewers' annotations from Label Studio into the store.

One task calls :func:`annotation.pull.pull` (the code behind ``kracht review pull``) with retries
and exponential backoff; annotations are upserted by their Label Studio id, so a retry or a
re-run never loses or doubles one.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import load_settings, resources, snapshot
from flows.review import (
    DEFAULT_RETRIES,
    DEFAULT_RETRY_DELAY,
    as_counts,
    client_for,
    require_label_studio,
    retry_unless_unavailable,
    review_function,
    run_review_step,
)


@task(name="pull-from-label-studio", cache_policy=NO_CACHE,
      retry_condition_fn=retry_unless_unavailable)
def pull_annotations(home: str | None) -> dict[str, Any]:
    settings = load_settings(home)
    require_label_studio(settings)
    pull = review_function("pull", "pull")
    store = resources(snapshot(settings)).store
    with client_for(settings) as client:
        return as_counts(pull(store, settings, client=client))


@flow(name="pull_review", log_prints=False)
def pull_review_flow(
    home: str | None = None,
    collection: str | None = None,
    retries: int = DEFAULT_RETRIES,
    retry_delay: float = DEFAULT_RETRY_DELAY,
) -> dict[str, Any]:
    """Pull annotations (upsert by Label Studio id; cancelled ones dropped).

    ``collection`` only labels the run (schedules per collection); Label Studio holds one project.
    """
    return run_review_step(
        "pull_review", pull_annotations, (home,), home=home, collection=collection,
        retries=retries, retry_delay=retry_delay, action="pull from",
    )
