"""Build nl_kracht_ud, kracht's offline Dutch spaCy pipeline, from the UD Dutch treebanks.

Run as ``.venv/bin/python -m models.nl_kracht_ud.build`` (``make model-nlp``). Stages:

1. ``prepare``: read the CoNLL-U files, strip the ``_`` UD Dutch puts in lemmas
   (``mee_nemen`` -> ``meenemen``, ``FARC_rebel`` -> ``FARC-rebel`` where the form has the
   hyphen, so the edit-tree lemmatizer learns surface lemmas), split, and ``spacy convert``
   them to ``corpus/``.
   Train = LassySmall dev+test + the first ~75% (by document) of Alpino dev; the remaining
   Alpino dev documents are the held-out set used for picking ``model-best`` and for designing
   the combined lemmatizer, so that Alpino test is touched only for the final report.
2. ``train``: ``spacy train config.cfg`` (seeded, bounded steps) into ``training/``.
3. ``assemble``: copy ``training/model-best`` to ``pipeline/`` and append
   ``kracht_combined_lemmatizer`` (simplemma + rule tables + edit-tree, see
   ``pipeline/nlp/lemmatizer.py``).
4. ``evaluate``: score on Alpino test (and the held-out dev part) and write ``metrics.json``,
   which the model card quotes.

Only the build reads ``../shared``; the shipped ``pipeline/`` needs nothing outside the repo
and the installed packages.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_UD = REPO.parent / "shared" / "ud-dutch"
CORPUS = HERE / "corpus"
TRAINING = HERE / "training"
PIPELINE = HERE / "pipeline"
METRICS = HERE / "metrics.json"
CONFIG = HERE / "config.cfg"

ALPINO_DEV = "nl_alpino-ud-dev.conllu"
ALPINO_TEST = "nl_alpino-ud-test.conllu"
LASSY = ("nl_lassysmall-ud-dev.conllu", "nl_lassysmall-ud-test.conllu")
#: Share of Alpino dev (by document) that goes into training; the rest is held out.
ALPINO_DEV_TRAIN_SHARE = 0.75
SENTS_PER_DOC = 10
SEED = 1234

if str(REPO) not in sys.path:  # so ``pipeline.nlp`` resolves when run as a script too
    sys.path.insert(0, str(REPO))

from pipeline.nlp.ud_eval import (  # noqa: E402
    GoldSentence,
    read_conllu,
    strip_lemma,
    write_conllu,
)

log = logging.getLogger("nl_kracht_ud.build")


def split_alpino_dev(sentences: list[GoldSentence]) -> tuple[list[GoldSentence],
                                                             list[GoldSentence]]:
    """Split Alpino dev at a document boundary: the first ~75% train, the rest held out.

    Whole documents stay together so the held-out part does not share a text with training.
    """
    cut = int(len(sentences) * ALPINO_DEV_TRAIN_SHARE)
    while 0 < cut < len(sentences) and sentences[cut].doc_id == sentences[cut - 1].doc_id:
        cut += 1
    return sentences[:cut], sentences[cut:]


def heldout_sentences(ud_dir: Path) -> list[GoldSentence]:
    """The held-out Alpino dev documents (the combination is designed on these)."""
    return split_alpino_dev(read_conllu(ud_dir / ALPINO_DEV))[1]


def _spacy(*args: str) -> None:
    cmd = [sys.executable, "-m", "spacy", *args]
    log.info("$ %s", " ".join(cmd))
    subprocess.run(cmd, check=True, cwd=REPO)


def prepare(ud_dir: Path) -> None:
    """Write the stripped/split CoNLL-U files and their ``.spacy`` conversions to corpus/."""
    if not ud_dir.is_dir():
        raise SystemExit(f"UD Dutch treebanks not found at {ud_dir} (use --ud-dir)")
    CORPUS.mkdir(parents=True, exist_ok=True)
    train: list[GoldSentence] = []
    for name in LASSY:
        train.extend(read_conllu(ud_dir / name))
    alpino_train, alpino_heldout = split_alpino_dev(read_conllu(ud_dir / ALPINO_DEV))
    train.extend(alpino_train)
    parts = {"train": train, "dev": alpino_heldout, "test": read_conllu(ud_dir / ALPINO_TEST)}
    for part, sents in parts.items():
        conllu = CORPUS / f"{part}.conllu"
        write_conllu(sents, conllu, lemma_fn=lambda tok: strip_lemma(tok.lemma, tok.form))
        log.info("%s: %d sentences, %d tokens", part, len(sents),
                 sum(len(s.tokens) for s in sents))
        _spacy("convert", str(conllu), str(CORPUS), "--converter", "conllu",
               "--n-sents", str(SENTS_PER_DOC), "--lang", "nl")


def train(n_threads: int | None = None) -> float:
    """Train with config.cfg into training/; returns wall-clock seconds."""
    if TRAINING.exists():
        shutil.rmtree(TRAINING)
    env_threads = str(n_threads) if n_threads else os.environ.get("OMP_NUM_THREADS", "2")
    os.environ.setdefault("OMP_NUM_THREADS", env_threads)
    start = time.perf_counter()
    cpu_start = resource.getrusage(resource.RUSAGE_CHILDREN)
    _spacy("train", str(CONFIG), "--output", str(TRAINING),
           "--paths.train", str(CORPUS / "train.spacy"),
           "--paths.dev", str(CORPUS / "dev.spacy"),
           "--system.seed", str(SEED))
    seconds = time.perf_counter() - start
    cpu_end = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_end.ru_utime - cpu_start.ru_utime) + (cpu_end.ru_stime - cpu_start.ru_stime)
    # Wall time depends on what else runs on the machine; CPU time is the reproducible cost.
    (TRAINING / "train_seconds.json").write_text(
        json.dumps({"wall_seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1)}) + "\n")
    return seconds


def assemble() -> None:
    """Copy model-best to pipeline/ and append the combined lemmatizer."""
    import spacy

    import pipeline.nlp.lemmatizer  # noqa: F401  (registers the factories)

    nlp = spacy.load(TRAINING / "model-best")
    nlp.add_pipe("kracht_combined_lemmatizer")  # last: particle joining needs the parse
    nlp.meta.update({
        "name": "kracht_ud",
        "version": "0.1.0",
        "description": "kracht's offline Dutch pipeline, trained on UD Dutch Alpino and "
                       "LassySmall (dev/test portions). See MODEL_CARD.md.",
        "license": "CC BY-SA 4.0",
        "author": "kracht contributors",
        "sources": [
            {"name": "UD Dutch Alpino", "url": "https://github.com/UniversalDependencies/"
             "UD_Dutch-Alpino", "license": "CC BY-SA 4.0"},
            {"name": "UD Dutch LassySmall", "url": "https://github.com/UniversalDependencies/"
             "UD_Dutch-LassySmall", "license": "CC BY-SA 4.0"},
        ],
    })
    # Like spaCy's own pipelines: the parser sets sentence boundaries; the senter is shipped
    # disabled, for callers that want fast sentence splitting without parsing.
    if "senter" in nlp.pipe_names:
        nlp.disable_pipe("senter")
    if PIPELINE.exists():
        shutil.rmtree(PIPELINE)
    nlp.to_disk(PIPELINE)
    log.info("pipeline written to %s (%.1f MB)", PIPELINE, dir_size_mb(PIPELINE))


def dir_size_mb(path: Path) -> float:
    """Total size of the files under ``path`` in MB."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def evaluate(ud_dir: Path) -> dict:
    """Score the shipped pipeline (and each lemma source) and write metrics.json."""
    import spacy

    from pipeline.nlp import lemmatizer as lem
    from pipeline.nlp.ud_eval import evaluate as ud_evaluate
    from pipeline.nlp.ud_eval import lemma_source_scores, words_per_second

    nlp = spacy.load(PIPELINE)
    test = read_conllu(ud_dir / ALPINO_TEST)
    heldout = heldout_sentences(ud_dir)
    metrics: dict = {"alpino_test": ud_evaluate(nlp, test).as_dict(),
                     "alpino_dev_heldout": ud_evaluate(nlp, heldout).as_dict()}
    metrics["lemma_sources_alpino_test"] = lemma_source_scores(nlp, test)
    metrics["lemma_sources_alpino_dev_heldout"] = lemma_source_scores(nlp, heldout)
    metrics["words_per_second"] = words_per_second(nlp, test)
    metrics["words_per_cpu_second"] = words_per_second(nlp, test, clock=time.process_time)
    if "senter" in nlp.component_names:  # sentence F of the (disabled) senter on its own
        senter_only = spacy.load(PIPELINE, exclude=["parser"])
        senter_only.enable_pipe("senter")
        metrics["senter_only_alpino_test"] = ud_evaluate(senter_only, test).sent_f
        metrics["senter_only_words_per_second"] = words_per_second(senter_only, test)
    blank = lem.blank_pipeline()
    metrics["blank_simplemma"] = {
        "words_per_second": words_per_second(blank, test, repeats=3),
        "words_per_cpu_second": words_per_second(blank, test, repeats=3,
                                                 clock=time.process_time),
        "alpino_test": ud_evaluate(blank, test).as_dict(),
    }
    metrics["pipeline_mb"] = round(dir_size_mb(PIPELINE), 2)
    seconds_file = TRAINING / "train_seconds.json"
    if seconds_file.exists():
        metrics["training_time"] = json.loads(seconds_file.read_text())
    metrics["data"] = {
        "train_sentences": _count(CORPUS / "train.conllu"),
        "heldout_sentences": len(heldout),
        "test_sentences": len(test),
    }
    METRICS.write_text(json.dumps(metrics, indent=2) + "\n")
    log.info("metrics written to %s", METRICS)
    return metrics


def _count(conllu: Path) -> dict[str, int] | None:
    if not conllu.exists():
        return None
    sents = read_conllu(conllu)
    return {"sentences": len(sents), "tokens": sum(len(s.tokens) for s in sents)}


def main(argv: list[str] | None = None) -> None:
    """Command line: run the chosen stages in order."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ud-dir", type=Path,
                        default=Path(os.environ.get("KRACHT_UD_DUTCH", DEFAULT_UD)),
                        help="folder with the UD Dutch CoNLL-U files (default %(default)s)")
    parser.add_argument("--stages", nargs="+",
                        default=["prepare", "train", "assemble", "evaluate"],
                        choices=["prepare", "train", "assemble", "evaluate"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if "prepare" in args.stages:
        prepare(args.ud_dir)
    if "train" in args.stages:
        log.info("training took %.0f s", train())
    if "assemble" in args.stages:
        assemble()
    if "evaluate" in args.stages:
        metrics = evaluate(args.ud_dir)
        print(json.dumps(metrics["alpino_test"], indent=2))


if __name__ == "__main__":
    main()
