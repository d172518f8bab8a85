"""Output downloads against a real HTTP server on loopback: every way a signed GET can end,
and the copy into storage (local: one thread; cloud: through the streamed save)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from vidgate.errors import NotFound, OutputExpired, ProviderUnavailable, TransientFault
from vidgate.provider.output_reader import OutputReader
from vidgate.storage import TEMP_PREFIX, Storage

CHUNK = 4 * 1024 * 1024
BODY = os.urandom(2 * CHUNK + 12345)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        route = self.path.split("?", 1)[0]
        if route == "/ok":
            self._send(200, BODY)
        elif route == "/small":
            self._send(200, b"tiny")
        elif route == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(BODY), 1_000_000):
                piece = BODY[start : start + 1_000_000]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif route == "/short":
            self.send_response(200)
            self.send_header("Content-Length", str(len(BODY)))
            self.end_headers()
            self.wfile.write(BODY[: CHUNK + 10])
            self.close_connection = True
        elif route == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            status = {"/expired": 403, "/unauthorized": 401, "/missing": 404}.get(route, 500)
            self._send(status, b"no")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    handler = type("Handler", (_Handler,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]  # a client gone early
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def reader() -> Iterator[OutputReader]:
    reader = OutputReader(timeout=10)
    yield reader
    reader.close()


async def _read_all(reader: OutputReader, url: str, buffer_size: int = CHUNK) -> bytes:
    """The body read as storage reads it: blocking ``readinto`` calls, on a thread."""
    async with reader.open(url) as body:

        def read() -> bytes:
            parts, buffer = [], memoryview(bytearray(buffer_size))
            while count := body.readinto(buffer):
                parts.append(bytes(buffer[:count]))
            return b"".join(parts)

        return await asyncio.to_thread(read)


async def test_a_body_arrives_whole(server: tuple[str, list[str]], reader: OutputReader) -> None:
    assert await _read_all(reader, f"{server[0]}/ok") == BODY
    async with reader.open(f"{server[0]}/ok") as body:
        assert body.length == len(BODY)


async def test_a_small_body(server: tuple[str, list[str]], reader: OutputReader) -> None:
    assert await _read_all(reader, f"{server[0]}/small") == b"tiny"


async def test_a_chunked_body_without_a_length_arrives_whole(
    server: tuple[str, list[str]], reader: OutputReader
) -> None:
    assert await _read_all(reader, f"{server[0]}/chunked", buffer_size=777_777) == BODY
    async with reader.open(f"{server[0]}/chunked") as body:
        assert body.length is None


async def test_a_body_shorter_than_its_length_is_a_provider_fault(
    server: tuple[str, list[str]], reader: OutputReader
) -> None:
    with pytest.raises(ProviderUnavailable, match="truncated"):
        await _read_all(reader, f"{server[0]}/short")


@pytest.mark.parametrize(
    ("route", "error"),
    [
        ("/expired", OutputExpired),
        ("/unauthorized", OutputExpired),
        ("/missing", NotFound),
        ("/broken", ProviderUnavailable),
    ],
)
async def test_statuses_map_to_the_error_tree(
    server: tuple[str, list[str]], reader: OutputReader, route: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await _read_all(reader, f"{server[0]}{route}")


async def test_a_redirect_is_refused_and_never_followed(
    server: tuple[str, list[str]], reader: OutputReader
) -> None:
    base, seen = server
    seen.clear()
    with pytest.raises(ProviderUnavailable, match="302"):
        await _read_all(reader, f"{base}/redirect")
    assert seen == ["/redirect"]


async def test_a_refused_connection_is_a_provider_fault(reader: OutputReader) -> None:
    with pytest.raises(ProviderUnavailable, match="failed"):
        await _read_all(reader, "http://127.0.0.1:9/none")


@pytest.mark.parametrize("store", ["local", "memory"])
async def test_storage_saves_a_download_whole_and_hashed_or_not_at_all(
    server: tuple[str, list[str]], reader: OutputReader, tmp_path: Path, store: str
) -> None:
    storage = Storage.from_url(tmp_path.as_uri() if store == "local" else "memory://")
    async with reader.open(f"{server[0]}/ok") as body:
        stored = await storage.save_from("outputs/a.mp4", body, length=body.length)
    assert stored.size == len(BODY)
    assert stored.sha256 == hashlib.sha256(BODY).hexdigest()
    saved = b"".join([chunk async for chunk in await storage.open_range("outputs/a.mp4")])
    assert saved == BODY
    with pytest.raises(ProviderUnavailable, match="truncated"):
        async with reader.open(f"{server[0]}/short") as body:
            await storage.save_from("outputs/b.mp4", body, length=body.length)
    assert not await storage.exists("outputs/b.mp4")
    if store == "local":
        assert list((tmp_path / TEMP_PREFIX).iterdir()) == []


async def test_a_full_disk_is_a_storage_fault_and_leaves_nothing(
    server: tuple[str, list[str]], reader: OutputReader, tmp_path: Path
) -> None:
    storage = Storage.from_url(tmp_path.as_uri())
    (tmp_path / "outputs").write_text("a file where the directory should be")
    with pytest.raises(TransientFault, match="storage"):
        async with reader.open(f"{server[0]}/ok") as body:
            await storage.save_from("outputs/a.mp4", body, length=body.length)
    assert list((tmp_path / TEMP_PREFIX).iterdir()) == []
