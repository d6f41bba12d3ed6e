"""``kracht run`` end to end on the bundled sample corpus, into a temporary store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipeline.store import Document, Quarantine, Run, Segment, Store, Tag, TaggedSegment
from tests.conftest import REPO, SAMPLE

KRACHT = [sys.executable, "-m", "kracht.cli"]


def run_cli(args: list[str], home: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "KRACHT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    return subprocess.run(
        KRACHT + args, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, **kw
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("home")
    result = run_cli(["run", str(SAMPLE)], home)
    return home, result


def test_run_exits_zero_and_writes_reports(demo_run):
    home, result = demo_run
    assert result.returncode == 0, result.stderr[-3000:]
    assert "without consent" in result.stderr
    html = next((home / "reports").glob("*.html"))
    assert "<html" in html.read_text(encoding="utf-8")
    assert any((home / "reports").glob("*.csv"))


def test_store_after_run(demo_run):
    home, _ = demo_run
    store = Store(f"sqlite:///{home / 'kracht.db'}")
    with store.session() as s:
        docs = list(s.scalars(select(Document)))
        names = {Path(d.source_path.split("#")[0]).name for d in docs}
        assert "huiskamer_bijlmer_2026-02.txt" not in names  # no consent: never ingested
        assert len([d for d in docs if "/formats/" not in d.source_path]) >= 15
        assert s.scalar(select(func.count()).select_from(Quarantine)) == 0
        # every resident segment was looked at by the tagger, nothing else was
        coded = set(s.scalars(select(TaggedSegment.segment_id)))
        roles = dict(s.execute(select(Segment.id, Segment.role)).all())
        assert coded and all(roles[c] == "resident" for c in coded)
        assert {sid for sid, role in roles.items() if role == "resident"} == coded
        tags = list(s.scalars(select(Tag)))
        assert len({t.code for t in tags}) >= 10
        texts = dict(s.execute(select(Segment.id, Segment.text)).all())
        for tag in tags:
            for ev in tag.evidence:
                assert texts[tag.segment_id][ev["start"]:ev["end"]] == ev["text"]
        runs = {r.kind: r for r in s.scalars(select(Run))}
        assert runs["tag"].nlp and runs["tag"].status == "completed"
    store.close()


def test_rerun_adds_nothing(demo_run):
    home, _ = demo_run
    store = Store(f"sqlite:///{home / 'kracht.db'}")
    before = store.counts()
    result = run_cli(["run", str(SAMPLE)], home)
    assert result.returncode == 0, result.stderr[-2000:]
    after = store.counts()
    assert {k: v for k, v in after.items() if k != "runs"} == {
        k: v for k, v in before.items() if k != "runs"
    }
    store.close()


def test_segments_command_prints_json_lines(tmp_path):
    story = tmp_path / "t.txt"
    story.write_bytes("I: Hoe gaat het?\r\nR: Goed\u00a0hoor 😀\r\n".encode())
    result = run_cli(["segments", str(story)], tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["role"], x["text"], x["start"], x["end"]) for x in lines] == [
        ("interviewer", "Hoe gaat het?", 3, 16),
        ("resident", "Goed\u00a0hoor 😀", 21, 32),
    ]
    assert set(lines[0]) == {
        "document", "segment", "speaker", "role", "start", "end", "text", "timestamp",
    }


def test_ingest_exit_status_reports_quarantine(tmp_path):
    (tmp_path / "ok.txt").write_text("Ik ken mijn buren.\n", encoding="utf-8")
    (tmp_path / "leeg.txt").write_bytes(b"")
    result = run_cli(["ingest", str(tmp_path)], tmp_path / "home")
    assert result.returncode == 1
    assert "leeg.txt" in result.stderr and "empty" in result.stderr
    assert "ingested 1 new documents" in result.stderr
