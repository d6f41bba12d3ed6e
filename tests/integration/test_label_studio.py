"""Review round trip against a real Label Studio (its own virtualenv, a free loopback port).

Push 50 resident segments with predictions, let two annotator users work through the API (one
accepts most predictions unchanged, one changes some), pull, and check the agreement numbers
against ones counted by hand from the known choices. Then re-push (no new tasks), break the
connection mid-push through a fault-injection proxy and resume (every segment exactly once), and
check that a wrong token gives one clear error without the token in it.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from typer.testing import CliRunner

from annotation import labeling_config as lc
from annotation.agreement import ALL, agreement
from annotation.client import (
    LabelStudioAuthError,
    LabelStudioClient,
    LabelStudioUnavailable,
    RetryPolicy,
)
from annotation.pull import pull, reviewed_examples
from annotation.push import PushError, project_tasks, push, select_items
from pipeline.config import Settings
from pipeline.store import Annotation, ReviewTask, Store, Tag
from tests.integration import ls_fixtures
from tests.integration.ls_fixtures import CODES, SENTENCES, FaultProxy, RunningServer, add_documents

# the Label Studio fixtures live in their own module (tests/conftest.py is shared)
ls_server = ls_fixtures.ls_server
fault_proxy = ls_fixtures.fault_proxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODEL = "model:themes@1.0.0"
N = 50
B_UPTO = 40  # annotator B reviews segments 0..39 only (alpha copes with the missing ones)
B_CANCELS = 45  # ... and skips segment 45 (cancelled: must give no tags)
FAST = RetryPolicy(tries=3, base=0.05, cap=0.2)


def predicted(i: int) -> dict[str, str]:
    """The machine's codes on resident segment i: the sentence's code, plus netwerken on i%3==0."""
    codes = {SENTENCES[i % len(SENTENCES)][1]: "positive"}
    if i % 3 == 0:
        codes["netwerken"] = "neutral"
    return codes


def machine_tags(i: int) -> list[tuple[str, float, str]]:
    return [(code, 0.55 + (i % 10) / 25, pol) for code, pol in predicted(i).items()]


def choices_a(i: int) -> dict[str, str]:
    """Annotator A keeps the prediction, except on i%4==0: drops netwerken, adds vertrouwen."""
    if i % 4:
        return predicted(i)
    out = {c: p for c, p in predicted(i).items() if c != "netwerken"}
    out["vertrouwen"] = "positive"
    return out


def choices_b(i: int) -> dict[str, str]:
    """Annotator B drops the sentence code on i%5==0, adds netwerken on i%7==0, and calls the
    sentence code negative on i%6==0."""
    out = dict(predicted(i))
    main = SENTENCES[i % len(SENTENCES)][1]
    if i % 5 == 0:
        out.pop(main)
    if i % 7 == 0:
        out.setdefault("netwerken", "positive")
    if i % 6 == 0 and main in out:
        out[main] = "negative"
    return out


def result_for(codes: dict[str, str], text: str, extra: list[dict] | None = None) -> list[dict]:
    result: list[dict] = []
    if codes:
        result.append(
            {"from_name": lc.CODES, "to_name": lc.TEXT, "type": "choices",
             "value": {"choices": sorted(codes)}}
        )  # fmt: skip
    for code, polarity in sorted(codes.items()):
        result.append(
            {"from_name": lc.polarity_name(code), "to_name": lc.TEXT, "type": "choices",
             "value": {"choices": [polarity]}}
        )  # fmt: skip
    for sentence, code, cue in SENTENCES:
        if code in codes and sentence in text:
            at = text.index(cue)
            result.append(
                {"id": f"ev-{code[:8]}", "from_name": lc.EVIDENCE, "to_name": lc.TEXT,
                 "type": "labels", "value": {"start": at, "end": at + len(cue), "text": cue,
                                             "labels": [code]}}
            )  # fmt: skip
    return result + (extra or [])


def kappa_2x2(a: int, b: int, c: int, d: int) -> float:
    n = a + b + c + d
    p_o = (a + d) / n
    p_e = ((a + b) * (a + c) + (c + d) * (b + d)) / n**2
    return (p_o - p_e) / (1 - p_e)


def alpha_binary_two_coders(pairs: list[tuple[bool, bool]]) -> float:
    """Krippendorff's alpha for 2 coders, yes/no, every unit judged by both:
    1 - (n - 1) * disagreements / (n0 * n1), n = 2 * units."""
    n = 2 * len(pairs)
    n1 = sum(x + y for x, y in pairs)
    disagreements = sum(x != y for x, y in pairs)
    return 1 - (n - 1) * disagreements / ((n - n1) * n1)


@pytest.fixture
def review_settings(
    ls_server: RunningServer, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    yield ls_fixtures.pointed_at(ls_server.url, ls_server.token, tmp_path / "home",
                                 "kracht test", monkeypatch)


@pytest.fixture
def review_store(review_settings: Settings) -> Iterator[Store]:
    store = Store.from_settings(review_settings)
    yield store
    store.close()


def test_push_annotate_pull_agreement_repush(
    ls_server: RunningServer, review_settings: Settings, review_store: Store, tmp_path
) -> None:
    ids = add_documents(review_store, N, tags_for=machine_tags, source=MODEL)
    assert len(ids) == N

    first = push(review_store, review_settings)
    assert (first.created, first.updated, first.selected) == (N, 0, N)
    client = LabelStudioClient(ls_server.url, ls_server.token)
    tasks, dupes = project_tasks(client, first.project_id)
    assert sorted(tasks) == sorted(ids) and dupes == 0
    with review_store.session() as s:
        assert s.scalar(select(func.count()).select_from(ReviewTask)) == N
    # predictions reference the config's names, carry the model version and evidence offsets
    task = client.request("GET", f"/api/tasks/{tasks[ids[0]]}")
    (pred,) = task["predictions"]
    assert pred["model_version"] == MODEL
    spans = [r for r in pred["result"] if r["from_name"] == lc.EVIDENCE]
    text = task["data"]["text"]
    assert spans and all(text[r["value"]["start"] : r["value"]["end"]] == r["value"]["text"]
                         for r in spans)  # fmt: skip
    assert task["data"]["context_before"][0]["speaker"] == "I (interviewer)"

    # two annotators, created by the admin, annotate through the API
    users = {}
    for name in ("anna", "bram"):
        user = client.request(
            "POST", "/api/users", json={"email": f"{name}@kracht.test", "username": name}
        )
        users[name] = user["id"]
    texts = {sid: client.request("GET", f"/api/tasks/{tasks[sid]}")["data"]["text"] for sid in ids}
    bad_span = {"id": "bad", "from_name": lc.EVIDENCE, "to_name": lc.TEXT, "type": "labels",
                "value": {"start": 0, "end": 5, "text": "XXXXX",
                          "labels": ["ontmoeting"]}}  # fmt: skip
    annotation_ids: dict[tuple[str, int], int] = {}
    for i, sid in enumerate(ids):
        made = client.request(
            "POST",
            f"/api/tasks/{tasks[sid]}/annotations",
            json={"result": result_for(choices_a(i), texts[sid]), "completed_by": users["anna"]},
        )
        annotation_ids[("anna", i)] = made["id"]
        if i < B_UPTO:
            extra = [bad_span] if i == 1 else None
            made = client.request(
                "POST",
                f"/api/tasks/{tasks[sid]}/annotations",
                json={
                    "result": result_for(choices_b(i), texts[sid], extra),
                    "completed_by": users["bram"],
                },
            )
            annotation_ids[("bram", i)] = made["id"]
    client.request(
        "POST",
        f"/api/tasks/{tasks[ids[B_CANCELS]]}/annotations",
        json={"result": [], "was_cancelled": True, "completed_by": users["bram"]},
    )

    pulled = pull(review_store, review_settings)
    assert pulled.annotations == N + B_UPTO + 1
    assert pulled.new == N + B_UPTO + 1 and pulled.cancelled == 1
    assert pulled.spans_rejected == 1  # the bad span on segment 1, text mismatch
    assert pulled.segments_tagged == N + B_UPTO
    with review_store.session() as s:
        sources = Counter(
            src for (src,) in s.execute(select(Tag.source).where(Tag.segment_id == ids[B_CANCELS]))
        )
    assert "human:bram@kracht.test" not in sources and sources["human:anna@kracht.test"] >= 1

    # --- agreement, checked against counts made by hand from the choices above --------------
    report = agreement(review_store, CODES)
    assert report.annotators == ["anna@kracht.test", "bram@kracht.test"]
    assert report.segments == N and report.shared_segments == B_UPTO
    # vertrouwen: anna yes on i%4==0 (10 of the 40 shared), bram never ->
    # table a=0, b=10, c=0, d=30: p_o = .75, p_e = .25*0 + .75*1 = .75 -> kappa 0;
    # alpha: n=80, n1=10, n0=70, 10 disagreements -> 1 - 79*10/(70*10) = -0.128571...
    vertrouwen = report.code("vertrouwen")
    assert vertrouwen.kappa == pytest.approx(0.0)
    assert vertrouwen.alpha == pytest.approx(1 - 79 * 10 / 700)
    for code in CODES:
        pairs = [(code in choices_a(i), code in choices_b(i)) for i in range(B_UPTO)]
        a = sum(x and y for x, y in pairs)
        b = sum(x and not y for x, y in pairs)
        c = sum(y and not x for x, y in pairs)
        d = sum(not x and not y for x, y in pairs)
        got = report.code(code)
        if a + b == 0 and a + c == 0:
            assert got.kappa is None and got.alpha is None, code
            continue
        assert got.kappa == pytest.approx(kappa_2x2(a, b, c, d)), code
        # anna's 10 extra segments (40..49) have one coder: not pairable, alpha ignores them
        assert got.alpha == pytest.approx(alpha_binary_two_coders(pairs)), code
    # netwerken by hand: predicted on i%3==0; anna drops it on i%12==0, bram adds it on i%7==0.
    # over i<40: anna yes = {3,6,9,15,18,21,27,30,33,39} (10); bram yes = i%3==0 (14) plus
    # {7,14,28,35} = 18; both = 10; bram only = 8 -> table a=10, b=0, c=8, d=22
    assert report.code("netwerken").kappa == pytest.approx(kappa_2x2(10, 0, 8, 22))

    # acceptance: anna was shown 50 + 17 codes (sentence code + netwerken on i%3==0) and dropped
    # netwerken on i%12==0 (0, 12, 24, 36, 48) -> 62/67. bram saw 40 + 14 = 54 and dropped the
    # sentence code on i%5==0 (8 segments) -> 46/54.
    anna = report.versus_model("anna@kracht.test", ALL)
    assert (anna.predicted, anna.kept) == (67, 62)
    assert anna.acceptance == pytest.approx(62 / 67)
    bram = report.versus_model("bram@kracht.test", ALL)
    assert (bram.segments, bram.predicted, bram.kept) == (B_UPTO, 54, 46)
    assert bram.acceptance == pytest.approx(46 / 54)
    assert report.versus_model("anna@kracht.test", "netwerken").acceptance == pytest.approx(12 / 17)
    assert report.versus_model("anna@kracht.test", "vertrouwen").acceptance is None

    # reviewed examples: majority with ties kept; positive vs negative -> mixed
    examples = {e["id"]: e for e in reviewed_examples(review_store)}
    assert len(examples) == N
    assert examples[ids[6]]["themes"][SENTENCES[1][1]] == "mixed"  # i=6: anna +, bram -
    assert examples[ids[45]]["themes"] == predicted(45)  # bram cancelled: anna alone
    assert examples[ids[0]]["speaker"] == "resident"

    # --- an edit replaces, a second pull doubles nothing -------------------------------------
    edited = dict(choices_a(1), talenten="positive")
    client.request(
        "PATCH",
        f"/api/annotations/{annotation_ids[('anna', 1)]}",
        json={"result": result_for(edited, texts[ids[1]])},
    )
    again = pull(review_store, review_settings)
    assert again.new == 0 and again.updated == 1
    with review_store.session() as s:
        assert s.scalar(select(func.count()).select_from(Annotation)) == N + B_UPTO + 1
        anna_codes = set(
            s.scalars(
                select(Tag.code).where(
                    Tag.segment_id == ids[1], Tag.source == "human:anna@kracht.test"
                )
            )
        )
    assert anna_codes == set(edited)

    # --- re-push: predictions updated, no task added, annotations untouched ------------------
    with review_store.session() as s:
        tag = s.scalar(select(Tag).where(Tag.segment_id == ids[0], Tag.source == MODEL).limit(1))
        tag.polarity = "mixed"
    second = push(review_store, review_settings)
    # only the changed segment's predictions are replaced; the rest are compared and kept
    assert (second.created, second.updated, second.unchanged) == (0, 1, N - 1)
    tasks_after, dupes = project_tasks(client, second.project_id)
    assert tasks_after == tasks and dupes == 0
    task = client.request("GET", f"/api/tasks/{tasks[ids[0]]}")
    assert len(task["predictions"]) == 1
    assert any(r["value"].get("choices") == ["mixed"] for r in task["predictions"][0]["result"])
    assert len(client.export(second.project_id)) == N

    # --- a codebook change updates the project's labeling config ------------------------------
    codes = [{"id": c, "label": c} for c in CODES] + [{"id": "nieuw_thema", "label": "Nieuw"}]
    third = push(review_store, review_settings, codes=codes)
    assert (third.created, third.updated, third.unchanged) == (0, 0, N)
    assert "nieuw_thema" in lc.config_codes(client.get_project(third.project_id)["label_config"])
    client.close()

    # --- the CLI shows the table and writes JSON and CSV ---------------------------------------
    from kracht.cli import app

    out_json, out_csv = tmp_path / "agreement.json", tmp_path / "agreement.csv"
    shown = CliRunner().invoke(
        app, ["review", "agreement", "--json", str(out_json), "--csv", str(out_csv)]
    )
    assert shown.exit_code == 0, shown.output
    assert "acceptance" in shown.output and "netwerken" in shown.output
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["annotators"] == ["anna@kracht.test", "bram@kracht.test"]
    assert out_csv.read_text(encoding="utf-8").startswith("kind,code,annotator")


def test_uncertainty_order_puts_scores_nearest_half_first(store: Store) -> None:
    scores = {0: 0.9, 1: 0.52, 2: 0.7, 3: 0.45, 4: 0.99}
    ids = add_documents(store, 5, tags_for=lambda i: [("ontmoeting", scores[i], "positive")])
    with store.session() as s:
        items, held = select_items(
            s, collection=None, limit=3, order="uncertainty", require_pseudonymized=True
        )
    assert [it.segment.id for it in items] == [ids[1], ids[3], ids[2]] and held == 0


def test_push_resumes_after_the_connection_dies(
    ls_server: RunningServer,
    review_settings: Settings,
    review_store: Store,
    fault_proxy: FaultProxy,
) -> None:
    n = 300
    ids = add_documents(review_store, n, prefix="res", tags_for=machine_tags, source=MODEL)
    settings = review_settings.model_copy(update={"ls_url": fault_proxy.url})
    direct = LabelStudioClient(ls_server.url, ls_server.token)

    # 1) an import whose answer is lost after Label Studio stored it: reconciled, not repeated
    fault_proxy.faults.lose_answer_on = "return_task_ids"
    fault_proxy.faults.lose_answer_times = 1
    with LabelStudioClient(fault_proxy.url, ls_server.token, retry=FAST) as client:
        done = push(review_store, settings, limit=120, client=client, batch_size=50)
    assert done.recovered == 50 and done.created == 70
    tasks, dupes = project_tasks(direct, done.project_id)
    assert len(tasks) == 120 and dupes == 0

    # 2) the connection is cut mid-push: a clear error, then a re-run finishes the work
    fault_proxy.reset()
    fault_proxy.faults.refuse_after = 3  # 3 more imports get through, then nothing does
    with (
        LabelStudioClient(fault_proxy.url, ls_server.token, retry=FAST) as client,
        pytest.raises(PushError, match="run `kracht review push` again"),
    ):
        push(review_store, settings, client=client, batch_size=50)
    partial, _ = project_tasks(direct, done.project_id)
    assert 120 < len(partial) < n

    fault_proxy.reset()  # the "server" is back
    with LabelStudioClient(fault_proxy.url, ls_server.token, retry=FAST) as client:
        final = push(review_store, settings, client=client, batch_size=50)
    assert final.created + final.updated + final.unchanged == n
    assert final.created == n - len(partial) and final.updated > 0  # the cut batch lacked them
    tasks, dupes = project_tasks(direct, final.project_id)
    assert sorted(tasks) == sorted(ids) and dupes == 0
    with review_store.session() as s:
        assert s.scalar(select(func.count()).select_from(ReviewTask)) == n
    project = direct.get_project(final.project_id)
    assert project["task_number"] == n
    # every task has exactly one prediction (replaced, never stacked)
    assert project["total_predictions_number"] == n
    direct.close()


def test_retries_on_5xx_and_gives_up_on_a_slow_server(
    ls_server: RunningServer, fault_proxy: FaultProxy
) -> None:
    fault_proxy.faults.status_next = [503, 502]
    with LabelStudioClient(fault_proxy.url, ls_server.token, retry=FAST) as client:
        assert client.whoami()["email"]
    assert len(fault_proxy.faults.seen) == 3

    fault_proxy.reset()
    fault_proxy.faults.delay = 1.5
    started = time.monotonic()
    with (
        LabelStudioClient(fault_proxy.url, ls_server.token, retry=FAST, timeout=0.3) as client,
        pytest.raises(LabelStudioUnavailable) as info,
    ):
        client.whoami()
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert "\n" not in message and fault_proxy.url in message
    assert ls_server.token.get_secret_value() not in message


def test_wrong_token_is_one_clear_error_and_never_printed(
    ls_server: RunningServer, tmp_path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    bad = secrets.token_hex(20)
    with (
        LabelStudioClient(ls_server.url, SecretStr(bad)) as client,
        pytest.raises(LabelStudioAuthError) as info,
    ):
        client.whoami()
    assert "Label Studio rejected the token (401)" in str(info.value)
    assert bad not in str(info.value) and bad not in repr(client)

    from kracht.cli import app

    monkeypatch.setenv("KRACHT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KRACHT_LS_URL", ls_server.url)
    monkeypatch.setenv("KRACHT_LS_TOKEN", bad)
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(app, ["review", "push"])
    output = result.output  # stdout and stderr together
    assert result.exit_code == 2
    assert "Label Studio rejected the token (401)" in output
    assert len([line for line in output.splitlines() if "error" in line]) == 1
    assert bad not in output and bad not in caplog.text
