"""Browser-origin protection for the API: the ``Host`` and ``Origin`` rules of
:mod:`vidgate.http_guard` (DNS rebinding: 421; a bad ``Host``: 400; cross-site state changes:
403), with the API's hosts and origins from its settings, and CORS for the configured origins.

CORS headers (Starlette's ``CORSMiddleware``) are sent to the configured origins only.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from vidgate.api.errors import vidgate_error_response
from vidgate.http_guard import OriginPolicy, refusal
from vidgate.settings import Settings

__all__ = ["BrowserGuard", "policy_from_settings"]

# Answers a configured origin's page may read besides the CORS-safelisted ones.
_EXPOSED_HEADERS = (
    "Location",
    "X-Request-ID",
    "Retry-After",
    "Idempotent-Replayed",
    "Content-Range",
    "ETag",
)


def policy_from_settings(settings: Settings) -> OriginPolicy:
    """The API's policy: its bound address and ``VIDGATE_ALLOWED_HOSTS`` / ``_ORIGINS``."""
    return OriginPolicy.build(
        bound=settings.host,
        allowed_hosts=settings.allowed_hosts,
        allowed_origins=settings.allowed_origins,
    )


class BrowserGuard:
    """The ASGI middleware; reads its policy from the app's settings once they are open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._for: Settings | None = None
        self._policy: OriginPolicy | None = None
        self._inner: ASGIApp = app

    def _configure(self, settings: Settings) -> OriginPolicy:
        if self._policy is None or self._for is not settings:
            policy = policy_from_settings(settings)
            self._inner = self.app
            if policy.origins:
                self._inner = CORSMiddleware(
                    self.app,
                    allow_origins=sorted(policy.origins),
                    allow_methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"],
                    allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
                    expose_headers=list(_EXPOSED_HEADERS),
                    max_age=600,
                )
            self._for, self._policy = settings, policy
        return self._policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = getattr(scope["app"].state, "ctx", None) if "app" in scope else None
        if scope["type"] != "http" or ctx is None:
            await self.app(scope, receive, send)
            return
        error = refusal(self._configure(ctx.runtime.settings), scope)
        if error is not None:
            await vidgate_error_response(error)(scope, receive, send)
            return
        await self._inner(scope, receive, send)
