"""A Label Studio crash mid-push: kill the server, restart it, push again, every segment once.

The review issue's acceptance: "stop the server mid-push, restart, push again, and every segment is
there exactly once". ``test_label_studio.py`` only cuts a proxy; here a real Label Studio process
of this test's own (fresh data dir under tmp, free loopback port; the shared session server is not
touched) is SIGKILLed as a whole process group while a push with small batches is running, then
started again on the same data dir and port with the same token.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from annotation import server as ls
from annotation.client import LabelStudioClient, RetryPolicy
from annotation.push import PushError, PushResult, project_tasks, push
from pipeline.config import Settings
from pipeline.store import ReviewTask, Run, Segment, Store, Tag, TaggedSegment
from tests.integration.ls_fixtures import SENTENCES, add_documents, pointed_at, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL = "model:themes@1.0.0"
N = 400
BATCH = 25  # 16 bulk imports, so the crash lands with most of the push still to do
FAST = RetryPolicy(tries=3, base=0.05, cap=0.2)  # a dead server fails a request in < 1 s


def tags_for(i: int) -> list[tuple[str, float, str]]:
    """The sentence's code on every segment, plus netwerken on every third."""
    tags = [(SENTENCES[i % len(SENTENCES)][1], 0.55 + (i % 10) / 25, "positive")]
    if i % 3 == 0:
        tags.append(("netwerken", 0.6, "neutral"))
    return tags


class CrashProbe(LabelStudioClient):
    """A real client that lets the test crash the server at one bulk import (the n-th).

    ``in_flight``: the import goes out as usual and the test kills the server while it runs (it
    may or may not land). ``after_commit``: the import is answered (Label Studio stored the
    tasks), then the test kills the server before the push has read that answer; the push sees
    the dead server's own error instead, as when a server dies between commit and reply.
    """

    def __init__(
        self, *args: Any, crash_on_import: int, mode: Literal["in_flight", "after_commit"],
        **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.crash_on_import = crash_on_import
        self.mode = mode
        self.imports = 0
        self.ready = threading.Event()  # the test may kill now
        self.killed = threading.Event()  # the test has killed

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> dict[str, Any]:
        self.imports += 1
        if self.imports != self.crash_on_import:
            return super().import_tasks(project_id, tasks)
        if self.mode == "in_flight":
            self.ready.set()
            return super().import_tasks(project_id, tasks)
        super().import_tasks(project_id, tasks)  # stored in Label Studio ...
        self.ready.set()
        assert self.killed.wait(60)
        return super().import_tasks(project_id, tasks)  # ... the answer is lost: a real failure


@dataclass
class OwnServer:
    server: ls.LocalServer
    token: SecretStr

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnServer]:
    """A Label Studio for this test alone; stopped (its whole process group) whatever happens."""
    if ls.installed_version() != ls.LS_VERSION:
        ls.install()
    token = SecretStr(secrets.token_hex(20))
    server = ls.LocalServer(
        data_dir=tmp_path_factory.mktemp("label-studio-restart"),
        port=ls.free_port(),
        token=token,
        password=SecretStr(secrets.token_urlsafe(12)),
    )
    server.start(timeout=300)
    try:
        yield OwnServer(server=server, token=token)
    finally:
        server.stop()


