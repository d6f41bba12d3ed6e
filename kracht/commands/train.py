"""``kracht train``, ``kracht models list|use``, the review queue and the model evaluation.

Thin commands over ``pipeline/training.py``, ``pipeline/registry.py`` and
``pipeline/model_eval.py``: parse options, build settings, call, print. Exit status 2 means the
command could not run (no model, bad spec, refused model file).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipeline.config import Settings, get_settings

err = Console(stderr=True, highlight=False)

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="store, caches and outputs (KRACHT_HOME)")
]


def _settings(home: Path | None = None, **overrides: Any) -> Settings:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if home:
        overrides["home"] = home
    return get_settings(**overrides)


def _reviewed(settings: Settings) -> list[dict[str, Any]]:
    """Human-reviewed segments from the store, adjudicated by ``annotation.pull``."""
    from annotation.pull import reviewed_examples
    from pipeline.store import Store

    return reviewed_examples(Store.from_settings(settings))


def train_command(
    include_reviewed: Annotated[
        bool, typer.Option("--include-reviewed", help="add human-reviewed segments from the store")
    ] = False,
    version: Annotated[
        str | None, typer.Option("--version", help="model version (default: next patch)")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="models root; the model goes to OUT/themes/VERSION "
                                   "(default: the project's models/)"),
    ] = None,
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="labeled JSON lines files or folders (default: data/train "
                                    "and data/dev)"),
    ] = None,
    test: Annotated[
        Path | None, typer.Option("--test", help="held-out gold file scored for the model card")
    ] = None,
    no_test: Annotated[bool, typer.Option("--no-test", help="do not score a test file")] = False,
    curve: Annotated[
        Path | None,
        typer.Option("--curve", help="also draw a learning curve on the test file (PNG; a "
                                     "relative path lands in the model folder)"),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Train the theme classifier and write model.skops, metrics.json and MODEL_CARD.md."""
    from pipeline.training import DEFAULT_TEST, DEFAULT_TRAIN, train

    settings = _settings(home, use_model=False)
    try:
        result = train(
            settings,
            version=version,
            out_root=out,
            reviewed=_reviewed(settings) if include_reviewed else None,
            train_paths=data or list(DEFAULT_TRAIN),
            test_path=None if no_test else (test or DEFAULT_TEST),
            curve=curve,
        )
    except (OSError, ValueError) as exc:
        err.print(f"[red]cannot train[/red]: {exc}")
        raise typer.Exit(2) from None
    metrics = result.metrics
    err.print(f"trained {result.spec} in {metrics['train_seconds']} s → {result.path}")
    err.print(f"out of fold: macro-F1 {metrics['out_of_fold']['macro_f1']}, "
              f"polarity {metrics['out_of_fold']['polarity_accuracy']}")
    test_report = metrics.get("test")
    if test_report:
        for system in test_report["systems"]:
            err.print(f"test {system['system']}: macro-F1 {system['macro_f1']:.3f}, "
                      f"polarity {system['polarity_accuracy']:.3f}, interviewer coded "
                      f"{system['interviewer_coded']}")
        err.print(f"test Brier {test_report.get('brier')}")
    err.print(f"use it: kracht models use {result.spec}")


models_app = typer.Typer(name="models", help="List the theme models and choose the active one.",
                         no_args_is_help=True)


@models_app.command("list")
def list_command(home: HomeOption = None) -> None:
    """Registered models with their test macro-F1; the active one is marked."""
    from pipeline import registry

    settings = _settings(home)
    active = registry.active_spec(settings)
    table = Table(title="theme models")
    for column in ("", "model", "macro-F1 (test)", "polarity", "trained", "path"):
        table.add_column(column)
    for info in registry.list_models(settings):
        metrics = info.metrics()
        model = (metrics.get("test") or {}).get("systems", [{}])[-1]
        table.add_row(
            "*" if info.spec == active else "", info.spec,
            f"{model['macro_f1']:.3f}" if "macro_f1" in model else "-",
            f"{model['polarity_accuracy']:.3f}" if "polarity_accuracy" in model else "-",
            str(metrics.get("trained_at", "-")), str(info.path),
        )
    Console().print(table)
    if not settings.use_model:
        err.print("the model is off (KRACHT_USE_MODEL=false): tagging uses rules only")


