"""Schedules from the config → Prefect deployments, served by ``kracht serve``.

A schedule names a flow, a cron expression or an interval, and the flow's parameters, e.g. in
kracht.toml::

    [[schedules]]
    name = "maandelijks-buurtkamer"
    flow = "pull_review"
    cron = "0 6 1 * *"
    parameters = { collection = "Buurtkamer De Vlinder" }

Deployments use module entrypoints (``flows.report.report_flow``), so the served runs import
the installed package wherever ``kracht serve`` runs. ``home`` is filled in from the settings
unless the schedule sets it, so scheduled runs write to the same store as the CLI.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

from pipeline.config import Schedule, Settings

#: Flow name (as in the config and in ``run.kind``) → (module, flow object).
FLOWS: dict[str, tuple[str, str]] = {
    "ingest": ("flows.ingest", "ingest_flow"),
    "tag": ("flows.tag", "tag_flow"),
    "push_review": ("flows.push_review", "push_review_flow"),
    "pull_review": ("flows.pull_review", "pull_review_flow"),
    "retrain": ("flows.retrain", "retrain_flow"),
    "report": ("flows.report", "report_flow"),
    "main": ("flows.main", "main_flow"),
    "inbox": ("flows.inbox", "inbox_flow"),
}


class ScheduleError(ValueError):
    """A schedule in the config that cannot become a deployment."""


def load_flow(name: str) -> Any:
    if name not in FLOWS:
        raise ScheduleError(f"unknown flow {name!r}: choose one of {', '.join(FLOWS)}")
    module, attr = FLOWS[name]
    return getattr(importlib.import_module(module), attr)


def flow_parameters(flow: Any) -> set[str]:
    return set(flow.parameters.properties)


def deployment_parameters(schedule: Schedule, settings: Settings, flow: Any) -> dict[str, Any]:
    accepted = flow_parameters(flow)
    unknown = sorted(set(schedule.parameters) - accepted)
    if unknown:
        raise ScheduleError(
            f"schedule {schedule.name!r}: flow {schedule.flow!r} has no parameter "
            f"{', '.join(unknown)} (it takes {', '.join(sorted(accepted))})"
        )
    params = dict(schedule.parameters)
    if "home" in accepted:
        params.setdefault("home", str(settings.home.resolve()))
    return params


def deployment_for(schedule: Schedule, settings: Settings) -> Any:
    """One RunnerDeployment for a configured schedule."""
    from prefect.types.entrypoint import EntrypointType

    if bool(schedule.cron) == bool(schedule.interval_seconds):
        raise ScheduleError(
            f"schedule {schedule.name!r} needs exactly one of cron or interval_seconds"
        )
    flow = load_flow(schedule.flow)
    when = schedule.cron or f"every {schedule.interval_seconds} s"
    timing: dict[str, Any] = (
        {"cron": schedule.cron} if schedule.cron
        else {"interval": dt.timedelta(seconds=int(schedule.interval_seconds or 0))}
    )
    return flow.to_deployment(
        name=schedule.name,
        parameters=deployment_parameters(schedule, settings, flow),
        tags=["kracht", schedule.flow],
        description=f"kracht {schedule.flow}: {when}",
        entrypoint_type=EntrypointType.MODULE_PATH,
        **timing,
    )


def deployments(settings: Settings, names: list[str] | None = None) -> list[Any]:
    """Deployments for the configured schedules (all, or those named)."""
    chosen = [s for s in settings.schedules if not names or s.name in names]
    missing = sorted(set(names or []) - {s.name for s in chosen})
    if missing:
        raise ScheduleError(f"no schedule named {', '.join(missing)} in the config")
    return [deployment_for(s, settings) for s in chosen]


def serve(items: list[Any], limit: int | None = None) -> None:
    """Register the deployments with the Prefect API and run their scheduled runs (blocks)."""
    from prefect import serve as prefect_serve

    prefect_serve(*items, limit=limit, print_starting_message=False)
