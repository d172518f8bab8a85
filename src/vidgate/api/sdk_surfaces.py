"""What the surfaces other SDKs speak (``/runway``, ``/openai``) share: who calls, and a route class
whose errors come out in the surface's own shape.

The caller: the SDK's secret arrives as ``Authorization: Bearer <secret>`` and must be a vidgate
API key whenever keys are on (:class:`~vidgate.api.auth.Authenticator`'s rule); with auth off
(loopback, no key made yet) any secret is accepted, since the SDKs refuse to start without one.
The request rate is the same as on ``/v1``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect

from vidgate.api.auth import Caller
from vidgate.api.deps import ApiContext
from vidgate.errors import RateLimited

__all__ = ["ErrorRenderer", "error_rendering_route", "sdk_caller"]

#: Renders any exception (and the request id) as the surface's error answer.
ErrorRenderer = Callable[[Exception, str | None], Response]


async def sdk_caller(request: Request, ctx: ApiContext) -> Caller:
    """The authenticated caller of an SDK surface, within its request rate."""
    if await ctx.auth.auth_enabled():
        caller = await ctx.auth.caller(request.headers.get("authorization"))
    else:
        caller = Caller(None)
    wait = ctx.limiter.take(caller.rate_key)
    if wait > 0:
        ctx.metrics.rate_limited.inc()
        raise RateLimited(
            f"too many requests for this API key (limit {ctx.limiter.rate:g}/s); "
            f"retry in {wait:.1f} s",
            retry_after=wait,
        )
    return caller


def error_rendering_route(render: ErrorRenderer) -> type[APIRoute]:
    """An APIRoute class whose every error, request validation included, ``render`` answers."""

    class ErrorRenderingRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def answer(request: Request) -> Response:
                try:
                    return await handler(request)
                except ClientDisconnect:
                    raise
                except Exception as exc:
                    request_id = getattr(request.state, "request_id", None)
                    return render(exc, request_id if isinstance(request_id, str) else None)

            return answer

    return ErrorRenderingRoute
