"""OpenAI's Videos API at /openai/v1, driven by the official ``openai`` SDK (in process)."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest
from api_helpers import BASE_URL, Api

from vidgate.emulator.testing import still_image
from vidgate.media.probe import probe_media

# The SDK warns that OpenAI's own service closes; the shape lives on in gateways (and here).
pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")


def sdk(api: Api) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key="anything",
        base_url=f"{BASE_URL}/openai/v1",
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app)),
    )


async def test_create_poll_and_download(api: Api, tmp_path: Path) -> None:
    client = sdk(api)
    video = await client.videos.create(
        model="gen4.5", prompt="a lighthouse at dusk", seconds="4", size="1280x720"
    )
    assert video.status == "queued" and video.progress == 0
    raw = await client.videos.with_raw_response.retrieve(video.id)
    assert raw.headers.get("openai-poll-after-ms") or raw.parse().status == "completed"
    await api.wait_done(video.id)
    done = await client.videos.retrieve(video.id)
    assert done.status == "completed" and done.progress == 100
    assert (done.size, done.seconds) == ("1280x720", "4")
    content = await client.videos.download_content(video.id)
    path = tmp_path / "v.mp4"
    path.write_bytes(content.content)
    info = probe_media(path)
    assert (info.width, info.height, info.duration_seconds) == (1280, 720, 4.0)
    thumbnail = await client.videos.download_content(video.id, variant="thumbnail")
    assert thumbnail.content[:2] == b"\xff\xd8"  # a JPEG
    listed = await client.videos.list()
    assert [v.id for v in listed.data] == [video.id]
    # Ordinary jobs: /v1/generations sees it too.
    assert (await api.get(f"/v1/generations/{video.id}")).json()["status"] == "succeeded"


async def test_input_reference_and_extra_body(api: Api) -> None:
    client = sdk(api)
    video = await client.videos.create(
        model="gen4.5",
        prompt="wind in the grass",
        seconds="2",
        size="1280x720",
        input_reference=("still.png", still_image(1280, 720), "image/png"),
        extra_body={"seed": 7},
    )
    stored = (await api.get(f"/v1/generations/{video.id}")).json()
    assert stored["endpoint"] == "image_to_video"
    assert stored["request"]["promptImage"].startswith("runway://")
    assert stored["request"]["seed"] == 7


async def test_errors_are_openai_errors(api: Api) -> None:
    client = sdk(api)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.videos.create(model="veo3.1", prompt="x", seconds="5", size="1280x720")
    assert caught.value.body["param"] == "duration"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as unknown:
        await client.videos.create(model="sora-2", prompt="x")
    assert unknown.value.body["param"] == "model"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        await client.videos.retrieve("01JNOSUCHVIDEO000000000000")


async def test_delete_cancels(api: Api) -> None:
    await api.emulator(taskSeconds=30)
    client = sdk(api)
    video = await client.videos.create(model="gen4.5", prompt="x", seconds="2", size="1280x720")
    deleted = await client.videos.delete(video.id)
    assert deleted.deleted
    await api.wait_done(video.id)
    assert (await client.videos.retrieve(video.id)).status == "failed"


async def test_json_bodies_and_sdk_retries(api: Api) -> None:
    body = {"model": "gen4.5", "prompt": "x", "seconds": "2", "size": "1280x720"}
    first = await api.post("/openai/v1/videos", json=body)
    retry = await api.post("/openai/v1/videos", json=body, headers={"x-stainless-retry-count": "1"})
    fresh = await api.post("/openai/v1/videos", json=body)
    assert first.status_code == retry.status_code == fresh.status_code == 200, first.text
    assert retry.json()["id"] == first.json()["id"] != fresh.json()["id"]
    assert first.headers["openai-poll-after-ms"] == "2000"
    bad = await api.post("/openai/v1/videos", json={**body, "size": "wide"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "size"
