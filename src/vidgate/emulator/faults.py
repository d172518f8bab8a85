"""The outermost layer of the emulator: marks every response, counts it, and injects faults.

Every response carries ``X-Vidgate-Emulator: 1``. Requests to Runway's API (``/v1/...``) may be
answered, at the configured rates, with a 429, a 503 or a connection closed after the headers
(no complete response), as a real service under load does; the SDKs then retry them exactly as
they would against Runway. Control, storage and output routes are never faulted here (output
downloads have their own knobs, see :mod:`vidgate.emulator.downloads`).

A connection is dropped by raising :class:`EmulatedDrop` once the response has started: the
server then closes the connection. :func:`quiet_dropped_connections` keeps those deliberate drops
out of the server's error log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vidgate.emulator.stats import Stats
from vidgate.errors import ProviderUnavailable

__all__ = ["EmulatedDrop", "Fault", "FaultMiddleware", "pick_fault", "quiet_dropped_connections"]

Fault = Literal["http429", "http5xx", "drop"]
EMULATOR_HEADER = (b"x-vidgate-emulator", b"1")


class EmulatedDrop(ProviderUnavailable):
    """Raised to make the server close a connection mid-response, on purpose."""

    def __init__(self, what: str = "connection dropped by the emulator") -> None:
        super().__init__(what)


def pick_fault(roll: float, *, drop: float, http429: float, http5xx: float) -> Fault | None:
    """The fault a uniform ``roll`` in [0, 1) lands on, given each fault's rate."""
    if roll < drop:
        return "drop"
    if roll < drop + http429:
        return "http429"
    if roll < drop + http429 + http5xx:
        return "http5xx"
    return None


class FaultMiddleware:
    """ASGI middleware: header, status counts and fault injection for ``/v1``."""

    def __init__(
        self, app: ASGIApp, *, stats: Stats, draw_fault: Callable[[], Fault | None]
    ) -> None:
        self.app = app
        self.stats = stats
        self.draw_fault = draw_fault

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        counted = not _is_control(path)

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), EMULATOR_HEADER]}
                if counted:
                    self.stats.response(int(message["status"]))
            await send(message)

        if path.startswith("/v1/"):
            self.stats.count("apiRequests")
            if _retry_count(scope) > 0:
                self.stats.count("retriedRequests")
            fault = self.draw_fault()
            if fault is not None:
                await self._inject(fault, marked)
                return
        try:
            await self.app(scope, receive, marked)
        except BaseExceptionGroup as group:  # a drop raised inside a task group
            drop = _find_drop(group)
            if drop is None:
                raise
            raise drop from None

    async def _inject(self, fault: Fault, send: Send) -> None:
        if fault == "drop":
            self.stats.fault("droppedConnections")
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
                }
            )
            raise EmulatedDrop()
        if fault == "http429":
            self.stats.fault("http429")
            status, message = 429, "Too many requests; slow down and retry (emulated fault)"
        else:
            self.stats.fault("http5xx")
            status, message = 503, "The service is temporarily overloaded (emulated fault)"
        body = json.dumps({"error": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _is_control(path: str) -> bool:
    return path.startswith("/_emulator/") and not path.startswith(
        ("/_emulator/outputs/", "/_emulator/storage/")
    )


def _retry_count(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"x-stainless-retry-count":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _find_drop(error: BaseException | None) -> EmulatedDrop | None:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, EmulatedDrop):
            return error
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                found = _find_drop(inner)
                if found is not None:
                    return found
            return None
        error = error.__cause__ or error.__context__
    return None


class _DropFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return _find_drop(exc) is None


_FILTER = _DropFilter()


def quiet_dropped_connections() -> None:
    """Keep deliberate drops out of uvicorn's error log (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
