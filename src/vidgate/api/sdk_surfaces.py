"""What the API's surfaces share beyond their shapes: who calls an SDK surface (``/runway``,
``/openai``), the headers of a create (all three surfaces), and a route class whose errors come out
in the surface's own shape.

The caller: the SDK's secret arrives as ``Authorization: Bearer <secret>`` and must be a vidgate
API key whenever keys are on (:class:`~vidgate.api.auth.Authenticator`'s rule); with auth off
(loopback, no key made yet) any secret is accepted, since the SDKs refuse to start without one.
The request rate is the same as on ``/v1`` (:meth:`~vidgate.api.ratelimit.RateLimiter.admit`).

A create's headers: ``Idempotency-Key`` (every surface; same key and body, the same job), and on
the SDK surfaces ``x-stainless-retry-count``, the SDKs' mark on their automatic retries, read
here once into :class:`SdkCreate` for the intake's SDK-retry match.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect

from vidgate.api.auth import Caller
from vidgate.api.deps import ApiContext
from vidgate.clock import utcnow
from vidgate.intake.generations import NewGeneration

__all__ = [
    "ErrorRenderer",
    "IdempotencyKey",
    "SdkCreate",
    "SdkCreateDep",
    "error_rendering_route",
    "sdk_caller",
    "sdk_retries",
]

#: Renders any exception (and the request id) as the surface's error answer.
ErrorRenderer = Callable[[Exception, str | None], Response]

#: The ``Idempotency-Key`` header of a create, on every surface.
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Same key and body: the same job again; same key, other body: 409.",
    ),
]


async def sdk_caller(request: Request, ctx: ApiContext) -> Caller:
    """The authenticated caller of an SDK surface, within its request rate."""
    if await ctx.auth.auth_enabled():
        caller = await ctx.auth.caller(request.headers.get("authorization"))
    else:
        caller = Caller(None)
    ctx.limiter.admit(caller.rate_key)
    return caller


def sdk_retries(value: str | None) -> int:
    """The SDK's ``x-stainless-retry-count``: how many times it has sent this request before
    (0 when absent or not a count)."""
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 6 else 0


@dataclass(frozen=True)
class SdkCreate:
    """How a create arrived on an SDK surface: its idempotency key and the SDK's retry mark."""

    idempotency_key: str | None
    #: The SDK marked it as its own retry (``x-stainless-retry-count`` >= 1).
    retry: bool
    #: When it arrived: before its body was read (a large form may take a while).
    received_at: datetime

    def generation(
        self, endpoint: str, body: Mapping[str, Any], owner: str | None, *, auth_enabled: bool
    ) -> NewGeneration:
        """The intake's request for this create."""
        return NewGeneration(
            endpoint=endpoint,
            body=body,
            owner=owner,
            auth_enabled=auth_enabled,
            idempotency_key=self.idempotency_key,
            sdk_surface=True,
            sdk_retry=self.retry,
            received_at=self.received_at,
        )


async def _sdk_create(
    idempotency_key: IdempotencyKey = None,
    retry_count: Annotated[str | None, Header(alias="x-stainless-retry-count")] = None,
) -> SdkCreate:
    return SdkCreate(idempotency_key, sdk_retries(retry_count) >= 1, utcnow())


SdkCreateDep = Annotated[SdkCreate, Depends(_sdk_create)]


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
