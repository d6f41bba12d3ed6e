"""``kracht run`` as a flow: killed with SIGKILL mid-run, run again, same store as a clean run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline import jobs
from pipeline.config import get_settings
from pipeline.store import Store
from tests.integration.flows_support import REPO, generated_corpus, store_counts

pytestmark = pytest.mark.integration


def kracht_env(home: Path) -> dict[str, str]:
    env = {**os.environ, "KRACHT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    for name in ("PREFECT_API_URL", "PREFECT_HOME", "KRACHT_LS_URL", "KRACHT_DATABASE_URL"):
        env.pop(name, None)
    return env


def documents_in(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("select count(*) from document").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_killed_run_resumes_without_doing_anything_twice(tmp_path: Path):
    corpus = generated_corpus(tmp_path / "corpus", 120)
    home = tmp_path / "home"
    cmd = [sys.executable, "-m", "kracht.cli", "run", str(corpus)]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=kracht_env(home), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )
    deadline = time.monotonic() + 300
    seen = 0
    while time.monotonic() < deadline and proc.poll() is None:
        seen = documents_in(home / "kracht.db")
        if seen >= 5:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "kracht run ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # kracht run and its temporary Prefect server
    proc.wait()
    killed_at = documents_in(home / "kracht.db")
    assert 0 < killed_at < 120, killed_at

    rerun = subprocess.run(cmd, cwd=REPO, env=kracht_env(home), capture_output=True,
                           text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "INFO" not in rerun.stderr  # quiet: only kracht's own summary
    assert f"{killed_at} already in the store" in rerun.stderr

    clean_home = tmp_path / "clean"
    settings = get_settings(home=clean_home)
    clean = Store.from_settings(settings)
    jobs.ingest([corpus], settings, clean)
    jobs.code(settings, clean)
    resumed = Store(f"sqlite:///{home / 'kracht.db'}")
    assert store_counts(resumed) == store_counts(clean)
    assert store_counts(resumed)["documents"] == 120
    clean.close()
    resumed.close()
