"""The emulator as a real HTTP server on loopback, in a background thread (httpx's
``serve_in_thread`` pattern), for tests, ``vidgate emulator`` and embedding::

    with EmulatorServer(EmulatorConfig(task_seconds=0.5)) as emulator:
        client = RunwayML(api_key="key_...", base_url=emulator.base_url)
        emulator.control(failRate=1, failureCode="SAFETY.INPUT.TEXT")
"""

from __future__ import annotations

import secrets
import signal
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from vidgate.emulator.app import CONTROL_TOKEN_HEADER, create_emulator_app, emulator_state
from vidgate.emulator.config import EmulatorConfig
from vidgate.emulator.faults import quiet_dropped_connections
from vidgate.emulator.host_guard import emulator_policy
from vidgate.emulator.state import EmulatorState, ForcedOutcome
from vidgate.errors import ConfigurationError

__all__ = ["DEFAULT_HOST", "EmulatorControl", "EmulatorServer"]

DEFAULT_HOST = "127.0.0.1"
START_TIMEOUT = 10.0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class _Server(uvicorn.Server):
    """uvicorn, minus signal handling (it runs in a thread)."""

    def install_signal_handlers(self) -> None:  # older uvicorn calls this
        pass


class EmulatorControl:
    """The control endpoint (``/_emulator``) of an emulator at ``base_url``, over HTTP as any
    client would use it: for an emulator in this process or in another one."""

    control_timeout: float = 10.0
    #: Sent in ``X-Emulator-Token``; the emulator refuses control calls without it.
    control_token: str | None = None

    def __init__(self, base_url: str, *, timeout: float = 10.0, token: str | None = None) -> None:
        self._control_url = base_url
        self.control_timeout = timeout
        self.control_token = token

    @property
    def control_headers(self) -> dict[str, str]:
        """The header a control call carries (for a client other than this one)."""
        return {CONTROL_TOKEN_HEADER: self.control_token} if self.control_token else {}

    @property
    def base_url(self) -> str:
        return self._control_url

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        url = f"{self.base_url}/_emulator{path}"
        response = httpx.request(
            method, url, json=body, headers=self.control_headers, timeout=self.control_timeout
        )
        response.raise_for_status()
        return response.json()

    def control(self, **knobs: Any) -> dict[str, Any]:
        """Change knobs (camelCase or snake_case names); returns the whole config."""
        result: dict[str, Any] = self._call("POST", "/config", knobs)
        return result

    def get_config(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/config")
        return result

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/stats")
        return result

    def tasks(self) -> list[dict[str, Any]]:
        """Every task with its model, endpoint, status and output shape."""
        result: list[dict[str, Any]] = self._call("GET", "/tasks")
        return result

    def reset(self) -> None:
        self._call("POST", "/reset")

    def force(
        self, task_id: str, outcome: ForcedOutcome, *, failure_code: str | None = None
    ) -> dict[str, Any]:
        """End a task now: ``succeed``, ``fail`` (with ``failure_code``) or ``cancel``."""
        body = {"failureCode": failure_code} if failure_code else None
        result: dict[str, Any] = self._call("POST", f"/tasks/{task_id}/{outcome}", body)
        return result


class EmulatorServer(EmulatorControl):
    """Runs :func:`create_emulator_app` with uvicorn on ``host:port`` (port 0: any free one).

    It answers to loopback names and addresses, ``host`` and the address a connection arrived on,
    plus ``allowed_hosts``; state changes from a browser only from its own origin and
    ``allowed_origins`` (:mod:`vidgate.http_guard`, the rules vidgate's API keeps).
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        log_level: str = "warning",
        control_token: str | None = None,
        allowed_hosts: tuple[str, ...] = (),
        allowed_origins: tuple[str, ...] = (),
    ) -> None:
        self.config = config or EmulatorConfig()
        # One per process unless given: whoever drives the knobs gets it from this object.
        self.control_token = control_token or secrets.token_urlsafe(24)
        self.app: FastAPI = create_emulator_app(
            self.config,
            control_token=self.control_token,
            origin_policy=emulator_policy(host, allowed_hosts, allowed_origins),
        )
        self.host = host
        self._requested_port = port
        self._log_level = log_level
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    @property
    def state(self) -> EmulatorState:
        return emulator_state(self.app)

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        """What to pass as the SDK's ``base_url`` (no ``/v1``: the SDK adds it)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        if self._thread is not None:
            return self
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self._requested_port,
            log_level=self._log_level,
            # Leave logging alone: an embedded emulator must not silence its host's loggers.
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        quiet_dropped_connections()
        server = _Server(config)
        thread = threading.Thread(target=server.run, name="vidgate-emulator", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(timeout=2)
                raise ConfigurationError(
                    f"the emulator could not listen on {self.host}:{self._requested_port}"
                )
            time.sleep(0.005)
        self._server, self._thread = server, thread
        self._port = server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            self.state.close()
            return
        server.should_exit = True
        thread.join(timeout=10)
        self._server = self._thread = None
        self.state.close()  # idempotent; the app's shutdown already closed it

    def wait(self) -> None:
        """Block until the server stops; Ctrl+C (and SIGTERM, from the main thread) stop it."""
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            self.stop()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
