"""The ``report`` flow: write the impact report and tables from what the store holds now.

It calls :func:`pipeline.report.write_reports`, the code behind ``kracht report``; it reads only
the store, so it can run on its own schedule (e.g. monthly, after ``pull_review``).
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows.common import flow_record, load_settings, resources, snapshot


@task(name="write-reports", cache_policy=NO_CACHE)
def write_reports_task(home: str | None, out_dir: str | None) -> dict[str, str]:
    from pipeline.codebook import load_codebook
    from pipeline.report import write_reports

    settings = load_settings(home)
    store = resources(snapshot(settings)).store
    out = Path(out_dir) if out_dir else settings.output_dir
    paths = write_reports(store, settings, load_codebook(settings.codebook), out)
    return {name: str(path) for name, path in paths.items()}


@flow(name="report", log_prints=False)
def report_flow(home: str | None = None, out_dir: str | None = None) -> dict[str, str]:
    """Write reports into ``out_dir`` (default: KRACHT_HOME/reports); returns name → path."""
    settings = load_settings(home)
    store = resources(snapshot(settings)).store
    with flow_record(store, "report", {"out": out_dir or str(settings.output_dir)}) as rec:
        paths = write_reports_task(home, out_dir)
        rec.counts = dict(paths)
    return paths
