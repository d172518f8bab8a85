"""``vidgate generate`` and ``vidgate jobs``: make, follow and manage jobs through the HTTP API.

Both talk to a running server (``--url`` / ``VIDGATE_URL``, with ``--api-key`` /
``VIDGATE_API_KEY``) or, with no URL, to vidgate run in this very process on loopback (the
embedded default: SQLite and files under ``VIDGATE_DATA_DIR``, the emulator when
``RUNWAYML_API_SECRET`` is unset). Either way every call goes through
:class:`vidgate.client.VidgateClient`, so the two modes behave the same.

Results go to stdout; notes, progress and errors to stderr.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from vidgate.catalog import Priority
from vidgate.errors import ValidationFailed, VidgateError
from vidgate.jobs.status import Status

if TYPE_CHECKING:
    from vidgate.api.schemas import EndpointOut, JobOut
    from vidgate.client import VidgateClient

__all__ = ["generate_command", "jobs_app"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

jobs_app = typer.Typer(
    help="Your generation jobs: list, show, cancel, download.", no_args_is_help=True
)

_URL_HELP = (
    "Base URL of a running vidgate server (e.g. http://127.0.0.1:8000). Unset: vidgate runs "
    "embedded in this process, on VIDGATE_DATA_DIR (the emulator without RUNWAYML_API_SECRET)."
)
_KEY_HELP = "API key (vg_...) sent as a Bearer token; needed once the server has keys."
_CANCEL_WAIT_SECONDS = 10.0
_DEFAULT_SECONDS = 5.0
_MEDIA_SCHEMES = ("https://", "http://", "data:", "runway://")


def _url_option() -> Any:
    return typer.Option(None, "--url", envvar="VIDGATE_URL", help=_URL_HELP)


def _key_option() -> Any:
    return typer.Option(None, "--api-key", envvar="VIDGATE_API_KEY", help=_KEY_HELP)


class _Failed(Exception):
    """Stop the command with this exit code; the message is printed already."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _report(exc: VidgateError) -> typer.Exit:
    if isinstance(exc, ValidationFailed):
        err.print(f"[red]error:[/red] {exc.code}")
        for problem in exc.problems:
            err.print(f"  {problem.path or '(request)'}: {problem.message}")
    else:
        err.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=2)


@contextlib.contextmanager
def _connect(
    url: str | None, api_key: str | None, *, worker: bool = True
) -> Iterator[VidgateClient]:
    """A client of the server at ``url``, or of vidgate started in this process without one."""
    from vidgate.client import VidgateClient

    if url:
        with VidgateClient(url, api_key=api_key) as client:
            yield client
        return
    from vidgate.api.embedded import serve_in_thread
    from vidgate.settings import load_settings

    settings = load_settings()
    # The embedded server's own log: errors only (this command reports the rest itself).
    logging.getLogger().addHandler(RichHandler(logging.ERROR, console=err, show_path=False))
    err.print(f"[dim]no --url: running vidgate in this process (data in {settings.data_dir})[/dim]")
    with (
        serve_in_thread(settings, worker=worker) as base_url,
        VidgateClient(base_url, api_key=api_key) as client,
    ):
        yield client


def _run(action: Callable[[], None]) -> None:
    """Run ``action()``, turning vidgate's errors into a message and an exit code."""
    try:
        action()
    except VidgateError as exc:
        raise _report(exc) from exc
    except _Failed as exc:
        raise typer.Exit(code=exc.code) from exc


# -- generate ------------------------------------------------------------------------------------


def _credits(job: JobOut) -> str:
    if job.cost_credits is not None:
        return f"{job.cost_credits:g} credits"
    if job.estimated_credits is not None:
        return f"est. {job.estimated_credits:g} credits"
    return "credits unknown"


def _media_field(spec: EndpointOut, kind: str) -> str | None:
    """The endpoint's main field for one image or video (required ones first)."""
    found = [
        (not f.required, name)
        for name, f in spec.fields.items()
        if (f.type == "frames" and kind == "image") or (f.type == "media" and f.kind == kind)
    ]
    return min(found)[1] if found else None


