"""``vidgate generate``: upload inputs, queue the job, follow its progress, save the MP4.

Results go to stdout; notes, progress and errors to stderr.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from vidgate.catalog import Priority
from vidgate.cli.defaults import duration_option, fill_defaults
from vidgate.cli.output import Failed, err, run
from vidgate.cli.remote import (
    cancel_job,
    connect,
    credits_text,
    failure_text,
    key_option,
    save_video,
    url_option,
)
from vidgate.errors import ValidationFailed
from vidgate.jobs.status import Status

if TYPE_CHECKING:
    from vidgate.api.schemas import EndpointOut, JobOut
    from vidgate.client import VidgateClient

__all__ = ["generate_command"]

_MEDIA_SCHEMES = ("https://", "http://", "data:", "runway://")


def _media_field(spec: EndpointOut, kind: str) -> str | None:
    """The endpoint's main field for one image or video (required ones first)."""
    found = [
        (not f.required, name)
        for name, f in spec.fields.items()
        if (f.type == "frames" and kind == "image") or (f.type == "media" and f.kind == kind)
    ]
    return min(found)[1] if found else None


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
    filled = fill_defaults(
        body,
        spec.fields,
        ratios=spec.ratios,
        durations=spec.durations,
        ratio=ratio,
        duration=duration,
    )
    if filled.chosen:
        err.print(f"using {' and '.join(filled.chosen)} (choose with --ratio / --duration)")
    for option, value, kind in (("--image", image, "image"), ("--video", video, "video")):
        if value is None:
            continue
        field = _media_field(spec, kind)
        if field is None:
            raise ValidationFailed.single(option, f"{model} {endpoint} takes no {kind}")
        body[field] = _media_value(
            client, option, value, model=model, endpoint=endpoint, field=field
        )
    if filled.chained:
        err.print(
            f"{body['duration']} s is longer than {model}'s {spec.max_duration} s: "
            "chaining several generations into one video"
        )
    return body


class _Display:
    """The job's progress: a live bar on a terminal, one line per change otherwise."""

    def __init__(self, job: JobOut) -> None:
        self.started = time.monotonic()
        self.live = err.is_interactive
        self.last_line: tuple[str, int, str] | None = None
        self.credits = credits_text(job)
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
        display.update(job.status.value, job.progress, credits_text(job))
    except KeyboardInterrupt:
        display.stop()
        _interrupted(client, job.id)
        raise Failed(130) from None
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
    cancel_job(client, job_id)


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
    duration: float | None = duration_option(),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Where to save the MP4; default: ./<job id>.mp4."
    ),
    priority: Priority = typer.Option(
        Priority.BALANCED, "--priority", "-p", help="What the recommender favours (no --model)."
    ),
    url: str | None = url_option(),
    api_key: str | None = key_option(),
) -> None:
    """Generate a video: upload inputs, queue the job, show its progress, save the MP4.

    Ctrl-C offers to cancel the job upstream (without a terminal on stdin, it cancels).
    """

    def action() -> None:
        with connect(url, api_key) as client:
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
            err.print(f"job {job.id}: {job.model}, {shown}{seconds}, {credits_text(job)}")
            job = _follow(client, job)
            if job.status is not Status.SUCCEEDED:
                err.print(f"[red]job {job.id} {failure_text(job)}[/red]")
                raise Failed(1)
            err.print(f"job {job.id} succeeded ({credits_text(job)})")
            save_video(client, job, output)

    run(action)
