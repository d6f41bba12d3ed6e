"""Benchmark of ingest: documents/s for .txt and .docx, with and without pseudonymization.

Run ``python -m bench.ingest [--txt N] [--docx N] [--words W]``. Targets (design §8): txt >= 200
and docx >= 20 documents/s without pseudonymization. The corpus is synthetic Dutch interview
transcripts (~W words each, names, a phone number and an address in every one), written to a
temporary folder and ingested through :class:`pipeline.ingest.run.Ingestor` into a temporary
SQLite store, so the figure covers discovery, manifest, reading, turns, segments and the writes.
deduce's one-time load is timed on its own and kept out of the per-document figures.

Both wall-clock and CPU rates are printed: on a shared, busy machine the wall figure mostly
measures the neighbours, while documents per CPU-second is what the code costs.
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
from pathlib import Path

from pipeline.config import get_settings
from pipeline.ingest.run import Ingestor
from pipeline.store import Store

FIRST = ["Fatima", "Mohammed", "Anouk", "Yusuf", "Sanne", "Piet", "Ayse", "Jan", "Dewi", "Kees"]
LAST = ["de Vries", "Kowalski", "Bakker", "el Amrani", "Yilmaz", "Jansen", "Ng", "Visser"]
QUESTIONS = [
    "Hoe ben je bij het initiatief terechtgekomen?", "Wat betekent de buurtkamer voor je?",
    "Wie helpt er mee?", "Hoe gaat het met de gemeente?", "Wat zou je willen veranderen?",
]
ANSWERS = [
    "Mijn buurvrouw {name} nam me mee naar de moestuin en sindsdien kom ik elke week.",
    "Ik voel me minder eenzaam, want er is altijd iemand om mee te praten bij de koffie.",
    "De subsidie is maar voor een jaar, dus we moeten steeds opnieuw formulieren invullen.",
    "{first} belde toen ik ziek was. Dat had niemand eerder gedaan in deze straat.",
    "Je kunt me bellen op 06-{phone}, dan kom ik helpen met de boodschappen.",
    "We vergaderen bij {first} thuis op de Kerkstraat {number} als de buurtkamer dicht is.",
    "Het vertrouwen tussen bewoners en de corporatie is gegroeid, maar het gaat langzaam.",
    "Ik had nooit gedacht dat ik zelf een groep zou leiden, nu organiseer ik de kookavond.",
]


def transcript(i: int, words: int, rng: random.Random) -> str:
    lines = [f"Titel: Gesprek {i}", f"Datum: {1 + i % 28} maart 2025"]
    count = 0
    while count < words:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        answer = rng.choice(ANSWERS).format(
            name=f"{first} {last}", first=first, phone=rng.randint(10000000, 99999999),
            number=rng.randint(1, 200),
        )
        for line in (f"I: {rng.choice(QUESTIONS)}", f"R: {answer}"):
            lines.append(line)
            count += len(line.split())
    return "\n".join(lines) + "\n"


def docx_bytes(text: str) -> bytes:
    import docx

    document = docx.Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def write_corpus(folder: Path, n: int, words: int, suffix: str, seed: int) -> int:
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    total = 0
    for i in range(n):
        text = transcript(i, words, rng)
        total += len(text.split())
        path = folder / f"gesprek_{i:05d}{suffix}"
        if suffix == ".docx":
            path.write_bytes(docx_bytes(text))
        else:
            path.write_text(text, encoding="utf-8")
    return total


def timed_ingest(
    root: Path, folder: Path, pseudonymize: bool
) -> tuple[float, float, int, float]:
    """(wall s, CPU s, documents, s spent loading deduce) for one fresh store."""
    settings = get_settings(home=root / "home")
    settings.privacy.enabled = pseudonymize
    store = Store("sqlite:///" + str(root / f"{folder.name}-{pseudonymize}.db"))
    ingestor = Ingestor(settings, store)
    load = 0.0
    if pseudonymize:
        started = time.perf_counter()
        _ = ingestor.pseudonymizer.engine
        load = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    summary = ingestor.ingest([folder])
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if summary.quarantined:
        raise SystemExit(f"benchmark corpus quarantined: {summary.quarantined[:3]}")
    store.close()
    return elapsed, cpu, summary.documents_added, load


def pseudonymization_rate(root: Path, texts: list[str]) -> tuple[float, float]:
    from pipeline.privacy import Pseudonymizer

    pseudo = Pseudonymizer.from_settings(get_settings(home=root / "home"))
    _ = pseudo.engine
    words = sum(len(t.split()) for t in texts)
    started, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        pseudo.pseudonymize(text)
    return words / (time.perf_counter() - started), words / (time.process_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txt", type=int, default=400, help="number of .txt documents")
    parser.add_argument("--docx", type=int, default=100, help="number of .docx documents")
    parser.add_argument("--words", type=int, default=400, help="words per document")
    parser.add_argument("--no-privacy-runs", action="store_true", help="skip the deduce runs")
    args = parser.parse_args()
    rows: list[tuple[str, float, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="kracht-bench-") as tmp:
        root = Path(tmp)
        write_corpus(root / "txt", args.txt, args.words, ".txt", 1)
        write_corpus(root / "docx", args.docx, args.words, ".docx", 2)
        runs: list[tuple[str, bool, float | None]] = [("txt", False, 200.0), ("docx", False, 20.0)]
        if not args.no_privacy_runs:
            runs += [("txt", True, None), ("docx", True, None)]
        load_time = 0.0
        for kind, pseudo, target in runs:
            elapsed, cpu, docs, load = timed_ingest(root, root / kind, pseudo)
            load_time = max(load_time, load)
            wall_rate, cpu_rate = docs / elapsed, docs / cpu
            verdict = ""
            if target is not None:
                verdict = "ok" if wall_rate >= target else (
                    f"below {target:g} wall" + (", ok per CPU" if cpu_rate >= target else "")
                )
            name = f"ingest {kind} " + ("with" if pseudo else "without") + " pseudonymization"
            rows.append((name + " (docs/s)", wall_rate, cpu_rate, verdict))
        if not args.no_privacy_runs:
            rng = random.Random(3)
            texts = [transcript(i, args.words, rng) for i in range(100)]
            wall_rate, cpu_rate = pseudonymization_rate(root, texts)
            rows.append(("pseudonymization (words/s)", wall_rate, cpu_rate, ""))
            rows.append(("deduce load, cached (s)", load_time, float("nan"), ""))
    width = max(len(r[0]) for r in rows)
    print(f"{args.txt} txt / {args.docx} docx documents of ~{args.words} words")
    print(f"{'measure':<{width}}  {'wall':>10}  {'per CPU':>10}")
    for name, wall, cpu, verdict in rows:
        print(f"{name:<{width}}  {wall:>10.1f}  {cpu:>10.1f}  {verdict}")


if __name__ == "__main__":
    main()
