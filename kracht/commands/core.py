"""Core commands: ingest, segments, code, run, status.

They are thin: parse options, build settings and the store, call :mod:`pipeline.jobs`, print a
summary. Exit status 1 means some input was quarantined or bad; 2 means the command could not run.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from pipeline import jobs
from pipeline.config import Settings, get_settings
from pipeline.ingest.manifest import ManifestIndex
from pipeline.ingest.readers import reader_for
from pipeline.ingest.run import IngestSummary, parse_document
from pipeline.privacy import Pseudonymizer
from pipeline.store import Store

console = Console(stderr=True)

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="store, caches and outputs (KRACHT_HOME)")
]


def settings_for(home: Path | None = None) -> Settings:
    settings = get_settings(**({"home": home} if home else {}))
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", force=False
    )
    return settings


def print_ingest_summary(summary: IngestSummary) -> None:
    for where, reason in summary.quarantined:
        console.print(f"[red]quarantined[/red] {where}: {reason}", highlight=False)
    for where in summary.no_consent:
        console.print(f"[yellow]skipped[/yellow] {where}: no consent in manifest", highlight=False)
    console.print(
        f"ingested {summary.documents_added} new documents ({summary.segments_added} segments), "
        f"{summary.duplicates} already in the store, {len(summary.quarantined)} quarantined, "
        f"{len(summary.no_consent)} without consent",
        highlight=False,
    )


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} files"),
        console=console, transient=True, disable=not console.is_terminal,
    )


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="files or folders to ingest")],
    home: HomeOption = None,
) -> None:
    """Read stories and transcripts, pseudonymize them and split them into segments."""
    settings = settings_for(home)
    store = Store.from_settings(settings)
    with _progress() as progress:
        task = progress.add_task("ingest", total=None)
        summary = jobs.ingest(paths, settings, store, on_file=lambda _s: progress.advance(task))
    print_ingest_summary(summary)
    raise typer.Exit(1 if summary.failed else 0)


def segments(
    files: Annotated[list[Path], typer.Argument(help="files to parse (nothing is stored)")],
    out: Annotated[str, typer.Option("--out", help="output path, or - for stdout")] = "-",
    home: HomeOption = None,
) -> None:
    """Show how files are split into turns and segments, one JSON line per segment."""
    settings = settings_for(home)
    pseudonymizer = Pseudonymizer.from_settings(settings)
    manifests = ManifestIndex()
    stream = sys.stdout if out == "-" else open(out, "w", encoding="utf-8")  # noqa: SIM115
    failed = 0
    try:
        for path in files:
            try:
                meta = manifests.lookup(path)
                result = reader_for(path)(path, path.read_bytes())
            except Exception as exc:  # a bad file is reported and the rest goes on
                console.print(f"[red]error[/red] {path}: {getattr(exc, 'reason', exc)}")
                failed += 1
                continue
            for raw in result.documents:
                parsed = parse_document(raw, meta, settings, pseudonymizer)
                text = parsed.pseudonymized.text
                name = str(path) + (f"#{raw.record}" if raw.record else "")
                for seg in parsed.segments:
                    line = {
                        "document": name, "segment": seg.ordinal, "speaker": seg.speaker,
                        "role": seg.role, "start": seg.start, "end": seg.end,
                        "text": text[seg.start:seg.end], "timestamp": seg.timestamp,
                    }
                    stream.write(json.dumps(line, ensure_ascii=False) + "\n")
    finally:
        if stream is not sys.stdout:
            stream.close()
    raise typer.Exit(1 if failed else 0)


def code(
    collection: Annotated[str | None, typer.Option(help="only this collection")] = None,
    retag: Annotated[bool, typer.Option(help="code again segments already coded")] = False,
    home: HomeOption = None,
) -> None:
    """Code the resident segments in the store that the current tagger has not coded yet."""
    settings = settings_for(home)
    store = Store.from_settings(settings)
    summary = jobs.code(settings, store, collection=collection, retag=retag)
    console.print(f"coded {summary.segments_coded} segments, {summary.tags_written} tags")


def run(
    paths: Annotated[list[Path], typer.Argument(help="files or folders with stories")],
    home: HomeOption = None,
    runner: Annotated[
        str, typer.Option("--runner", help="where per-document tasks run: local | dask")
    ] = "local",
    dask_address: Annotated[
        str | None,
        typer.Option("--dask-address", help="existing Dask scheduler (default: 2 local workers)"),
    ] = None,
) -> None:
    """The main job: ingest, segment, code, push for review (if configured) and report.

    Runs as the Prefect flow `main` on a temporary local server (nothing to set up).
    """
    from kracht.commands.flows import run_main

    settings = settings_for(home)
    raise typer.Exit(run_main(paths, settings, runner, dask_address))


def status(home: HomeOption = None) -> None:
    """Counts in the store: documents, segments, tags, quarantined files, runs."""
    settings = settings_for(home)
    store = Store.from_settings(settings)
    table = Table(title=f"kracht store ({settings.db_url.split('://')[0]})")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, count in store.counts().items():
        table.add_row(name, str(count))
    Console().print(table)


def register(app: typer.Typer) -> None:
    for command in (ingest, segments, code, run, status):
        app.command()(command)
