"""Fixtures for the Label Studio tests: a real server, a fault-injection proxy, store rows.

The server is the pinned Label Studio from ``.venv-ls`` (installed here when missing), started
once per test session on a free loopback port with a fresh data directory, and stopped at the end.
The proxy sits between kracht and that server to return 5xx, delay, lose answers or refuse
connections on demand; nothing else about Label Studio is mocked.
"""

from __future__ import annotations

import http.server
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from annotation import server as ls
from pipeline.config import Settings, get_settings
from pipeline.store import Document, Segment, Store, Tag, TaggedSegment

CODES = [
    "gezien_en_gewaardeerd", "zelfvertrouwen", "eigenaarschap", "talenten", "netwerken",
    "ontmoeting", "onderlinge_hulp", "leefbaarheid", "vertrouwen", "samenwerking",
    "betrokkenheid", "signalering", "financiering", "eenzaamheid",
]  # fmt: skip

SENTENCES = [  # text, its code, the evidence cue
    ("Sinds de koffieochtend in de buurtkamer ken ik veel buren.", "ontmoeting", "koffieochtend"),
    ("Ik zat vroeger de hele dag alleen thuis, nu niet meer.", "eenzaamheid", "alleen thuis"),
    ("De buurman doet boodschappen voor mij als ik ziek ben.", "onderlinge_hulp", "boodschappen"),
    ("Die subsidie is maar voor één jaar, dat geeft veel onrust.", "financiering", "subsidie"),
    ("We hebben het buurtfeest zelf georganiseerd.", "eigenaarschap", "zelf georganiseerd"),
]  # fmt: skip


@dataclass
class RunningServer:
    url: str
    token: SecretStr
    server: ls.LocalServer


