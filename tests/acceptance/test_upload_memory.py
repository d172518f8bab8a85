"""Large legitimate uploads against a real ``vidgate serve`` (emulator mode): four 48 MB pictures
in flight at once grow the server's memory, measured from outside with psutil, by at most 200 MB.

The file goes to disk on every hop (vidgate's multipart reader, the SDK's post of a file handle,
the emulator's storage, which keeps uploads as files under its data directory), never whole
into memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from PIL import Image
from serving import Served, vidgate_env
from test_media_bombs import (
    IN_FLIGHT,
    MIB,
    RSS_GROWTH_LIMIT,
    PeakRss,
    all_at_once,
    rss,
)

from vidgate.emulator.testing import still_image

SIDE = 4000  # 16 MP of noise: 48 MB decoded and, as noise does not compress, about 48 MB as PNG


@pytest.fixture(scope="module")
def big_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "noise.png"
    Image.frombytes("RGB", (SIDE, SIDE), os.urandom(SIDE * SIDE * 3)).save(path, compress_level=0)
    return path


def upload_file(url: str, path: Path) -> httpx.Response:
    with path.open("rb") as handle:
        return httpx.post(f"{url}/v1/uploads", files={"file": ("big.png", handle)}, timeout=300)


def test_four_large_uploads_at_once_in_bounded_memory(
    serve: type[Served], tmp_path: Path, big_png: Path
) -> None:
    served = serve(env=vidgate_env(tmp_path))
    size = big_png.stat().st_size
    assert size >= 48_000_000
    small = httpx.post(
        f"{served.url}/v1/uploads", files={"file": ("ok.png", still_image(64, 64))}, timeout=60
    )
    assert small.status_code == 201, small.text  # the decoders and the upload path are loaded
    baseline = rss(served.process.pid)
    with PeakRss(served.process.pid) as memory:
        responses = all_at_once([lambda: upload_file(served.url, big_png)] * IN_FLIGHT)
    for response in responses:
        assert response.status_code == 201, response.text
        assert response.json()["bytes"] == size
    uris = {response.json()["uri"] for response in responses}
    assert len(uris) == IN_FLIGHT
    growth = memory.peak - baseline
    print(f"{IN_FLIGHT} uploads of {size / MIB:.0f} MB at once, server RSS +{growth / MIB:.0f} MB")
    assert growth <= RSS_GROWTH_LIMIT, f"RSS grew by {growth / MIB:.0f} MB"
