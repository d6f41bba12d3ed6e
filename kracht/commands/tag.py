"""``kracht tag``, ``kracht evaluate`` and ``kracht codebook``: the tagging contract on the CLI.

``kracht tag --in segments.jsonl --out tags.jsonl`` is the contract of design §5: one output line
per input id, in input order, ``text[start:end] == evidence.text``, interviewer turns uncoded.
Input is read line by line and tagged in batches with ``nlp.pipe``, so memory stays flat however
long the file is. A bad line (not JSON, no id or text) is reported on stderr with its line number
and skipped; the run goes on and the exit status is 1.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipeline.codebook import CodebookError, load_codebook
from pipeline.config import Settings, get_settings
from pipeline.evaluate import Scores, evaluate
from pipeline.schema import TagInput
from pipeline.tagger import Tagger, is_coded_speaker

err = Console(stderr=True, highlight=False, soft_wrap=True)

CodebookOption = Annotated[
    Path | None, typer.Option("--codebook", help="codebook YAML (default: KRACHT_CODEBOOK)")
]
NlpOption = Annotated[
    str | None, typer.Option("--nlp", help="auto | blank | a spaCy package or path (KRACHT_NLP)")
]


def _settings(nlp: str | None, codebook: Path | None) -> Settings:
    overrides: dict[str, Any] = {}
    if nlp:
        overrides["nlp"] = nlp
    if codebook:
        overrides["codebook"] = codebook
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return get_settings(**overrides)


@dataclass
class ReadStats:
    """What the reader saw, filled in while the tagger consumes the stream."""

    lines: int = 0
    bad: int = 0
    coded: int = 0


def read_inputs(handle: IO[bytes], stats: ReadStats) -> Iterator[TagInput]:
    """Valid inputs of a JSON-lines byte stream; bad lines are reported and skipped."""
    for number, raw in enumerate(handle, 1):
        stats.lines = number
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            data = json.loads(line)
            item = _as_input(data)
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
            stats.bad += 1
            err.print(f"[red]line {number}[/red]: {exc}")
            continue
        stats.coded += is_coded_speaker(item.speaker)
        yield item


def _as_input(data: Any) -> TagInput:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    item_id = data.get("id")
    if isinstance(item_id, bool) or not isinstance(item_id, str | int) or item_id == "":
        raise ValueError("missing or invalid 'id' (a string)")
    text = data.get("text")
    if not isinstance(text, str):
        raise ValueError(f"id {item_id!r}: missing or invalid 'text' (a string)")
    speaker = data.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        raise ValueError(f"id {item_id!r}: 'speaker' must be a string")
    return TagInput.model_construct(id=str(item_id), text=text, speaker=speaker)  # checked above


@contextmanager
def _open(path: str, mode: str) -> Iterator[IO[bytes]]:
    if path == "-":
        yield sys.stdin.buffer if "r" in mode else sys.stdout.buffer
        return
    with open(path, mode) as handle:
        yield handle  # type: ignore[misc]


def run_tag(
    tagger: Tagger,
    source: IO[bytes],
    sink: IO[bytes],
    batch_size: int | None = None,
    n_process: int = 1,
) -> tuple[ReadStats, int]:
    """Tag a JSON-lines stream into another; returns the read stats and the number of themes."""
    stats = ReadStats()
    themes = 0
    for output in tagger.tag(read_inputs(source, stats), batch_size=batch_size,
                             n_process=n_process):
        themes += len(output.themes)
        sink.write(output.model_dump_json().encode("utf-8") + b"\n")
    sink.flush()
    return stats, themes


def tag_command(
    input: Annotated[str, typer.Option("--in", help="segments JSON lines, or - for stdin")] = "-",
    output: Annotated[str, typer.Option("--out", help="tags JSON lines, or - for stdout")] = "-",
    n_process: Annotated[
        int | None, typer.Option("--n-process", help="worker processes (KRACHT_N_PROCESS)")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", help="texts per nlp.pipe batch")
    ] = None,
    codebook: CodebookOption = None,
    nlp: NlpOption = None,
) -> None:
    """Code segments with the codebook themes: one output line per input line, in order."""
    settings = _settings(nlp, codebook)
    try:
        tagger = Tagger.from_settings(settings)
    except CodebookError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    started = time.perf_counter()
    try:
        with _open(input, "rb") as source, _open(output, "wb") as sink:
            stats, themes = run_tag(tagger, source, sink, batch_size or settings.batch_size,
                                    n_process or settings.n_process)
    except OSError as exc:
        err.print(f"[red]cannot tag[/red]: {exc}")
        raise typer.Exit(2) from None
    seconds = time.perf_counter() - started
    good = stats.lines - stats.bad
    err.print(
        f"tagged {good} segments ({stats.coded} coded, {themes} themes) in {seconds:.1f}s "
        f"with {tagger.source} on {tagger.nlp_name}"
        + (f"; [red]{stats.bad} bad lines skipped[/red]" if stats.bad else "")
    )
    raise typer.Exit(1 if stats.bad else 0)


def evaluate_command(
    gold: Annotated[Path, typer.Option("--gold", help="labeled JSON lines (data/dev/*.jsonl)")],
    rules_only: Annotated[
        bool, typer.Option("--rules-only", help="rules alone, even when a classifier exists")
    ] = False,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="write the report as JSON")
    ] = None,
    codebook: CodebookOption = None,
    nlp: NlpOption = None,
) -> None:
    """Per-code precision/recall/F1 of the tagger and a keyword baseline on labeled data."""
    settings = _settings(nlp, codebook)
    if rules_only:
        settings = settings.model_copy(update={"use_model": False})
    tagger = Tagger.from_settings(settings)
    results = evaluate(tagger, gold)
    Console(width=max(Console().width, 110)).print(scores_table(results, str(gold)))
    report = {"gold": str(gold), "systems": [r.as_dict() for r in results]}
    if json_path:
        json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
        err.print(f"report written to {json_path}")
    raise typer.Exit(1 if results[0].interviewer_coded else 0)


def scores_table(results: list[Scores], title: str) -> Table:
    """Per-code P/R/F1 of every system side by side, then micro, macro and polarity."""
    short = ["rules" if r.system.startswith(("rules", "model")) else "keyword" for r in results]
    table = Table(
        title=f"coding quality on {title}",
        caption=" · ".join(f"{name} = {r.system}" + (f" on {r.extra['nlp']}" if "nlp" in r.extra
                                                      else "") for name, r in zip(short, results,
                                                                                  strict=True)),
    )
    table.add_column("code")
    for name in short:
        for metric in ("P", "R", "F1"):
            table.add_column(f"{name} {metric}", justify="right")
    codes = list(results[0].codes)
    for code in codes:
        row = [code]
        for result in results:
            counts = result.codes[code]
            row += [f"{counts.precision:.2f}", f"{counts.recall:.2f}", f"{counts.f1:.2f}"]
        table.add_row(*row)
    table.add_section()
    table.add_row("micro", *[v for r in results for v in
                             (f"{r.micro.precision:.2f}", f"{r.micro.recall:.2f}",
                              f"{r.micro.f1:.2f}")])
    table.add_row("macro F1", *[v for r in results for v in ("", "", f"{r.macro_f1:.3f}")])
    table.add_row("polarity acc.", *[v for r in results for v in
                                     ("", "", f"{r.polarity_accuracy:.2f}")])
    table.add_row("interviewer coded", *[v for r in results for v in
                                         ("", "", f"{r.interviewer_coded}/"
                                                  f"{r.interviewer_segments}")])
    return table


codebook_app = typer.Typer(name="codebook", help="Check and show the codebook.",
                           no_args_is_help=True)

PathArgument = Annotated[
    Path | None, typer.Argument(help="codebook YAML (default: KRACHT_CODEBOOK)")
]


def _codebook_path(path: Path | None) -> Path:
    return path or get_settings().codebook


@codebook_app.command("validate")
def validate_codebook(path: PathArgument = None) -> None:
    """Validate a codebook: schema, unique ids, groups, patterns; errors name their line."""
    target = _codebook_path(path)
    try:
        book = load_codebook(target)
    except CodebookError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    patterns = sum(len(code.patterns) for code in book.codes)
    for warning in book.warnings():
        err.print(f"[yellow]warning[/yellow] {warning}")
    err.print(
        f"[green]ok[/green] {target}: {book.name} {book.version}, {len(book.codes)} codes in "
        f"{len(book.groups)} groups, {patterns} patterns, hash {book.hash[:12]}"
    )


@codebook_app.command("show")
def show_codebook(path: PathArgument = None) -> None:
    """The codes as a table: id, label, group, colour, aliases, number of patterns."""
    target = _codebook_path(path)
    try:
        book = load_codebook(target)
    except CodebookError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    table = Table(title=f"{book.name} {book.version} ({book.hash[:12]})")
    for column in ("id", "label", "group", "color", "aliases", "patterns"):
        table.add_column(column, justify="right" if column == "patterns" else "left")
    for code in book.codes:
        table.add_row(
            code.id, code.label, book.group(code.group).label,
            f"[{code.color}]■[/] {code.color}", ", ".join(code.aliases), str(len(code.patterns)),
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``tag``, ``evaluate`` and the ``codebook`` sub-app to the main app."""
    app.command("tag")(tag_command)
    app.command("evaluate")(evaluate_command)
    app.add_typer(codebook_app, name="codebook")
