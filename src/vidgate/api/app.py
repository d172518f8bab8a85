"""The FastAPI app: ``create_app(settings)`` or ``create_app(runtime_factory)``.

The app's lifespan opens the runtime (database, storage, provider; the embedded emulator when
``RUNWAYML_API_SECRET`` is unset) and, unless told not to, starts the job worker in the same
process. Everything a route needs hangs off one :class:`~vidgate.api.deps.ApiContext`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidgate.api.auth import Authenticator
from vidgate.api.body_guard import BodyGuard
from vidgate.api.browser_guard import BrowserGuard
from vidgate.api.deps import ApiContext
from vidgate.api.errors import install_error_handlers
from vidgate.api.links import LinkSigner, load_link_secret
from vidgate.api.metrics import ApiMetrics
from vidgate.api.ratelimit import RateLimiter
from vidgate.api.routes.console import router as console_router
from vidgate.api.routes.events import router as events_router
from vidgate.api.routes.generations import router as generations_router
from vidgate.api.routes.health import router as health_router
from vidgate.api.routes.models import router as models_router
from vidgate.api.routes.openai import router as openai_router
from vidgate.api.routes.outputs import router as outputs_router
from vidgate.api.routes.previews import router as previews_router
from vidgate.api.routes.runway import router as runway_router
from vidgate.api.routes.uploads import router as uploads_router
from vidgate.api.routes.usage import router as usage_router
from vidgate.api.routes.web import router as web_router
from vidgate.api.routes.webhooks import job_payload
from vidgate.api.routes.webhooks import router as webhooks_router
from vidgate.intake.console import OperatorConsole
from vidgate.intake.generations import GenerationIntake
from vidgate.intake.media_policy import MediaPolicy
from vidgate.intake.uploads import UploadIntake
from vidgate.media.guarded_fetch import Resolver
from vidgate.runtime import Background, Runtime, open_runtime
from vidgate.settings import Settings
from vidgate.webhooks.policy import WebhookUrlPolicy

__all__ = [
    "SECURITY_HEADERS",
    "RequestMiddleware",
    "RuntimeFactory",
    "create_app",
]

log = logging.getLogger("vidgate.api")

RuntimeFactory = Callable[[], AbstractAsyncContextManager[Runtime]]

#: Sent with every answer unless the route set its own: no content sniffing (a JSON error or a
#: stored file is never run as HTML), no referrer leaking a job URL, no framing (clickjacking).
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 64 * 1024 * 1024


def create_app(
    source: Settings | RuntimeFactory,
    *,
    worker: bool = True,
    keys_required: bool = False,
    resolver: Resolver | None = None,
    media_client_factory: Callable[[], httpx.AsyncClient] | None = None,
    webhook_client_factory: Callable[[], httpx.AsyncClient] | None = None,
) -> FastAPI:
    """The vidgate HTTP API.

    ``source`` is the settings to open a runtime from, or a factory of runtimes (tests).
    ``keys_required`` refuses requests without a key even while no key exists (a server bound to
    a public address). ``resolver`` and ``media_client_factory`` replace DNS and the guarded fetch
    client (tests only; no setting reaches them); ``webhook_client_factory`` likewise replaces
    the guarded client webhooks are sent with.
    """
    if isinstance(source, Settings):
        settings = source

        def factory() -> AbstractAsyncContextManager[Runtime]:
            # The worker and the webhook dispatcher are the runtime's, started and stopped by it.
            background = None
            if worker:
                client = webhook_client_factory() if webhook_client_factory else None
                background = Background(render=job_payload, webhook_client=client)
            return open_runtime(settings, background=background)
    else:
        factory = source

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with factory() as runtime:
            keys, uploads = runtime.keys, runtime.uploads
            auth = Authenticator(keys, keys_required=keys_required)
            metrics = ApiMetrics()
            upload_intake = UploadIntake(
                settings=runtime.settings,
                catalog=runtime.catalog,
                store=uploads,
                provider=runtime.provider,
                provider_health=runtime.provider_health,
                accepted=metrics.upload_accepted,
            )
            media = MediaPolicy(
                settings=runtime.settings,
                catalog=runtime.catalog,
                uploads=upload_intake,
                resolver=resolver,
                client_factory=media_client_factory,
            )
            webhook_policy = WebhookUrlPolicy(
                settings=runtime.settings, store=runtime.webhook_store, resolver=resolver
            )
            app.state.ctx = ApiContext(
                runtime=runtime,
                keys=keys,
                uploads=uploads,
                auth=auth,
                limiter=RateLimiter(
                    runtime.settings.api_rate_per_second,
                    runtime.settings.api_rate_burst,
                    refused=metrics.rate_limited.inc,
                ),
                metrics=metrics,
                media=media,
                upload_intake=upload_intake,
                worker=worker,
                webhooks=webhook_policy,
                intake=GenerationIntake(
                    store=runtime.store,
                    catalog=runtime.catalog,
                    media=media,
                    webhooks=webhook_policy,
                    provider_health=runtime.provider_health,
                    job_submitted=runtime.job_submitted,
                    sdk_retry_window_seconds=runtime.settings.sdk_retry_window_seconds,
                ),
                links=LinkSigner(load_link_secret(runtime.settings)),
                console=OperatorConsole(
                    engine=runtime.engine,
                    store=runtime.store,
                    keys=keys,
                    provider_health=runtime.provider_health,
                    limits=runtime.pipeline.limits,
                ),
            )
            mode = "emulator mode" if runtime.emulator_mode else "runway mode"
            auth_state = "API keys required" if await auth.auth_enabled() else "auth off"
            log.info("vidgate API ready: %s, %s, worker %s", mode, auth_state, worker)
            try:
                yield
            finally:
                await media.aclose()
                del app.state.ctx

    app = FastAPI(
        title="vidgate",
        summary="Self-hosted AI video generation on Runway's API.",
        version="1",
        lifespan=lifespan,
        # /docs is served by routes/web.py from bundled files: no CDN, works offline.
        docs_url=None,
        redoc_url=None,
    )
    for router in (
        generations_router,
        previews_router,
        webhooks_router,
        events_router,
        uploads_router,
        models_router,
        usage_router,
        health_router,
        outputs_router,
        runway_router,
        openai_router,
        console_router,
        web_router,
    ):
        app.include_router(router)
    install_error_handlers(app)
    # Inside the request id and metrics (so refusals carry and count them), outside the routes.
    app.add_middleware(BodyGuard)
    app.add_middleware(BrowserGuard)
    app.add_middleware(RequestMiddleware)
    return app


class RequestMiddleware:
    """Per request: an id (``X-Request-ID``), the security headers, the request counter and timer.

    A 413 (from :class:`~vidgate.api.body_guard.BodyGuard` or the upload route) sent before the
    body was read ends the connection (``Connection: close``): the rest
    is never read. The answer's bytes are sent at once, but the connection is closed only after
    reading on for a moment (at most :data:`_LINGER_SECONDS` and :data:`_LINGER_BYTES`): closing
    a socket with unread input resets it, and the reset could destroy the answer before a client
    that is still sending has read it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # Unique across processes and restarts without a random draw (a syscall) per request.
        self._id_prefix = secrets.token_hex(4)
        self._counter = itertools.count()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = f"{self._id_prefix}{next(self._counter):08x}"
        scope.setdefault("state", {})["request_id"] = request_id
        ctx = getattr(scope["app"].state, "ctx", None)
        status = 500
        body_read = False
        outer_receive = receive

        async def tracking_receive() -> Message:
            nonlocal body_read
            message = await outer_receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_read = True
            return message

        receive = tracking_receive

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers") or [])
                present = {name.lower() for name, _ in headers}
                headers.append((b"x-request-id", request_id.encode()))
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            elif status == 413 and not body_read and not message.get("more_body", False):
                # The whole answer goes out now; the connection ends after a short linger.
                await send({**message, "more_body": True})
                await _linger(tracking_receive)
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if ctx is not None:
                route = scope.get("route")
                template = getattr(route, "path", None) or "unmatched"
                ctx.metrics.requests.labels(scope["method"], template, str(status)).inc()
                seconds = time.perf_counter() - started
                ctx.metrics.request_seconds.labels(scope["method"], template).observe(seconds)


async def _linger(receive: Receive) -> None:
    """Read and drop what the client still sends, for a bounded time and amount."""
    dropped = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_LINGER_SECONDS):
            while dropped < _LINGER_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    return
                dropped += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return
