"""Runway's generation endpoints and tasks, answered from vidgate's jobs.

* ``POST /runway/v1/{text_to_video,image_to_video,video_to_video,character_performance}``: the
  body goes through the one intake (:mod:`vidgate.intake.generations`) and the answer is
  ``{"id", "estimatedCost"}`` at once, as Runway's. An ``Idempotency-Key`` header is honoured as on
  ``/v1/generations``; without one, a request the SDK marks as its own retry
  (``x-stainless-retry-count`` >= 1, :class:`~vidgate.api.sdk_surfaces.SdkCreate`) with the body
  of a job the caller made moments before gets that job back, even while the first try is still
  being handled: the SDKs' automatic retries never pay twice.
* ``GET /runway/v1/tasks/{id}``: the job as Runway's task object (:func:`task_view`); a finished
  task's ``output`` is vidgate's own signed link to the stored video.
* ``DELETE /runway/v1/tasks/{id}``: cancels the job, and so its upstream task (204).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from vidgate.api.deps import ApiContext, ContextDep
from vidgate.api.routes.outputs import output_link
from vidgate.api.routes.runway.access import RunwayCallerDep, json_object
from vidgate.api.routes.runway.errors import RunwayRoute
from vidgate.api.routes.runway.uploads import resolve_upload_uris
from vidgate.api.sdk_surfaces import SdkCreateDep
from vidgate.catalog import Endpoint
from vidgate.jobs.models import Job
from vidgate.jobs.status import Status

__all__ = [
    "router",
    "runway_status",
    "task_view",
    "whole_credits",
]

router = APIRouter(prefix="/runway/v1", route_class=RunwayRoute, include_in_schema=False)

_STATUS = {
    Status.QUEUED: "PENDING",
    Status.SUBMITTING: "PENDING",
    Status.THROTTLED: "THROTTLED",
    Status.RUNNING: "RUNNING",
    Status.DOWNLOADING: "RUNNING",  # the video is being copied into vidgate's storage
    Status.SUCCEEDED: "SUCCEEDED",
    Status.FAILED: "FAILED",
    Status.CANCELLED: "CANCELLED",
}


def runway_status(status: Status) -> str:
    """Runway's name for a job status."""
    return _STATUS[status]


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def whole_credits(value: float | None) -> int:
    """Credits as Runway counts them: whole numbers."""
    return round(value or 0)


def task_view(ctx: ApiContext, request: Request, job: Job) -> dict[str, Any]:
    """``job`` as Runway's task object (the fields each status carries in Runway's API)."""
    status = runway_status(job.status)
    view: dict[str, Any] = {"id": job.id, "status": status, "createdAt": _timestamp(job.created_at)}
    if not job.status.is_terminal:
        view["estimatedCost"] = {"credits": whole_credits(job.estimated_credits)}
        if status == "RUNNING":
            view["progress"] = round(min(max(job.progress, 0.0), 1.0), 4)
        return view
    view["cost"] = {"credits": whole_credits(job.cost_credits)}
    if job.status is Status.SUCCEEDED:
        view["output"] = [output_link(ctx, request, job.id)] if job.output_key else []
    elif job.status is Status.FAILED:
        view["failure"] = job.failure_message or "The task failed."
        view["failureCode"] = job.failure_code
    return view


def _create_route(endpoint: Endpoint) -> Any:
    async def create(
        request: Request, ctx: ContextDep, caller: RunwayCallerDep, sdk: SdkCreateDep
    ) -> JSONResponse:
        body = await resolve_upload_uris(ctx, await json_object(request), caller.owner)
        auth_enabled = await ctx.auth.auth_enabled()
        created = await ctx.intake.create(
            sdk.generation(endpoint.value, body, caller.owner, auth_enabled=auth_enabled)
        )
        job = created.job
        headers = {"Location": f"/runway/v1/tasks/{job.id}"}
        if created.existing:
            headers["Idempotent-Replayed"] = "true"
        answer = {"id": job.id, "estimatedCost": {"credits": whole_credits(job.estimated_credits)}}
        return JSONResponse(answer, headers=headers)

    create.__name__ = f"runway_{endpoint.value}"
    return create


for _endpoint in Endpoint:
    router.add_api_route(f"/{_endpoint.value}", _create_route(_endpoint), methods=["POST"])


@router.get("/tasks/{task_id}")
async def get_task(
    task_id: str, request: Request, ctx: ContextDep, caller: RunwayCallerDep
) -> JSONResponse:
    job = await ctx.runtime.store.get_job(task_id, caller.owner)
    return JSONResponse(task_view(ctx, request, job))


@router.delete("/tasks/{task_id}", status_code=204)
async def delete_task(task_id: str, ctx: ContextDep, caller: RunwayCallerDep) -> Response:
    """Cancel the task (and its upstream task); a finished one is left as it is."""
    await ctx.intake.cancel(task_id, caller.owner)
    return Response(status_code=204)
