"""A real Prefect server, `kracht serve` with an interval schedule, a scheduled run completing.

The server runs as ``prefect server start`` on a free loopback port with its own PREFECT_HOME;
its scheduler and the serving runner poll every second or two so the test takes under a minute
once the server is up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from pipeline.store import Run, Store
from tests.integration.flows_support import REPO, copy_sample, free_port

pytestmark = pytest.mark.integration

PREFECT = str(Path(sys.executable).with_name("prefect"))


def wait_for(check, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}")
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def prefect_server(tmp_path: Path):
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-server"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    env.pop("PREFECT_API_URL", None)
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}/api"

    def healthy() -> bool:
        try:
            return httpx.get(f"{api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(healthy, 180, "prefect server", proc)
        yield api
    finally:
        stop(proc)
        log.close()


def completed_runs(api: str, deployment_name: str) -> list[dict]:
    deployments = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
    ids = [d["id"] for d in deployments if d["name"] == deployment_name]
    if not ids:
        return []
    body = {"deployments": {"id": {"any_": ids}}}
    runs = httpx.post(f"{api}/flow_runs/filter", json=body, timeout=10).json()
    return [r for r in runs if r["state"] and r["state"]["type"] == "COMPLETED"]


def test_serve_runs_a_scheduled_deployment(prefect_server: str, tmp_path: Path):
    corpus = copy_sample(tmp_path / "corpus")
    home = tmp_path / "home"
    schedules = [{
        "name": "ingest-every-5s", "flow": "ingest", "interval_seconds": 5,
        "parameters": {"paths": [str(corpus)]},
    }]
    env = {
        **os.environ,
        "KRACHT_HOME": str(home),
        "KRACHT_SCHEDULES": json.dumps(schedules),
        "PREFECT_API_URL": prefect_server,
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_HOME", None)
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [sys.executable, "-m", "kracht.cli", "serve"], cwd=REPO, env=env,
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    try:
        runs = wait_for(lambda: completed_runs(prefect_server, "ingest-every-5s"), 180,
                        "a completed scheduled run", serve)
    except AssertionError:
        log.flush()
        raise AssertionError((tmp_path / "serve.log").read_text()[-3000:]) from None
    finally:
        stop(serve)
        log.close()
    run_ids = {r["id"] for r in runs}
    store = Store(f"sqlite:///{home / 'kracht.db'}")
    with store.session() as s:
        records = [r for r in s.scalars(select(Run).where(Run.kind == "ingest"))
                   if r.parameters.get("flow_run_id") in run_ids]
    assert records and records[0].status == "completed"
    assert store.counts()["documents"] > 0
    store.close()
