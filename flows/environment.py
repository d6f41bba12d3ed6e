"""Prefect's environment for kracht, set before Prefect is imported.

Prefect reads most of its settings (home folder, logging) once, when it is first imported, so
the CLI calls :func:`prepare` first and imports the flow modules afterwards. Nothing here imports
Prefect. Values the user already set in the environment always win.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipeline.config import Settings


def prefect_home(settings: Settings) -> Path:
    """Prefect's own files (temporary server database, result cache) live inside KRACHT_HOME."""
    return (settings.home / "prefect").resolve()


def configured_api_url(settings: Settings) -> str | None:
    """The Prefect API to use: ``PREFECT_API_URL`` wins over ``prefect_api_url`` in kracht.toml."""
    return os.environ.get("PREFECT_API_URL") or settings.prefect_api_url or None


def prepare(settings: Settings, quiet: bool = True, api_url: str | None = None) -> dict[str, str]:
    """Set Prefect's environment variables for this process and its children; returns them.

    ``quiet`` keeps Prefect's per-task log lines off the terminal (warnings still show), so
    ``kracht run`` prints only its own summary.
    """
    home = prefect_home(settings)
    home.mkdir(parents=True, exist_ok=True)
    wanted = {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING" if quiet else "INFO",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_UI_ENABLED": "false",
        # a retry of a cached task must not print a traceback per attempt at INFO level
        "PREFECT_LOGGING_LOG_PRINTS": "false",
    }
    if api_url:
        wanted["PREFECT_API_URL"] = api_url
    applied = {}
    for key, value in wanted.items():
        if key == "PREFECT_API_URL" or key not in os.environ:
            os.environ[key] = value
        applied[key] = os.environ[key]
    return applied
