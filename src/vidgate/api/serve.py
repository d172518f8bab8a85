"""``vidgate serve``: the API under uvicorn, refusing to expose itself without API keys.

With no active key, auth is off, so the server may only listen on a loopback address; asked to
bind anywhere else it stops with a message saying how to make a key. Bound to a non-loopback
address, the app requires a key on every request even if all keys are later revoked.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn

from vidgate.api.app import create_app
from vidgate.api.edge_server import uvicorn_limits
from vidgate.api.listen import bind_listener
from vidgate.api.logging import AccessLog, configure_logging
from vidgate.api.published import publish, withdraw
from vidgate.errors import ConfigurationError
from vidgate.http_guard import is_loopback
from vidgate.media.c2pa_trust import load_trust
from vidgate.runtime import open_key_store
from vidgate.settings import Settings, load_settings

__all__ = ["count_active_keys", "is_loopback", "serve"]

log = logging.getLogger("vidgate.api")


def _check_trust(settings: Settings) -> None:
    """A C2PA trust file that does not load stops serve with one line, before anything starts
    (the runtime loads it again once the emulator, if any, has written its root)."""
    from vidgate.emulator.shared import trusted_root_pending  # only emulator mode needs it

    if not trusted_root_pending(settings):
        load_trust(settings.c2pa_trust_anchors, settings.c2pa_allowed_signers)


async def count_active_keys(settings: Settings) -> int:
    """Migrate the database if needed, then count the keys that are not revoked."""
    async with open_key_store(settings) as keys:
        return await keys.count_active()


def serve(
    *,
    host: str | None = None,
    port: int | None = None,
    worker: bool = True,
    echo: Callable[[str], None] = print,
) -> None:
    """Run the API (and, unless ``worker`` is False, the job worker) until interrupted."""
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = load_settings(**overrides)
    _check_trust(settings)
    configure_logging(settings)
    listener = bind_listener(settings.host, settings.port)  # a busy port: one line, first
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keys = asyncio.run(count_active_keys(settings))
    loopback = is_loopback(settings.host)
    if keys == 0 and not loopback:
        raise ConfigurationError(
            f"refusing to listen on {settings.host}: no API key exists, so anyone who can reach "
            "the server could spend your Runway credits. Create a key first with "
            "`vidgate keys create --name NAME`, or listen on 127.0.0.1 (the default)."
        )
    if keys == 0:
        echo(f"no API keys: auth is off; listening on loopback only ({settings.host})")
    else:
        noun = "key" if keys == 1 else "keys"
        echo(f"{keys} active API {noun}: every request needs Authorization: Bearer <key>")
    if settings.emulator_mode:
        echo("emulator mode: RUNWAYML_API_SECRET is unset, videos are synthetic")
    else:
        echo("runway mode: generations are sent to Runway and cost credits")
    if not worker:
        echo("no worker in this process (--no-worker): run `vidgate worker` to process jobs")
    app = AccessLog(create_app(settings, worker=worker, keys_required=not loopback))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        proxy_headers=False,
        server_header=False,
        log_level="info",
        **uvicorn_limits(settings),
        log_config=None,  # vidgate.api.logging formats uvicorn's lines too
        access_log=False,  # AccessLog writes it
    )
    _Server(config, echo, settings.data_dir).run(sockets=[listener])


class _Server(uvicorn.Server):
    """uvicorn, saying where it listens once it does (port 0 picks a free port), on the console
    and in the data directory (for the CLI: :mod:`vidgate.api.published`)."""

    def __init__(self, config: uvicorn.Config, echo: Callable[[str], None], data_dir: Path) -> None:
        super().__init__(config)
        self._echo = echo
        self._data_dir = data_dir

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        for server in self.servers:
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                shown = f"[{host}]" if ":" in host else host
                # Every address answers on loopback too; the CLI runs on this machine. Published
                # before it is said, so whoever waits for the line finds the record.
                local = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, shown)
                publish(self._data_dir, f"http://{local}:{port}")
                self._echo(f"vidgate listening on http://{shown}:{port}")

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        log.info("vidgate stopping: requests and job steps in flight finish first")
        withdraw(self._data_dir)
        await super().shutdown(sockets)
        log.info("vidgate stopped")  # uvicorn may re-raise SIGTERM after this: say it here
