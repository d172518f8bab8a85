"""``/v1/generations``: submit, list, read and cancel jobs; download their video and poster.

Every route is scoped to the caller's API key: another key's job is answered 404, exactly as a job
that does not exist. Outputs are served from vidgate's own storage (with byte ranges), never by
handing out the provider's signed URLs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from vidgate.api.deps import CallerDep, ContextDep, error_responses
from vidgate.api.job_files import binary_content, serve_job_file
from vidgate.api.schemas import (
    GenerationIn,
    JobAudio,
    JobFailure,
    JobLinks,
    JobList,
    JobOut,
    JobOutput,
    JobProvenance,
)
from vidgate.api.sdk_surfaces import IdempotencyKey
from vidgate.intake.generations import NewGeneration
from vidgate.jobs.models import Job
from vidgate.jobs.status import Status

__all__ = ["WAIT_MAX_SECONDS", "job_out", "router"]

router = APIRouter(tags=["generations"])

#: The longest ``?wait=`` a request may hold its answer.
WAIT_MAX_SECONDS = 60.0
_WAIT_POLL_SECONDS = 0.2
_SHOWN_DATA_URI_CHARS = 64


def _shorten(value: Any) -> Any:
    """The stored body for display: data URIs cut short (they may be megabytes)."""
    if isinstance(value, dict):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    if isinstance(value, str) and value[:5].lower() == "data:" and len(value) > 256:
        return f"{value[:_SHOWN_DATA_URI_CHARS]}...({len(value)} characters)"
    return value


def job_out(job: Job) -> JobOut:
    """A job as the API shows it; links point at vidgate, never at the provider."""
    base = f"/v1/generations/{job.id}"
    done = job.status is Status.SUCCEEDED and job.output_key is not None
    failure = None
    if job.failure_code or (job.status is Status.FAILED and job.failure_message):
        failure = JobFailure(code=job.failure_code, message=job.failure_message)
    output = None
    if done:
        output = JobOutput(
            bytes=job.output_bytes,
            sha256=job.output_sha256,
            duration_seconds=job.output_duration_seconds,
            width=job.output_width,
            height=job.output_height,
            codec=job.output_codec,
            audio=JobAudio(
                codec=job.output_audio_codec,
                channels=job.output_audio_channels,
                sample_rate=job.output_audio_sample_rate,
                duration_seconds=job.output_audio_seconds,
            )
            if job.output_audio_codec
            else None,
            provenance=JobProvenance(**job.provenance) if job.provenance else None,
        )
    return JobOut(
        id=job.id,
        status=job.status,
        endpoint=job.endpoint,
        model=job.model,
        request=_shorten(job.request),
        progress=job.progress,
        status_reason=job.status_reason,
        estimated_credits=job.estimated_credits,
        cost_credits=job.cost_credits,
        failure=failure,
        cancel_requested=job.cancel_requested,
        parent_id=job.parent_id,
        segment_index=job.segment_index,
        created_at=job.created_at,
        updated_at=job.updated_at,
        finished_at=job.finished_at,
        output=output,
        links=JobLinks(
            self_=base,
            video=f"{base}/video" if done else None,
            poster=f"{base}/poster" if done and job.poster_key else None,
            preview=f"{base}/preview" if done and job.preview_key else None,
        ),
    )


async def _wait_for_end(
    ctx: ContextDep, request: Request, job: Job, owner: str | None, seconds: float
) -> Job:
    """Re-read the job until it ends, ``seconds`` pass, or the client goes away."""
    deadline = time.monotonic() + seconds
    while not job.status.is_terminal:
        left = deadline - time.monotonic()
        if left <= 0 or await request.is_disconnected():
            break
        await asyncio.sleep(min(_WAIT_POLL_SECONDS, left))
        job = await ctx.runtime.store.get_job(job.id, owner)
    return job


WaitQuery = Annotated[
    float | None,
    Query(
        ge=0,
        le=WAIT_MAX_SECONDS,
        description="Hold the answer up to this many seconds until the job ends.",
    ),
]


@router.post(
    "/v1/generations",
    status_code=202,
    response_model=JobOut,
    responses={
        200: {
            "model": JobOut,
            "description": "A repeat of an earlier request (same key and body).",
        },
        **error_responses(402, 409, 413, 503),
    },
    summary="Submit a generation",
)
async def create_generation(
    body: GenerationIn,
    request: Request,
    response: Response,
    ctx: ContextDep,
    caller: CallerDep,
    wait: WaitQuery = None,
    idempotency_key: IdempotencyKey = None,
) -> JobOut:
    """Validate the body against the model's rules, store the job and queue it (202).

    The body is `endpoint`, `model` and the model's fields, named as in Runway's API. Media fields
    take `runway://` URIs from POST /v1/uploads, data URIs, or https URLs on the allowlist.
    """
    created = await ctx.intake.create(
        NewGeneration(
            endpoint=body.endpoint.value,
            body={"model": body.model, **(body.model_extra or {})},
            owner=caller.owner,
            auth_enabled=await ctx.auth.auth_enabled(),
            idempotency_key=idempotency_key,
            webhook_url=body.webhook_url,
        )
    )
    job = created.job
    if wait:
        job = await _wait_for_end(ctx, request, job, caller.owner, wait)
    response.headers["Location"] = f"/v1/generations/{job.id}"
    if created.existing:
        response.headers["Idempotent-Replayed"] = "true"
    if created.existing or job.status.is_terminal:
        response.status_code = 200
    return job_out(job)


@router.get(
    "/v1/generations",
    response_model=JobList,
    responses=error_responses(),
    summary="List your generations, newest first",
)
async def list_generations(
    ctx: ContextDep,
    caller: CallerDep,
    status: Annotated[Status | None, Query(description="Only jobs in this status.")] = None,
    model: Annotated[str | None, Query(max_length=64, description="Only this model.")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=64, description="`nextCursor` of the previous page.")
    ] = None,
) -> JobList:
    page = await ctx.runtime.store.list_jobs(
        caller.owner, status=status, model=model, limit=limit, cursor=cursor
    )
    return JobList(data=[job_out(j) for j in page.jobs], next_cursor=page.next_cursor)


@router.get(
    "/v1/generations/{job_id}",
    response_model=JobOut,
    responses=error_responses(404),
    summary="Read one generation",
)
async def get_generation(
    job_id: str,
    request: Request,
    ctx: ContextDep,
    caller: CallerDep,
    wait: WaitQuery = None,
) -> JobOut:
    job = await ctx.runtime.store.get_job(job_id, caller.owner)
    if wait:
        job = await _wait_for_end(ctx, request, job, caller.owner, wait)
    return job_out(job)


@router.delete(
    "/v1/generations/{job_id}",
    status_code=202,
    response_model=JobOut,
    responses=error_responses(404),
    summary="Cancel a generation",
)
async def cancel_generation(job_id: str, ctx: ContextDep, caller: CallerDep) -> JobOut:
    """Ask for the job to stop; it ends `cancelled` (a finished job is returned unchanged)."""
    return job_out(await ctx.intake.cancel(job_id, caller.owner))


RangeHeader = Annotated[
    str | None, Header(alias="Range", description="One byte range, e.g. `bytes=0-1023`.")
]
IfRangeHeader = Annotated[str | None, Header(alias="If-Range")]


@router.head("/v1/generations/{job_id}/video", include_in_schema=False)
@router.get(
    "/v1/generations/{job_id}/video",
    response_class=Response,
    responses={
        200: {"description": "The whole video.", **binary_content("video/mp4")},
        206: {"description": "The requested byte range.", **binary_content("video/mp4")},
        **error_responses(404, 416),
    },
    summary="Download the video (byte ranges supported)",
)
async def get_video(
    job_id: str,
    ctx: ContextDep,
    caller: CallerDep,
    range_header: RangeHeader = None,
    if_range: IfRangeHeader = None,
) -> Response:
    job = await ctx.runtime.store.get_job(job_id, caller.owner)
    return await serve_job_file(ctx, job, "video", range_header, if_range)


@router.head("/v1/generations/{job_id}/poster", include_in_schema=False)
@router.get(
    "/v1/generations/{job_id}/poster",
    response_class=Response,
    responses={
        200: {"description": "A JPEG still of the video.", **binary_content("image/jpeg")},
        206: {"description": "The requested byte range.", **binary_content("image/jpeg")},
        **error_responses(404, 416),
    },
    summary="Download the poster image",
)
async def get_poster(
    job_id: str,
    ctx: ContextDep,
    caller: CallerDep,
    range_header: RangeHeader = None,
    if_range: IfRangeHeader = None,
) -> Response:
    job = await ctx.runtime.store.get_job(job_id, caller.owner)
    return await serve_job_file(ctx, job, "poster", range_header, if_range)
