"""Helpers for tests that drive the emulator with the official SDK.

* :func:`wait_for_task`: poll ``client.tasks.retrieve`` briskly until a final status (the SDK's own
  ``wait_for_task_output`` sleeps about 6 s between polls, and its sync form never ends on
  CANCELLED);
* :func:`still_image`, :func:`video_clip`, :func:`data_uri`: small real inputs;
* :class:`MediaHost`: a loopback HTTP server for the emulator's ``hostMap``, so media fields can
  carry ``https://media.example.com/...`` URLs in a machine with no internet.
"""

from __future__ import annotations

import base64
import io
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx
from PIL import Image
from runwayml import RunwayML
from runwayml.types import TaskRetrieveResponse

from vidgate.emulator.render import render_video

__all__ = [
    "FINAL_STATUSES",
    "MediaHost",
    "data_uri",
    "download",
    "still_image",
    "video_clip",
    "wait_for_task",
]

FINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


def wait_for_task(
    client: RunwayML, task_id: str, *, timeout: float = 30.0, interval: float = 0.05
) -> TaskRetrieveResponse:
    """Poll until the task is SUCCEEDED, FAILED or CANCELLED; TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        task = client.tasks.retrieve(task_id)
        if task.status in FINAL_STATUSES:
            return task
        if time.monotonic() > deadline:
            raise TimeoutError(f"task {task_id} still {task.status} after {timeout} s")
        time.sleep(interval)


def still_image(
    width: int, height: int, *, color: tuple[int, int, int] = (200, 60, 40), fmt: str = "PNG"
) -> bytes:
    """A plain picture with a lighter square in it, encoded as ``fmt``."""
    image = Image.new("RGB", (width, height), color)
    light = tuple(min(255, c + 80) for c in color)
    image.paste(light, (width // 4, height // 4, width // 2, height // 2))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def video_clip(
    width: int, height: int, seconds: float, *, fps: int = 24, text: str | None = None
) -> bytes:
    """A real H.264 MP4 of the given size and length."""
    buffer = io.BytesIO()
    render_video(
        buffer, width=width, height=height, duration_seconds=seconds, fps=fps, prompt_text=text
    )
    return buffer.getvalue()


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


@dataclass
class _Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class MediaHost:
    """Serves registered paths on ``127.0.0.1`` (any port), answering HEAD and GET.

    Use :meth:`file` for a proper media file, :meth:`route` for anything else (a redirect, a
    missing Content-Type, an error status). :meth:`host_map` gives the emulator knob that sends
    an https host here.
    """

    def __init__(self) -> None:
        self._routes: dict[str, _Route] = {}
        self._lock = threading.Lock()
        self.requests: list[tuple[str, str, str]] = []  # (method, path, user agent)
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, *, body: bool) -> None:
                with host._lock:
                    host.requests.append(
                        (self.command, self.path, self.headers.get("user-agent", ""))
                    )
                    route = host._routes.get(self.path) or _Route(404, b"not found")
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if body:
                    self.wfile.write(route.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def host_map(self, *hosts: str) -> dict[str, str]:
        """``{"<host>": base_url}`` for each host, for the emulator's ``hostMap`` knob."""
        return dict.fromkeys(hosts, self.base_url)

    def file(self, path: str, data: bytes, content_type: str) -> None:
        """Serve ``data`` at ``path`` with a proper Content-Type and Content-Length."""
        self.route(
            path, 200, data, {"Content-Type": content_type, "Content-Length": str(len(data))}
        )

    def route(
        self, path: str, status: int, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> None:
        with self._lock:
            self._routes[path] = _Route(status, body, dict(headers or {}))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MediaHost:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def download(url: str, *, timeout: float = 30.0) -> bytes:
    """The body at ``url`` (an output URL); raises for an error status or a short body."""
    response = httpx.get(url, timeout=timeout)
    response.raise_for_status()
    return response.content
