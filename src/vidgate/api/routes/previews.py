"""``GET /v1/generations/{id}/preview``: the short animated WebP the gallery plays on hover.

Served from storage, never made here: the worker makes each preview from the downloaded file
while it stores the video (:mod:`vidgate.pipeline.outputs`), so a request waits on nothing but
storage. A job without one (its video unreadable for the previewer, or stored before previews
were made this way) gets 404 ``not_found`` saying which; the page then shows the poster only.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from vidgate.api.deps import CallerDep, ContextDep, error_responses
from vidgate.api.job_files import binary_content, serve_job_file

__all__ = ["router"]

router = APIRouter(tags=["generations"])


@router.get(
    "/v1/generations/{job_id}/preview",
    response_class=Response,
    responses={
        200: {
            "description": "A looping animated WebP of the video's first seconds (<= 320 px).",
            **binary_content("image/webp"),
        },
        **error_responses(404, 416),
    },
    summary="Download the moving preview",
    description="The preview is made by the worker as it stores the video: once the job has "
    "succeeded and `links.preview` is set, it is there. 404 otherwise.",
)
async def get_preview(job_id: str, ctx: ContextDep, caller: CallerDep) -> Response:
    job = await ctx.runtime.store.get_job(job_id, caller.owner)
    return await serve_job_file(ctx, job, "preview", None, None)
