"""OpenAI's Videos API at ``/openai/v1/videos``, answered from vidgate's jobs.

``POST /videos`` (create, through the one intake), ``GET /videos`` (list, newest first, ``after``
and ``limit``), ``GET /videos/{id}``, ``DELETE /videos/{id}`` (cancels an unfinished job) and
``GET /videos/{id}/content?variant=video|thumbnail`` (vidgate's stored file, with ranges).
Statuses: ``queued`` (queued, submitting, throttled), ``in_progress`` (running, downloading),
``completed``, ``failed`` (failed, cancelled); ``progress`` is a whole percentage. An unfinished
video's answer carries ``openai-poll-after-ms``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from vidgate.api.auth import Caller
from vidgate.api.deps import ContextDep
from vidgate.api.job_files import serve_job_file
from vidgate.api.routes.openai.create_body import read_create
from vidgate.api.routes.openai.errors import OpenAIRoute
from vidgate.api.sdk_surfaces import SdkCreateDep, sdk_caller
from vidgate.errors import ValidationFailed
from vidgate.jobs.models import Job
from vidgate.jobs.status import Status

__all__ = ["POLL_AFTER_MS", "router", "video_view"]

router = APIRouter(prefix="/openai/v1", route_class=OpenAIRoute, include_in_schema=False)

#: How soon a client should ask again about an unfinished video.
POLL_AFTER_MS = 2000

_STATUS = {
    Status.QUEUED: "queued",
    Status.SUBMITTING: "queued",
    Status.THROTTLED: "queued",
    Status.RUNNING: "in_progress",
    Status.DOWNLOADING: "in_progress",
    Status.SUCCEEDED: "completed",
    Status.FAILED: "failed",
    Status.CANCELLED: "failed",
}


async def _caller(request: Request, ctx: ContextDep) -> Caller:
    return await sdk_caller(request, ctx)


CallerDep = Annotated[Caller, Depends(_caller)]


def _unix(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def video_view(job: Job) -> dict[str, Any]:
    """``job`` as OpenAI's video object."""
    request = job.request
    status = _STATUS[job.status]
    ratio = str(request.get("ratio") or "")
    size = ratio.replace(":", "x") if ":" in ratio else None
    if job.output_width and job.output_height:
        size = f"{job.output_width}x{job.output_height}"
    seconds = request.get("duration")
    if job.output_duration_seconds:
        seconds = round(job.output_duration_seconds)
    error = None
    if job.status is Status.FAILED:
        error = {"code": job.failure_code or "failed", "message": job.failure_message or ""}
    elif job.status is Status.CANCELLED:
        error = {"code": "cancelled", "message": job.status_reason or "cancelled by request"}
    done = job.status.is_terminal
    return {
        "id": job.id,
        "object": "video",
        "model": job.model,
        "status": status,
        "progress": 100 if status == "completed" else int(min(max(job.progress, 0.0), 1.0) * 99),
        "prompt": request.get("promptText"),
        "seconds": str(seconds) if seconds is not None else None,
        "size": size,
        "created_at": _unix(job.created_at),
        "completed_at": _unix(job.finished_at) if done else None,
        "expires_at": None,
        "error": error,
        "remixed_from_video_id": None,
    }


def _answer(job: Job, *, status_code: int = 200) -> JSONResponse:
    headers = {} if job.status.is_terminal else {"openai-poll-after-ms": str(POLL_AFTER_MS)}
    return JSONResponse(video_view(job), status_code=status_code, headers=headers)


@router.post("/videos")
async def create_video(
    request: Request, ctx: ContextDep, caller: CallerDep, sdk: SdkCreateDep
) -> JSONResponse:
    create = await read_create(request, ctx, caller.owner)
    auth_enabled = await ctx.auth.auth_enabled()
    try:
        created = await ctx.intake.create(
            sdk.generation(create.endpoint, create.body, caller.owner, auth_enabled=auth_enabled)
        )
    except ValidationFailed as exc:
        raise create.named(exc) from None
    return _answer(created.job)


@router.get("/videos")
async def list_videos(
    ctx: ContextDep,
    caller: CallerDep,
    after: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Annotated[str, Query(max_length=8)] = "desc",
) -> JSONResponse:
    if order != "desc":
        raise ValidationFailed.single("order", "only desc (newest first) is supported")
    page = await ctx.runtime.store.list_jobs(caller.owner, limit=limit, cursor=after)
    data = [video_view(job) for job in page.jobs]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
            "has_more": page.next_cursor is not None,
        }
    )


@router.get("/videos/{video_id}")
async def get_video(video_id: str, ctx: ContextDep, caller: CallerDep) -> JSONResponse:
    return _answer(await ctx.runtime.store.get_job(video_id, caller.owner))


@router.delete("/videos/{video_id}")
async def delete_video(video_id: str, ctx: ContextDep, caller: CallerDep) -> JSONResponse:
    """Cancel an unfinished video (and its upstream task); vidgate keeps every job's record."""
    job = await ctx.intake.cancel(video_id, caller.owner)
    cancelled = job.cancel_requested or job.status is Status.CANCELLED
    return JSONResponse({"id": job.id, "object": "video.deleted", "deleted": cancelled})


@router.get("/videos/{video_id}/content")
async def get_video_content(
    video_id: str,
    ctx: ContextDep,
    caller: CallerDep,
    variant: Annotated[Literal["video", "thumbnail"], Query()] = "video",
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
) -> Response:
    job = await ctx.runtime.store.get_job(video_id, caller.owner)
    which: Literal["video", "poster"] = "video" if variant == "video" else "poster"
    return await serve_job_file(ctx, job, which, range_header, if_range)
