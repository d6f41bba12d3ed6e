"""Run a flow from the command line with nothing to set up: ``kracht run`` uses this.

If a Prefect API is configured (``PREFECT_API_URL`` or ``prefect_api_url``) and answers, the run
is recorded there and shows in its UI; otherwise a temporary server is started on loopback for
this one run, with its database under ``KRACHT_HOME/prefect``. Prefect is imported only after its
environment is set (see :mod:`flows.environment`), and the server starts before the flow modules
are imported so both happen at the same time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flows.environment import configured_api_url, prefect_home, prepare
from flows.server import TemporaryServer, healthy
from pipeline.config import Settings

log = logging.getLogger(__name__)


def run_flow_locally(
    settings: Settings,
    load_flow: Callable[[], Any],
    parameters: dict[str, Any],
    quiet: bool = True,
    use_configured_server: bool = True,
) -> Any:
    """Call the flow returned by ``load_flow()`` with ``parameters`` and return its result.

    ``load_flow`` is called after Prefect's environment is ready (it imports the flow module).
    """
    configured = configured_api_url(settings) if use_configured_server else None
    if configured and not healthy(configured):
        log.warning("Prefect API %s does not answer; using a temporary local server", configured)
        configured = None
    prepare(settings, quiet=quiet, api_url=configured)
    if configured:
        return load_flow()(**parameters)
    with TemporaryServer(prefect_home(settings)) as server:
        flow = load_flow()
        api_url = server.wait()
        with temporary_server_settings(api_url):
            return flow(**parameters)


def temporary_server_settings(api_url: str) -> Any:
    """Prefect settings for a run on a temporary server.

    Flow-run heartbeats let a long-lived server notice crashed runs; a temporary server dies
    with the run, and stopping the heartbeat thread costs up to a second per (sub-)flow run.
    """
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        temporary_settings,
    )

    return temporary_settings({PREFECT_API_URL: api_url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
