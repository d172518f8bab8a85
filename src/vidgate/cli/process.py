"""``vidgate serve``, ``worker``, ``migrate`` and ``previews``: the long-running processes, the
schema, and what an upgrade may ask for."""

from __future__ import annotations

import typer

from vidgate.cli.output import err, out, plural, run

__all__ = ["migrate_command", "previews_command", "serve_command", "worker_command"]


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


def previews_command() -> None:
    """Make the moving previews missing from stored jobs (once, after upgrading from a vidgate
    that made them after the job; safe to run twice, and beside a running service)."""
    import asyncio

    from vidgate.jobs.store import JobStore
    from vidgate.migrations import open_migrated_engine
    from vidgate.pipeline.output_extras import PreviewsRestored, restore_previews
    from vidgate.runtime import open_storage
    from vidgate.settings import load_settings

    async def restore() -> PreviewsRestored:
        settings = load_settings()
        async with open_migrated_engine(settings) as engine:
            return await restore_previews(JobStore(engine), open_storage(settings))

    def action() -> None:
        done = asyncio.run(restore())
        for job_id in done.without:
            err.print(f"job {job_id}: no preview (its video has no picture the previewer reads)")
        out.print(f"{plural(done.checked, 'job')} checked, {plural(done.made, 'preview')} made")

    run(action)