def _default_duration(spec: EndpointOut) -> float | None:
    if spec.durations:
        return float(min(spec.durations, key=lambda d: (abs(d - _DEFAULT_SECONDS), -d)))
    field = spec.fields.get("duration")
    if field is None:
        return None
    low = field.min if field.min is not None else _DEFAULT_SECONDS
    high = field.max if field.max is not None else _DEFAULT_SECONDS
    return min(max(_DEFAULT_SECONDS, low), high)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _media_value(
    client: VidgateClient, option: str, value: str, *, model: str, endpoint: str, field: str
) -> str:
    """A media option's value for the request: local files are uploaded first."""
    if value.startswith(_MEDIA_SCHEMES):
        return value
    path = Path(value).expanduser()
    if not path.is_file():
        raise ValidationFailed.single(option, f"no such file: {value} (or give an https URL)")
    err.print(f"uploading {path.name} ...")
    upload = client.upload(path, model=model, endpoint=endpoint, field=field)
    size = f", {upload.width}x{upload.height}" if upload.width and upload.height else ""
    length = f", {upload.duration_seconds:g} s" if upload.duration_seconds else ""
    err.print(f"uploaded {path.name}: {upload.kind}{size}{length} -> {upload.uri}")
    return upload.uri


def _build_request(
    client: VidgateClient,
    *,
    prompt: str,
    model: str | None,
    image: str | None,
    video: str | None,
    ratio: str | None,
    duration: float | None,
    priority: Priority,
) -> dict[str, Any]:
    if image and video:
        raise ValidationFailed.single(
            "--video", "give --image or --video, not both (character performance: use the API)"
        )
    use_case = "video" if video else "image" if image else "text"
    endpoint = {"video": "video_to_video", "image": "image_to_video"}.get(use_case, "text_to_video")
    if model is None:
        rec = client.recommend(
            use_case, priority=priority.value, has_image=bool(image), duration=duration
        )
        model, endpoint = rec.model, rec.endpoint.value
        err.print(f"model [bold]{model}[/bold] (recommended): {rec.reason}")
    found = client.model(model)
    spec = found.endpoints.get(endpoint)
    if spec is None:
        offered = ", ".join(found.endpoints) or "none"
        what = {"video_to_video": "--video", "image_to_video": "--image"}.get(endpoint, "--model")
        raise ValidationFailed.single(
            what, f"{model} has no {endpoint} endpoint (it offers: {offered})"
        )
    body: dict[str, Any] = {"endpoint": endpoint, "model": model, "promptText": prompt}
    defaults: list[str] = []
    if ratio is not None:
        body["ratio"] = ratio
    elif "ratio" in spec.fields and spec.fields["ratio"].required and spec.ratios:
        body["ratio"] = spec.ratios[0]
        defaults.append(f"ratio {spec.ratios[0]}")
    if duration is not None:
        body["duration"] = _number(duration)
    elif "duration" in spec.fields and spec.fields["duration"].required:
        chosen = _default_duration(spec)
        if chosen is not None:
            body["duration"] = _number(chosen)
            defaults.append(f"{chosen:g} s")
    if defaults:
        err.print(f"using {' and '.join(defaults)} (choose with --ratio / --duration)")
    for option, value, kind in (("--image", image, "image"), ("--video", video, "video")):
        if value is None:
            continue
        field = _media_field(spec, kind)
        if field is None:
            raise ValidationFailed.single(option, f"{model} {endpoint} takes no {kind}")
        body[field] = _media_value(
            client, option, value, model=model, endpoint=endpoint, field=field
        )
    if duration is not None and spec.max_duration is not None and duration > spec.max_duration:
        # Longer than one generation: the server chains segments, each from the last frame.
        body["endpoint"] = "chain"
        err.print(
            f"{duration:g} s is longer than {model}'s {spec.max_duration} s: "
            "chaining several generations into one video"
        )
    return body


