"""The socket ``vidgate serve`` listens on, bound before anything else starts.

A port another process holds is then one line naming the setting to change, said before the
worker, the emulator or the database are touched, instead of uvicorn's error after them.
"""

from __future__ import annotations

import errno
import socket

from vidgate.errors import ConfigurationError

__all__ = ["bind_listener"]


def bind_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: a free one), ready for uvicorn."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigurationError(
            f"cannot listen on {host}: {exc.strerror}; set VIDGATE_HOST (or --host) to an "
            "address of this machine"
        ) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"port {port} on {host} is in use: set VIDGATE_PORT (or --port) to a free one"
            ) from exc
        raise ConfigurationError(
            f"cannot listen on {host}:{port}: {exc.strerror}; set VIDGATE_HOST / VIDGATE_PORT "
            "(or --host / --port)"
        ) from exc
    sock.set_inheritable(True)
    return sock
