"""Who calls the Runway surface, with which API version, and the JSON body it sends.

``RUNWAYML_API_SECRET`` is a vidgate API key, or anything with auth off
(:func:`~vidgate.api.sdk_surfaces.sdk_caller`). ``X-Runway-Version`` is required and must be the
version vidgate speaks (the SDKs' default), as Runway checks it: a 400 otherwise.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request

from vidgate.api.auth import Caller
from vidgate.api.deps import ContextDep
from vidgate.api.sdk_surfaces import sdk_caller
from vidgate.errors import ValidationFailed
from vidgate.provider.wire import RUNWAY_VERSION, RUNWAY_VERSION_HEADER

__all__ = ["RunwayCallerDep", "json_object", "runway_caller"]


async def runway_caller(request: Request, ctx: ContextDep) -> Caller:
    """The authenticated caller of a Runway-surface route, its version header checked."""
    caller = await sdk_caller(request, ctx)
    version = request.headers.get(RUNWAY_VERSION_HEADER)
    if version is None:
        raise ValidationFailed.single(RUNWAY_VERSION_HEADER, f"required; send {RUNWAY_VERSION}")
    if version != RUNWAY_VERSION:
        raise ValidationFailed.single(
            RUNWAY_VERSION_HEADER, f"unsupported version {version!r}; use {RUNWAY_VERSION}"
        )
    return caller


RunwayCallerDep = Annotated[Caller, Depends(runway_caller)]


async def json_object(request: Request) -> dict[str, Any]:
    """The request's JSON object body; a 400 naming the body when it is anything else."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError as exc:
        raise ValidationFailed.single("", f"the body is not valid JSON ({exc})") from None
    if not isinstance(body, dict):
        raise ValidationFailed.single("", "the body must be a JSON object")
    return body
