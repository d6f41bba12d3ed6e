"""Where per-document tasks run: in the flow's own process (``local``) or on Dask (``dask``).

``local`` runs tasks one after another in the flow's thread: the work is CPU-bound Python, so
threads would not help, and the tagger and pseudonymizer are then never shared between threads.
``dask`` submits them to a ``DaskTaskRunner`` (prefect-dask): an existing cluster when an address
is given, else a local cluster of worker processes that lives as long as the outermost flow, so
``main`` pays its start-up once and passes the address on to its sub-flows.

The runner is a plain flow parameter (not the flow's decorator option) so that deployments
served by ``kracht serve`` can choose it per schedule. Every worker opens its own store
connection; SQLite copes through WAL and a busy timeout, a cluster on other machines needs
PostgreSQL (``KRACHT_DATABASE_URL``) and the files on a path every worker can read.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

RUNNERS = ("local", "dask")
DEFAULT_DASK_WORKERS = 2


def check_runner(runner: str) -> str:
    if runner not in RUNNERS:
        raise ValueError(f"unknown runner {runner!r}: choose one of {', '.join(RUNNERS)}")
    return runner


@contextmanager
def dask_cluster(
    runner: str, address: str | None, n_workers: int = DEFAULT_DASK_WORKERS
) -> Iterator[str | None]:
    """Yield the scheduler address to use: ``address``, a new local cluster's, or None (local)."""
    if check_runner(runner) == "local" or address:
        yield address
        return
    from distributed import LocalCluster

    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # start-up and shutdown chatter, not the user's business
    try:
        with LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True,
            dashboard_address=None, host="127.0.0.1", silence_logs=logging.ERROR,
        ) as cluster:
            yield cluster.scheduler_address
    finally:
        quiet.setLevel(level)


def run_each(
    task: Any, items: Sequence[Any], runner: str = "local", address: str | None = None,
    **kwargs: Any,
) -> list[Any]:
    """Run ``task(item, **kwargs)`` for every item; results in the order of ``items``.

    Local: plain task calls in the flow's thread. Dask: all calls are submitted at once to a
    ``DaskTaskRunner`` on the cluster at ``address``; each is still a task run of the calling
    flow, with its own state, retries and cache.
    """
    if check_runner(runner) == "local" or not items:
        return [task(item, **kwargs) for item in items]
    if not address:
        raise ValueError("the dask runner needs a scheduler address (see dask_cluster)")
    from prefect_dask import DaskTaskRunner

    name = next(iter(inspect.signature(task.fn).parameters))
    with DaskTaskRunner(address=address) as dask_runner:
        futures = [dask_runner.submit(task, {name: item, **kwargs}) for item in items]
        return [future.result() for future in futures]


@dataclass
class FlowContext:
    """What a per-document flow body needs: settings, their snapshot, the store, its run row."""

    settings: Any
    snap: dict[str, Any]
    store: Any
    record: Any
    address: str | None


@contextmanager
def per_document_flow(
    kind: str,
    home: str | None,
    params: Callable[[Any], dict[str, Any]] | dict[str, Any],
    runner: str,
    dask_address: str | None,
) -> Iterator[FlowContext]:
    """Settings, store, run record and (for ``--runner dask``) a cluster, in one place.

    ``params`` may be a function of the settings when the run's parameters depend on them (the
    inbox folder comes from the configuration).
    """
    from flows.common import flow_record, load_settings, resources, snapshot

    check_runner(runner)
    settings = load_settings(home)
    snap = snapshot(settings)
    store = resources(snap).store
    parameters = params(settings) if callable(params) else params
    with flow_record(store, kind, parameters) as rec, dask_cluster(runner, dask_address) as addr:
        yield FlowContext(settings, snap, store, rec, addr)

