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
# --- end: tag ---

# --- registrations: review ---
# --- end: review ---

# --- registrations: train ---
# --- end: train ---

# --- registrations: flows ---
# --- end: flows ---

# --- registrations: report ---
# --- end: report ---


if __name__ == "__main__":  # pragma: no cover
    app()
