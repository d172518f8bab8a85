"""The emulator keeps vidgate's ``Host`` and ``Origin`` rules (:mod:`vidgate.http_guard`).

It listens on loopback with any Bearer token accepted, so without them any web page its user
opens could make (and pay for, in emulated credits) tasks on it: by a form post or ``fetch``
across sites, or by DNS rebinding. A foreign ``Host`` is a 421, a malformed one a 400, a
state-changing request from another origin a 403; the SDKs send no ``Origin`` and pass. Answers
are in the emulator's error shape (the renderer is passed in).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from vidgate.http_guard import OriginPolicy, refusal

__all__ = ["HostOriginGuard", "emulator_policy"]


def emulator_policy(
    host: str, allowed_hosts: tuple[str, ...] = (), allowed_origins: tuple[str, ...] = ()
) -> OriginPolicy:
    """The policy of an emulator bound to ``host``, naming its own options in refusals."""
    return OriginPolicy.build(
        bound=host,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
        hosts_option="--allowed-hosts (VIDGATE_EMULATOR_ALLOWED_HOSTS)",
        origins_option="--allowed-origins (VIDGATE_EMULATOR_ALLOWED_ORIGINS)",
    )


class HostOriginGuard:
    """ASGI middleware refusing what :func:`vidgate.http_guard.refusal` refuses."""

    def __init__(
        self, app: ASGIApp, policy: OriginPolicy, *, render: Callable[[int, str], Response]
    ) -> None:
        self.app = app
        self.policy = policy
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            error = refusal(self.policy, scope)
            if error is not None:
                await self.render(error.status_code, str(error))(scope, receive, send)
                return
        await self.app(scope, receive, send)
