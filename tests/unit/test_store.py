"""The store: writes that two workers may race on stay idempotent (a real SQLite file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipeline.store import CodebookVersion, Store


def test_codebook_registered_by_two_workers_at_once_is_stored_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker B checks for the codebook before worker A's insert is committed, then inserts
    too: the unique hash refuses B's row, and B must accept A's instead of failing the run."""
    url = f"sqlite:///{tmp_path / 'kracht.db'}"
    a, b = Store(url), Store(url)
    a.record_codebook("kb", "1.0.0", "h1", "codes: []")  # (creates the schema too)
    b.record_codebook("kb", "1.0.0", "h1", "codes: []")  # the ordinary idempotent path

    real_get = Session.get
    raced = {"done": False}

    def get_before_commit(self, entity, ident, **kwargs):  # type: ignore[no-untyped-def]
        if entity is CodebookVersion and ident == "h2" and not raced["done"]:
            raced["done"] = True
            a.record_codebook("kb", "1.1.0", "h2", "codes: []")  # A wins meanwhile
            return None  # ... but B looked before A committed
        return real_get(self, entity, ident, **kwargs)

    monkeypatch.setattr(Session, "get", get_before_commit)
    b.record_codebook("kb", "1.1.0", "h2", "codes: []")
    assert raced["done"]
    with a.session() as s:
        assert s.scalar(select(func.count()).select_from(CodebookVersion)) == 2
    a.close()
    b.close()
