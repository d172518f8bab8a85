"""Runway's two-step ephemeral upload, through vidgate's own upload code.

1. ``POST /runway/v1/uploads`` ``{"filename", "type": "ephemeral"}`` answers ``uploadUrl`` (a
   signed link to vidgate, valid an hour), ``fields`` and the ``runwayUri`` the file will have:
   ``runway://vidgate-upload/<slot>``.
2. The SDK POSTs the file there as ``multipart/form-data``, without credentials. The body is
   received and accepted by the one upload use case, as ``POST /v1/uploads``'s
   (:mod:`vidgate.intake.uploads`: streamed under ``VIDGATE_UPLOAD_MAX_BYTES``, sniffed, probed,
   handed to the provider, recorded as the caller's upload); 204.

A create through the surface names the slot's URI; :func:`resolve_upload_uris` swaps it for the
provider's URI of the caller's recorded upload before the body reaches the intake, which then
checks ownership, expiry and the field's limits as for any upload. A slot never filled is a 400
naming the field.
"""

from __future__ import annotations

import secrets
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from vidgate.api.deps import ApiContext, ContextDep
from vidgate.api.routes.runway.access import RunwayCallerDep, json_object
from vidgate.api.routes.runway.errors import RunwayRoute
from vidgate.errors import FieldProblem, Unauthorized, ValidationFailed

__all__ = ["UPLOAD_URI_PREFIX", "resolve_upload_uris", "router"]

router = APIRouter(route_class=RunwayRoute, include_in_schema=False)

#: The scheme and host of the URIs this surface promises before the file arrives.
UPLOAD_URI_PREFIX = "runway://vidgate-upload/"
_PURPOSE = "upload"
_SLOT_SECONDS = 3600
_FORM_FIELDS = ("key", "metadata", "file")
_FILENAME_MAX = 255


def _subject(slot: str, owner: str | None) -> str:
    return f"{slot}:{owner or ''}"


@router.post("/runway/v1/uploads")
async def create_upload_slot(
    request: Request, ctx: ContextDep, caller: RunwayCallerDep
) -> JSONResponse:
    body = await json_object(request)
    filename, kind = body.get("filename"), body.get("type", "ephemeral")
    problems = []
    if not isinstance(filename, str) or not filename.strip() or len(filename) > _FILENAME_MAX:
        problems.append(FieldProblem("filename", "required, the name of the file to upload"))
    if kind != "ephemeral":
        problems.append(FieldProblem("type", f"must be 'ephemeral', got {kind!r}"))
    if problems:
        raise ValidationFailed(problems)
    slot = secrets.token_urlsafe(16)
    expires = int(time.time()) + _SLOT_SECONDS
    signature = ctx.links.signature(_PURPOSE, _subject(slot, caller.owner), expires)
    base = str(request.base_url).rstrip("/")
    query = f"owner={caller.owner or ''}&expires={expires}&signature={signature}"
    return JSONResponse(
        {
            "uploadUrl": f"{base}/runway/uploads/{slot}?{query}",
            "fields": {"key": slot},
            "runwayUri": UPLOAD_URI_PREFIX + slot,
        }
    )


@router.post("/runway/uploads/{slot}", status_code=204)
async def receive_upload(
    slot: str,
    request: Request,
    ctx: ContextDep,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(min_length=1, max_length=128)],
    owner: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The presigned target of step 2: the file, checked and stored as the slot's owner's."""
    if not ctx.links.valid(_PURPOSE, _subject(slot, owner or None), expires, signature):
        raise Unauthorized("this upload URL is invalid or has expired; ask for a new one")
    uploader = owner or None
    promised = UPLOAD_URI_PREFIX + slot
    uploads = ctx.upload_intake
    if await uploads.earlier(owner=uploader, request_key=slot, source=promised) is not None:
        return Response(status_code=204)  # the same slot sent twice: the first file stands
    body = request.stream()
    content_type = request.headers.get("content-type")
    async with uploads.receive(body, content_type, request.headers.get("content-length")) as form:
        unknown = sorted(set(form.fields) - set(_FORM_FIELDS))
        if unknown:
            raise ValidationFailed.single(unknown[0], "unknown form field")
        await uploads.accept(form, owner=uploader, source=promised, request_key=slot)
    return Response(status_code=204)


def _promised(value: Any, path: str, found: list[tuple[str, str]]) -> None:
    if isinstance(value, str) and value.startswith(UPLOAD_URI_PREFIX):
        found.append((path, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            _promised(item, f"{path}.{key}" if path else str(key), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _promised(item, f"{path}[{index}]", found)


def _replace(value: Any, uris: dict[str, str]) -> Any:
    if isinstance(value, str):
        return uris.get(value, value)
    if isinstance(value, dict):
        return {key: _replace(item, uris) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, uris) for item in value]
    return value


async def resolve_upload_uris(
    ctx: ApiContext, body: dict[str, Any], owner: str | None
) -> dict[str, Any]:
    """``body`` with each slot URI replaced by the provider URI of ``owner``'s upload in it."""
    found: list[tuple[str, str]] = []
    _promised(body, "", found)
    if not found:
        return body
    uris: dict[str, str] = {}
    problems = []
    for path, promised in found:
        slot = promised.removeprefix(UPLOAD_URI_PREFIX)
        upload = await ctx.upload_intake.earlier(owner=owner, request_key=slot, source=promised)
        if upload is None:
            problems.append(
                FieldProblem(path, "no file was uploaded to this URI (or it has expired)")
            )
        else:
            uris[promised] = upload.uri
    if problems:
        raise ValidationFailed(problems)
    return dict(_replace(body, uris))
