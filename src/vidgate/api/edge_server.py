"""uvicorn as the API runs under it: limits below ASGI that no middleware can set.

uvicorn bounds the idle time between two requests of a connection (``timeout_keep_alive``) and,
with ``limit_concurrency``, the connections at once (503 beyond), but not the time a client may
take to send a request's headers: before they are complete there is no request for the app to
see, and a client sending one byte a second (or a request line and nothing more) holds its socket
for ever. :class:`HeaderTimeoutProtocol` is uvicorn's httptools protocol with a deadline on the
headers of every request (from the connection's start, or the end of the previous answer) and a
cap on their size; a client that misses either is disconnected. Body pauses are bounded above
ASGI, by :class:`~vidgate.api.body_guard.BodyGuard`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from vidgate.settings import Settings

__all__ = ["HEADER_MAX_BYTES", "HeaderTimeoutProtocol", "uvicorn_limits"]

#: The most a request line and its headers may take, all together.
HEADER_MAX_BYTES = 64 * 1024


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """httptools' protocol, closing connections whose request headers are late or too large."""

    header_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._awaiting_headers = True

    def _arm(self) -> None:
        self._disarm()
        self._awaiting_headers = True
        self._header_bytes = 0
        self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_late(self) -> None:
        self._header_deadline = None
        if self._awaiting_headers and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            self._header_bytes += len(data)
            if (
                self._header_bytes > HEADER_MAX_BYTES + len(data)
                and not self.transport.is_closing()
            ):
                # Past the cap before the headers ended (the last chunk may carry a body too).
                self.transport.close()
                return
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the next request's headers are due in time too


def uvicorn_limits(settings: Settings) -> dict[str, Any]:
    """The ``uvicorn.Config`` arguments that put the edge limits in place."""
    protocol = type(
        "VidgateHttpProtocol",
        (HeaderTimeoutProtocol,),
        {"header_timeout": settings.header_timeout_seconds},
    )
    return {"http": protocol, "limit_concurrency": settings.max_connections}
