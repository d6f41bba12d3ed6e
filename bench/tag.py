"""Benchmark of ``kracht tag``: words/s per core, ratio to raw ``nlp.pipe``, memory, quality.

Run ``python -m bench.tag [--nlp blank|auto|PATH] [--words N]``. Everything is measured in one
run on the same machine, so the ratios (design §8: >= 40,000 words/s per core on the blank
fallback, >= 0.35 x raw ``nlp.pipe`` of the same pipeline) mean something even on a busy box.

The corpus is built by shuffling and repeating the texts of the labeled train/dev files (never
the test split) until it holds ``--words`` words; it is written as a JSON-lines file so the
end-to-end figure goes through exactly the code of ``kracht tag`` (read, parse, tag, write).
Memory is checked by tagging a quarter of the corpus and the whole of it in child processes:
streaming means the peak RSS should hardly grow.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.config import PROJECT_ROOT, get_settings
from pipeline.evaluate import evaluate
from pipeline.nlp.load import UD_PIPELINE, load_nlp
from pipeline.tagger import Tagger

DATA = PROJECT_ROOT / "data"
SOURCES = ("train", "dev")  # never data/test


def corpus_texts(words: int, seed: int = 13) -> list[tuple[str, str]]:
    """``(speaker, text)`` pairs from the labeled train/dev texts, shuffled, >= ``words`` words."""
    base: list[tuple[str, str]] = []
    for split in SOURCES:
        for path in sorted((DATA / split).glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    base.append((row.get("speaker") or "resident", row["text"]))
    if not base:
        raise SystemExit("no labeled texts under data/train or data/dev to build a corpus from")
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    total = 0
    while total < words:
        rng.shuffle(base)
        for speaker, text in base:
            out.append((speaker, text))
            total += len(text.split())
            if total >= words:
                break
    return out


def write_corpus(pairs: list[tuple[str, str]], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for i, (speaker, text) in enumerate(pairs):
            row = {"id": f"b{i}", "text": text, "speaker": speaker}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def timed(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Wall and CPU seconds of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def warm_timed(fn, repeat: int = 2) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Best wall and CPU seconds of ``repeat`` runs of ``fn()`` after one untimed warm-up run.

    Why: the first pass over a corpus fills the tokenizer cache, simplemma's lemma cache and the
    theme matcher's word cache. Whichever pipeline ran first used to pay for all of them (the
    raw ``nlp.pipe`` did, which flattered the ratio); a long-running ``kracht tag`` is warm.
    """
    fn()
    runs = [timed(fn) for _ in range(max(1, repeat))]
    return min(wall for wall, _ in runs), min(cpu for _, cpu in runs)