@models_app.command("use")
def use_command(
    spec: Annotated[str, typer.Argument(help="NAME@VERSION, e.g. themes@1.0.0")],
    home: HomeOption = None,
) -> None:
    """Make a model the active one for this home (saved in <home>/active_model)."""
    from pipeline import registry
    from pipeline.classify import UntrustedModelError

    settings = _settings(home)
    try:
        info = registry.use(settings, spec)
    except (ValueError, LookupError, UntrustedModelError) as exc:
        err.print(f"[red]cannot use {spec}[/red]: {exc}")
        raise typer.Exit(2) from None
    err.print(f"active model: {info.spec} ({info.path})")
    if settings.model and settings.model != info.spec:
        err.print(f"[yellow]note[/yellow]: KRACHT_MODEL={settings.model} still overrides it")


def queue_command(
    limit: Annotated[int, typer.Option("--limit", help="how many segments to show")] = 20,
    out: Annotated[
        Path | None, typer.Option("--out", help="also write the whole ranking as JSON lines")
    ] = None,
    home: HomeOption = None,
) -> None:
    """Resident segments the model is least sure about, most informative first."""
    from pipeline import registry
    from pipeline.classify import UntrustedModelError
    from pipeline.model_eval import review_queue
    from pipeline.store import Store
    from pipeline.tagger import Tagger

    settings = _settings(home)
    try:
        classifier = registry.load_active(settings)
    except (ValueError, LookupError, UntrustedModelError) as exc:
        err.print(f"[red]cannot rank[/red]: {exc}")
        raise typer.Exit(2) from None
    if classifier is None:
        err.print("[red]cannot rank[/red]: no theme model is active (kracht models list)")
        raise typer.Exit(2)
    tagger = Tagger.from_settings(settings.model_copy(update={"use_model": False}))
    tagger.classifier = classifier
    ranked = review_queue(Store.from_settings(settings), tagger)
    table = Table(title=f"review queue ({len(ranked)} resident segments, {tagger.source})")
    for column in ("#", "segment", "margin", "closest code", "p", "threshold", "text"):
        table.add_column(column, justify="right" if column in {"#", "margin", "p"} else "left")
    for rank, item in enumerate(ranked[:limit], 1):
        table.add_row(str(rank), item.segment_id, f"{item.margin:.3f}", item.code,
                      f"{item.probability:.2f}", f"{item.threshold:.2f}",
                      item.text[:70] + ("…" if len(item.text) > 70 else ""))
    Console().print(table)
    if out:
        with out.open("w", encoding="utf-8") as handle:
            for item in ranked:
                handle.write(json.dumps(item.as_dict(), ensure_ascii=False) + "\n")
        err.print(f"ranking written to {out}")


def evaluate_model_command(
    gold: Annotated[Path, typer.Option("--gold", help="labeled JSON lines")],
    model: Annotated[
        str | None, typer.Option("--model", help="NAME@VERSION (default: the active model)")
    ] = None,
    curve: Annotated[
        Path | None, typer.Option("--curve", help="also draw a learning curve PNG here")
    ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="write the report")] = None,
    home: HomeOption = None,
) -> None:
    """Keyword baseline, rules only and rules + model side by side, with Brier and a curve."""
    from pipeline import registry
    from pipeline.classify import UntrustedModelError
    from pipeline.evaluate import read_gold
    from pipeline.model_eval import compare, curve_report, table_rows
    from pipeline.tagger import Tagger

    settings = _settings(home, use_model=False)
    try:
        classifier = registry.load(settings, model)
    except (ValueError, LookupError, UntrustedModelError) as exc:
        err.print(f"[red]cannot evaluate[/red]: {exc}")
        raise typer.Exit(2) from None
    tagger = Tagger.from_settings(settings)
    items = read_gold(gold)
    report = compare(tagger, items, classifier)
    header, rows = table_rows(report)
    table = Table(title=f"coding quality on {gold}")
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    Console().print(table)
    result = {"gold": str(gold), **report.as_dict()}
    if curve:
        result["learning_curve"] = curve_report(tagger, items, curve, report)
        err.print(f"learning curve written to {curve}")
    if json_path:
        json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
        err.print(f"report written to {json_path}")
    raise typer.Exit(1 if report.systems[-1].interviewer_coded else 0)


def register(app: typer.Typer) -> None:
    """Add ``train`` and the ``models`` sub-app (``review queue`` is wired by the review app)."""
    app.command("train")(train_command)
    app.add_typer(models_app, name="models")
