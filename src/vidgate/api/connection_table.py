"""The API server's open connections by peer address, so that no one peer can take them all.

Every connection is registered while it is open, under its peer's key: the IPv4 address, or the
IPv6 /64 (what one host or one customer typically holds). Two caps:

* **per peer** (``VIDGATE_MAX_CONNECTIONS_PER_PEER``): a peer's new connection beyond it closes
  that peer's oldest idle connection;
* **in all** (``VIDGATE_MAX_CONNECTIONS``): a new connection beyond it closes the oldest idle
  connection of the peer that holds the most.

Idle means waiting for a request's headers: a socket that has sent nothing, one still trickling
its headers in, a keep-alive between two requests. A connection with a request in progress is
never closed here. When a cap is passed with nothing idle to close, requests on the connections
over it are refused (503) until it is not, health probes excepted (the protocol decides, with
:meth:`ConnectionTable.crowded`).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from typing import Protocol

__all__ = ["ConnectionTable", "TrackedConnection", "peer_key"]

log = logging.getLogger("vidgate.api")

_LOG_EVERY_SECONDS = 10.0  # one summary line per interval under a flood, not one per socket


class TrackedConnection(Protocol):
    """What the table needs of a connection."""

    @property
    def peer(self) -> str: ...

    @property
    def idle(self) -> bool: ...

    def evict(self) -> None:
        """Close the connection now (it is idle: nothing is lost)."""


def peer_key(host: str | None) -> str:
    """The key a peer's connections are counted under: its IPv4 address or its IPv6 /64."""
    if not host:
        return ""  # a Unix socket: one peer
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        if not address.is_loopback:
            return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class ConnectionTable:
    """Open connections by peer, oldest first; closes idle ones when a cap is passed."""

    def __init__(self, *, per_peer: int, total: int) -> None:
        self.per_peer = per_peer
        self.total = total
        # Insertion-ordered dicts used as ordered sets: the first entry is the oldest connection.
        self._peers: dict[str, dict[TrackedConnection, None]] = {}
        self._open = 0
        self._closed_since_log = 0
        self._refused_since_log = 0
        self._logged_at = -_LOG_EVERY_SECONDS

    def __len__(self) -> int:
        return self._open

    def count(self, peer: str) -> int:
        """The open connections of ``peer``."""
        return len(self._peers.get(peer, ()))

    def add(self, connection: TrackedConnection) -> None:
        """Register a new connection, closing idle ones to keep both caps."""
        group = self._peers.setdefault(connection.peer, {})
        group[connection] = None
        self._open += 1
        if len(group) > self.per_peer:
            self._close_oldest_idle(group, spare=connection)
        if self._open > self.total:
            for other in sorted(self._peers.values(), key=len, reverse=True):
                if self._close_oldest_idle(other, spare=connection):
                    break

    def discard(self, connection: TrackedConnection) -> None:
        """Forget a connection (closed, or evicted); a second call does nothing."""
        group = self._peers.get(connection.peer)
        if group is None or connection not in group:
            return
        del group[connection]
        self._open -= 1
        if not group:
            del self._peers[connection.peer]

    def crowded(self, connection: TrackedConnection) -> bool:
        """True while a cap is passed with nothing idle left to close: refuse requests then."""
        return self._open > self.total or len(self._peers.get(connection.peer, ())) > self.per_peer

    def note_refused(self, peer: str) -> None:
        """Count a request refused because :meth:`crowded` said so (logged with the closes)."""
        self._refused_since_log += 1
        self._log(peer)

    def _close_oldest_idle(
        self, group: dict[TrackedConnection, None], *, spare: TrackedConnection
    ) -> bool:
        for connection in group:
            if connection is not spare and connection.idle:
                self.discard(connection)  # mutates ``group``: the loop ends here
                connection.evict()
                self._closed_since_log += 1
                self._log(connection.peer)
                return True
        return False

    def _log(self, peer: str) -> None:
        now = time.monotonic()
        if now - self._logged_at >= _LOG_EVERY_SECONDS:
            log.warning(
                "connection caps (%d per address, %d in all): %d idle connection(s) closed and "
                "%d request(s) refused with 503 since the last such line; the last from %s, "
                "which holds %d of the %d connections open",
                self.per_peer,
                self.total,
                self._closed_since_log,
                self._refused_since_log,
                peer or "a Unix socket",
                self.count(peer),
                self._open,
            )
            self._closed_since_log = self._refused_since_log = 0
            self._logged_at = now
