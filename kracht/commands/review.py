"""``kracht review``: push segments to Label Studio, pull corrections, measure agreement.

Every Label Studio failure ends as one clear line on stderr and exit status 2 (the token is never
shown); ``push`` can simply be run again after a failure and continues where it stopped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from annotation import server as ls_server
from annotation.agreement import AgreementReport, agreement
from annotation.client import LabelStudioError
from annotation.pull import pull
from annotation.push import PushError, push
from pipeline.config import Settings, get_settings
from pipeline.store import Store

err = Console(stderr=True, highlight=False)
out = Console(highlight=False)

review_app = typer.Typer(
    name="review",
    help="Human review in Label Studio: push tasks with predictions, pull annotations, agreement.",
    no_args_is_help=True,
)
server_app = typer.Typer(name="server", help="A local Label Studio (own virtualenv, 127.0.0.1).")
review_app.add_typer(server_app)

HomeOption = Annotated[
    Path | None, typer.Option("--home", help="store, caches and outputs (KRACHT_HOME)")
]


def _settings(home: Path | None) -> Settings:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return get_settings(**({"home": home} if home else {}))


def _fail(message: str) -> None:
    err.print(f"[red]error[/red]: {message}")
    raise typer.Exit(2)


@review_app.command("push")
def push_command(
    collection: Annotated[
        str | None, typer.Option("--collection", help="only this collection")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="at most N segments", min=0)] = None,
    order: Annotated[
        str, typer.Option("--order", help="document | uncertainty (scores nearest 0.5 first)")
    ] = "document",
    home: HomeOption = None,
) -> None:
    """Put resident segments in the review project, with the machine's tags as predictions."""
    if order not in ("document", "uncertainty"):
        _fail(f"--order must be 'document' or 'uncertainty', not {order!r}")
    settings = _settings(home)
    store = Store.from_settings(settings)
    try:
        result = push(store, settings, collection=collection, limit=limit, order=order)  # type: ignore[arg-type]
    except (LabelStudioError, PushError) as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    held = f", {result.held_back} held back (not pseudonymized)" if result.held_back else ""
    out.print(
        f"project {result.project_id}: {result.created} tasks created, {result.updated} with new "
        f"predictions, {result.unchanged} unchanged{held} in {result.seconds:.1f} s"
    )


@review_app.command("pull")
def pull_command(home: HomeOption = None) -> None:
    """Store the annotators' work as human tags beside the machine's."""
    settings = _settings(home)
    store = Store.from_settings(settings)
    try:
        result = pull(store, settings)
    except LabelStudioError as exc:
        _fail(str(exc))
        return
    finally:
        store.close()
    out.print(
        f"{result.annotations} annotations ({result.new} new, {result.updated} changed, "
        f"{result.cancelled} cancelled) on {result.tasks} tasks; {result.segments_tagged} "
        f"segment reviews stored; {result.spans_rejected} evidence spans rejected"
    )


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def agreement_table(report: AgreementReport) -> tuple[Table, Table]:
    inter = Table(title=f"Annotators ({', '.join(report.annotators) or 'none'})")
    for column in ("code", "units", "kappa (2 annotators)", "alpha (nominal)"):
        inter.add_column(column, justify="left" if column == "code" else "right")
    for c in report.codes:
        inter.add_row(c.code, str(c.units), _fmt(c.kappa), _fmt(c.alpha))
    model = Table(title="Annotators vs the machine")
    for column in ("annotator", "code", "segments", "predicted", "kept", "acceptance", "kappa"):
        model.add_column(column, justify="left" if column in ("annotator", "code") else "right")
    for m in report.model:
        model.add_row(
            m.annotator, m.code, str(m.segments), str(m.predicted), str(m.kept),
            _fmt(m.acceptance), _fmt(m.kappa),
        )  # fmt: skip
    return inter, model


@review_app.command("agreement")
def agreement_command(
    json_path: Annotated[Path | None, typer.Option("--json", help="write JSON here")] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="write CSV here")] = None,
    home: HomeOption = None,
) -> None:
    """Cohen's kappa, Krippendorff's alpha and acceptance of predictions, per code."""
    settings = _settings(home)
    store = Store.from_settings(settings)
    try:
        codes = None
        try:
            from pipeline.codebook import load_codebook

            codes = load_codebook(settings.codebook).ids
        except Exception:  # agreement still works on the codes found in the store
            codes = None
        report = agreement(store, codes)
    finally:
        store.close()
    for table in agreement_table(report):
        out.print(table)
    if json_path:
        json_path.write_text(report.to_json(), encoding="utf-8")
        err.print(f"wrote {json_path}")
    if csv_path:
        csv_path.write_text(report.to_csv(), encoding="utf-8")
        err.print(f"wrote {csv_path}")


@server_app.command("install")
def server_install() -> None:
    """Create .venv-ls with the pinned Label Studio."""
    try:
        out.print(ls_server.cmd_install())
    except ls_server.ServerError as exc:
        _fail(str(exc))


@server_app.command("start")
def server_start(
    port: Annotated[int, typer.Option("--port")] = ls_server.DEFAULT_PORT,
    home: HomeOption = None,
) -> None:
    """Start Label Studio on 127.0.0.1 with its data under KRACHT_HOME."""
    try:
        out.print(ls_server.cmd_start(_settings(home), port))
    except ls_server.ServerError as exc:
        _fail(str(exc))


@server_app.command("stop")
def server_stop(home: HomeOption = None) -> None:
    """Stop the local Label Studio."""
    out.print(ls_server.cmd_stop(_settings(home)))


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")
