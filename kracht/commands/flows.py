"""Flow commands: ``serve`` (schedules → deployments on a Prefect server), ``schedules``, ``flow``.

Also :func:`run_main`, the body of ``kracht run``. Prefect is imported only inside the commands,
after :mod:`flows.environment` has set its home and log level, so other commands stay fast.
Exit status: 0 done, 1 some input quarantined or a step failed, 2 could not run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipeline.config import Settings
from pipeline.ingest.run import IngestSummary

console = Console(stderr=True)

RunnerOption = Annotated[
    str, typer.Option("--runner", help="where per-document tasks run: local | dask")
]
DaskAddressOption = Annotated[
    str | None,
    typer.Option("--dask-address", help="scheduler of an existing Dask cluster (tcp://host:8786)"),
]
HomeOption = Annotated[
    Path | None, typer.Option("--home", help="store, caches and outputs (KRACHT_HOME)")
]


def run_main(paths: list[Path], settings: Settings, runner: str, dask_address: str | None) -> int:
    """Run the ``main`` flow locally, print its summary, return the exit status."""
    from flows.local import run_flow_locally
    from flows.runners import RUNNERS
    from flows.server import ServerError
    from kracht.commands.core import print_ingest_summary

    if runner not in RUNNERS:
        console.print(f"[red]error[/red] --runner must be one of {', '.join(RUNNERS)}")
        return 2

    def load() -> Any:
        from flows.main import main_flow

        return main_flow

    params = {"paths": [str(p) for p in paths], "home": str(settings.home.resolve()),
              "runner": runner, "dask_address": dask_address}
    try:
        result = run_flow_locally(settings, load, params)
    except ServerError as exc:
        console.print(f"[red]error[/red] {exc}", highlight=False)
        return 2
    except Exception as exc:
        console.print(f"[red]failed[/red] {type(exc).__name__}: {exc}", highlight=False)
        return 2
    ingest = result["ingest"]
    print_ingest_summary(IngestSummary(**{**ingest, "quarantined": [
        tuple(q) for q in ingest["quarantined"]]}))
    tag = result["tag"]
    console.print(f"coded {tag['segments_coded']} segments, {tag['tags_written']} tags")
    if "push_review_error" in result:
        console.print(f"[red]review push failed[/red]: {result['push_review_error']}",
                      highlight=False)
    for name, path in (result.get("reports") or {}).items():
        console.print(f"{name} report: {Path(path).resolve()}", highlight=False)
    return 0 if result["status"] == "completed" else 1


def _settings(home: Path | None) -> Settings:
    from kracht.commands.core import settings_for

    return settings_for(home)


def serve(
    names: Annotated[
        list[str] | None, typer.Argument(help="only these schedules (default: all)")
    ] = None,
    home: HomeOption = None,
    limit: Annotated[
        int | None, typer.Option(help="at most this many flow runs at the same time")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="check the schedules, register nothing")
    ] = False,
) -> None:
    """Register the configured schedules as Prefect deployments and run them when due.

    Needs a Prefect server (PREFECT_API_URL or prefect_api_url in kracht.toml):
    `make prefect-server` starts one on 127.0.0.1:4200; Prefect Cloud works too.
    """
    from flows.environment import configured_api_url, prepare
    from flows.server import healthy

    settings = _settings(home)
    if not settings.schedules:
        console.print("no schedules configured: add [[schedules]] to kracht.toml "
                      "or set KRACHT_SCHEDULES (see flows/README.md)")
        raise typer.Exit(2)
    api_url = configured_api_url(settings)
    if not dry_run:
        if not api_url:
            console.print(
                "[red]error[/red] no Prefect server: set PREFECT_API_URL or prefect_api_url "
                "in kracht.toml (`make prefect-server` starts one on http://127.0.0.1:4200/api)"
            )
            raise typer.Exit(2)
        if not healthy(api_url, timeout=10):
            console.print(f"[red]error[/red] Prefect server at {api_url} does not answer")
            raise typer.Exit(2)
    prepare(settings, quiet=False, api_url=api_url)
    from flows.deploy import ScheduleError, deployments
    from flows.deploy import serve as serve_deployments

    try:
        items = deployments(settings, names or None)
    except ScheduleError as exc:
        console.print(f"[red]error[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    _print_schedules(settings, names)
    if dry_run:
        raise typer.Exit(0)
    console.print(f"serving {len(items)} deployments on {api_url} (Ctrl-C stops)")
    serve_deployments(items, limit=limit)


def _print_schedules(settings: Settings, names: list[str] | None = None) -> None:
    table = Table(title="kracht schedules")
    for column in ("name", "flow", "when", "parameters"):
        table.add_column(column)
    for s in settings.schedules:
        if names and s.name not in names:
            continue
        when = s.cron or (f"every {s.interval_seconds} s" if s.interval_seconds else "-")
        table.add_row(s.name, s.flow, when, json.dumps(s.parameters, ensure_ascii=False))
    Console(stderr=True).print(table)


def schedules(home: HomeOption = None) -> None:
    """List the schedules in the config (what `kracht serve` would register)."""
    _print_schedules(_settings(home))


def flow(
    name: Annotated[str, typer.Argument(help="ingest, tag, push_review, pull_review, retrain, "
                                             "report, main or inbox")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="KEY=VALUE (VALUE as JSON when it parses)"),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Run one flow now, locally (as a scheduled run would), and print its result as JSON."""
    from flows.deploy import FLOWS, load_flow
    from flows.local import run_flow_locally

    if name not in FLOWS:
        console.print(f"[red]error[/red] unknown flow {name!r}: choose one of {', '.join(FLOWS)}")
        raise typer.Exit(2)
    settings = _settings(home)
    params: dict[str, Any] = {"home": str(settings.home.resolve())}
    for item in param or []:
        key, _, value = item.partition("=")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    try:
        result = run_flow_locally(settings, lambda: load_flow(name), params)
    except Exception as exc:
        console.print(f"[red]failed[/red] {type(exc).__name__}: {exc}", highlight=False)
        raise typer.Exit(1) from exc
    typer.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(schedules)
    app.command()(flow)
