"""Decompression bombs against a real ``vidgate serve``: refused by their headers with a 422 naming
the field, and the server's memory, measured from outside with psutil, stays bounded with four in
flight at once.

Each bomb is small (80 bytes to 750 KB) and declares a picture of 16000x16000 (768 MB decoded) or a
video over the catalog's length cap; see ``tests/media_bombs.py``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx
import psutil
import pytest
from serving import Served, vidgate_env

from media_bombs import jpeg_bomb, long_video, png_bomb, video_frame_bomb, webp_bomb
from vidgate.emulator.testing import data_uri, still_image

MIB = 1024 * 1024
RSS_GROWTH_LIMIT = 200 * MIB
IN_FLIGHT = 4

BOMBS: dict[str, tuple[Callable[[], bytes], str, str]] = {
    "png": (png_bomb, "bomb.png", "pixels"),
    "jpeg": (jpeg_bomb, "bomb.jpg", "pixels"),
    "webp": (webp_bomb, "bomb.webp", "pixels"),
    "video-frame": (video_frame_bomb, "bomb.mp4", "video frames may have at most"),
    "video-length": (long_video, "long.mp4", "videos may be at most 600 s"),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("bombs")
    server = Served(env=vidgate_env(data_dir), cwd=data_dir)
    try:
        yield server
    finally:
        server.stop()


def rss(pid: int) -> int:
    """The resident memory of the server and anything it started."""
    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


class PeakRss:
    """Samples a process's RSS on a thread until stopped; ``peak`` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss(self.pid))
            self._stop.wait(0.005)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss(self.pid))


def upload(url: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{url}/v1/uploads", files={"file": (name, data)}, timeout=120)


def generate(url: str, image: str) -> httpx.Response:
    body = {
        "endpoint": "image_to_video",
        "model": "gen4_turbo",
        "promptImage": image,
        "ratio": "1280:720",
        "duration": 2,
    }
    return httpx.post(f"{url}/v1/generations", json=body, timeout=120)


def refused(response: httpx.Response, path: str, words: str) -> None:
    assert response.status_code == 422, response.text
    fields = response.json()["error"]["fields"]
    assert [f["path"] for f in fields] == [path], fields
    assert words in fields[0]["message"], fields


T = TypeVar("T")


def all_at_once(calls: list[Callable[[], T]]) -> list[T]:
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.fixture(scope="module")
def warm(served: Served) -> int:
    """Load every decoder once (a real upload, one of each bomb), then the baseline RSS."""
    assert upload(served.url, "ok.png", still_image(64, 64)).status_code == 201
    for make, name, words in BOMBS.values():
        refused(upload(served.url, name, make()), "file", words)
    return rss(served.process.pid)


@pytest.mark.parametrize("kind", list(BOMBS))
def test_four_upload_bombs_at_once_are_refused_in_bounded_memory(
    served: Served, warm: int, kind: str
) -> None:
    make, name, words = BOMBS[kind]
    data = make()
    with PeakRss(served.process.pid) as memory:
        responses = all_at_once([lambda: upload(served.url, name, data)] * IN_FLIGHT)
    for response in responses:
        refused(response, "file", words)
    growth = memory.peak - warm
    print(f"{kind}: {IN_FLIGHT} at once, server RSS +{growth / MIB:.0f} MB")
    assert growth <= RSS_GROWTH_LIMIT, f"RSS grew by {growth / MIB:.0f} MB"


@pytest.mark.parametrize("kind", ["png", "jpeg", "webp"])
def test_four_data_uri_bombs_at_once_are_refused_in_bounded_memory(
    served: Served, warm: int, kind: str
) -> None:
    make, _, words = BOMBS[kind]
    mime = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}[kind]
    image = data_uri(make(), mime)
    with PeakRss(served.process.pid) as memory:
        responses = all_at_once([lambda: generate(served.url, image)] * IN_FLIGHT)
    for response in responses:
        refused(response, "promptImage", words)
    growth = memory.peak - warm
    print(f"{kind}: {IN_FLIGHT} at once, server RSS +{growth / MIB:.0f} MB")
    assert growth <= RSS_GROWTH_LIMIT, f"RSS grew by {growth / MIB:.0f} MB"
    assert httpx.get(f"{served.url}/v1/generations", timeout=30).json()["data"] == []


def test_nothing_was_kept(served: Served, warm: int) -> None:
    uploads = httpx.get(f"{served.url}/v1/uploads", timeout=30).json()["data"]
    assert [u["kind"] for u in uploads] == ["image"]  # the warm-up's real picture only