def child_peak_rss(corpus: Path, nlp: str) -> float:
    """Peak RSS (MB) of ``kracht tag`` on ``corpus`` in a child process."""
    code = (
        "import sys, resource\n"
        "from kracht.commands.tag import run_tag\n"
        "from pipeline.config import get_settings\n"
        "from pipeline.tagger import Tagger\n"
        f"t = Tagger.from_settings(get_settings(nlp={nlp!r}))\n"
        f"with open({str(corpus)!r}, 'rb') as src, open(__import__('os').devnull, 'wb') as dst:\n"
        "    run_tag(t, src, dst)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=PROJECT_ROOT)
    return float(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nlp", default="blank", help="blank | auto | a spaCy package or path")
    parser.add_argument("--words", type=int, default=1_000_000)
    parser.add_argument("--no-memory", action="store_true", help="skip the child-process check")
    parser.add_argument("--no-quality", action="store_true", help="skip the dev macro-F1 lines")
    parser.add_argument("--repeat", type=int, default=2,
                        help="timed runs per measurement after one warm-up run (best counts)")
    parser.add_argument("--with-model", action="store_true",
                        help="tag with the active classifier too (default: the rule tagger)")
    args = parser.parse_args(argv)

    from kracht.commands.tag import run_tag  # the exact code path of `kracht tag`

    settings = get_settings(nlp=args.nlp, use_model=args.with_model)
    pairs = corpus_texts(args.words)
    words = sum(len(text.split()) for _, text in pairs)
    resident = [text for speaker, text in pairs if speaker != "interviewer"]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.jsonl"
        write_corpus(pairs, corpus)

        nlp, name = load_nlp(settings)
        texts = [text for _, text in pairs]
        tagger = Tagger.from_settings(settings)

        def raw() -> None:
            for _ in nlp.pipe(texts, batch_size=256):
                pass

        def themed() -> None:
            for _ in tagger.nlp.pipe(texts, batch_size=256):
                pass

        def end_to_end() -> None:
            with corpus.open("rb") as source, open(os.devnull, "wb") as sink:
                run_tag(tagger, source, sink)

        # Every pass is warmed up first and the best of ``--repeat`` runs counts, so no
        # measurement pays for caches another one filled.
        raw_wall, raw_cpu = warm_timed(raw, args.repeat)
        full_wall, full_cpu = warm_timed(themed, args.repeat)
        e2e_wall, e2e_cpu = warm_timed(end_to_end, args.repeat)

        print(f"pipeline {name} ({', '.join(nlp.pipe_names)}); corpus {len(pairs):,} segments, "
              f"{words:,} words ({len(resident):,} resident segments)")
        print(f"raw nlp.pipe        {words / raw_wall:>10,.0f} words/s wall  "
              f"{words / raw_cpu:>10,.0f} words/s per core (cpu)")
        print(f"nlp.pipe + themes   {words / full_wall:>10,.0f} words/s wall  "
              f"{words / full_cpu:>10,.0f} words/s per core (cpu)")
        print(f"kracht tag (e2e)    {words / e2e_wall:>10,.0f} words/s wall  "
              f"{words / e2e_cpu:>10,.0f} words/s per core (cpu)")
        print(f"ratio e2e / raw     {raw_wall / e2e_wall:>10.2f} (wall)  "
              f"{raw_cpu / e2e_cpu:>10.2f} (cpu)   target >= 0.35 (raw = the loaded pipeline; "
              f"all warm, best of {args.repeat})")
        print(f"ratio e2e / +themes {full_wall / e2e_wall:>10.2f} (wall)  "
              f"{full_cpu / e2e_cpu:>10.2f} (cpu)   (what reading, merging and writing cost)")
        print(f"target per core     {'ok' if words / e2e_cpu >= 40_000 else 'BELOW'} "
              f"(>= 40,000 words/s per core on the blank fallback)")

        if not args.no_memory:
            quarter = Path(tmp) / "quarter.jsonl"
            write_corpus(pairs[: len(pairs) // 4], quarter)
            small = child_peak_rss(quarter, args.nlp)
            large = child_peak_rss(corpus, args.nlp)
            print(f"peak RSS            {small:>10,.0f} MB for 1/4 corpus, {large:,.0f} MB for all "
                  f"(growth {large / small:.2f}x)")
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"this process        {own:>10,.0f} MB peak RSS (holds the corpus in memory for the "
              "raw measurement)")

    if not args.no_quality:
        dev = sorted((DATA / "dev").glob("*.jsonl"))
        if dev:
            with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
                for path in dev:
                    handle.write(path.read_text(encoding="utf-8"))
            choices = ["blank"] + (["auto"] if (UD_PIPELINE / "config.cfg").is_file() else [])
            for choice in choices:
                # rules only: the shipped classifier was trained on dev, so it would flatter itself
                tagger = Tagger.from_settings(get_settings(nlp=choice, use_model=False))
                rules, baseline = evaluate(tagger, handle.name)
                print(f"dev macro-F1        {rules.macro_f1:.3f} rules on {tagger.nlp_name} "
                      f"(keyword baseline {baseline.macro_f1:.3f})")
            os.unlink(handle.name)


if __name__ == "__main__":
    main()
