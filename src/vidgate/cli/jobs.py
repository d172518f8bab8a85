"""``vidgate jobs``: list, show, cancel and download your jobs through the HTTP API."""

from __future__ import annotations

from pathlib import Path

import typer

from vidgate.cli.output import Column, Failed, err, json_option, out, print_json, print_table, run
from vidgate.cli.remote import (
    cancel_job,
    connect,
    credits_text,
    failure_text,
    key_option,
    save_video,
    url_option,
)
from vidgate.jobs.status import Status

__all__ = ["jobs_app"]

jobs_app = typer.Typer(
    help="Your generation jobs: list, show, cancel, download.", no_args_is_help=True
)


@jobs_app.command("list")
def jobs_list_command(
    status: Status | None = typer.Option(None, "--status", "-s", help="Only jobs in this state."),
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model's jobs."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=100, help="Jobs per page."),
    cursor: str | None = typer.Option(None, "--cursor", help="Next page: the cursor printed."),
    as_json: bool = json_option(),
    url: str | None = url_option(),
    api_key: str | None = key_option(),
) -> None:
    """List your jobs, newest first."""

    def action() -> None:
        with connect(url, api_key, worker=False) as client:
            page = client.generations(
                status=status.value if status else None, model=model, limit=limit, cursor=cursor
            )
        if as_json:
            print_json(page.model_dump(mode="json", by_alias=True))
            return
        columns = [
            Column("id", keep=True),  # never cut: it is what you copy
            Column("status"),
            Column("model", keep=True),
            Column("progress", drop=3),
            Column("credits", drop=2),
            Column("created", drop=4),
            Column("prompt", drop=1),
        ]
        rows = []
        for job in page.data:
            prompt = str(job.request.get("promptText", ""))
            rows.append(
                [
                    job.id,
                    job.status.value,
                    job.model,
                    f"{job.progress * 100:.0f}%",
                    credits_text(job),
                    f"{job.created_at:%Y-%m-%d %H:%M:%S}",
                    prompt if len(prompt) <= 40 else prompt[:39] + "…",
                ]
            )
        print_table("Jobs", columns, rows)
        if page.next_cursor:
            out.print(f"more: vidgate jobs list --cursor {page.next_cursor}")

    run(action)


@jobs_app.command("show")
def jobs_show_command(
    job_id: str = typer.Argument(..., help="The job's id."),
    as_json: bool = json_option(),
    url: str | None = url_option(),
    api_key: str | None = key_option(),
) -> None:
    """Show one job: state, progress, cost, request, output."""

    def action() -> None:
        with connect(url, api_key, worker=False) as client:
            job = client.generation(job_id)
        if as_json:
            print_json(job.model_dump(mode="json", by_alias=True))
            return
        rows: list[tuple[str, str]] = [
            ("id", job.id),
            ("status", job.status.value + (" (cancel requested)" if job.cancel_requested else "")),
            ("progress", f"{job.progress * 100:.0f}%"),
            ("model", f"{job.model} on {job.endpoint}"),
            ("credits", credits_text(job)),
            ("created", job.created_at.isoformat()),
        ]
        if job.finished_at is not None:
            rows.append(("finished", job.finished_at.isoformat()))
        for key in ("promptText", "ratio", "duration"):
            if key in job.request:
                rows.append((key, str(job.request[key])))
        if job.failure is not None:
            rows.append(("failure", failure_text(job)))
        if job.output is not None:
            o = job.output
            rows.append(("output", f"{o.duration_seconds} s, {o.width}x{o.height}, {o.codec}"))
            rows.append(("video", job.links.video or ""))
        for key, value in rows:
            out.print(f"{key:>10}  {value}")

    run(action)


@jobs_app.command("cancel")
def jobs_cancel_command(
    job_id: str = typer.Argument(..., help="The job's id."),
    url: str | None = url_option(),
    api_key: str | None = key_option(),
) -> None:
    """Cancel a job; its provider task is stopped too."""

    def action() -> None:
        with connect(url, api_key) as client:
            job = cancel_job(client, job_id)
        out.print(f"{job.id} {job.status.value}")

    run(action)


@jobs_app.command("download")
def jobs_download_command(
    job_id: str = typer.Argument(..., help="The job's id."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Where to save the MP4; default: ./<job id>.mp4."
    ),
    url: str | None = url_option(),
    api_key: str | None = key_option(),
) -> None:
    """Save a finished job's video."""

    def action() -> None:
        with connect(url, api_key, worker=False) as client:
            job = client.generation(job_id)
            if job.status is not Status.SUCCEEDED:
                err.print(f"[red]job {job.id} has no video: it is {failure_text(job)}[/red]")
                raise Failed(1)
            save_video(client, job, output)

    run(action)
