"""The output reader against a real HTTP server on loopback: every way a signed GET can end."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from vidgate.errors import NotFound, OutputExpired, ProviderUnavailable
from vidgate.provider.output_reader import CHUNK_SIZE, OutputReader
from vidgate.storage import TEMP_PREFIX, Storage

BODY = os.urandom(2 * CHUNK_SIZE + 12345)


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
            self.wfile.write(BODY[: CHUNK_SIZE + 10])
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


async def _read_all(reader: OutputReader, url: str) -> tuple[bytes, list[int]]:
    chunks = [bytes(chunk) async for chunk in reader.stream(url)]
    return b"".join(chunks), [len(chunk) for chunk in chunks]


async def test_a_body_arrives_whole_in_chunks_of_at_most_4_mib(
    server: tuple[str, list[str]], reader: OutputReader
) -> None:
    body, sizes = await _read_all(reader, f"{server[0]}/ok")
    assert body == BODY
    assert sizes == [CHUNK_SIZE, CHUNK_SIZE, 12345]


async def test_a_small_body_gets_a_buffer_of_its_own_size(
    server: tuple[str, list[str]], reader: OutputReader
) -> None:
    assert await _read_all(reader, f"{server[0]}/small") == (b"tiny", [4])


async def test_a_chunked_body_without_a_length_arrives_whole(
    server: tuple[str, list[str]], reader: OutputReader
) -> None:
    body, _ = await _read_all(reader, f"{server[0]}/chunked")
    assert body == BODY


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


async def test_a_reader_stopped_early_releases_its_connection(
    server: tuple[str, list[str]], reader: OutputReader
) -> None:
    stream = reader.stream(f"{server[0]}/ok")
    first = await anext(stream)
    assert len(first) == CHUNK_SIZE
    await stream.aclose()
    # The reader is still good for the next output.
    body, _ = await _read_all(reader, f"{server[0]}/ok")
    assert body == BODY


async def test_a_local_store_saves_a_download_whole_and_hashed(
    server: tuple[str, list[str]], reader: OutputReader, tmp_path: Path
) -> None:
    storage = Storage.from_url(tmp_path.as_uri())
    stored = await storage.save_stream("outputs/a.mp4", reader.stream(f"{server[0]}/ok"))
    assert stored.size == len(BODY)
    assert stored.sha256 == hashlib.sha256(BODY).hexdigest()
    assert (tmp_path / "outputs" / "a.mp4").read_bytes() == BODY
    with pytest.raises(ProviderUnavailable):
        await storage.save_stream("outputs/b.mp4", reader.stream(f"{server[0]}/short"))
    assert not (tmp_path / "outputs" / "b.mp4").exists()
    assert list((tmp_path / TEMP_PREFIX).iterdir()) == []
