"""Each flow on the sample corpus under Prefect's test harness, asserting on the kracht store.

One temporary Prefect server serves the whole module (it takes ~10-20 s to start).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.store import Document, Quarantine, Run, Segment, Store, TaggedSegment
from tests.integration.flows_support import copy_sample, free_port, store_counts

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def harness():
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("KRACHT_HOME", str(home))
    for name in ("KRACHT_DATABASE_URL", "KRACHT_LS_URL", "KRACHT_LS_TOKEN", "KRACHT_INBOX"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return copy_sample(tmp_path / "corpus")


def open_store(home: Path) -> Store:
    return Store(f"sqlite:///{home / 'kracht.db'}")


def runs(store: Store) -> list[Run]:
    with store.session() as s:
        return list(s.scalars(select(Run).order_by(Run.id)))


def test_main_flow_codes_and_reports(home: Path, corpus: Path):
    from flows.main import main_flow

    result = main_flow([str(corpus)], home=str(home))
    assert result["status"] == "completed", result["steps"]
    assert result["steps"]["push_review"].startswith("skipped")
    store = open_store(home)
    counts = store_counts(store)
    assert counts["documents"] == result["ingest"]["documents_added"] > 0
    assert counts["quarantined"] == 0
    with store.session() as s:
        residents = set(s.scalars(select(Segment.id).where(Segment.role == "resident")))
        coded = set(s.scalars(select(TaggedSegment.segment_id)))
    assert residents and coded == residents  # every resident segment coded, nothing else
    by_kind = {r.kind: r for r in runs(store)}
    assert {"main", "ingest", "tag", "report"} <= set(by_kind)
    for kind in ("main", "ingest", "tag", "report"):
        run = by_kind[kind]
        assert run.status == "completed", (kind, run.error)
        assert run.parameters["flow_run_id"] and run.timings["total"] >= 0
    assert by_kind["tag"].nlp and by_kind["tag"].counts["segments_coded"] == len(residents)
    assert all(Path(p).is_file() for p in result["reports"].values())
    store.close()


def test_rerun_adds_nothing_and_uses_the_cache(home: Path, corpus: Path):
    from flows.ingest import ingest_flow
    from flows.tag import tag_flow

    ingest_flow([str(corpus)], home=str(home))
    tag_flow(home=str(home))
    store = open_store(home)
    before = store_counts(store)
    second = ingest_flow([str(corpus)], home=str(home))  # duplicates: results get cached
    third = ingest_flow([str(corpus)], home=str(home))  # served from the cache
    tagged = tag_flow(home=str(home))
    assert store_counts(store) == before
    assert second["documents_added"] == third["documents_added"] == 0
    assert third["duplicates"] == before["documents"]
    assert tagged["segments_coded"] == 0
    # an emptied store is not fooled by the cache: the documents come back
    with store.session() as s:
        for doc in s.scalars(select(Document)):
            s.delete(doc)
    again = ingest_flow([str(corpus)], home=str(home))
    assert again["documents_added"] == before["documents"]
    store.close()


def test_one_corrupt_file_is_quarantined_and_the_flow_completes(home: Path, tmp_path: Path):
    from flows.ingest import ingest_flow

    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "goed.txt").write_text("Ik ken nu al mijn buren.\n", encoding="utf-8")
    (folder / "kapot.docx").write_bytes(b"PK\x03\x04 this is no zip at all \x00\xff")
    (folder / "leeg.txt").write_bytes(b"")
    result = ingest_flow([str(folder)], home=str(home))
    assert result["documents_added"] == 1
    assert {Path(where).name for where, _ in result["quarantined"]} == {"kapot.docx", "leeg.txt"}
    store = open_store(home)
    with store.session() as s:
        assert {Path(q.source_path).name for q in s.scalars(select(Quarantine))} == {
            "kapot.docx", "leeg.txt"}
    assert runs(store)[-1].status == "completed_with_errors"
    store.close()


def test_inbox_flow_picks_up_a_dropped_file(home: Path, tmp_path: Path):
    from flows.inbox import inbox_flow

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    first = inbox_flow(inbox=str(inbox), home=str(home), min_age_seconds=0)
    assert first["files"] == 0
    # dropped while "the service runs": picked up on the next run, once
    (inbox / "nieuw.txt").write_text(
        "I: Hoe is het in de buurt?\nR: Sinds de buurtkamer ken ik mijn buren en help ik "
        "mijn buurvrouw met boodschappen. Ik voel me minder eenzaam.\n", encoding="utf-8")
    (inbox / "stuk.txt").write_bytes(b"\x00\x01\x02" * 200)
    second = inbox_flow(inbox=str(inbox), home=str(home), min_age_seconds=0)
    assert second["files"] == 2 and second["processed"] == 1 and second["quarantine"] == 1
    assert (inbox / "processed" / "nieuw.txt").is_file()
    assert (inbox / "quarantine" / "stuk.txt").is_file()
    assert not (inbox / "nieuw.txt").exists()
    assert second["segments_coded"] >= 1
    third = inbox_flow(inbox=str(inbox), home=str(home), min_age_seconds=0)
    assert third["files"] == 0
    store = open_store(home)
    assert store_counts(store)["documents"] == 1
    assert [r.kind for r in runs(store)].count("inbox") == 3
    store.close()


def test_label_studio_down_marks_step_failed_and_still_reports(
    home: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
):
    from flows.main import main_flow

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there: connection refused
    monkeypatch.setenv("KRACHT_LS_URL", url)
    monkeypatch.setenv("KRACHT_LS_TOKEN", "not-a-real-token")
    result = main_flow([str(corpus)], home=str(home), ls_retries=1, ls_retry_delay=0.1)
    assert result["steps"]["push_review"] == "failed"
    assert result["push_review_error"]
    assert result["status"] == "completed_with_errors"
    assert all(Path(p).is_file() for p in result["reports"].values())
    store = open_store(home)
    by_kind = {r.kind: r for r in runs(store)}
    assert by_kind["push_review"].status == "failed"
    assert url in by_kind["push_review"].error
    assert url in result["push_review_error"]
    assert by_kind["main"].status == "completed_with_errors"
    assert by_kind["report"].status == "completed"
    store.close()


def test_pull_review_with_label_studio_down_fails_cleanly(
    home: Path, monkeypatch: pytest.MonkeyPatch
):
    from flows.pull_review import pull_review_flow

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("KRACHT_LS_URL", url)
    monkeypatch.setenv("KRACHT_LS_TOKEN", "not-a-real-token")
    state = pull_review_flow(home=str(home), retries=1, retry_delay=0.1, return_state=True)
    assert state.is_failed()
    store = open_store(home)
    record = [r for r in runs(store) if r.kind == "pull_review"][-1]
    assert record.status == "failed" and url in record.error and "2 attempts" in record.error
    assert "not-a-real-token" not in record.error
    assert record.parameters["flow_run_id"]
    store.close()


def test_retrain_flow_trains_and_activates_a_model(home: Path):
    from flows.retrain import retrain_flow

    counts = retrain_flow(home=str(home))
    assert counts["model"].startswith("themes@") and counts["activated"]
    assert (home / "active_model").read_text(encoding="utf-8").strip() == counts["model"]
    name, version = counts["model"].split("@")
    assert (home / "models" / name / version / "model.skops").is_file()
    store = open_store(home)
    record = [r for r in runs(store) if r.kind == "retrain"][-1]
    assert record.status == "completed" and record.counts["model"] == counts["model"]
    store.close()


def test_dask_runner_gives_the_same_store(home: Path, corpus: Path, tmp_path: Path):
    from flows.ingest import ingest_flow
    from flows.tag import tag_flow

    local_home = tmp_path / "local"
    ingest_flow([str(corpus)], home=str(local_home))
    tag_flow(home=str(local_home))
    from flows.runners import dask_cluster

    with dask_cluster("dask", None) as address:
        ingest_flow([str(corpus)], home=str(home), runner="dask", dask_address=address)
        tag_flow(home=str(home), runner="dask", dask_address=address, chunk_size=4)
    local, dask = open_store(local_home), open_store(home)
    assert store_counts(dask) == store_counts(local)
    local.close()
    dask.close()
