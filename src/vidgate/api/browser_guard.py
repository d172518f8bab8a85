"""Browser-origin protection: a ``Host`` allowlist, an ``Origin`` check, CORS for listed origins.

A vidgate on loopback with auth off trusts whatever reaches it, and a browser is a way in for any
web page its user opens. Two attacks, two checks:

* **DNS rebinding.** A page on ``attacker.example`` re-points its name at 127.0.0.1 and talks to
  vidgate as "same origin"; every such request carries ``Host: attacker.example``. Only hosts on
  the allowlist are served (421 otherwise): loopback names and addresses, the address vidgate is
  bound to and the one the connection arrived on, and ``VIDGATE_ALLOWED_HOSTS``.
* **Cross-site requests (CSRF).** A form or ``fetch`` from another site can send a POST that needs
  no preflight. Browsers mark such requests with ``Origin`` (or, failing that,
  ``Sec-Fetch-Site``): a state-changing request from any origin but vidgate's own (the ``Host``
  it was sent to) or one in ``VIDGATE_ALLOWED_ORIGINS`` is refused with 403, ``Origin: null``
  included. Requests without either header (curl, the SDKs) are not from a browser and pass.

CORS headers (Starlette's ``CORSMiddleware``) are sent to the configured origins only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from vidgate.api.errors import vidgate_error_response
from vidgate.errors import CrossOriginRefused, MisdirectedRequest, VidgateError
from vidgate.settings import Settings

__all__ = ["BrowserGuard", "OriginPolicy", "is_loopback"]

_STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})
# Answers a configured origin's page may read besides the CORS-safelisted ones.
_EXPOSED_HEADERS = (
    "Location",
    "X-Request-ID",
    "Retry-After",
    "Idempotent-Replayed",
    "Content-Range",
    "ETag",
)


def _split_host(value: str) -> tuple[str, str]:
    """``host[:port]`` (IPv6 in brackets) as a lowercase name without a trailing dot, and port."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        return name, rest.removeprefix(":")
    name, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    return name.rstrip("."), port


def is_loopback(host: str) -> bool:
    """True for an address (or the name ``localhost``) that only this machine can reach."""
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _origin_key(scheme: str, host: str) -> str:
    """``host[:port]`` with the scheme's default port dropped, for comparing origins."""
    name, port = _split_host(host)
    default = {"http": "80", "https": "443"}.get(scheme, "")
    shown = f"[{name}]" if ":" in name else name
    return shown if port in ("", default) else f"{shown}:{port}"


@dataclass(frozen=True)
class OriginPolicy:
    """Which ``Host`` names vidgate answers to and which foreign origins may change state."""

    hosts: frozenset[str]
    host_suffixes: tuple[str, ...]
    any_host: bool
    origins: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> OriginPolicy:
        hosts: set[str] = set()
        suffixes: list[str] = []
        any_host = False
        bound = settings.host.strip().strip("[]").lower()
        if bound not in _WILDCARD_BINDS:
            hosts.add(bound)
        for entry in settings.allowed_hosts:
            if entry == "*":
                any_host = True
            elif entry.startswith("*."):
                suffixes.append(entry[1:])
            else:
                hosts.add(_split_host(entry)[0])
        origins = frozenset(o.rstrip("/").lower() for o in settings.allowed_origins)
        return cls(frozenset(hosts), tuple(suffixes), any_host, origins)

    def host_allowed(self, name: str, local_address: str | None) -> bool:
        if self.any_host or is_loopback(name) or name in self.hosts:
            return True
        if local_address is not None and name == local_address.lower():
            return True  # the address this connection arrived on: never a rebound name
        return name.endswith(self.host_suffixes) if self.host_suffixes else False

    def origin_problem(self, origin: str | None, fetch_site: str | None, host: str) -> str | None:
        """Why a state-changing request from a browser is refused; None when it may go on."""
        if origin is None:
            if fetch_site in ("cross-site", "same-site"):
                return f"a {fetch_site} request without Origin may not change anything"
            return None
        normalized = origin.strip().rstrip("/").lower()
        if normalized in self.origins:
            return None
        if normalized == "null":
            return "requests from an opaque origin (Origin: null) may not change anything"
        parts = urlsplit(normalized)
        own = _origin_key(parts.scheme, parts.netloc) == _origin_key(parts.scheme, host)
        if parts.scheme in ("http", "https") and parts.netloc and own:
            return None  # the page vidgate itself served
        return (
            f"cross-origin request from {origin[:200]!r} refused; "
            "list the origin in VIDGATE_ALLOWED_ORIGINS to allow it"
        )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return str(value.decode("latin-1"))
    return None


class BrowserGuard:
    """The ASGI middleware; reads its policy from the app's settings once they are open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._for: Settings | None = None
        self._policy: OriginPolicy | None = None
        self._inner: ASGIApp = app

    def _configure(self, settings: Settings) -> OriginPolicy:
        if self._policy is None or self._for is not settings:
            policy = OriginPolicy.from_settings(settings)
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
        policy = self._configure(ctx.runtime.settings)
        host = _header(scope, b"host") or ""
        server: Sequence[object] | None = scope.get("server")
        local = str(server[0]) if server else None
        error: VidgateError | None = None
        if host and not policy.host_allowed(_split_host(host)[0], local):
            error = MisdirectedRequest(
                f"this server does not answer to the host {host[:200]!r}; "
                "list it in VIDGATE_ALLOWED_HOSTS to allow it"
            )
        elif scope["method"] in _STATE_CHANGING:
            problem = policy.origin_problem(
                _header(scope, b"origin"), _header(scope, b"sec-fetch-site"), host
            )
            if problem is not None:
                error = CrossOriginRefused(problem)
        if error is not None:
            await vidgate_error_response(error)(scope, receive, send)
            return
        await self._inner(scope, receive, send)
