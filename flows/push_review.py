"""The ``push_review`` flow: send coded resident segments to Label Studio for review.

One task calls :func:`annotation.push.push` (the code behind ``kracht review push``) with retries
and exponential backoff; push is idempotent, so a retry updates tasks instead of duplicating
them. After the last attempt the flow fails with a message naming the Label Studio URL.
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


@task(name="push-to-label-studio", cache_policy=NO_CACHE,
      retry_condition_fn=retry_unless_unavailable)
def push_segments(home: str | None, collection: str | None) -> dict[str, Any]:
    settings = load_settings(home)
    require_label_studio(settings)
    push = review_function("push", "push")
    store = resources(snapshot(settings)).store
    with client_for(settings) as client:
        return as_counts(push(store, settings, collection=collection, client=client))


@flow(name="push_review", log_prints=False)
def push_review_flow(
    home: str | None = None,
    collection: str | None = None,
    retries: int = DEFAULT_RETRIES,
    retry_delay: float = DEFAULT_RETRY_DELAY,
) -> dict[str, Any]:
    """Push resident segments with their machine tags as predictions to Label Studio."""
    return run_review_step(
        "push_review", push_segments, (home, collection), home=home, collection=collection,
        retries=retries, retry_delay=retry_delay, action="push to",
    )
