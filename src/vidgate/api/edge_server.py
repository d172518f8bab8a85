"""uvicorn as the API runs under it: limits below ASGI that no middleware can set.

uvicorn bounds the idle time between two requests of a connection (``timeout_keep_alive``), but
not the time a client may take to send a request's headers: before they are complete there is no
request for the app to see, and a client sending one byte a second (or a request line and nothing
more) holds its socket for ever. Nor does it tell one peer from another: its
``limit_concurrency`` counts bare sockets, so one peer holding enough idle ones got every request
a 503, health probes included. :class:`HeaderTimeoutProtocol` is uvicorn's httptools protocol
with

* a deadline on the headers of every request (from the connection's start, or the end of the
  previous answer) and a cap on their size; a client that misses either is disconnected;
* every connection in a :class:`~vidgate.api.connection_table.ConnectionTable`: past the cap per
  peer address or the cap in all, the oldest idle connection is closed (a connection with a
  request in progress never is); with nothing idle left to close, requests are refused (503)
  until a connection ends, except ``/healthz`` and ``/readyz``, always answered.

Body pauses are bounded above ASGI, by :class:`~vidgate.api.body_guard.BodyGuard`.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from vidgate.api.connection_table import ConnectionTable, peer_key
from vidgate.api.errors import vidgate_error_response
from vidgate.errors import TransientFault
from vidgate.settings import Settings

__all__ = ["HEADER_MAX_BYTES", "PROBE_PATHS", "HeaderTimeoutProtocol", "uvicorn_limits"]

#: The most a request line and its headers may take, all together.
HEADER_MAX_BYTES = 64 * 1024
#: Answered however crowded the server is: a load balancer must see it alive while it is busy.
PROBE_PATHS = frozenset({b"/healthz", b"/readyz"})


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """httptools' protocol, closing connections whose request headers are late or too large,
    and keeping the connection caps (see the module docstring)."""

    header_timeout: float = 10.0
    #: One per server, set by :func:`uvicorn_limits`.
    peer_table: ClassVar[ConnectionTable]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._awaiting_headers = True
        self.peer = ""

    @property
    def idle(self) -> bool:
        """Waiting for a request's headers: no request of this connection is in progress."""
        return self._awaiting_headers

    def evict(self) -> None:
        self._disarm()
        self.transport.close()

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
        self.peer = peer_key(self.client[0] if self.client else None)
        self._arm()
        self.peer_table.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.peer_table.discard(self)
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
        if self.peer_table.crowded(self) and self.url.partition(b"?")[0] not in PROBE_PATHS:
            app, self.app = self.app, self._refuse
            try:
                super().on_headers_complete()  # the request is answered by ``_refuse``
            finally:
                self.app = app
            return
        super().on_headers_complete()

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        table = self.peer_table
        table.note_refused(self.peer)
        error = TransientFault(
            f"too many connections at once ({table.count(self.peer)} from your address, at most "
            f"{table.per_peer}; {len(table)} in all, at most {table.total}), all of them busy; "
            "retry shortly",
            retry_after=1,
        )
        response = vidgate_error_response(error)
        response.headers["connection"] = "close"  # and so one fewer
        await response(scope, receive, send)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # the next request's headers are due in time too


def uvicorn_limits(settings: Settings) -> dict[str, Any]:
    """The ``uvicorn.Config`` arguments that put the edge limits in place."""
    table = ConnectionTable(
        per_peer=settings.max_connections_per_peer, total=settings.max_connections
    )
    protocol = type(
        "VidgateHttpProtocol",
        (HeaderTimeoutProtocol,),
        {"header_timeout": settings.header_timeout_seconds, "peer_table": table},
    )
    # No limit_concurrency: the table keeps the caps, without counting idle sockets against
    # health probes. No WebSocket route exists: an upgrade would leave the table's sight.
    return {"http": protocol, "ws": "none"}
