"""No one peer can starve ``vidgate serve`` of connections (a real server, raw loopback sockets).

Every address of 127.0.0.0/8 is loopback on Linux: a client socket bound to 127.0.0.2 is another
peer to the server, as another machine would be.

* 515 idle sockets from one address, held, then re-opened as fast as the server closes them:
  ``/healthz`` answers 200 and another peer's create is accepted;
* idle sockets from many addresses past the cap in all: the same, and the server keeps no more
  than its cap;
* connections that are all busy (event streams) past the cap: other requests get a 503 that says
  why, health probes are answered, and the cap frees up when the streams end.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from serving import T2V, Served, vidgate_env

SAFETY_SECONDS = 30  # no wait in this file is longer (the server's own limits are at most 60 s)
PROBE_DEADLINE_SECONDS = 2.0  # the bound on a health probe under the flood


def connect(url: str, source: str = "127.0.0.1") -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection(
        (parts.hostname, parts.port), timeout=SAFETY_SECONDS, source_address=(source, 0)
    )


def client(url: str, source: str, timeout: float = SAFETY_SECONDS) -> httpx.Client:
    """An HTTP client whose connections come from ``source`` (another peer for the server)."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=url, transport=transport, timeout=timeout)


def closed_by_server(sock: socket.socket) -> bool:
    """Wait (at most the safety bound) for the server to end this connection; True if it did."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def count_closed(sockets: list[socket.socket], at_least: int) -> int:
    """How many of ``sockets`` the server has closed, once that reaches ``at_least`` (or the
    safety bound passes)."""
    closed: set[int] = set()
    deadline = time.monotonic() + SAFETY_SECONDS
    while len(closed) < at_least and time.monotonic() < deadline:
        pending = [s for s in sockets if s.fileno() not in closed]
        readable, _, _ = select.select(pending, [], [], 0.5)
        for sock in readable:
            if closed_by_server(sock):
                closed.add(sock.fileno())
    return len(closed)


def wait_for_line(served: Served, text: str) -> None:
    """Wait (at most the safety bound) for the server to log a line containing ``text``."""
    deadline = time.monotonic() + SAFETY_SECONDS
    while text not in served.output:
        assert time.monotonic() < deadline, f"no {text!r} in the log:\n{served.output[-3000:]}"
        time.sleep(0.05)


def close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


class Flood:
    """One address keeping ``hold`` idle sockets open, re-opening one every few milliseconds
    (closing its own oldest beyond ``hold``) while the block runs."""

    def __init__(self, url: str, source: str, hold: int) -> None:
        self.url, self.source, self.hold = url, source, hold
        self.sockets = [connect(url, source) for _ in range(hold)]
        self.opened = len(self.sockets)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._churn, daemon=True)

    def _churn(self) -> None:
        while not self._stop.wait(0.005):  # ~200 a second, four times the attack
            self.sockets.append(connect(self.url, self.source))
            self.opened += 1
            while len(self.sockets) > self.hold:
                self.sockets.pop(0).close()

    def __enter__(self) -> Flood:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(SAFETY_SECONDS)
        close_all(self.sockets)


@pytest.fixture(scope="module")
def flooded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Default caps (512 in all, 128 per address); a header deadline long enough that it
    frees no socket during a test (the caps must)."""
    data_dir = tmp_path_factory.mktemp("peers")
    env = vidgate_env(
        data_dir, VIDGATE_API_RATE_PER_SECOND="0", VIDGATE_HEADER_TIMEOUT_SECONDS="60"
    )
    served = Served(env=env, cwd=data_dir)
    yield served
    served.stop()
    assert "Traceback" not in served.output, served.output


def test_515_idle_sockets_from_one_address_starve_no_one(flooded: Served) -> None:
    url = flooded.url
    idle = [connect(url) for _ in range(515)]
    try:
        # The flooding address itself still gets an answer: its oldest idle socket makes room.
        with client(url, "127.0.0.1", timeout=PROBE_DEADLINE_SECONDS) as same_peer:
            assert same_peer.get("/healthz").status_code == 200
        # The server holds at most 128 of them (+ the probe's): the oldest were closed.
        assert count_closed(idle, at_least=515 - 128) >= 515 - 128
        wait_for_line(flooded, "connection caps (128 per address, 512 in all)")
    finally:
        close_all(idle)


