"""``/healthz`` (alive, and in which mode), ``/readyz`` (database reachable, provider up or down),
``/metrics``.

None of them needs an API key: they carry no tenant's data, only totals. A provider that is down
makes ``/readyz`` say ``degraded``, not 503: every replica shares the one provider, and a failing
readiness check would take them all out of the load balancer while reads still work.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from vidgate.api.deps import ContextDep, error_responses
from vidgate.api.metrics import CONTENT_TYPE_LATEST
from vidgate.api.schemas import HealthOut, ReadyOut
from vidgate.errors import TransientFault
from vidgate.provider.health import CircuitState

__all__ = ["router"]

router = APIRouter(tags=["health"])

_READY_TIMEOUT_SECONDS = 3.0
_PROVIDER_READINESS = {
    CircuitState.CLOSED: "ok",
    CircuitState.OPEN: "down",
    CircuitState.PROBING: "probing",
}


def _version() -> str:
    try:
        return version("vidgate")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0+unknown"


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses={500: error_responses()[500]},
    summary="Liveness, and whether this is emulator mode",
)
async def healthz(ctx: ContextDep) -> HealthOut:
    return HealthOut(
        mode="emulator" if ctx.runtime.emulator_mode else "runway",
        auth="keys" if await ctx.auth.auth_enabled() else "off",
        worker=ctx.worker,
        version=_version(),
    )


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={k: v for k, v in error_responses(503).items() if k in (500, 503)},
    summary="Readiness: the database answers; whether the provider is down",
)
async def readyz(ctx: ContextDep) -> ReadyOut:
    try:
        async with asyncio.timeout(_READY_TIMEOUT_SECONDS):
            async with ctx.runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError, TimeoutError) as exc:
        raise TransientFault(f"the database is not reachable: {type(exc).__name__}") from exc
    provider = await ctx.runtime.provider_health.status()
    if provider.key_refused:
        # Not a passing outage: the operator must set a valid RUNWAYML_API_SECRET.
        return ReadyOut(status="degraded", provider="credentials_refused")
    return ReadyOut(
        status="degraded" if provider.down else "ready",
        provider=_PROVIDER_READINESS[provider.state],
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        500: error_responses()[500],
    },
    summary="Prometheus metrics",
)
async def metrics(ctx: ContextDep) -> Response:
    await ctx.metrics.refresh(ctx.runtime.store)
    ctx.metrics.show_provider(await ctx.runtime.provider_health.status())
    ctx.metrics.show_reconciliation(await ctx.runtime.usage.current())
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE_LATEST)
