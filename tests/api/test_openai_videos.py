"""OpenAI's Videos API at /openai/v1, driven by the official ``openai`` SDK (in process)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import openai
import pytest
from api_helpers import BASE_URL, Api, ApiFactory, bearer, make_settings
from PIL import Image

from vidgate.emulator.testing import still_image
from vidgate.media.probe import probe_media
from vidgate.tenancy.budgets import BudgetStore

# The SDK warns that OpenAI's own service closes; the shape lives on in gateways (and here).
pytestmark = pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning")


def sdk(api: Api, api_key: str = "anything") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=api_key,
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
    assert caught.value.body["param"] == "seconds"  # type: ignore[index]
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


async def test_the_minimal_create_takes_openais_default_seconds(api: Api) -> None:
    client = sdk(api)
    video = await client.videos.create(model="gen4.5", prompt="a lighthouse at dusk")
    assert video.status == "queued" and video.seconds == "4"
    stored = (await api.get(f"/v1/generations/{video.id}")).json()
    assert (stored["endpoint"], stored["request"]["duration"]) == ("text_to_video", 4)
    await api.wait_done(video.id)
    assert (await client.videos.retrieve(video.id)).seconds == "4"


async def test_a_model_that_refuses_the_default_seconds_names_seconds(api: Api) -> None:
    client = sdk(api)
    with pytest.raises(openai.BadRequestError) as caught:
        await client.videos.create(model="kling2.5_turbo_pro", prompt="x", size="1280x720")
    error = caught.value.body
    assert error["param"] == "seconds"  # type: ignore[index]
    assert "defaults to 4" in error["message"]  # type: ignore[index]


def noise_png(path: Path, side: int) -> Path:
    """Noise does not compress: about ``3 * side**2`` bytes as PNG."""
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(path, compress_level=0)
    return path


async def test_an_input_reference_over_the_json_cap(api: Api, tmp_path: Path) -> None:
    big = noise_png(tmp_path / "big.png", 1900)  # 10.8 MB: over the 6 MiB of a JSON body
    assert big.stat().st_size > api.ctx.runtime.settings.json_body_max_bytes
    client = sdk(api)
    with big.open("rb") as handle:
        video = await client.videos.create(
            model="gen4.5",
            prompt="noise",
            seconds="2",
            size="1280x720",
            input_reference=("big.png", handle, "image/png"),
        )
    stored = (await api.get(f"/v1/generations/{video.id}")).json()
    uploads = (await api.get("/v1/uploads")).json()["data"]
    assert [u["uri"] for u in uploads] == [stored["request"]["promptImage"]]
    assert uploads[0]["bytes"] == big.stat().st_size


async def test_an_input_reference_over_the_upload_cap_is_a_413(
    api_factory: ApiFactory, tmp_path: Path
) -> None:
    api = await api_factory(make_settings(tmp_path, upload_max_bytes=1_000_000))
    big = noise_png(tmp_path / "big.png", 700)  # 1.5 MB
    with pytest.raises(openai.APIStatusError) as caught:
        await sdk(api).videos.create(
            model="gen4.5", prompt="x", input_reference=("big.png", big.read_bytes(), "image/png")
        )
    assert caught.value.status_code == 413
    assert "input_reference" in caught.value.body["message"]  # type: ignore[index]


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"seed": DEEP}, "seed"),
        ({"contentModeration": DEEP}, "contentModeration"),
        ({"contentModeration": '{"a":' * 5000 + "1" + "}" * 5000}, "contentModeration"),
        ({"seed": "[" * 40 + "]" * 40}, "seed"),
        ({"seed": '"\\ud800"'}, "seed"),
        ({"contentModeration": '{"publicFigureThreshold": "\\udc00"}'}, "contentModeration."),
        ({"seed": "NaN"}, "seed"),
    ],
)
async def test_form_fields_are_checked_as_json_bodies_are(
    api: Api, fields: dict[str, str], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await sdk(api).videos.create(model="gen4.5", prompt="x", seconds="2", extra_body=fields)
    assert caught.value.body["param"].startswith(param)  # type: ignore[index]
    assert (await api.get("/v1/generations")).json()["data"] == []


def form(fields: dict[str, bytes], boundary: str = "vidgate-form") -> tuple[bytes, dict[str, str]]:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in fields.items()
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, {"content-type": f"multipart/form-data; boundary={boundary}"}


async def test_a_lone_surrogate_in_a_form_field_is_named(api: Api) -> None:
    # A surrogate as UTF-8 would encode it (CESU-8): not UTF-8 text.
    body, headers = form({"prompt": b"a \xed\xa0\x80 b", "model": b"gen4.5"})
    answer = await api.post("/openai/v1/videos", content=body, headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "prompt"


async def _chunks(
    body: bytes, arrived: asyncio.Event, release: asyncio.Event
) -> AsyncIterator[bytes]:
    yield body[:64]
    arrived.set()  # the route asked for more: the request has arrived and is being read
    await release.wait()
    yield body[64:]


async def test_sdk_retries_that_overtake_their_original_make_one_job(
    api: Api, tmp_path: Path
) -> None:
    created = await api.keys.create_key("tenant")
    await BudgetStore(api.ctx.runtime.engine).set_budget(created.key.id, daily=1000, monthly=None)
    client = sdk(api, created.token)
    fields = {"model": "gen4.5", "prompt": "one video", "seconds": "2", "size": "1280x720"}
    body, headers = form({k: v.encode() for k, v in fields.items()})
    arrived, release = asyncio.Event(), asyncio.Event()
    original = asyncio.create_task(
        api.post(
            "/openai/v1/videos",
            content=_chunks(body, arrived, release),
            headers={**headers, **bearer(created.token)},
        )
    )
    await arrived.wait()
    # The original is still arriving; the SDK has given up on it and retries, more than once.
    retries = await asyncio.gather(
        *(
            client.videos.create(**fields, extra_headers={"x-stainless-retry-count": str(n)})  # type: ignore[arg-type]
            for n in (1, 1, 2, 2)
        )
    )
    release.set()
    first = await original
    assert first.status_code == 200, first.text
    assert {video.id for video in retries} == {first.json()["id"]}
    jobs = (await api.get("/v1/generations", headers=bearer(created.token))).json()["data"]
    assert [job["id"] for job in jobs] == [first.json()["id"]]
    standing = await BudgetStore(api.ctx.runtime.engine).standing(created.key.id)
    assert standing is not None
    assert standing.day.reserved + standing.day.spent == jobs[0]["estimatedCredits"]
    # Later, a fresh create of the same body (no retry mark) is a new video.
    fresh = await client.videos.create(**fields)  # type: ignore[arg-type]
    assert fresh.id != first.json()["id"]
