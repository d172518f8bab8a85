"""``vidgate serve``, ``worker`` and ``migrate``: the long-running processes and the schema."""

from __future__ import annotations

import typer

from vidgate.cli.output import out, run

__all__ = ["migrate_command", "serve_command", "worker_command"]


def _echo(line: str) -> None:
    out.print(line)


def serve_command(
    host: str | None = typer.Option(
        None,
        envvar="VIDGATE_HOST",
        help="Address to listen on (default 127.0.0.1). Any non-loopback address needs an API key.",
    ),
    port: int | None = typer.Option(
        None, envvar="VIDGATE_PORT", help="Port to listen on (default 8000; 0: any free port)."
    ),
    worker: bool = typer.Option(
        True, "--worker/--no-worker", help="Run the job worker in this process."
    ),
) -> None:
    """Run the HTTP API (and the job worker) with uvicorn."""
    from vidgate.api.serve import serve
    from vidgate.storage.private import keep_private

    keep_private()  # before anything is created: the data directory is this user's alone

    run(lambda: serve(host=host, port=port, worker=worker, echo=_echo))


def worker_command(
    concurrency: int | None = typer.Option(
        None, min=1, help="Job steps run at once; default: VIDGATE_WORKER_CONCURRENCY (64)."
    ),
) -> None:
    """Run the job worker as its own process (submit, poll, download, store; webhooks)."""
    from vidgate.api.worker_process import run_worker
    from vidgate.storage.private import keep_private

    keep_private()

    run(lambda: run_worker(concurrency=concurrency, echo=_echo))


def migrate_command() -> None:
    """Apply the database schema (safe to run twice)."""
    import asyncio

    from vidgate.migrations import upgrade_database
    from vidgate.settings import load_settings
    from vidgate.storage.private import private_directory

    def action() -> None:
        settings = load_settings()
        private_directory(settings.data_dir)
        asyncio.run(upgrade_database(settings.resolved_database_url))
        out.print("database is up to date")

    run(action)