@pytest.fixture(scope="session")
def ls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A real Label Studio on a free loopback port with a fresh data dir (first start ~1 min)."""
    if ls.installed_version() != ls.LS_VERSION:
        ls.install()
    data = tmp_path_factory.mktemp("label-studio")
    token = SecretStr(secrets.token_hex(20))
    server = ls.LocalServer(
        data_dir=data,
        port=ls.free_port(),
        token=token,
        password=SecretStr(secrets.token_urlsafe(12)),
    )
    url = server.start(timeout=300)
    try:
        yield RunningServer(url=url, token=token, server=server)
    finally:
        server.stop()


# --- fault-injection proxy ----------------------------------------------------------------
@dataclass
class Faults:
    """What the proxy does to the next requests; each rule is used up as it fires."""

    status_next: list[int] = field(default_factory=list)  # answer these statuses, in turn
    delay: float = 0.0  # seconds to wait before forwarding
    lose_answer_on: str | None = None  # path part: forward, then answer 502 instead
    lose_answer_times: int = 0
    refuse_after: int | None = None  # after N more forwarded imports, drop every connection
    seen: list[str] = field(default_factory=list)


class FaultProxy:
    """A small threaded HTTP proxy in front of Label Studio that can misbehave on purpose."""

    def __init__(self, upstream: str, port: int = 0) -> None:
        self.upstream = upstream
        self.faults = Faults()
        self._lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _any

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        self._http = httpx.Client(base_url=upstream, timeout=300)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handle(self, h: http.server.BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        with self._lock:
            f = self.faults
            f.seen.append(f"{h.command} {h.path}")
            status = f.status_next.pop(0) if f.status_next else None
            refuse = f.refuse_after is not None and f.refuse_after <= 0
            lose = bool(f.lose_answer_on and f.lose_answer_on in h.path and f.lose_answer_times > 0)
            if lose:
                f.lose_answer_times -= 1
            if "/import" in h.path and h.command == "POST" and f.refuse_after is not None:
                f.refuse_after -= 1
            delay = f.delay
        if refuse:
            h.close_connection = True
            h.connection.close()
            return
        if status is not None:
            self._reply(h, status, b'{"detail": "injected fault"}')
            return
        if delay:
            time.sleep(delay)
        headers = {
            k: v for k, v in h.headers.items() if k.lower() not in ("host", "content-length")
        }
        try:
            upstream = self._http.request(h.command, h.path, content=body, headers=headers)
        except (httpx.HTTPError, RuntimeError):  # upstream gone, or the proxy is closing
            h.close_connection = True
            return
        if lose:
            self._reply(h, 502, b'{"detail": "answer lost on the way back"}')
            return
        self._reply(h, upstream.status_code, upstream.content, upstream.headers.get("content-type"))

    @staticmethod
    def _reply(
        h: http.server.BaseHTTPRequestHandler,
        status: int,
        content: bytes,
        content_type: str | None = "application/json",
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", content_type or "application/json")
        h.send_header("Content-Length", str(len(content)))
        h.end_headers()
        h.wfile.write(content)

    def reset(self) -> None:
        with self._lock:
            self.faults = Faults()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._http.close()


@pytest.fixture
def fault_proxy(ls_server: RunningServer) -> Iterator[FaultProxy]:
    proxy = FaultProxy(ls_server.url)
    try:
        yield proxy
    finally:
        proxy.close()


# --- store rows ---------------------------------------------------------------------------
def add_documents(
    store: Store,
    n_resident: int,
    *,
    per_document: int = 5,
    prefix: str = "doc",
    collection: str = "proef",
    source: str = "model:themes@1.0.0",
    tags_for: Callable[[int], list[tuple[str, float, str]]] | None = None,
) -> list[str]:
    """Documents of alternating interviewer and resident turns; returns resident segment ids.

    Each resident segment gets the machine tags ``tags_for(i)`` (code, score, polarity) under
    ``source``, with an evidence span when the code's sentence is in the text.
    """
    ids: list[str] = []
    with store.session() as s:
        n_docs = (n_resident + per_document - 1) // per_document
        i = 0
        for d in range(n_docs):
            doc_id = f"{prefix}{d:05d}"
            parts: list[tuple[str, str, str]] = []
            for k in range(per_document):
                if i + k >= n_resident:
                    break
                parts.append(("I", "interviewer", f"Vraag {k}: hoe gaat het in de buurt?"))
                sentence = SENTENCES[(i + k) % len(SENTENCES)][0]
                parts.append(("R1", "resident", f"{sentence} (segment {i + k})"))
            text = ""
            spans = []
            for speaker, role, line in parts:
                prefix_text = f"{speaker}: "
                start = len(text) + len(prefix_text)
                text += prefix_text + line + "\n"
                spans.append((speaker, role, line, start))
            s.add(
                Document(
                    id=doc_id, source_path=f"/tmp/{doc_id}.txt", sha256=doc_id.ljust(64, "0"),
                    format="txt", collection=collection, text=text, pseudonymized=True,
                )
            )  # fmt: skip
            for ordinal, (speaker, role, line, start) in enumerate(spans):
                seg_id = f"{doc_id}-{ordinal:03d}"
                s.add(
                    Segment(
                        id=seg_id, document_id=doc_id, ordinal=ordinal, turn=ordinal,
                        speaker=speaker, role=role, start=start, end=start + len(line), text=line,
                    )
                )  # fmt: skip
                if role != "resident":
                    continue
                themes = tags_for(i) if tags_for else []
                for code, score, polarity in themes:
                    evidence = []
                    for sentence, sentence_code, cue in SENTENCES:
                        if sentence_code == code and sentence in line:
                            at = line.index(cue)
                            evidence.append({"start": at, "end": at + len(cue), "text": cue})
                    s.add(
                        Tag(
                            segment_id=seg_id, code=code, score=score, polarity=polarity,
                            evidence=evidence, source=source,
                        )
                    )  # fmt: skip
                s.add(TaggedSegment(segment_id=seg_id, source=source))
                ids.append(seg_id)
                i += 1
    return ids


def pointed_at(url: str, token: SecretStr, home: Path, project: str,
               monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for one test: its own kracht home and SQLite store, this Label Studio server
    and token, and a project name of its own (``project`` plus a random suffix)."""
    monkeypatch.setenv("KRACHT_HOME", str(home))
    monkeypatch.setenv("KRACHT_LS_URL", url)
    monkeypatch.setenv("KRACHT_LS_TOKEN", token.get_secret_value())
    monkeypatch.setenv("KRACHT_LS_PROJECT", f"{project} {secrets.token_hex(4)}")
    monkeypatch.delenv("KRACHT_DATABASE_URL", raising=False)
    return get_settings()


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


__all__ = [
    "CODES",
    "FaultProxy",
    "RunningServer",
    "add_documents",
    "fault_proxy",
    "ls_server",
    "wait_for",
]
