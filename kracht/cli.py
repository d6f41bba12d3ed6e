"""The ``kracht`` command line: one typer app, one sub-app or command per stage.

Stage commands live in ``kracht/commands/<stage>.py`` and are registered below, so each module
stays small and owns its own options.
"""

from __future__ import annotations

import typer

from kracht.commands import core

app = typer.Typer(
    name="kracht",
    help=(
        "kracht codes Dutch resident stories and interview transcripts with the themes of "
        "community strength (gemeenschapskracht): ingest, pseudonymize, segment, tag, review, "
        "report."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

core.register(app)

# --- registrations: tag ---
from kracht.commands import tag as tag_commands  # noqa: E402

tag_commands.register(app)
# --- end: tag ---

# --- registrations: review ---
from kracht.commands import review  # noqa: E402

review.register(app)
# --- end: review ---

# --- registrations: train ---
from kracht.commands import train as train_commands  # noqa: E402

train_commands.register(app)
review.review_app.command("queue")(train_commands.queue_command)
app.command("evaluate-model")(train_commands.evaluate_model_command)
# --- end: train ---

# --- registrations: flows ---
from kracht.commands import flows as _flows  # noqa: E402

_flows.register(app)
# --- end: flows ---

# --- registrations: report ---
from kracht.commands import report as report_commands  # noqa: E402

report_commands.register(app)
# --- end: report ---


if __name__ == "__main__":  # pragma: no cover
    app()
