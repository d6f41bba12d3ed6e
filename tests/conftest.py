"""Shared fixtures: settings and a real SQLite store in a temporary KRACHT_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Settings, get_settings
from pipeline.store import Store

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"
SHARED = REPO.parent / "shared"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("KRACHT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KRACHT_DATABASE_URL", raising=False)
    return get_settings()


@pytest.fixture
def store(settings: Settings) -> Store:
    store = Store.from_settings(settings)
    yield store
    store.close()
