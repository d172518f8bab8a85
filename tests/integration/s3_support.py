"""S3 for the integration tests (imported by name: tests/integration is on sys.path): moto in
server mode in a child process, and a loopback proxy in front of it that records every request
and can refuse them all as S3 does when credentials are revoked (403 AccessDenied).

moto runs in a child process: in this process it would keep every uploaded byte in Python memory
and hide what tracemalloc measures in test_storage.py (our side of the stream).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = ["CREDENTIALS", "RefusingProxy", "moto_server", "s3_options"]

CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

_MOTO = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()  # until the test process closes our stdin
server.stop()
"""

_ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message></Error>"
)
# Not passed on by a proxy (RFC 9110 7.6.1), and the length, which the proxy sets itself.
_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
}


def s3_options(endpoint: str) -> dict[str, Any]:
    return {"aws_endpoint": endpoint, "allow_http": True, "aws_region": "us-east-1", **CREDENTIALS}


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a moto S3 server, for the ``with`` block."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    proc = subprocess.Popen(
        [sys.executable, "-c", _MOTO],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


class RefusingProxy:
    """``with RefusingProxy(moto) as proxy: proxy.endpoint``; while ``proxy.refusing`` is set,
    every request is answered 403 AccessDenied; otherwise it is passed on to ``target``.
    ``proxy.requests`` lists each request it got as (method, path without the query)."""

    def __init__(self, target: str) -> None:
        self.refusing = threading.Event()
        self.refused = 0
        self.requests: list[tuple[str, str]] = []
        parts = urlsplit(target)
        assert parts.hostname is not None and parts.port is not None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.requests.append((self.command, urlsplit(self.path).path))
                if proxy.refusing.is_set():
                    proxy.refused += 1
                    self._send(403, [("Content-Type", "application/xml")], _ACCESS_DENIED)
                    return
                upstream = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                    headers["Content-Length"] = str(len(body))
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    data = answer.read()
                    kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP]
                    length = answer.getheader("Content-Length") or "0"
                    self._send(answer.status, kept, data, length if not data else None)
                finally:
                    upstream.close()

            def _send(
                self,
                status: int,
                headers: list[tuple[str, str]],
                body: bytes,
                length: str | None = None,  # HEAD: the length the object has
            ) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", length or str(len(body)))
                self.end_headers()
                if self.command != "HEAD":  # an answer to HEAD has no body, only its length
                    self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> RefusingProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
