"""The ``push_review`` flow: send coded resident segments to Label Studio for review.

One task calls :func:`annotation.push.push` (the code behind ``kracht review push``) with retries
and exponential backoff; push is idempotent, so a retry updates tasks instead of duplicating
them. After the last attempt the flow fails with a message naming the Label Studio URL.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import flow_record, load_settings, resources, short_error, snapshot
from flows.review import (
    DEFAULT_RETRIES,
    DEFAULT_RETRY_DELAY,
    ReviewFailed,
    ReviewUnavailable,
    as_counts,
    backoff,
    client_for,
    require_label_studio,
    retry_unless_unavailable,
    review_function,
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
    settings = load_settings(home)
    store = resources(snapshot(settings)).store
    params = {"collection": collection, "ls_url": settings.ls_url, "retries": retries}
    with flow_record(store, "push_review", params) as rec:
        step = push_segments.with_options(
            retries=retries, retry_delay_seconds=backoff(retries, retry_delay)
        )
        try:
            rec.counts = step(home, collection)
        except ReviewUnavailable:
            raise
        except Exception as exc:
            raise ReviewFailed(
                f"Label Studio push to {settings.ls_url} failed after {retries + 1} attempts: "
                f"{short_error(exc)}"
            ) from exc
    return rec.counts
