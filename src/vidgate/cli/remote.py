"""Talking to vidgate from the CLI: a client of ``--url``, or of vidgate run in this process.

With ``--url`` / ``VIDGATE_URL`` (and ``--api-key`` / ``VIDGATE_API_KEY``) the commands talk to a
running server; with no URL, to the ``vidgate serve`` that published itself in
``VIDGATE_DATA_DIR`` (:mod:`vidgate.api.published`) if it answers, else to vidgate run in this
very process on loopback (the embedded default: SQLite and files under ``VIDGATE_DATA_DIR``, the
emulator when ``RUNWAYML_API_SECRET`` is unset). Either way every call goes through
:class:`vidgate.client.VidgateClient`, so the modes behave the same. Also the words for a job
that ``generate`` and ``jobs`` share.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.logging import RichHandler

from vidgate.cli.output import err, out
from vidgate.jobs.status import Status

if TYPE_CHECKING:
    from vidgate.api.schemas import JobOut
    from vidgate.client import VidgateClient

__all__ = [
    "cancel_job",
    "connect",
    "credits_text",
    "failure_text",
    "key_option",
    "save_video",
    "url_option",
]

_URL_HELP = (
    "Base URL of a running vidgate server (e.g. http://127.0.0.1:8000). Unset: the server "
    "`vidgate serve` runs on VIDGATE_DATA_DIR, if one answers; else vidgate runs embedded in this "
    "process (the emulator without RUNWAYML_API_SECRET)."
)
_KEY_HELP = "API key (vg_...) sent as a Bearer token; needed once the server has keys."
_CANCEL_WAIT_SECONDS = 10.0


def url_option() -> Any:
    return typer.Option(None, "--url", envvar="VIDGATE_URL", help=_URL_HELP)


def key_option() -> Any:
    return typer.Option(None, "--api-key", envvar="VIDGATE_API_KEY", help=_KEY_HELP)


@contextlib.contextmanager
def connect(
    url: str | None, api_key: str | None, *, worker: bool = True
) -> Iterator[VidgateClient]:
    """A client of the server at ``url``, or of vidgate started in this process without one."""
    from vidgate.api.published import RECORD_NAME, answering_server
    from vidgate.client import VidgateClient
    from vidgate.settings import load_settings

    if not url:
        data_dir = load_settings().data_dir
        url = answering_server(data_dir)
        if url:
            err.print(f"[dim]no --url: using the vidgate server at {url} ({data_dir})[/dim]")
    if url:
        with VidgateClient(url, api_key=api_key) as client:
            yield client
        return
    from vidgate.api.embedded import serve_in_thread

    settings = load_settings()
    # The embedded server's own log: errors only (this command reports the rest itself).
    logging.getLogger().addHandler(RichHandler(logging.ERROR, console=err, show_path=False))
    err.print(
        f"[dim]no --url and no server answering for {settings.data_dir} "
        f"({RECORD_NAME}): running vidgate in this process[/dim]"
    )
    with (
        serve_in_thread(settings, worker=worker) as base_url,
        VidgateClient(base_url, api_key=api_key) as client,
    ):
        yield client


def credits_text(job: JobOut) -> str:
    if job.cost_credits is not None:
        return f"{job.cost_credits:g} credits"
    if job.estimated_credits is not None:
        return f"est. {job.estimated_credits:g} credits"
    return "credits unknown"


def failure_text(job: JobOut) -> str:
    if job.failure is None:
        return job.status.value
    code = f"{job.failure.code}: " if job.failure.code else ""
    return f"{job.status.value} ({code}{job.failure.message or 'no message'})"


def _describe_output(job: JobOut, path: Path, size: int) -> str:
    parts = [f"{size / 1e6:.1f} MB" if size >= 1_000_000 else f"{size / 1e3:.0f} kB"]
    output = job.output
    if output is not None:
        if output.duration_seconds is not None:
            parts.append(f"{output.duration_seconds:g} s")
        if output.width and output.height:
            parts.append(f"{output.width}x{output.height}")
        if output.codec:
            parts.append(output.codec)
    return f"saved {path} ({', '.join(parts)})"


def save_video(client: VidgateClient, job: JobOut, output: Path | None) -> None:
    path = output if output is not None else Path(f"{job.id}.mp4")
    if path.is_dir():
        path = path / f"{job.id}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    size = client.download_video(job.id, path)
    out.print(_describe_output(job, path, size))


def cancel_job(client: VidgateClient, job_id: str) -> JobOut:
    job = client.cancel(job_id)
    if not job.status.is_terminal:
        job = client.generation(job_id, wait=_CANCEL_WAIT_SECONDS)
    if job.status is Status.CANCELLED:
        err.print(f"job {job_id} cancelled ({credits_text(job)})")
    elif job.status.is_terminal:
        err.print(f"job {job_id} had already ended: {job.status.value}")
    else:
        err.print(f"job {job_id}: cancel requested, the provider task is being stopped")
    return job