class _Display:
    """The job's progress: a live bar on a terminal, one line per change otherwise."""

    def __init__(self, job: JobOut) -> None:
        self.started = time.monotonic()
        self.live = err.is_interactive
        self.last_line: tuple[str, int, str] | None = None
        self.credits = _credits(job)
        self.progress: Progress | None = None
        if self.live:
            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.fields[state]:<11}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[credits]}"),
                console=err,
                transient=False,
            )
            self.task = self.progress.add_task(
                job.id, total=100, state=job.status.value, credits=self.credits
            )
            self.progress.start()
        self.update(job.status.value, job.progress)

    def update(self, state: str, progress: float, credits: str | None = None) -> None:
        percent = round(max(0.0, min(progress, 1.0)) * 100)
        if credits is not None:
            self.credits = credits
        if self.progress is not None:
            self.progress.update(self.task, completed=percent, state=state, credits=self.credits)
            return
        step = (state, percent // 10, self.credits)
        if step == self.last_line:
            return
        self.last_line = step
        elapsed = time.monotonic() - self.started
        err.print(f"  {state:<11} {percent:>3}%  {elapsed:5.1f} s  {self.credits}")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _follow(client: VidgateClient, job: JobOut) -> JobOut:
    """Show the job's progress until it ends (Ctrl-C: offer to cancel it); the ended job."""
    display = _Display(job)
    try:
        if not job.status.is_terminal:
            for event in client.job_events(job.id):
                status = event.data.get("status")
                progress = event.data.get("progress")
                if isinstance(status, str) and isinstance(progress, int | float):
                    display.update(status, float(progress))
        job = client.generation(job.id)
        display.update(job.status.value, job.progress, _credits(job))
    except KeyboardInterrupt:
        display.stop()
        _interrupted(client, job.id)
        raise _Failed(130) from None
    finally:
        display.stop()
    return job


def _interrupted(client: VidgateClient, job_id: str) -> None:
    if sys.stdin is not None and sys.stdin.isatty():
        try:
            cancel = typer.confirm(f"cancel job {job_id} upstream?", default=True, err=True)
        except (typer.Abort, KeyboardInterrupt):
            cancel = False
    else:
        err.print(
            f"interrupted; stdin is not a terminal, so cancelling job {job_id} without asking"
        )
        cancel = True
    if not cancel:
        err.print(f"job {job_id} is left running; `vidgate jobs show {job_id}` follows it")
        return
    _cancel(client, job_id)


def _cancel(client: VidgateClient, job_id: str) -> JobOut:
    job = client.cancel(job_id)
    if not job.status.is_terminal:
        job = client.generation(job_id, wait=_CANCEL_WAIT_SECONDS)
    if job.status is Status.CANCELLED:
        err.print(f"job {job_id} cancelled ({_credits(job)})")
    elif job.status.is_terminal:
        err.print(f"job {job_id} had already ended: {job.status.value}")
    else:
        err.print(f"job {job_id}: cancel requested, the provider task is being stopped")
    return job


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


def _save(client: VidgateClient, job: JobOut, output: Path | None) -> None:
    path = output if output is not None else Path(f"{job.id}.mp4")
    if path.is_dir():
        path = path / f"{job.id}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    size = client.download_video(job.id, path)
    out.print(_describe_output(job, path, size))


def _failure(job: JobOut) -> str:
    if job.failure is None:
        return job.status.value
    code = f"{job.failure.code}: " if job.failure.code else ""
    return f"{job.status.value} ({code}{job.failure.message or 'no message'})"


def generate_command(
    prompt: str = typer.Argument(..., help="What the video shows (promptText)."),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Model id, e.g. gen4.5. Unset: the recommender picks one."
    ),
    image: str | None = typer.Option(
        None, "--image", "-i", help="An input image: a local file (uploaded first) or a URL."
    ),
    video: str | None = typer.Option(
        None, "--video", help="An input video to transform: a local file (uploaded) or a URL."
    ),
    ratio: str | None = typer.Option(
        None, "--ratio", "-r", help="Output ratio, e.g. 1280:720; default: the model's first."
    ),
    duration: float | None = typer.Option(
        None,
        "--duration",
        "-d",
        help="Seconds of video; default: 5 or the nearest allowed. Beyond the model's longest, "
        "generations are chained into one video (up to 300 s).",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Where to save the MP4; default: ./<job id>.mp4."
    ),
    priority: Priority = typer.Option(
        Priority.BALANCED, "--priority", "-p", help="What the recommender favours (no --model)."
    ),
    url: str | None = _url_option(),
    api_key: str | None = _key_option(),
) -> None:
    """Generate a video: upload inputs, queue the job, show its progress, save the MP4.

    Ctrl-C offers to cancel the job upstream (without a terminal on stdin, it cancels).
    """

    def run() -> None:
        with _connect(url, api_key) as client:
            health = client.health()
            if health.mode == "emulator":
                err.print("[yellow]emulator mode:[/yellow] the video will be synthetic")
            body = _build_request(
                client,
                prompt=prompt,
                model=model,
                image=image,
                video=video,
                ratio=ratio,
                duration=duration,
                priority=priority,
            )
            job = client.create_generation(body, idempotency_key=f"cli-{uuid.uuid4().hex}")
            shown = ", ".join(
                str(v) for k, v in body.items() if k in ("endpoint", "ratio") and v is not None
            )
            seconds = f", {body['duration']} s" if "duration" in body else ""
            err.print(f"job {job.id}: {job.model}, {shown}{seconds}, {_credits(job)}")
            job = _follow(client, job)
            if job.status is not Status.SUCCEEDED:
                err.print(f"[red]job {job.id} {_failure(job)}[/red]")
                raise _Failed(1)
            err.print(f"job {job.id} succeeded ({_credits(job)})")
            _save(client, job, output)

    _run(run)


