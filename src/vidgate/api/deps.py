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
from vidgate.errors import ERRORS_BY_CODE, InternalError, VidgateError
from vidgate.intake.console import OperatorConsole
from vidgate.intake.generations import GenerationIntake
from vidgate.intake.media_policy import MediaPolicy
from vidgate.intake.uploads import UploadIntake
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
    #: Receives and accepts media files: every surface's uploads go through it.
    upload_intake: UploadIntake
    worker: bool
    #: Checks webhook URLs; its ``store`` holds targets and deliveries.
    webhooks: WebhookUrlPolicy
    #: Makes new jobs: every surface's create goes through it.
    intake: GenerationIntake
    #: Signs and checks public links (output URLs, upload slots).
    links: LinkSigner
    #: What the operator's console reads and changes (``/v1/admin``).
    console: OperatorConsole


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
    ctx.limiter.admit(caller.rate_key)
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]


def _described(status: int) -> str:
    """What an answer with ``status`` can mean: the codes the API sends with it, from the tree."""
    if status >= 500 and status not in (502, 503):
        return f"`{InternalError.code}`: internal error (logged; no detail is sent)."
    parts = [
        f"`{cls.code}`: {_summary(cls)}"
        for cls in ERRORS_BY_CODE.values()
        if cls.status_code == status and cls.exposed
    ]
    return " ".join(parts)


def _summary(cls: type[VidgateError]) -> str:
    return (cls.__doc__ or cls.code.replace("_", " ")).strip().split("\n\n")[0].replace("\n", " ")


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give, all in the one envelope."""
    common = (401, 422, 429, 500)
    return {
        code: {"model": ErrorEnvelope, "description": _described(code)}
        for code in sorted({*common, *codes})
    }
