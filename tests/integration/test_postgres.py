"""The store on a real PostgreSQL server (a throwaway cluster started for this test)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.ingest.run import ingest_paths
from pipeline.store import Document, Segment, Store

pytestmark = pytest.mark.integration

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root; CI runs as root, so drop to the postgres user there."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


@pytest.fixture(scope="module")
def postgres_url():
    if PG_BIN is None or not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL server binaries not installed (apt package postgresql)")
    # pytest's tmp dirs are private to root; the postgres user needs a folder of its own
    root = Path(tempfile.mkdtemp(prefix="kracht-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        root.chmod(0o755)
    port = _free_port()
    subprocess.run(
        _as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "kracht", "-A", "trust"]),
        check=True, capture_output=True,
    )
    subprocess.run(
        _as_postgres([
            str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "start",
            "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
        ]),
        check=True, capture_output=True,
    )
    try:
        url = f"postgresql+psycopg://kracht@127.0.0.1:{port}/postgres"
        deadline = time.time() + 30
        while True:
            try:
                Store(url).close()
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        yield url
    finally:
        subprocess.run(
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
            check=False, capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def test_ingest_into_postgres_is_idempotent(postgres_url, settings, tmp_path):
    settings.database_url = postgres_url
    store = Store.from_settings(settings)
    story = tmp_path / "verhaal.txt"
    story.write_text("I: Hoe gaat het?\nR: Goed, ik ken nu mijn buren. 😀\n", encoding="utf-8")
    first = ingest_paths([story], settings, store)
    second = ingest_paths([story], settings, store)
    assert (first.documents_added, second.documents_added, second.duplicates) == (1, 0, 1)
    with store.session() as s:
        doc = s.scalars(select(Document)).one()
        segs = list(s.scalars(select(Segment).order_by(Segment.ordinal)))
        assert [(x.role, doc.text[x.start:x.end]) for x in segs] == [
            ("interviewer", "Hoe gaat het?"), ("resident", "Goed, ik ken nu mijn buren. 😀"),
        ]
    store.close()