# -- jobs ----------------------------------------------------------------------------------------


@jobs_app.command("list")
def jobs_list_command(
    status: Status | None = typer.Option(None, "--status", "-s", help="Only jobs in this state."),
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model's jobs."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=100, help="Jobs per page."),
    cursor: str | None = typer.Option(None, "--cursor", help="Next page: the cursor printed."),
    url: str | None = _url_option(),
    api_key: str | None = _key_option(),
) -> None:
    """List your jobs, newest first."""

    def run() -> None:
        with _connect(url, api_key, worker=False) as client:
            page = client.generations(
                status=status.value if status else None, model=model, limit=limit, cursor=cursor
            )
        table = Table(title="Jobs")
        table.add_column("id", no_wrap=True, min_width=26)  # never cut: it is what you copy
        for column in ("status", "model", "progress", "credits", "created"):
            table.add_column(column, no_wrap=column != "credits")
        table.add_column("prompt", overflow="ellipsis", ratio=1)
        for job in page.data:
            prompt = str(job.request.get("promptText", ""))
            table.add_row(
                job.id,
                job.status.value,
                job.model,
                f"{job.progress * 100:.0f}%",
                _credits(job),
                f"{job.created_at:%Y-%m-%d %H:%M:%S}",
                prompt if len(prompt) <= 40 else prompt[:39] + "…",
            )
        out.print(table)
        if page.next_cursor:
            out.print(f"more: vidgate jobs list --cursor {page.next_cursor}")

    _run(run)


@jobs_app.command("show")
def jobs_show_command(
    job_id: str = typer.Argument(..., help="The job's id."),
    as_json: bool = typer.Option(False, "--json", help="Print the job as the API's JSON."),
    url: str | None = _url_option(),
    api_key: str | None = _key_option(),
) -> None:
    """Show one job: state, progress, cost, request, output."""

    def run() -> None:
        with _connect(url, api_key, worker=False) as client:
            job = client.generation(job_id)
        if as_json:
            typer.echo(job.model_dump_json(by_alias=True, indent=2))  # plain: for programs
            return
        rows: list[tuple[str, str]] = [
            ("id", job.id),
            ("status", job.status.value + (" (cancel requested)" if job.cancel_requested else "")),
            ("progress", f"{job.progress * 100:.0f}%"),
            ("model", f"{job.model} on {job.endpoint}"),
            ("credits", _credits(job)),
            ("created", job.created_at.isoformat()),
        ]
        if job.finished_at is not None:
            rows.append(("finished", job.finished_at.isoformat()))
        for key in ("promptText", "ratio", "duration"):
            if key in job.request:
                rows.append((key, str(job.request[key])))
        if job.failure is not None:
            rows.append(("failure", _failure(job)))
        if job.output is not None:
            o = job.output
            rows.append(("output", f"{o.duration_seconds} s, {o.width}x{o.height}, {o.codec}"))
            rows.append(("video", job.links.video or ""))
        for key, value in rows:
            out.print(f"{key:>10}  {value}")

    _run(run)


@jobs_app.command("cancel")
def jobs_cancel_command(
    job_id: str = typer.Argument(..., help="The job's id."),
    url: str | None = _url_option(),
    api_key: str | None = _key_option(),
) -> None:
    """Cancel a job; its provider task is stopped too."""

    def run() -> None:
        with _connect(url, api_key) as client:
            job = _cancel(client, job_id)
        out.print(f"{job.id} {job.status.value}")

    _run(run)


@jobs_app.command("download")
def jobs_download_command(
    job_id: str = typer.Argument(..., help="The job's id."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Where to save the MP4; default: ./<job id>.mp4."
    ),
    url: str | None = _url_option(),
    api_key: str | None = _key_option(),
) -> None:
    """Save a finished job's video."""

    def run() -> None:
        with _connect(url, api_key, worker=False) as client:
            job = client.generation(job_id)
            if job.status is not Status.SUCCEEDED:
                err.print(f"[red]job {job.id} has no video: it is {_failure(job)}[/red]")
                raise _Failed(1)
            _save(client, job, output)

    _run(run)
