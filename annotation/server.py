"""Install, start and stop a local Label Studio for review work and for the integration tests.

Label Studio lives in its own virtualenv (``.venv-ls`` at the repository root) because its pinned
dependencies clash with kracht's. The server binds to 127.0.0.1 only, keeps its data under
``<KRACHT_HOME>/label-studio`` and gets its admin user and API token from the environment at first
start (the legacy API token switched on), so a script can talk to it at once. For local work the
token is generated when ``KRACHT_LS_TOKEN`` is unset and kept in ``<home>/label-studio/token``
(mode 600) where :func:`read_token` finds it; it is never printed.

Usage: ``python -m annotation.server install | start [--port P] | stop | status``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from pipeline.config import PROJECT_ROOT, Settings, get_settings

LS_VERSION = "1.23.2"
DEFAULT_PORT = 8089
ADMIN_EMAIL = "admin@kracht.local"
VENV = PROJECT_ROOT / ".venv-ls"


class ServerError(RuntimeError):
    """Installing, starting or stopping the local server failed (one line, no secrets)."""


# --- install ------------------------------------------------------------------------------
def ls_executable(venv: Path = VENV) -> Path:
    return venv / "bin" / "label-studio"


def installed_version(venv: Path = VENV) -> str | None:
    """The Label Studio version in ``venv`` (read from its metadata, without starting Django)."""
    python = venv / "bin" / "python"
    if not python.exists():
        return None
    proc = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('label-studio'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def install(venv: Path = VENV, version: str = LS_VERSION, quiet: bool = True) -> float:
    """Create ``venv`` and install the pinned Label Studio into it; return the seconds it took.

    Nothing happens (0.0 returned) when that version is already there, so callers may call this
    before every start.
    """
    if installed_version(venv) == version:
        return 0.0
    started = time.perf_counter()
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    if not (venv / "bin" / "python").exists():
        _run([base_python, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
    if quiet:
        pip.append("-q")
    _run([*pip, "--upgrade", "pip"])
    _run([*pip, f"label-studio=={version}"])
    if installed_version(venv) != version:
        raise ServerError(f"label-studio=={version} did not install into {venv}")
    return time.perf_counter() - started


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = " ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        raise ServerError(f"{' '.join(cmd[:4])} … failed ({proc.returncode}): {tail[:400]}")


# --- credentials --------------------------------------------------------------------------
def data_dir(settings: Settings) -> Path:
    return Path(settings.home).resolve() / "label-studio"


def _secret_file(path: Path, make: Any) -> str:
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)
    return value


def read_token(settings: Settings) -> SecretStr | None:
    """The local server's token file, if a local server was ever started under this home."""
    path = data_dir(settings) / "token"
    if not path.exists():
        return None
    return SecretStr(path.read_text(encoding="utf-8").strip())


def ensure_token(settings: Settings) -> SecretStr:
    """``KRACHT_LS_TOKEN`` when set, else the token file (made on first use, mode 600)."""
    if settings.ls_token is not None and settings.ls_token.get_secret_value():
        return settings.ls_token
    return SecretStr(_secret_file(data_dir(settings) / "token", lambda: secrets.token_hex(20)))


def ensure_password(settings: Settings) -> SecretStr:
    """The admin password for the web UI, kept beside the token (mode 600)."""
    env = os.environ.get("KRACHT_LS_PASSWORD")
    if env:
        return SecretStr(env)
    return SecretStr(
        _secret_file(data_dir(settings) / "password", lambda: secrets.token_urlsafe(12))
    )


def server_url(settings: Settings) -> str | None:
    """The URL of the local server started under this home, if one is recorded."""
    path = data_dir(settings) / "server.url"
    return path.read_text(encoding="utf-8").strip() if path.exists() else None