@pytest.fixture
def restart_settings(
    own_server: OwnServer, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    yield pointed_at(own_server.url, own_server.token, tmp_path / "home", "kracht restart",
                     monkeypatch)


@pytest.fixture
def restart_store(restart_settings: Settings) -> Iterator[Store]:
    store = Store.from_settings(restart_settings)
    yield store
    store.close()


def _review_rows(store: Store) -> dict[str, tuple[int, str | None]]:
    with store.session() as s:
        return {
            sid: (tid, source)
            for sid, tid, source in s.execute(
                select(ReviewTask.segment_id, ReviewTask.task_id, ReviewTask.prediction_source)
            )
        }


def _store_counts(store: Store) -> tuple[int, int, int]:
    with store.session() as s:
        return (
            s.scalar(select(func.count()).select_from(Segment)) or 0,
            s.scalar(select(func.count()).select_from(Tag)) or 0,
            s.scalar(select(func.count()).select_from(TaggedSegment)) or 0,
        )


def _crash_during_push(
    own: OwnServer, store: Store, settings: Settings, probe: CrashProbe
) -> tuple[PushError, float]:
    """Run a push in a thread, SIGKILL the server at the probe's import; the push's error and
    how long it took to give up after the kill."""
    outcome: dict[str, Any] = {}

    def run_push() -> None:
        try:
            outcome["result"] = push(store, settings, client=probe, batch_size=BATCH)
        except BaseException as exc:  # handed to the test thread below
            outcome["error"] = exc

    pusher = threading.Thread(target=run_push, name="push-until-crash", daemon=True)
    pusher.start()
    killed_at = time.monotonic()
    try:
        assert probe.ready.wait(120), f"the push never reached the crash point: {outcome}"
        if probe.mode == "in_flight":
            time.sleep(0.02)  # let the request reach Label Studio
        own.server.kill()  # SIGKILL the whole process group: a crash, not a shutdown
        killed_at = time.monotonic()
    finally:
        probe.killed.set()
        pusher.join(timeout=60)
        probe.close()
    assert not pusher.is_alive(), "push hung after the server died (retries must be bounded)"
    gave_up_after = time.monotonic() - killed_at
    assert gave_up_after < 30, gave_up_after
    error = outcome.get("error")
    assert isinstance(error, PushError), f"expected PushError, got {outcome!r}"
    message = str(error)  # one clear line that says a re-run continues, no token in it
    assert "run `kracht review push` again" in message and "\n" not in message
    assert own.token.get_secret_value() not in message
    return error, gave_up_after


def _restart(own: OwnServer, monkeypatch: pytest.MonkeyPatch) -> float:
    """Start the killed server again on the same data dir, port and token; seconds it took."""
    wait_for(lambda: ls.port_is_free(own.server.port), 90)
    began = time.monotonic()
    own.server.start(timeout=300)
    return time.monotonic() - began


def _project_state(client: LabelStudioClient, title: str) -> tuple[int, dict[str, int]]:
    project = client.find_project(title)
    assert project is not None
    tasks, dupes = project_tasks(client, int(project["id"]))
    assert dupes == 0
    return int(project["id"]), tasks


def test_push_survives_a_server_crash_and_restart(
    own_server: OwnServer,
    restart_settings: Settings,
    restart_store: Store,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = time.monotonic()
    ids = add_documents(restart_store, N, prefix="crash", tags_for=tags_for, source=MODEL)
    assert len(ids) == N
    before = _store_counts(restart_store)
    title = restart_settings.ls_project
    url, token = own_server.url, own_server.token

    # 1) first push: once batch 1 is imported and recorded, crash as batch 2's import goes out
    probe = CrashProbe(url, token, retry=FAST, crash_on_import=2, mode="in_flight")
    _, gave_up_1 = _crash_during_push(own_server, restart_store, restart_settings, probe)
    assert _store_counts(restart_store) == before  # nothing lost in the store
    recorded_1 = _review_rows(restart_store)
    assert len(recorded_1) >= BATCH
    restart_1 = _restart(own_server, monkeypatch)
    with LabelStudioClient(url, token, retry=FAST) as direct:
        assert direct.whoami()["email"] == ls.ADMIN_EMAIL  # the same token still works
        project_id, after_1 = _project_state(direct, title)
    # every task the store recorded survived the crash, under the segment it was recorded for
    assert all(after_1.get(sid) == tid for sid, (tid, _) in recorded_1.items())
    assert len(after_1) < N  # the crash really came mid-push

    # 2) second push: crash after Label Studio stored batch 3 but before the push read the answer
    probe = CrashProbe(url, token, retry=FAST, crash_on_import=3, mode="after_commit")
    _, gave_up_2 = _crash_during_push(own_server, restart_store, restart_settings, probe)
    assert _store_counts(restart_store) == before
    recorded_2 = _review_rows(restart_store)
    restart_2 = _restart(own_server, monkeypatch)
    with LabelStudioClient(url, token, retry=FAST) as direct:
        assert _project_state(direct, title)[0] == project_id
        after_2 = _project_state(direct, title)[1]
    assert all(after_2.get(sid) == tid for sid, (tid, _) in recorded_2.items())
    unrecorded = set(after_2) - set(recorded_2)
    assert len(unrecorded) >= BATCH  # batch 3 landed in Label Studio, unknown to the store
    assert len(after_2) < N

    # 3) push again: the rest is added, the orphans are adopted, nothing doubles
    with LabelStudioClient(url, token, retry=FAST) as direct:
        final = push(restart_store, restart_settings, client=direct, batch_size=BATCH)
        assert isinstance(final, PushResult) and final.project_id == project_id
        assert final.selected == N and final.duplicates_in_project == 0
        assert final.created + final.updated + final.unchanged == N
        assert final.created == N - len(after_2)
        assert final.updated >= len(unrecorded)  # the orphans lacked their predictions

        tasks_by_segment = Counter(
            (task.get("data") or {}).get("segment_id") for task in direct.iter_tasks(project_id)
        )
        assert sorted(tasks_by_segment) == sorted(ids)  # none missing, none foreign
        assert set(tasks_by_segment.values()) == {1}  # none twice
        tasks, dupes = project_tasks(direct, project_id)
        assert dupes == 0 and len(tasks) == N
        assert all(tasks[sid] == tid for sid, tid in after_2.items())  # tasks kept, not remade

        # exactly one prediction per task, from the machine's tags
        predictions = direct.predictions(project_id)
        per_task = Counter(int(p["task"]) for p in predictions)
        assert set(per_task) == set(tasks.values())
        assert set(per_task.values()) == {1}
        assert {p["model_version"] for p in predictions} == {MODEL}
        project = direct.get_project(project_id)
        assert project["task_number"] == N and project["total_predictions_number"] == N

    # the store maps every segment to its task in the project, with the prediction's source
    assert _review_rows(restart_store) == {sid: (tasks[sid], MODEL) for sid in ids}
    with restart_store.session() as s:
        assert {p for (p,) in s.execute(select(ReviewTask.project_id))} == {project_id}
        runs = list(
            s.execute(
                select(Run.status, Run.error).where(Run.kind == "review.push").order_by(Run.id)
            )
        )
    assert [status for status, _ in runs] == ["failed", "failed", "done"]
    assert all("push stopped after" in (error or "") for _, error in runs[:2])
    assert _store_counts(restart_store) == before

    print(
        f"\ncrash test: pushes gave up {gave_up_1:.1f} s and {gave_up_2:.1f} s after the kills; "
        f"after crash 1 {len(after_1)} tasks ({len(after_1) - len(recorded_1)} unrecorded), "
        f"after crash 2 {len(after_2)} ({len(unrecorded)} unrecorded); restarts took "
        f"{restart_1:.0f} s and {restart_2:.0f} s; re-push created {final.created}, updated "
        f"{final.updated}, kept {final.unchanged}; {time.monotonic() - started:.0f} s after the "
        "first start"
    )
