"""Helpers for the flow tests and the flow benchmark: corpora and store counts.

The sample corpus (``data/sample``) is copied (top level only: its stories and manifest) so other
files added there later cannot change what these tests expect; without it a small corpus is
written. ``generated_corpus`` makes N stories by shuffling sample sentences, as the benchmark does.
"""

from __future__ import annotations

import random
import re
import shutil
import socket
from contextlib import closing
from pathlib import Path

from sqlalchemy import func, select

from pipeline.store import Document, Quarantine, Segment, Store, Tag, TaggedSegment

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
STORY_SUFFIXES = {".txt", ".md"}

FALLBACK = {
    "moestuin.txt": (
        "I: Wat betekent de moestuin voor u?\n"
        "R: Door de tuin ken ik nu mijn buren. We helpen elkaar met water geven als iemand "
        "op vakantie is. Ik voel me minder eenzaam sinds ik hier elke week kom.\n"
    ),
    "buurtkamer.txt": (
        "In de buurtkamer drinken we koffie en ontmoeten we nieuwe mensen. De gemeente geeft "
        "maar subsidie voor een jaar, dat maakt het lastig. Ik voel me hier gewaardeerd.\n"
    ),
    "repaircafe.md": (
        "# Repair café\n\nIk repareer fietsen voor de buurt. Ik wist niet dat ik dat kon, nu "
        "ben ik er trots op. De vrijwilligers bepalen zelf hoe het café loopt.\n"
    ),
}


def copy_sample(dest: Path) -> Path:
    """The sample stories (and manifest) in ``dest``; a tiny corpus when there is no sample."""
    dest.mkdir(parents=True, exist_ok=True)
    if SAMPLE.is_dir() and any(SAMPLE.glob("*.txt")):
        for path in SAMPLE.iterdir():
            if path.is_file() and (path.suffix in STORY_SUFFIXES or path.name == "manifest.yaml"):
                shutil.copy2(path, dest / path.name)
    else:
        for name, text in FALLBACK.items():
            (dest / name).write_text(text, encoding="utf-8")
    return dest


def sample_sentences() -> list[str]:
    """Resident-like sentences from the sample (speaker labels and headings removed)."""
    texts = []
    source = SAMPLE if SAMPLE.is_dir() else None
    if source:
        for path in sorted(source.glob("*.txt")):
            raw = path.read_bytes()
            for enc in ("utf-8", "utf-16", "cp1252"):
                try:
                    texts.append(raw.decode(enc))
                    break
                except UnicodeDecodeError:
                    continue
    else:
        texts = list(FALLBACK.values())
    sentences = []
    for text in texts:
        for line in text.splitlines():
            line = re.sub(r"^\s*(\[[^\]]*\]\s*)?[A-Za-zÀ-ÿ .]{1,30}:\s+", "", line).strip()
            if len(line) < 25 or line.startswith(("#", "---")):
                continue
            sentences.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+", line) if len(s) > 20)
    return sentences


def generated_corpus(dest: Path, n: int, seed: int = 7, sentences_per_doc: int = 24) -> Path:
    """``n`` stories of shuffled sample sentences (interviews: I/R turns, every 3rd story)."""
    dest.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    pool = sample_sentences()
    for i in range(n):
        picked = [rng.choice(pool) for _ in range(sentences_per_doc)]
        if i % 3 == 0:
            lines = []
            for j in range(0, len(picked), 3):
                lines.append("I: Kunt u daar meer over vertellen?")
                lines.append("R: " + " ".join(picked[j:j + 3]))
            text = "\n".join(lines) + "\n"
        else:
            text = "\n\n".join(" ".join(picked[j:j + 4]) for j in range(0, len(picked), 4)) + "\n"
        (dest / f"verhaal_{i:04d}.txt").write_text(text, encoding="utf-8")
    return dest


def store_counts(store: Store) -> dict[str, int]:
    """What a re-run must not change: documents, segments, tags, coded segments, quarantine."""
    with store.session() as s:
        return {
            "documents": s.scalar(select(func.count()).select_from(Document)) or 0,
            "segments": s.scalar(select(func.count()).select_from(Segment)) or 0,
            "tags": s.scalar(select(func.count()).select_from(Tag)) or 0,
            "tagged_segments": s.scalar(select(func.count()).select_from(TaggedSegment)) or 0,
            "quarantined": s.scalar(select(func.count()).select_from(Quarantine)) or 0,
        }


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
