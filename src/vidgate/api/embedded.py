"""The API (and its worker) served in-process on loopback, for a command that has no server to
talk to: ``vidgate generate`` and ``vidgate jobs`` without ``--url``.

uvicorn runs in a background thread with its own event loop on ``127.0.0.1``, on a port the
system picks; the caller gets the base URL and talks HTTP to it, exactly as to a remote server.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import uvicorn

from vidgate.api.app import create_app
from vidgate.api.edge_server import uvicorn_limits
from vidgate.errors import ConfigurationError
from vidgate.settings import Settings
from vidgate.storage.private import private_directory

__all__ = ["serve_in_thread"]

_START_TIMEOUT_SECONDS = 60.0
_STOP_TIMEOUT_SECONDS = 30.0


@contextlib.contextmanager
def serve_in_thread(settings: Settings, *, worker: bool = True) -> Iterator[str]:
    """Serve vidgate on ``127.0.0.1`` (any free port) until the block ends; yields its URL."""
    private_directory(settings.data_dir)
    app = create_app(settings, worker=worker)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        lifespan="on",
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        **uvicorn_limits(settings),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="vidgate-embedded", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(_STOP_TIMEOUT_SECONDS)
            raise ConfigurationError(
                f"the embedded vidgate server did not start (data directory {settings.data_dir})"
            )
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(_STOP_TIMEOUT_SECONDS)
