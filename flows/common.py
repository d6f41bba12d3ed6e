"""What every flow and task shares: settings, the store, heavy objects per process, run records.

Flow parameters must be plain JSON (deployments store them), so flows take ``home`` and build
:class:`Settings` themselves; tasks get a JSON snapshot of those settings, so a Dask worker in
another process (or on another machine) works with exactly the configuration the flow saw, not
with whatever its own environment says. Secrets are left out of the snapshot.

Opening a store, building the pseudonymizer or loading the tagger costs far more than one
document, so each process keeps one of each per configuration (:func:`resources`). That cache is
the only state kept between tasks, and it holds nothing the store does not also have.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pipeline.config import Settings, get_settings
from pipeline.jobs import RunRecorder
from pipeline.store import Store

SettingsSnapshot = dict[str, Any]
_SECRETS = {"ls_token"}


def load_settings(home: str | None = None) -> Settings:
    """Settings for one flow run: environment and kracht.toml, with ``home`` if given."""
    settings = get_settings(**({"home": home} if home else {}))
    settings.home = settings.home.resolve()
    return settings


def snapshot(settings: Settings) -> SettingsSnapshot:
    """JSON copy of the settings for tasks (no secrets; paths made absolute)."""
    data = settings.model_dump(mode="json", exclude=_SECRETS)
    data["home"] = str(settings.home.resolve())
    return data


def from_snapshot(snap: SettingsSnapshot) -> Settings:
    return Settings(**snap)


class Resources:
    """One process's store, ingestor and tagger for one configuration (built when first used)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store.from_settings(settings)
        self._lock = threading.Lock()
        self._ingestor = None
        self._tagger = None

    @property
    def ingestor(self):  # -> pipeline.ingest.run.Ingestor (imported when first used)
        with self._lock:
            if self._ingestor is None:
                from pipeline.ingest.run import Ingestor

                self._ingestor = Ingestor(self.settings, self.store)
            return self._ingestor

    @property
    def tagger(self):  # -> pipeline.tagger.Tagger (spaCy loads slowly)
        with self._lock:
            if self._tagger is None:
                from pipeline.jobs import load_tagger

                self._tagger = load_tagger(self.settings)
                book = self._tagger.codebook
                self.store.record_codebook(book.name, book.version, book.hash, book.yaml_text)
            return self._tagger

    def forget_tagger(self) -> None:
        """After retraining, the next task loads the new model."""
        with self._lock:
            self._tagger = None


@functools.lru_cache(maxsize=8)
def _resources(key: str) -> Resources:
    return Resources(from_snapshot(json.loads(key)))


def resources(snap: SettingsSnapshot) -> Resources:
    """This process's :class:`Resources` for a settings snapshot."""
    return _resources(json.dumps(snap, sort_keys=True))


def flow_run_id() -> str | None:
    """The Prefect flow run id, when called inside a flow run."""
    try:
        from prefect.runtime import flow_run

        return str(flow_run.id) if flow_run.id else None
    except Exception:  # outside Prefect: no id
        return None


@contextmanager
def flow_record(store: Store, kind: str, parameters: dict[str, Any]) -> Iterator[RunRecorder]:
    """One ``run`` row per flow run (kind = flow name), with the Prefect flow run id."""
    params = {**parameters, "flow_run_id": flow_run_id(), "via": "prefect"}
    with RunRecorder(store, kind, params) as rec:
        yield rec


def short_error(exc: BaseException | None, limit: int = 500) -> str:
    """A one-line message for run records and the terminal (never a traceback)."""
    if exc is None:
        return "unknown error"
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
