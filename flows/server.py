"""A temporary Prefect API server for one ``kracht run``: loopback only, quiet, cleaned up.

Prefect 3 needs an API to run flows. Its own "ephemeral" server prints to the terminal and is
started only when the first flow begins; this one logs to ``PREFECT_HOME/server.log`` and is
started as early as possible, so its ~10 s start-up overlaps with loading kracht. On Linux the
server is told to exit when its parent dies, so a ``kill -9`` of ``kracht run`` leaves no
orphan server behind. Its database is in memory by default: the run's record is kept in the
kracht store, and writing 200 task runs' states to a SQLite file on disk slowed the flow that
produced them. Nothing here imports Prefect (the server runs in its own process).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import httpx


class ServerError(RuntimeError):
    """The temporary Prefect server did not come up."""


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: deliver SIGTERM to the server when ``kracht run`` dies, even by SIGKILL."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    """True when a Prefect API answers its health check at ``api_url``."""
    try:
        return httpx.get(f"{api_url.rstrip('/')}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


class TemporaryServer:
    """``start()`` returns at once; ``wait()`` blocks until the API answers; ``stop()`` ends it."""

    def __init__(
        self, prefect_home: Path, startup_timeout: float = 90.0, in_memory: bool = True
    ) -> None:
        self.prefect_home = prefect_home
        self.in_memory = in_memory
        self.startup_timeout = startup_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = prefect_home / "server.log"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> TemporaryServer:
        self.prefect_home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        env = {
            **os.environ,
            "PREFECT_HOME": str(self.prefect_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        }
        if self.in_memory:
            env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = "sqlite+aiosqlite:///:memory:"
        env.pop("PREFECT_API_URL", None)
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "uvicorn", "--factory",
                    "prefect.server.api.server:create_app",
                    "--host", "127.0.0.1", "--port", str(self.port),
                    "--log-level", "error", "--lifespan", "on",
                ],
                env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        finally:
            log.close()
        return self

    def wait(self) -> str:
        """Block until the server answers; returns its API URL."""
        if self.process is None:
            self.start()
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerError(
                    f"temporary Prefect server exited with code {self.process.returncode}; "
                    f"see {self.log_path}"
                )
            if healthy(self.api_url, timeout=1.0):
                return self.api_url
            time.sleep(0.1)
        self.stop()
        raise ServerError(
            f"temporary Prefect server did not answer within {self.startup_timeout:.0f} s; "
            f"see {self.log_path}"
        )

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> TemporaryServer:
        if self.process is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
