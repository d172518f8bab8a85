"""Timeouts and limits at the edge, against a real ``vidgate serve``, from raw sockets:

* slow or endless request headers are cut off (50 sockets, all closed by the server);
* a body that stalls gets 408 and its connection closed; a stalled upload's temporary file is
  gone by the time the answer arrives;
* (the connection caps, per address and in all, are in test_peer_limits.py);
* a JSON body over the cap is refused by its ``Content-Length`` before it is sent, or while it
  streams; the largest legal body passes; memory stays bounded with eight near the cap at once.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
from serving import T2V, Served, vidgate_env

from vidgate.api.edge_server import HEADER_MAX_BYTES
from vidgate.catalog import get_catalog
from vidgate.settings import Settings

MIB = 1024 * 1024
SAFETY_SECONDS = 30  # a socket read never waits longer (the limits under test are 1 s)


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    """A server with 1 s header and body-idle timeouts."""
    data_dir = tmp_path_factory.mktemp("edge")
    env = vidgate_env(
        data_dir,
        VIDGATE_API_RATE_PER_SECOND="0",
        VIDGATE_HEADER_TIMEOUT_SECONDS="1",
        VIDGATE_BODY_IDLE_TIMEOUT_SECONDS="1",
    )
    served = Served(env=env, cwd=data_dir)
    yield served, data_dir
    served.stop()
    assert "Traceback" not in served.output, served.output


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=SAFETY_SECONDS)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_slow_headers_are_cut_off(quick: tuple[Served, Path]) -> None:
    served, _ = quick
    sockets = [connect(served.url) for _ in range(50)]
    try:
        for i, sock in enumerate(sockets):
            if i % 3 == 0:
                sock.sendall(b"POST /v1/generations HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            elif i % 3 == 1:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            # and a third send nothing at all
        for sock in sockets:
            assert read_all(sock) == b""  # closed by the server, nothing answered
    finally:
        for sock in sockets:
            sock.close()
    assert httpx.get(f"{served.url}/healthz").status_code == 200


def test_headers_over_the_cap_are_cut_off(quick: tuple[Served, Path]) -> None:
    with contextlib.closing(connect(quick[0].url)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        padding = b"X-Pad: " + b"p" * 1000 + b"\r\n"
        with contextlib.suppress(OSError):  # the server may close while we still send
            for _ in range(4 * HEADER_MAX_BYTES // len(padding)):
                sock.sendall(padding)
        with contextlib.suppress(ConnectionResetError):
            assert b"200 OK" not in read_all(sock)


def test_keep_alive_requests_get_the_same_deadline(quick: tuple[Served, Path]) -> None:
    with contextlib.closing(connect(quick[0].url)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        assert head.startswith(b"HTTP/1.1 200")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        while length:
            length -= len(sock.recv(length))
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # the next request, never finished
        assert read_all(sock) == b""


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_a_stalled_upload_gets_408_and_its_temp_file_goes(quick: tuple[Served, Path]) -> None:
    served, data_dir = quick
    tmp = data_dir / "tmp"
    boundary = "stall"
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode() + b"\0" * 1024
    head = (
        "POST /v1/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {100 * 1000 * 1000}\r\n\r\n"
    ).encode()
    with contextlib.closing(connect(served.url)) as sock:
        sock.sendall(head + part)
        deadline = time.monotonic() + SAFETY_SECONDS
        while not list(tmp.glob("upload-*")):  # the upload is being received
            assert time.monotonic() < deadline, "no temporary file appeared"
            time.sleep(0.02)
        answer = read_all(sock)
        assert list(tmp.glob("upload-*")) == []
    assert _status(answer) == 408, answer
    assert b"request_timeout" in answer and b"connection: close" in answer.lower()
    assert httpx.get(f"{served.url}/v1/uploads").json()["data"] == []


def test_a_stalled_json_body_gets_408(quick: tuple[Served, Path]) -> None:
    served, _ = quick
    head = (
        b"POST /v1/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n"
    )
    with contextlib.closing(connect(served.url)) as sock:
        sock.sendall(head + b'{"endpoint": ')
        answer = read_all(sock)
    assert _status(answer) == 408, answer
    assert httpx.get(f"{served.url}/v1/generations").json()["data"] == []


@pytest.fixture(scope="module")
def defaults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("edge-defaults")
    served = Served(env=vidgate_env(data_dir, VIDGATE_API_RATE_PER_SECOND="0"), cwd=data_dir)
    yield served
    served.stop()


def test_a_declared_oversized_json_body_is_refused_before_it_is_sent(defaults: Served) -> None:
    cap = Settings().json_body_max_bytes
    head = (
        "POST /v1/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {cap + 1}\r\n\r\n"
    ).encode()
    with contextlib.closing(connect(defaults.url)) as sock:
        sock.sendall(head)
        answer = sock.recv(65536)
    assert _status(answer) == 413, answer


def test_a_streamed_oversized_json_body_is_refused(defaults: Served) -> None:
    cap = Settings().json_body_max_bytes

    def chunks() -> Iterator[bytes]:
        yield b'{"promptText": "'
        for _ in range(cap // MIB + 2):
            yield b"a" * MIB
        yield b'"}'

    answer = httpx.post(
        f"{defaults.url}/v1/generations",
        content=chunks(),
        headers={"Content-Type": "application/json"},
        timeout=SAFETY_SECONDS,
    )
    assert answer.status_code == 413, answer.text


def _largest_image_body() -> dict[str, object]:
    """image_to_video with a data URI at the catalog's data URI cap."""
    limit = get_catalog().media["image"].data_uri_max_bytes
    prefix = "data:image/png;base64,"
    payload = base64.b64encode(b"\0" * ((limit - len(prefix)) // 4 * 3)).decode()
    return {**T2V, "endpoint": "image_to_video", "promptImage": prefix + payload}


class PeakRss:
    """The highest RSS of a process while the block runs (sampled every 5 ms)."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.before = self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.005)

    @property
    def grown_mib(self) -> float:
        return (self.peak - self.before) / MIB

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _eight_at_once(url: str, content: bytes) -> list[httpx.Response]:
    headers = {"Content-Type": "application/json"}
    with httpx.Client(base_url=url, timeout=SAFETY_SECONDS) as client:

        def post(_: int) -> httpx.Response:
            return client.post("/v1/generations", content=content, headers=headers)

        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(post, range(8)))


def test_bodies_near_the_old_cap_cost_no_memory(defaults: Served) -> None:
    # Before the legal bodies below: their memory, once freed, would hide growth here.
    content = b'{"promptText": "' + b"a" * (40 * MIB) + b'"}'
    with PeakRss(defaults.process.pid) as rss:
        answers = _eight_at_once(defaults.url, content)
    assert {a.status_code for a in answers} == {413}
    print(f"8 bodies of 40 MiB at once: 413, RSS +{rss.grown_mib:.0f} MiB")
    assert rss.grown_mib < 50  # was ~774 MB when such bodies were read whole


def test_the_largest_legal_body_fits(defaults: Served) -> None:
    content = json.dumps(_largest_image_body()).encode()
    with PeakRss(defaults.process.pid) as rss:
        answers = _eight_at_once(defaults.url, content)
    assert all(a.status_code != 413 for a in answers), answers[0].text
    print(f"8 legal bodies of {len(content) / MIB:.1f} MiB at once: RSS +{rss.grown_mib:.0f} MiB")
