"""The ``main`` flow: ingest → tag → push for review (when Label Studio is configured) → report.

Each step is its own sub-flow (and its own run record), so a step can also run alone or on its
own schedule. A Label Studio failure does not stop the run: the step is marked failed with its
message and the report is still written; the main run record then says
``completed_with_errors``. Ingest and tag failures stop the run (the report would be wrong).
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.common import flow_record, load_settings, resources, short_error, snapshot
from flows.ingest import ingest_flow
from flows.push_review import push_review_flow
from flows.report import report_flow
from flows.review import DEFAULT_RETRIES, DEFAULT_RETRY_DELAY
from flows.runners import check_runner, dask_cluster
from flows.tag import DEFAULT_CHUNK, tag_flow


def failure_message(state: Any) -> str:
    """The exception behind a failed Prefect state, as one line."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception as err:  # the result itself could not be read
        exc = err
    if isinstance(exc, BaseException):
        return short_error(exc)
    return str(state.message or "failed")


@flow(name="main", log_prints=False)
def main_flow(
    paths: list[str],
    home: str | None = None,
    runner: str = "local",
    dask_address: str | None = None,
    push: bool | None = None,
    ls_retries: int = DEFAULT_RETRIES,
    ls_retry_delay: float = DEFAULT_RETRY_DELAY,
    chunk_size: int = DEFAULT_CHUNK,
    report: bool = True,
) -> dict[str, Any]:
    """The job ``kracht run`` performs on a folder of stories.

    ``push`` None means: push when Label Studio is configured. ``runner`` "dask" runs the
    per-document tasks on Dask (an existing cluster at ``dask_address``, else 2 local workers).
    """
    check_runner(runner)
    settings = load_settings(home)
    store = resources(snapshot(settings)).store
    home = str(settings.home)
    params = {"paths": paths, "runner": runner, "dask_address": dask_address, "push": push}
    result: dict[str, Any] = {"steps": {}}
    steps: dict[str, Any] = result["steps"]
    with flow_record(store, "main", params) as rec, dask_cluster(runner, dask_address) as address:
        ingested = ingest_flow(paths, home, runner=runner, dask_address=address)
        result["ingest"] = ingested
        steps["ingest"] = "completed_with_errors" if ingested["quarantined"] else "completed"

        tagged = tag_flow(
            home=home, chunk_size=chunk_size, runner=runner, dask_address=address
        )
        result["tag"] = tagged
        steps["tag"] = "completed"

        if push if push is not None else bool(settings.ls_url):
            state = push_review_flow(
                home=home, retries=ls_retries, retry_delay=ls_retry_delay, return_state=True
            )
            if state.is_completed():
                steps["push_review"] = "completed"
                result["push_review"] = state.result()
            else:
                steps["push_review"] = "failed"
                result["push_review_error"] = failure_message(state)
        else:
            steps["push_review"] = "skipped: Label Studio is not configured"

        if report:
            result["reports"] = report_flow(home=home)
            steps["report"] = "completed"

        failed = any(str(v).startswith(("failed", "completed_with_errors")) for v in steps.values())
        rec.status = "completed_with_errors" if failed else "completed"
        rec.counts = {
            **{f"ingest_{k}": v for k, v in ingested.items() if isinstance(v, int)},
            "quarantined": len(ingested["quarantined"]),
            "segments_coded": tagged["segments_coded"],
            "tags_written": tagged["tags_written"],
            "steps": steps,
        }
        if "push_review_error" in result:
            rec.counts["push_review_error"] = result["push_review_error"]
        result["status"] = rec.status
        result["run_id"] = rec.run_id
    return result
