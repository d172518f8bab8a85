"""``/v1/uploads``: take one media file, streamed, check it, hand it to the provider.

The body is streamed, chunk by chunk, never by Starlette's form parser (which would take the
whole file first), through the one upload use case (:mod:`vidgate.intake.uploads`): the cap is
enforced while the bytes arrive and memory stays flat. This module translates the form.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from vidgate.api.deps import CallerDep, ContextDep, error_responses
from vidgate.api.schemas import UploadList, UploadOut
from vidgate.errors import ValidationFailed
from vidgate.intake.uploads import UploadTarget
from vidgate.tenancy.tables import Upload

__all__ = ["router", "upload_out"]

router = APIRouter(tags=["uploads"])

_FORM_FIELDS = ("file", "model", "endpoint", "field")

_MULTIPART_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "The image, video or audio file (its type is read from "
                        "its bytes, not its name).",
                    },
                    "model": {
                        "type": "string",
                        "description": "Check the file against this model's input limits.",
                    },
                    "endpoint": {
                        "type": "string",
                        "enum": [
                            "text_to_video",
                            "image_to_video",
                            "video_to_video",
                            "character_performance",
                        ],
                        "description": "With model: the endpoint the file is meant for.",
                    },
                    "field": {
                        "type": "string",
                        "description": "With model: the media field the file is meant for "
                        "(e.g. promptVideo).",
                    },
                },
            }
        }
    },
}


def upload_out(upload: Upload) -> UploadOut:
    return UploadOut(
        id=upload.id,
        uri=upload.uri,
        expires_at=upload.expires_at,
        kind=upload.kind,
        mime_type=upload.mime_type,
        bytes=upload.bytes,
        width=upload.width,
        height=upload.height,
        duration_seconds=upload.duration_seconds,
        filename=upload.filename,
        created_at=upload.created_at,
    )


@router.post(
    "/v1/uploads",
    status_code=201,
    response_model=UploadOut,
    responses=error_responses(413, 502, 503),
    openapi_extra={"requestBody": _MULTIPART_BODY},
    summary="Upload a media file",
)
async def create_upload(
    request: Request, response: Response, ctx: ContextDep, caller: CallerDep
) -> UploadOut:
    """Stream a file (multipart field `file`) to the provider; answers its `runway://` URI.

    Refused: files over the size cap (413, as soon as the cap is passed), files that are not
    images, videos or audio Runway takes (judged from the bytes), truncated or damaged files,
    and, with `model`, files outside the model's input limits (422 naming `file`).
    """
    uploads = ctx.upload_intake
    body = request.stream()
    content_type = request.headers.get("content-type")
    async with uploads.receive(body, content_type, request.headers.get("content-length")) as form:
        unknown = sorted(set(form.fields) - set(_FORM_FIELDS))
        if unknown:
            raise ValidationFailed.single(
                unknown[0], f"unknown form field; allowed: {', '.join(_FORM_FIELDS)}"
            )
        model = form.fields.get("model") or None
        endpoint = form.fields.get("endpoint") or None
        field_name = form.fields.get("field") or None
        if model is None and (endpoint or field_name):
            raise ValidationFailed.single("model", "required when endpoint or field is given")
        target = UploadTarget(model, endpoint, field_name) if model is not None else None
        upload = await uploads.accept(form, owner=caller.owner, target=target)
    response.headers["Location"] = f"/v1/uploads/{upload.id}"
    return upload_out(upload)


@router.get(
    "/v1/uploads",
    response_model=UploadList,
    responses=error_responses(),
    summary="List your uploads, newest first",
)
async def list_uploads(
    ctx: ContextDep,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> UploadList:
    page = await ctx.uploads.list_uploads(caller.owner, limit=limit, cursor=cursor)
    return UploadList(data=[upload_out(u) for u in page.uploads], next_cursor=page.next_cursor)


@router.get(
    "/v1/uploads/{upload_id}",
    response_model=UploadOut,
    responses=error_responses(404),
    summary="Read one upload",
)
async def get_upload(upload_id: str, ctx: ContextDep, caller: CallerDep) -> UploadOut:
    return upload_out(await ctx.uploads.get_upload(upload_id, caller.owner))
