"""Report commands: ``report`` (HTML impact report), ``export`` (tables, REFI-QDA) and ``import``.

Thin wrappers over :mod:`pipeline.report`: parse the selection, build settings, store and
codebook, call one function, print where the file went. Exit status 1 means part of an import
could not be used (unknown codes, unmatched sources); 2 means the command could not run.
"""

from __future__ import annotations

import datetime as dt
import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.config import Settings, get_settings
from pipeline.store import Store

console = Console(stderr=True)

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="store, caches and outputs (KRACHT_HOME)")
]
CollectionOption = Annotated[str | None, typer.Option(help="only this collection")]
NeighbourhoodOption = Annotated[str | None, typer.Option(help="only this neighbourhood")]
FromOption = Annotated[
    dt.datetime | None,
    typer.Option("--from", formats=["%Y-%m-%d"], help="documents dated on or after (YYYY-MM-DD)"),
]
ToOption = Annotated[
    dt.datetime | None,
    typer.Option("--to", formats=["%Y-%m-%d"], help="documents dated on or before (YYYY-MM-DD)"),
]


class Lang(enum.StrEnum):
    nl = "nl"
    en = "en"


class ExportFormat(enum.StrEnum):
    csv = "csv"
    xlsx = "xlsx"
    jsonl = "jsonl"
    qdc = "qdc"
    qdpx = "qdpx"


class ImportFormat(enum.StrEnum):
    qdpx = "qdpx"


class View(enum.StrEnum):
    final = "final"
    all = "all"


def _setup(home: Path | None) -> tuple[Settings, Store, object]:
    from pipeline.codebook import CodebookError, load_codebook

    settings = get_settings(**({"home": home} if home else {}))
    store = Store.from_settings(settings)
    try:
        codebook = load_codebook(settings.codebook)
    except CodebookError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
    return settings, store, codebook


def _date(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def report(
    collection: CollectionOption = None,
    neighbourhood: NeighbourhoodOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    lang: Annotated[Lang | None, typer.Option(help="language of the report")] = None,
    out: Annotated[Path | None, typer.Option(help="folder for report.html")] = None,
    home: HomeOption = None,
) -> None:
    """Write the HTML impact report for a collection, neighbourhood and period."""
    from pipeline.report.html import write_html

    settings, store, codebook = _setup(home)
    path = (out or settings.output_dir) / "report.html"
    write_html(store, codebook, path, collection, neighbourhood, _date(from_), _date(to),
               lang=str(lang or settings.report_language or "nl"))
    console.print(f"report: {path.resolve()}", highlight=False)


def export(
    format_: Annotated[ExportFormat, typer.Option("--format", help="file format")] = (
        ExportFormat.csv
    ),
    out: Annotated[Path | None, typer.Option(help="output file")] = None,
    collection: CollectionOption = None,
    neighbourhood: NeighbourhoodOption = None,
    from_: FromOption = None,
    to: ToOption = None,
    view: Annotated[
        View | None,
        typer.Option(help="final: human over machine (tables' default); all: every source "
                          "(the .qdpx default, one QDA user per source)"),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Export one row per segment × code (csv, xlsx, jsonl) or REFI-QDA (qdc, qdpx)."""
    from pipeline.report.export import export_tables
    from pipeline.report.refi import RefiError, write_qdc, write_qdpx

    settings, store, codebook = _setup(home)
    fmt = ExportFormat(format_)
    default_name = {"csv": "segments.csv", "qdc": "codebook.qdc"}.get(fmt.value,
                                                                     f"kracht.{fmt.value}")
    path = out or settings.output_dir / default_name
    selection = (collection, neighbourhood, _date(from_), _date(to))
    try:
        if fmt is ExportFormat.qdc:
            write_qdc(codebook, path)
        elif fmt is ExportFormat.qdpx:
            write_qdpx(store, codebook, path, *selection, view=str(view or View.all))
        else:
            export_tables(store, codebook, fmt.value, path, *selection,
                          view=str(view or View.final))
    except RefiError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"{fmt.value}: {path.resolve()}", highlight=False)


def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="file to import")],
    format_: Annotated[ImportFormat, typer.Option("--format", help="file format")] = (
        ImportFormat.qdpx
    ),
    home: HomeOption = None,
) -> None:
    """Read codings made in a QDA tool (.qdpx) back in as human tags ``human:<user>``."""
    from pipeline.report.refi import RefiError, import_qdpx

    _settings, store, codebook = _setup(home)
    try:
        summary = import_qdpx(store, codebook, file)
    except RefiError as exc:
        console.print(f"[red]{exc}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(
        f"imported {summary.tags_written} tags on {summary.segments} segments from "
        f"{summary.sources_matched} sources; coders: {', '.join(summary.users) or '-'}",
        highlight=False,
    )
    if summary.machine_codings_skipped:
        console.print(f"skipped {summary.machine_codings_skipped} codings by kracht's own "
                      "machine coders", highlight=False)
    if summary.outside_resident_segments:
        console.print(f"skipped {summary.outside_resident_segments} codings on interviewer or "
                      "other turns (only resident segments carry codes)", highlight=False)
    for name, count in sorted(summary.unknown_codes.items()):
        console.print(f"[yellow]unknown code[/yellow] {name!r}: {count} codings not imported",
                      highlight=False)
    for name in summary.unmatched_sources:
        console.print(f"[yellow]no matching document[/yellow] {name!r}", highlight=False)
    for name in summary.text_mismatch:
        console.print(f"[yellow]text differs from the store[/yellow] {name!r}: not imported "
                      "(positions would not line up)", highlight=False)
    for problem in summary.problems:
        console.print(f"[yellow]note[/yellow] {problem}", highlight=False)
    failed = summary.unknown_codes or summary.unmatched_sources or summary.text_mismatch
    raise typer.Exit(1 if failed else 0)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("export")(export)
    app.command("import")(import_)
