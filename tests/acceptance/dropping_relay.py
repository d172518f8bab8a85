"""A loopback TCP relay that loses the answer to the first create: a real dropped connection.

Between an SDK and vidgate: every byte is passed on, except that the first request matching
``drop`` is forwarded, answered by vidgate, and then the client's connection is closed without a
byte of that answer, as when a proxy or the network fails after the server acted. The SDK sees a
connection error and retries, as it would against Runway.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

__all__ = ["DroppingRelay"]


def _read_request(sock: socket.socket) -> bytes:
    """One whole HTTP/1.1 request with a Content-Length body (what the SDKs send)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _read_response(sock: socket.socket) -> bytes:
    return _read_request(sock)  # the same framing: head, then Content-Length bytes


@dataclass
class DroppingRelay:
    """``with DroppingRelay(target_port, drop=b"POST /runway/v1/") as relay: relay.port``."""

    target_port: int
    drop: bytes
    drops_left: int = 1
    dropped: list[bytes] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)
    _listener: socket.socket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def port(self) -> int:
        assert self._listener is not None
        return int(self._listener.getsockname()[1])

    def __enter__(self) -> DroppingRelay:
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        first = _read_request(client)
        self.requests.append(first.split(b"\r\n\r\n")[0])
        with self._lock:
            dropping = self.drops_left > 0 and first.startswith(self.drop)
            if dropping:
                self.drops_left -= 1
        upstream.sendall(first)
        if dropping:
            _read_response(upstream)  # vidgate acted on it; the client never hears
            self.dropped.append(first.split(b"\r\n\r\n")[0])
            for sock in (client, upstream):
                sock.close()
            return
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        self._pipe(client, upstream)

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
