"""What every route gets injected: the running API's context and the authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vidgate.api.auth import Authenticator, Caller
from vidgate.api.links import LinkSigner
from vidgate.api.metrics import ApiMetrics
from vidgate.api.ratelimit import RateLimiter
from vidgate.api.schemas import ErrorEnvelope
from vidgate.errors import InternalError, RateLimited
from vidgate.intake.generations import GenerationIntake
from vidgate.intake.media_policy import MediaPolicy
from vidgate.runtime import Runtime
from vidgate.tenancy.keys import KeyStore
from vidgate.tenancy.uploads import UploadStore
from vidgate.webhooks.policy import WebhookUrlPolicy

__all__ = ["ApiContext", "CallerDep", "ContextDep", "error_responses", "get_caller", "get_context"]

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from `vidgate keys create` (not needed while no key exists and the "
    "server listens on loopback only).",
)


@dataclass
class ApiContext:
    """Everything the routes of one running API share."""

    runtime: Runtime
    keys: KeyStore
    uploads: UploadStore
    auth: Authenticator
    limiter: RateLimiter
    metrics: ApiMetrics
    media: MediaPolicy
    worker: bool
    #: Checks webhook URLs; its ``store`` holds targets and deliveries.
    webhooks: WebhookUrlPolicy
    #: Makes new jobs: every surface's create goes through it.
    intake: GenerationIntake
    #: Signs and checks public links (output URLs, upload slots).
    links: LinkSigner


async def get_context(request: Request) -> ApiContext:
    # async: FastAPI runs a plain ``def`` dependency on a worker thread, a hop per request.
    ctx = getattr(request.app.state, "ctx", None)
    if not isinstance(ctx, ApiContext):
        raise InternalError("the API was called outside its lifespan")
    return ctx


ContextDep = Annotated[ApiContext, Depends(get_context)]


async def get_caller(
    request: Request,
    ctx: ContextDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller, authenticated and within its rate."""
    caller = await ctx.auth.caller(request.headers.get("authorization"))
    wait = ctx.limiter.take(caller.rate_key)
    if wait > 0:
        ctx.metrics.rate_limited.inc()
        raise RateLimited(
            f"too many requests for this API key (limit {ctx.limiter.rate:g}/s); "
            f"retry in {wait:.1f} s",
            retry_after=wait,
        )
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]

_DESCRIPTIONS = {
    400: "The request is malformed.",
    401: "No API key, or an unknown or revoked one.",
    402: "Over the API key's daily or monthly budget; the message says what is left.",
    404: "No such resource for this API key.",
    409: "The Idempotency-Key was used before with another body.",
    413: "The body is larger than allowed.",
    416: "The byte range lies outside the file.",
    422: "Invalid input; `fields` names every bad field.",
    429: "Over this API key's request rate; see Retry-After.",
    500: "Internal error (logged; no detail is sent).",
    502: "The provider refused for good.",
    503: "The provider or database is unavailable; see Retry-After.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give, all in the one envelope."""
    common = (401, 422, 429, 500)
    return {
        code: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[code]}
        for code in sorted({*common, *codes})
    }
