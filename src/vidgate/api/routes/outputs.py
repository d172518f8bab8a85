"""``/files/{job}.mp4``: a finished job's video through a signed link, fetchable without a key.

The Runway surface puts these links in a task's ``output`` (the official SDKs' code hands
``task.output[0]`` to browsers): served from vidgate's storage with byte ranges, valid for
``VIDGATE_OUTPUT_LINK_SECONDS`` (7 days by default), long after the provider's own signed URL
(24-48 h) is gone. A link whose signature does not check, or that has expired, is answered 403.
"""

from __future__ import annotations

import math
import time
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from vidgate.api.deps import ApiContext, ContextDep
from vidgate.api.errors import error_response
from vidgate.api.job_files import binary_content, serve_job_file
from vidgate.errors import NotFound

__all__ = ["OUTPUT_PURPOSE", "output_link", "router"]

router = APIRouter(tags=["outputs"])

#: The purpose signed into output links (another purpose's signature never opens one).
OUTPUT_PURPOSE = "output"


def output_link(ctx: ApiContext, request: Request, job_id: str, *, now: float | None = None) -> str:
    """An absolute signed link to ``job_id``'s video, on the host the caller reached us at.

    The expiry is rounded up to the hour: a task read many times keeps one URL for an hour
    (browsers and CDNs cache by URL).
    """
    current = time.time() if now is None else now
    lifetime = ctx.runtime.settings.output_link_seconds
    expires = int(math.ceil((current + lifetime) / 3600) * 3600)
    signature = ctx.links.signature(OUTPUT_PURPOSE, job_id, expires)
    base = str(request.base_url).rstrip("/")
    return f"{base}/files/{job_id}.mp4?expires={expires}&signature={signature}"


@router.api_route(
    "/files/{job_id}.mp4",
    methods=["GET", "HEAD"],
    response_class=Response,
    include_in_schema=False,
    responses={200: binary_content("video/mp4"), 206: binary_content("video/mp4")},
)
async def get_signed_output(
    job_id: str,
    ctx: ContextDep,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(min_length=1, max_length=128)],
    range_header: Annotated[str | None, Header(alias="Range")] = None,
    if_range: Annotated[str | None, Header(alias="If-Range")] = None,
) -> Response:
    if not ctx.links.valid(OUTPUT_PURPOSE, job_id, expires, signature):
        return error_response(
            403, "link_invalid", "this link is invalid or has expired; read the task again"
        )
    try:
        job = await ctx.runtime.store.get_job(job_id)
    except NotFound:
        return error_response(404, "not_found", "the video of this link is no longer stored")
    left = max(0, int(expires - time.time()))
    return await serve_job_file(
        ctx, job, "video", range_header, if_range, cache_control=f"private, max-age={left}"
    )
