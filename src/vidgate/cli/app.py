"""The ``vidgate`` command line (Typer + Rich): the app and where each command lives.

Every option shows its environment variable in ``--help``; docs/cli.md lists every command and
option, and a test keeps the two in step. Commands by concern: ``catalog`` (models, estimate,
recommend), ``generate`` and ``jobs`` (through the HTTP API), ``process`` (serve, worker,
migrate, previews), ``admin`` (keys), ``emulator``, ``doctor``; ``output`` is the one reporter
they all print through.
"""

from __future__ import annotations

import typer

from vidgate.cli.admin import keys_app
from vidgate.cli.catalog import estimate_command, models_command, recommend_command
from vidgate.cli.doctor import doctor_command
from vidgate.cli.emulator import emulator_command
from vidgate.cli.generate import generate_command
from vidgate.cli.jobs import jobs_app
from vidgate.cli.process import (
    migrate_command,
    previews_command,
    serve_command,
    worker_command,
)

__all__ = ["app", "main"]

app = typer.Typer(
    name="vidgate",
    help="Self-hosted AI video generation on Runway's API.",
    no_args_is_help=True,
    add_completion=False,
)

app.command("models")(models_command)
app.command("estimate")(estimate_command)
app.command("recommend")(recommend_command)
app.command("generate")(generate_command)
app.add_typer(jobs_app, name="jobs")
app.command("serve")(serve_command)
app.command("worker")(worker_command)
app.command("migrate")(migrate_command)
app.command("previews")(previews_command)
app.add_typer(keys_app, name="keys")
app.command("emulator")(emulator_command)
app.command("doctor")(doctor_command)


def main() -> None:  # pragma: no cover - console script entry
    app()
