"""Benchmark of the theme model: training time, and tagging speed with the model on.

Run ``python -m bench.model [--nlp blank] [--words N] [--train]``. Measured in one run, on the
same texts (train/dev, never test): raw ``nlp.pipe`` of the loaded pipeline (as ``bench/tag.py``),
the same with the theme components, the tagger with rules only and the tagger with the active
model (no JSON reading or writing), in words/s of CPU time per core, plus the ratio to raw
``nlp.pipe`` (design §8: >= 40,000 words/s per core on the blank fallback, >= 0.35 x raw).
``--train`` also times ``kracht train`` into a temporary folder (target < 5 minutes).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from pipeline.config import get_settings
from pipeline.nlp.load import load_nlp
from pipeline.registry import load_active
from pipeline.schema import TagInput
from pipeline.tagger import Tagger
from pipeline.training import DEFAULT_TRAIN, read_examples


def cpu(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.process_time()
    fn()
    return time.process_time() - started


def corpus(words: int) -> list[tuple[str, str]]:
    """``(speaker, text)`` of the train/dev segments, repeated until ``words`` words."""
    base = [(e.speaker or "resident", e.text) for e in read_examples(DEFAULT_TRAIN)]
    out: list[tuple[str, str]] = []
    total = 0
    while total < words:
        for pair in base:
            out.append(pair)
            total += len(pair[1].split())
            if total >= words:
                break
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nlp", default="blank")
    parser.add_argument("--words", type=int, default=300_000)
    parser.add_argument("--train", action="store_true", help="also time a full training")
    args = parser.parse_args(argv)

    settings = get_settings(nlp=args.nlp)
    pairs = corpus(args.words)
    words = sum(len(text.split()) for _, text in pairs)
    texts = [text for _, text in pairs]
    items = [TagInput(id=str(i), text=text, speaker=speaker)
             for i, (speaker, text) in enumerate(pairs)]

    tagger = Tagger.from_settings(settings.model_copy(update={"use_model": False}))
    classifier = load_active(settings)
    if classifier is None:
        raise SystemExit("no active theme model: kracht train, or kracht models use NAME@VERSION")
    nlp, _ = load_nlp(settings)  # the loaded pipeline without the theme components, as bench/tag
    for pipeline in (nlp, tagger.nlp):
        list(pipeline.pipe(texts[:500]))  # warm the caches of every component
    raw = cpu(lambda: [None for _ in nlp.pipe(texts, batch_size=256)])
    themes = cpu(lambda: [None for _ in tagger.nlp.pipe(texts, batch_size=256)])
    rules = cpu(lambda: [None for _ in tagger.tag(items)])
    tagger.classifier = classifier
    model = cpu(lambda: [None for _ in tagger.tag(items)])
    predict = cpu(lambda: classifier.predict(texts))

    print(f"pipeline {tagger.nlp_name}; model {classifier.name}@{classifier.version}; "
          f"{len(pairs):,} segments, {words:,} words")
    print(f"{'what':<30}{'words/s/core':>14}{'x raw nlp.pipe':>16}")
    for name, seconds in (("raw nlp.pipe", raw), ("nlp.pipe + theme components", themes),
                          ("tag, rules only", rules),
                          ("tag, rules + model", model), ("model predict alone", predict)):
        print(f"{name:<30}{words / seconds:>14,.0f}{raw / seconds:>16.2f}")
    ok = words / model >= 40_000 and raw / model >= 0.35
    print(f"target (>= 40,000 words/s/core and >= 0.35 x raw): {'met' if ok else 'NOT met'}")

    if args.train:
        from pipeline.training import train

        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = train(settings.model_copy(update={"use_model": False}), out_root=tmp,
                           version="0.0.0-bench", test_path=None)
            seconds = time.perf_counter() - started
        print(f"training {result.spec}: {seconds:.1f} s wall (target < 300 s)")


if __name__ == "__main__":
    main()