# --- ports and health ---------------------------------------------------------------------
def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Label Studio silently moves to another port when its port is taken, so check first.

    Binds with SO_REUSEADDR like Label Studio's own server does: connections of a crashed server
    left in TIME_WAIT do not block a restart, while a live listener still counts as taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def is_healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def wait_healthy(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> float:
    """Poll ``/health`` until it answers; return the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if is_healthy(url):
            return time.monotonic() - started
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"Label Studio exited with code {proc.returncode} while starting")
        time.sleep(0.5)
    raise ServerError(f"Label Studio did not answer on {url}/health within {timeout:.0f} s")


# --- the server ---------------------------------------------------------------------------
@dataclass
class LocalServer:
    """One Label Studio process on 127.0.0.1 with its own data directory."""

    data_dir: Path
    port: int
    token: SecretStr
    password: SecretStr
    username: str = ADMIN_EMAIL
    venv: Path = VENV
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "server.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def environment(self) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("KRACHT_", "LABEL_STUDIO_"))
        }
        env.update(
            {
                "LABEL_STUDIO_BASE_DATA_DIR": str(self.data_dir),
                "LABEL_STUDIO_USERNAME": self.username,
                "LABEL_STUDIO_PASSWORD": self.password.get_secret_value(),
                "LABEL_STUDIO_USER_TOKEN": self.token.get_secret_value(),
                "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
                "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
                "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
                "COLLECT_ANALYTICS": "false",
                # Django's DEBUG (on by default in Label Studio) keeps and formats every SQL
                # query; off, bulk imports run markedly faster. Static files are still served.
                "DEBUG": "false",
                "LOG_LEVEL": "WARNING",
                "DATA_UPLOAD_MAX_MEMORY_SIZE": str(500 * 1024 * 1024),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 240.0) -> str:
        """Start the server and wait for ``/health``; return its URL."""
        exe = ls_executable(self.venv)
        if not exe.exists():
            raise ServerError(
                f"Label Studio is not installed in {self.venv}: run "
                "`python -m annotation.server install`"
            )
        if not port_is_free(self.port):
            raise ServerError(f"port {self.port} on 127.0.0.1 is taken; pick another with --port")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)  # Label Studio's database there holds the token too
        log = self.log_file.open("ab")
        self.proc = subprocess.Popen(
            [
                str(exe),
                "start",
                "--no-browser",
                "--internal-host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, so stop() ends all its children
        )
        log.close()
        self.pid_file.write_text(str(self.proc.pid), encoding="utf-8")
        try:
            wait_healthy(self.url, timeout, self.proc)
        except ServerError:
            self.stop()
            raise
        (self.data_dir / "server.url").write_text(self.url, encoding="utf-8")
        return self.url

    def stop(self, timeout: float = 20.0) -> bool:
        """Stop the process group this server started; True if something was stopped."""
        pid = self.proc.pid if self.proc is not None else _read_pid(self.pid_file)
        stopped = stop_pid(pid, timeout) if pid else False
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1)
        self.proc = None
        for path in (self.pid_file, self.data_dir / "server.url"):
            path.unlink(missing_ok=True)
        return stopped

    def kill(self) -> None:
        """Kill the server at once (for failure tests: a crash, not a shutdown)."""
        pid = self.proc.pid if self.proc is not None else _read_pid(self.pid_file)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)
        self.proc = None
        self.pid_file.unlink(missing_ok=True)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def stop_pid(pid: int, timeout: float = 20.0) -> bool:
    """SIGTERM the process group led by ``pid`` (one we started), SIGKILL if it lingers."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    return True


def local_server(settings: Settings, port: int = DEFAULT_PORT) -> LocalServer:
    return LocalServer(
        data_dir=data_dir(settings),
        port=port,
        token=ensure_token(settings),
        password=ensure_password(settings),
    )


# --- command line -------------------------------------------------------------------------
def cmd_install() -> str:
    seconds = install()
    if seconds == 0.0:
        return f"label-studio {LS_VERSION} is already installed in {VENV}"
    return f"installed label-studio {LS_VERSION} into {VENV} in {seconds:.0f} s"


def cmd_start(settings: Settings, port: int = DEFAULT_PORT) -> str:
    url = server_url(settings)
    if url and is_healthy(url):
        return f"Label Studio is already running at {url}"
    server = local_server(settings, port)
    started = time.monotonic()
    url = server.start()
    return (
        f"Label Studio {LS_VERSION} is running at {url} (started in "
        f"{time.monotonic() - started:.0f} s); log in as {server.username} with the password in "
        f"{server.data_dir / 'password'}; set KRACHT_LS_URL={url} (the API token is read from "
        f"{server.data_dir / 'token'} when KRACHT_LS_TOKEN is unset)"
    )


def cmd_stop(settings: Settings) -> str:
    server = local_server(settings)
    if server.stop():
        return "Label Studio stopped"
    return "no local Label Studio was running"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m annotation.server", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help=f"create .venv-ls with label-studio=={LS_VERSION}")
    start = sub.add_parser("start", help="start Label Studio on 127.0.0.1")
    start.add_argument("--port", type=int, default=DEFAULT_PORT)
    sub.add_parser("stop", help="stop the local Label Studio")
    sub.add_parser("status", help="is the local Label Studio up?")
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        if args.command == "install":
            print(cmd_install())
        elif args.command == "start":
            print(cmd_start(settings, args.port))
        elif args.command == "stop":
            print(cmd_stop(settings))
        else:
            url = server_url(settings)
            up = bool(url) and is_healthy(url)
            print(f"Label Studio {'is up at ' + url if up and url else 'is not running'}")
            return 0 if up else 1
    except ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
