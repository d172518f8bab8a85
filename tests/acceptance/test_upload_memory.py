"""Large legitimate uploads against a real ``vidgate serve`` (emulator mode): four 48 MB pictures
in flight at once grow the server's memory, measured from outside with psutil, by at most 200 MB;
so do four OpenAI creates, by the official ``openai`` SDK, each with a 20 MB ``input_reference``
(the same streamed upload path).

The file goes to disk on every hop (vidgate's multipart reader, the SDK's post of a file handle,
the emulator's storage, which keeps uploads as files under its data directory), never whole
into memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import openai
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
REFERENCE_SIDE = 2600  # 20 MB


def noise_png(path: Path, side: int) -> Path:
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(path, compress_level=0)
    return path


@pytest.fixture(scope="module")
def big_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return noise_png(tmp_path_factory.mktemp("big") / "noise.png", SIDE)


@pytest.fixture(scope="module")
def reference_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return noise_png(tmp_path_factory.mktemp("reference") / "reference.png", REFERENCE_SIDE)


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


def openai_create(url: str, path: Path, prompt: str) -> openai.types.Video:
    client = openai.OpenAI(
        api_key="anything", base_url=f"{url}/openai/v1", max_retries=0, timeout=300
    )
    with path.open("rb") as handle:
        return client.videos.create(
            model="gen4.5",
            prompt=prompt,
            size="1280x720",
            input_reference=(path.name, handle, "image/png"),
        )


# The SDK warns that OpenAI's own service closes; the shape lives on in gateways (and here).
@pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")
def test_four_openai_creates_with_a_20_mb_reference_in_bounded_memory(
    serve: type[Served], tmp_path: Path, reference_png: Path
) -> None:
    # No worker: what is measured is the create (the form streamed, the file probed, uploaded
    # and recorded, the job stored), not the emulator rendering the jobs.
    served = serve("--no-worker", env=vidgate_env(tmp_path))
    size = reference_png.stat().st_size
    assert size >= 20_000_000
    small = tmp_path / "small.png"
    small.write_bytes(still_image(64, 64))
    assert openai_create(served.url, small, "warm up").status == "queued"
    baseline = rss(served.process.pid)
    with PeakRss(served.process.pid) as memory:
        videos = all_at_once(
            [
                lambda i=i: openai_create(served.url, reference_png, f"noise {i}")
                for i in range(IN_FLIGHT)
            ]
        )
    assert [video.status for video in videos] == ["queued"] * IN_FLIGHT
    assert {video.seconds for video in videos} == {"4"}  # OpenAI's default
    uploads = httpx.get(f"{served.url}/v1/uploads", timeout=30).json()["data"]
    assert sorted(u["bytes"] for u in uploads) == [small.stat().st_size] + [size] * IN_FLIGHT
    growth = memory.peak - baseline
    print(
        f"{IN_FLIGHT} OpenAI creates with {size / 1e6:.0f} MB references at once, server RSS "
        f"+{growth / MIB:.0f} MB"
    )
    assert growth <= RSS_GROWTH_LIMIT, f"RSS grew by {growth / MIB:.0f} MB"
