"""Shared pieces of the Label Studio flows: retry policy, clear errors, summaries as counts.

Label Studio is the one network dependency, so its tasks retry with exponential backoff. Push
and pull are idempotent (tasks keyed by segment, annotations upserted by their Label Studio id),
so a retry or a re-run never duplicates anything. Retrying cannot fix a missing module or a
missing URL, so those fail at once with a message that says what to do.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from pipeline.config import Settings

DEFAULT_RETRIES = 3
DEFAULT_RETRY_DELAY = 2.0
#: Attempts per request inside the client (each flow retry starts a fresh round).
CLIENT_TRIES = 2


class ReviewUnavailable(RuntimeError):
    """Label Studio is not configured or its client code is missing: retrying will not help."""


class ReviewFailed(RuntimeError):
    """Label Studio could not be reached or refused the request, after every retry."""


def require_label_studio(settings: Settings) -> str:
    if not settings.ls_url:
        raise ReviewUnavailable(
            "Label Studio is not configured: set KRACHT_LS_URL and KRACHT_LS_TOKEN "
            "(or ls_url / ls_token in kracht.toml)"
        )
    return settings.ls_url


def review_function(module: str, name: str) -> Any:
    """``annotation.<module>.<name>``, or a clear error when that code is not there."""
    try:
        return getattr(importlib.import_module(f"annotation.{module}"), name)
    except (ImportError, AttributeError) as exc:
        raise ReviewUnavailable(
            f"annotation.{module}.{name} is not available ({exc}); install kracht with its "
            "Label Studio support"
        ) from exc


#: Errors that a retry cannot fix (by class name, so this module needs no annotation import).
NOT_RETRIED = {"ReviewUnavailable", "LabelStudioAuthError"}


def retry_unless_unavailable(_task: Any, _task_run: Any, state: Any) -> bool:
    """Prefect retry condition: retry network trouble, not configuration or auth errors."""
    try:
        state.result()
    except Exception as exc:
        return not any(cls.__name__ in NOT_RETRIED for cls in type(exc).__mro__)
    return False


def client_for(settings: Settings, tries: int = CLIENT_TRIES) -> Any:
    """A Label Studio client whose own retries are short: the flow's task retries back off."""
    connect = review_function("client", "connect")
    policy = review_function("client", "RetryPolicy")
    try:
        return connect(settings, retry=policy(tries=tries))
    except Exception as exc:
        if type(exc).__name__ == "LabelStudioError":  # no URL or token: configuration
            raise ReviewUnavailable(str(exc)) from exc
        raise


def backoff(retries: int, delay: float) -> list[float]:
    """Exponential backoff delays: delay, 2·delay, 4·delay, …"""
    return [delay * 2**i for i in range(max(0, retries))]


def as_counts(result: Any) -> dict[str, Any]:
    """Whatever push/pull return (summary object, dataclass, dict, number) as run counts."""
    if result is None:
        return {}
    if hasattr(result, "as_counts"):
        return dict(result.as_counts())
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        return {k: v for k, v in dataclasses.asdict(result).items()
                if isinstance(v, int | float | str | bool)}
    if isinstance(result, dict):
        return {str(k): v for k, v in result.items() if isinstance(v, int | float | str | bool)}
    if hasattr(result, "model_dump"):
        return as_counts(result.model_dump())
    if isinstance(result, int | float):
        return {"count": result}
    return {"result": str(result)}


def run_review_step(
    kind: str,
    step: Any,
    args: tuple[Any, ...],
    *,
    home: str | None,
    collection: str | None,
    retries: int,
    retry_delay: float,
    action: str,
) -> dict[str, Any]:
    """Run one Label Studio task with retries and backoff inside a run record of ``kind``.

    ``action`` names the step in the one-line failure ("push to", "pull from"), which carries the
    URL and the number of attempts; a Label Studio that is not configured is passed through.
    """
    from flows.common import flow_record, load_settings, resources, short_error, snapshot

    settings = load_settings(home)
    store = resources(snapshot(settings)).store
    params = {"collection": collection, "ls_url": settings.ls_url, "retries": retries}
    with flow_record(store, kind, params) as rec:
        retried = step.with_options(
            retries=retries, retry_delay_seconds=backoff(retries, retry_delay)
        )
        try:
            rec.counts = retried(*args)
        except ReviewUnavailable:
            raise
        except Exception as exc:
            raise ReviewFailed(
                f"Label Studio {action} {settings.ls_url} failed after {retries + 1} attempts: "
                f"{short_error(exc)}"
            ) from exc
    return rec.counts
