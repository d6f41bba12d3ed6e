"""Benchmark: push 5,000 resident segments with predictions to a real local Label Studio.

Prints tasks/s for the whole ``push`` (selecting from the store, building context and
predictions, bulk import of tasks and of predictions, recording the mapping); the target is
>= 500 tasks/s. A fresh server is started on a free loopback port (about a minute) unless
``--url`` and ``KRACHT_LS_TOKEN`` point at one already running.

    python -m bench.review [--segments 5000] [--batch-size 5000] [--url URL]
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr

from annotation import server as ls
from annotation.push import push
from pipeline.config import get_settings
from pipeline.store import Document, Segment, Store, Tag, TaggedSegment

TARGET = 500.0
LINES = [
    ("Sinds de koffieochtend in de buurtkamer ken ik veel mensen uit de straat.", "ontmoeting"),
    ("Ik zat vroeger de hele dag alleen thuis, nu ga ik naar de tuin.", "eenzaamheid"),
    ("De buurman doet boodschappen voor mij als ik ziek ben.", "onderlinge_hulp"),
    ("Die subsidie is maar voor één jaar en de formulieren kosten avonden.", "financiering"),
    ("We hebben het buurtfeest helemaal zelf georganiseerd.", "eigenaarschap"),
]  # fmt: skip


def build_store(store: Store, n: int, per_document: int = 10) -> None:
    """n resident segments (with interviewer turns between them) and one or two machine tags."""
    source = "model:themes@bench"
    with store.session() as s:
        for d in range((n + per_document - 1) // per_document):
            doc_id = f"bench{d:06d}"
            text, rows = "", []
            for k in range(min(per_document, n - d * per_document)):
                i = d * per_document + k
                for speaker, role, line in (
                    ("I", "interviewer", "En hoe was dat voor u?"),
                    ("R", "resident", f"{LINES[i % len(LINES)][0]} ({i})"),
                ):
                    start = len(text) + len(speaker) + 2
                    text += f"{speaker}: {line}\n"
                    rows.append((speaker, role, line, start, i))
            s.add(
                Document(
                    id=doc_id, source_path=f"bench/{doc_id}.txt", sha256=doc_id.ljust(64, "0"),
                    format="txt", collection="bench", text=text, pseudonymized=True,
                )
            )  # fmt: skip
            for ordinal, (speaker, role, line, start, i) in enumerate(rows):
                seg_id = f"{doc_id}-{ordinal:03d}"
                s.add(
                    Segment(
                        id=seg_id, document_id=doc_id, ordinal=ordinal, turn=ordinal,
                        speaker=speaker, role=role, start=start, end=start + len(line), text=line,
                    )
                )  # fmt: skip
                if role != "resident":
                    continue
                code = LINES[i % len(LINES)][1]
                cue = line.split()[3]
                at = line.index(cue)
                s.add(
                    Tag(
                        segment_id=seg_id, code=code, score=0.5 + (i % 50) / 100,
                        polarity="positive", source=source,
                        evidence=[{"start": at, "end": at + len(cue), "text": cue}],
                    )
                )  # fmt: skip
                if i % 3 == 0:
                    s.add(
                        Tag(
                            segment_id=seg_id, code="netwerken", score=0.6, polarity="neutral",
                            source=source, evidence=[],
                        )
                    )  # fmt: skip
                s.add(TaggedSegment(segment_id=seg_id, source=source))


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by every process in a process group (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])
    return total / tick


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=5000, help="tasks per import request")
    parser.add_argument("--url", default=None, help="a running Label Studio (token from env)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="kracht-bench-review-") as tmp:
        server = None
        if args.url:
            url = args.url
            token = SecretStr(os.environ.get("KRACHT_LS_TOKEN", ""))
        else:
            if ls.installed_version() != ls.LS_VERSION:
                print(f"installing label-studio {ls.LS_VERSION} …", file=sys.stderr)
                ls.install()
            token = SecretStr(secrets.token_hex(20))
            server = ls.LocalServer(
                data_dir=Path(tmp) / "label-studio",
                port=ls.free_port(),
                token=token,
                password=SecretStr(secrets.token_urlsafe(12)),
            )
            started = time.monotonic()
            url = server.start(timeout=300)
            print(f"Label Studio up in {time.monotonic() - started:.0f} s", file=sys.stderr)
        try:
            settings = get_settings(
                home=Path(tmp) / "home",
                database_url=None,
                ls_url=url,
                ls_token=token,
                ls_project=f"kracht bench {secrets.token_hex(3)}",
            )
            store = Store.from_settings(settings)
            build_store(store, args.segments)
            load = os.getloadavg()[0]
            pgid = server.proc.pid if server is not None and server.proc is not None else None
            server_cpu = group_cpu_seconds(pgid) if pgid else 0.0
            client_cpu = time.process_time()
            result = push(store, settings, batch_size=args.batch_size)
            client_cpu = time.process_time() - client_cpu
            server_cpu = group_cpu_seconds(pgid) - server_cpu if pgid else 0.0
            again = push(store, settings, batch_size=args.batch_size)
            store.close()
        finally:
            if server is not None:
                server.stop()
    rate = result.tasks_per_second
    verdict = "ok" if rate >= TARGET else "below target"
    if server_cpu:
        # the push is sequential (kracht waits for Label Studio), so on an otherwise idle machine
        # its wall time is about the CPU time both sides use; on a busy one it is longer
        cpu = server_cpu + client_cpu
        print(
            f"review push CPU: Label Studio {server_cpu:.2f} s + kracht {client_cpu:.2f} s = "
            f"{cpu:.2f} s -> {result.created / cpu:.0f} tasks per CPU-second (uncontended rate)"
        )
    print(
        f"review push: {result.created} tasks with predictions in {result.seconds:.2f} s = "
        f"{rate:.0f} tasks/s (target >= {TARGET:.0f}: {verdict}); re-push of the same segments "
        f"({again.unchanged} unchanged, {again.updated} updated, {again.created} created) in "
        f"{again.seconds:.2f} s; "
        f"load average at start {load:.1f} on {os.cpu_count()} cores"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
