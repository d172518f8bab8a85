"""Who calls the Runway surface, and with which API version.

``RUNWAYML_API_SECRET`` is sent as ``Authorization: Bearer <secret>``: it must be a vidgate API key
whenever keys are on (the server's own rule, :class:`~vidgate.api.auth.Authenticator`); with auth
off (loopback, no key made yet) any secret is accepted, since the SDKs refuse to start without
one. ``X-Runway-Version`` is required and must be the version vidgate speaks (the SDKs' default),
as Runway checks it: a 400 otherwise. The caller's request rate is the same as on ``/v1``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request

from vidgate.api.auth import Caller
from vidgate.api.deps import ContextDep
from vidgate.emulator.config import RUNWAY_VERSION
from vidgate.errors import RateLimited, ValidationFailed

__all__ = ["RUNWAY_VERSION", "RunwayCallerDep", "json_object", "runway_caller"]


async def runway_caller(request: Request, ctx: ContextDep) -> Caller:
    """The authenticated caller of a Runway-surface route, its version header checked."""
    if await ctx.auth.auth_enabled():
        caller = await ctx.auth.caller(request.headers.get("authorization"))
    else:
        caller = Caller(None)
    version = request.headers.get("x-runway-version")
    if version is None:
        raise ValidationFailed.single("X-Runway-Version", f"required; send {RUNWAY_VERSION}")
    if version != RUNWAY_VERSION:
        raise ValidationFailed.single(
            "X-Runway-Version", f"unsupported version {version!r}; use {RUNWAY_VERSION}"
        )
    wait = ctx.limiter.take(caller.rate_key)
    if wait > 0:
        ctx.metrics.rate_limited.inc()
        raise RateLimited(
            f"too many requests for this API key (limit {ctx.limiter.rate:g}/s); "
            f"retry in {wait:.1f} s",
            retry_after=wait,
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
