"""A job's stored video, poster or preview as an HTTP answer, with byte ranges, for every route.

``/v1/generations/{id}/video``, the signed output links of the Runway surface and OpenAI's
``/content`` all answer through :func:`serve_job_file`, from vidgate's own storage (never the
provider's signed URL).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Response
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from vidgate.api.deps import ApiContext
from vidgate.api.ranges import parse_range
from vidgate.errors import NotFound
from vidgate.jobs.models import Job
from vidgate.jobs.status import Status

__all__ = ["JobFile", "StoredFileResponse", "binary_content", "serve_job_file"]

JobFile = Literal["video", "poster", "preview"]
# Each file's media type and extension.
_KINDS: dict[str, tuple[str, str]] = {
    "video": ("video/mp4", "mp4"),
    "poster": ("image/jpeg", "jpg"),
    "preview": ("image/webp", "webp"),
}
# Previews are made by the worker as it stores a video, never here; a job stored before that
# may lack its own.
_NO_PREVIEW = (
    "the preview of job {id} is not stored (jobs stored before vidgate made previews with the "
    "video may lack one: `vidgate previews` makes them)"
)


class StoredFileResponse(StreamingResponse):
    """A stored file's bytes; to ``HEAD``, the same headers and no body, the file left unread.

    (Starlette's StreamingResponse reads a body through even for HEAD.) The stream was opened
    before, so that a missing file is a 404 either way; for HEAD it is closed at once."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            return await super().__call__(scope, receive, send)
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        close = getattr(self.body_iterator, "aclose", None)
        if close is not None:
            await close()


def binary_content(content_type: str) -> dict[str, Any]:
    """The OpenAPI ``content`` of a binary answer."""
    return {"content": {content_type: {"schema": {"type": "string", "format": "binary"}}}}


async def serve_job_file(
    ctx: ApiContext,
    job: Job,
    which: JobFile,
    range_header: str | None,
    if_range: str | None,
    *,
    cache_control: str = "private, max-age=3600",
) -> Response:
    """The whole file (200) or the one range asked for (206); NotFound until the job succeeded."""
    key = {"video": job.output_key, "poster": job.poster_key, "preview": job.preview_key}[which]
    if job.status is not Status.SUCCEEDED:
        raise NotFound(f"job {job.id} has no {which} yet (it is {job.status.value})")
    if key is None:  # only a preview: the previewer could not read the video
        raise NotFound(f"job {job.id} has no {which}: its video could not be read for one")
    storage = ctx.runtime.storage
    try:
        size = await storage.size(key)
    except NotFound:
        if which == "preview":
            raise NotFound(_NO_PREVIEW.format(id=job.id)) from None
        raise NotFound(f"the {which} of job {job.id} is no longer stored") from None
    etag = f'"{job.output_sha256}"' if which == "video" and job.output_sha256 else None
    if if_range is not None and if_range != etag:
        range_header = None  # the client's copy is stale: send it all
    byte_range = parse_range(range_header, size)
    content_type, extension = _KINDS[which]
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": cache_control,
        "Content-Disposition": f'inline; filename="{job.id}.{extension}"',
    }
    if etag:
        headers["ETag"] = etag
    if byte_range is None:
        headers["Content-Length"] = str(size)
        whole = await storage.open_range(key, 0, size)
        return StoredFileResponse(whole, media_type=content_type, headers=headers)
    headers["Content-Length"] = str(byte_range.length)
    headers["Content-Range"] = byte_range.content_range
    part = await storage.open_range(key, byte_range.start, byte_range.end)
    return StoredFileResponse(part, status_code=206, media_type=content_type, headers=headers)