def test_a_churning_flood_keeps_no_one_else_out(flooded: Served) -> None:
    url = flooded.url
    with Flood(url, "127.0.0.1", hold=515) as flood:
        with client(url, "127.0.0.3", timeout=PROBE_DEADLINE_SECONDS) as monitor:
            for path in ("/healthz", "/readyz"):
                assert monitor.get(path).status_code == 200, path
        with client(url, "127.0.0.2") as other:
            created = other.post("/v1/generations", json=T2V)
        assert created.status_code == 202, created.text
        opened = flood.opened
    assert opened > 515  # the flood was still opening sockets while the others were served
    with client(url, "127.0.0.2") as other:
        job = other.get(f"/v1/generations/{created.json()['id']}", params={"wait": 20}).json()
    assert job["status"] == "succeeded", job


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Small caps: 40 connections in all, 8 per address."""
    data_dir = tmp_path_factory.mktemp("capped")
    env = vidgate_env(
        data_dir,
        VIDGATE_API_RATE_PER_SECOND="0",
        VIDGATE_HEADER_TIMEOUT_SECONDS="60",
        VIDGATE_MAX_CONNECTIONS="40",
        VIDGATE_MAX_CONNECTIONS_PER_PEER="8",
    )
    served = Served(env=env, cwd=data_dir)
    yield served
    served.stop()
    assert "Traceback" not in served.output, served.output


def test_idle_sockets_from_many_addresses_stay_within_the_cap_in_all(capped: Served) -> None:
    peers = [f"127.0.0.{n}" for n in range(10, 20)]
    idle = [connect(capped.url, peer) for peer in peers for _ in range(8)]  # 80, twice the cap
    try:
        with client(capped.url, "127.0.0.2", timeout=PROBE_DEADLINE_SECONDS) as monitor:
            assert monitor.get("/healthz").status_code == 200
        with client(capped.url, "127.0.0.3") as other:
            created = other.post("/v1/generations", json=T2V)
        assert created.status_code == 202, created.text
        # 80 idle + the probe's connection (still open when it came) against a cap of 40.
        assert count_closed(idle, at_least=41) >= 41
    finally:
        close_all(idle)


def test_a_peer_past_its_own_cap_closes_its_oldest_idle_socket(capped: Served) -> None:
    idle = [connect(capped.url, "127.0.0.5") for _ in range(8)]
    try:
        with client(capped.url, "127.0.0.5") as same_peer:
            assert same_peer.get("/healthz").status_code == 200
        assert closed_by_server(idle[0])  # the oldest made room for the probe
    finally:
        close_all(idle)


def open_stream(url: str) -> socket.socket:
    """A ``GET /v1/events`` in progress: its ``ready`` event has arrived."""
    sock = connect(url)
    sock.sendall(b"GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    received = b""
    while b"event: ready" not in received:
        chunk = sock.recv(4096)
        assert chunk, received
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received
    return sock


def test_busy_connections_past_the_cap_refuse_all_but_health_probes(
    serve: type[Served], tmp_path: Path
) -> None:
    env = vidgate_env(tmp_path, VIDGATE_MAX_CONNECTIONS="4")
    served = serve(env=env)
    streams = [open_stream(served.url) for _ in range(4)]
    with client(served.url, "127.0.0.2") as other:
        try:
            refused = other.get("/v1/models")
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["code"] == "temporarily_unavailable"
            assert "too many connections at once" in refused.json()["error"]["message"]
            assert refused.headers["retry-after"] == "1"
            assert refused.headers["connection"] == "close"
            for path in ("/healthz", "/readyz"):
                assert other.get(path).status_code == 200, path
        finally:
            close_all(streams)
        deadline = time.monotonic() + SAFETY_SECONDS
        while other.get("/v1/models").status_code != 200:  # the streams' ends free the cap
            assert time.monotonic() < deadline, "the cap never freed up"
            time.sleep(0.05)
